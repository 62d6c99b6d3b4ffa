"""`grokbatch simulator serve`: run the local Grok Imagine simulator in the foreground."""

from __future__ import annotations

import dataclasses
import re
import sys
from typing import NoReturn

import typer

from grokbatch.cli.command import Command
from grokbatch.errors import ExitCode
from grokbatch.simulator import EditorKind, SimulatorOptions, serve_until_signalled
from grokbatch.simulator.i18n import SUPPORTED_LANGS
from grokbatch.simulator.lifecycle import BindError
from grokbatch.simulator.scenario import (
    DEFAULT_QUOTA_WINDOW_S,
    MAX_VIDEO_MB,
    Layout,
    OptionsUi,
    QuotaInfo,
    StreamFormat,
)

simulator_app = typer.Typer(
    help="A local simulator of Grok Imagine on loopback, for tests and demos.",
    no_args_is_help=True,
)

# SimulatorOptions fields whose flag is not simply --field-name.
_FLAG_NAMES = {"quota_window_s": "--quota-window"}


def _flag(field_name: str) -> str:
    return _FLAG_NAMES.get(field_name, "--" + field_name.replace("_", "-"))


def _in_flag_terms(message: str) -> str:
    """Name the command-line flags in an options error ("port" -> "--port")."""
    names = sorted((f.name for f in dataclasses.fields(SimulatorOptions)), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")
    return pattern.sub(lambda m: _flag(m.group(1)), message)


def _usage_error(message: str) -> NoReturn:
    """One line on stderr and exit code 2."""
    typer.echo(f"grokbatch: error: {message}", err=True)
    raise typer.Exit(ExitCode.USAGE)


@simulator_app.command(cls=Command)
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(0, help="Port to bind; 0 picks a free one."),
    generation_seconds: float = typer.Option(
        3.0, min=0.0, help="How long one generation takes (progress 0% to 100%)."
    ),
    rate_limit_after: int | None = typer.Option(
        None, min=0, help="Refuse generations after this many per session."
    ),
    moderate_every: int | None = typer.Option(
        None, min=1, help="Every K-th generation (global) is moderated."
    ),
    network_error_every: int | None = typer.Option(
        None, min=1, help="Every K-th generation drops its connection partway."
    ),
    generation_error_every: int | None = typer.Option(
        None, min=1, help="Every K-th generation fails with 'Something went wrong'."
    ),
    stall_every: int | None = typer.Option(
        None, min=1, help="Every K-th generation stops progressing (connection held open)."
    ),
    download_error_every: int | None = typer.Option(
        None, min=1, help="Every K-th video request gets HTTP 500."
    ),
    banner: bool = typer.Option(
        False, "--banner", help="Show an announcement overlay on post pages."
    ),
    editor: EditorKind = typer.Option(
        EditorKind.TEXTAREA, case_sensitive=False, help="Prompt editor kind (classic layout)."
    ),
    expire_sessions: bool = typer.Option(
        False, "--expire-sessions", help="Treat every session cookie as expired."
    ),
    auto_login: bool = typer.Option(
        False, "--auto-login", help="Sign in automatically on the first page view."
    ),
    seed: int = typer.Option(0, help="Seed for the percent at which failures happen."),
    verbose: bool = typer.Option(False, "--verbose", help="Log every request to stderr."),
    layout: Layout = typer.Option(
        Layout.CLASSIC, case_sensitive=False, help="Page markup: classic, or 2026 as grok.com."
    ),
    stream_format: StreamFormat = typer.Option(
        StreamFormat.SIMPLE,
        case_sensitive=False,
        help="Generation stream: simple, or captured (the real site's ~20 objects); as a "
        "change of the site might make it, sse (captured, framed as server-sent events) or "
        "renamed (captured, with the fields grokbatch reads renamed).",
    ),
    options_ui: OptionsUi = typer.Option(
        OptionsUi.MENU,
        case_sensitive=False,
        help="2026 layout: length/resolution in the Video Options menu or in radiogroups.",
    ),
    choice_every: int | None = typer.Option(
        None, min=1, help="Every K-th good generation makes two videos and asks which (2026)."
    ),
    info_toast_every: int | None = typer.Option(
        None, min=1, help="Every K-th generation says 720p is used up and is made in 480p."
    ),
    lang: str = typer.Option(
        "en", help=f"UI language of the account (2026 layout): {', '.join(SUPPORTED_LANGS)}."
    ),
    html_lang: str | None = typer.Option(
        None, help="Override only the <html lang> attribute (any language tag)."
    ),
    quota: int | None = typer.Option(
        None, min=0, help="Video generations per session per quota window (quota_info, 429)."
    ),
    quota_window: int = typer.Option(
        DEFAULT_QUOTA_WINDOW_S, min=1, help="Quota window in seconds."
    ),
    quota_info: QuotaInfo = typer.Option(
        QuotaInfo.OK,
        case_sensitive=False,
        help="How quota_info answers: ok; missing (404), error (500), unknown (a shape "
        "grokbatch does not know) or hang (no answer), as after a change of the site.",
    ),
    navigate_to_video_post: bool = typer.Option(
        False, "--navigate-to-video-post", help="Move to the new video's own post after each."
    ),
    challenge: bool = typer.Option(
        False, "--challenge", help="Answer every page and /rest call with a 403 browser check."
    ),
    upscale_seconds: float | None = typer.Option(
        None, min=0.0, help="How long an upscale takes (default: half a generation)."
    ),
    video_mb: float = typer.Option(
        0.0,
        min=0.0,
        help=f"Pad each generated video (SD and HD) to about this many MB (at most "
        f"{MAX_VIDEO_MB:.0f}; 0: the small shipped files), to measure memory with "
        "realistically sized videos.",
    ),
) -> None:
    """Serve until SIGINT/SIGTERM; prints `listening on http://HOST:PORT` first."""
    try:
        options = SimulatorOptions(
            host=host,
            port=port,
            generation_seconds=generation_seconds,
            rate_limit_after=rate_limit_after,
            moderate_every=moderate_every,
            network_error_every=network_error_every,
            generation_error_every=generation_error_every,
            stall_every=stall_every,
            download_error_every=download_error_every,
            banner=banner,
            editor=editor,
            expire_sessions=expire_sessions,
            auto_login=auto_login,
            seed=seed,
            verbose=verbose,
            layout=layout,
            stream_format=stream_format,
            options_ui=options_ui,
            choice_every=choice_every,
            info_toast_every=info_toast_every,
            lang=lang,
            html_lang=html_lang,
            quota=quota,
            quota_window_s=quota_window,
            quota_info=quota_info,
            navigate_to_video_post=navigate_to_video_post,
            challenge=challenge,
            video_mb=video_mb,
            upscale_seconds=upscale_seconds,
        )
    except ValueError as exc:
        _usage_error(_in_flag_terms(str(exc)))
    try:
        code = serve_until_signalled(options, sys.stdout)
    except BindError as exc:
        _usage_error(str(exc))
    raise typer.Exit(code)
