"""`grokbatch simulator serve`: run the local Grok Imagine simulator in the foreground."""

from __future__ import annotations

import sys

import typer

from grokbatch.simulator import EditorKind, SimulatorOptions, serve_until_signalled

simulator_app = typer.Typer(
    help="A local simulator of Grok Imagine on loopback, for tests and demos.",
    no_args_is_help=True,
)


@simulator_app.command()
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
        EditorKind.TEXTAREA, case_sensitive=False, help="Prompt editor kind."
    ),
    expire_sessions: bool = typer.Option(
        False, "--expire-sessions", help="Treat every session cookie as expired."
    ),
    auto_login: bool = typer.Option(
        False, "--auto-login", help="Sign in automatically on the first page view."
    ),
    seed: int = typer.Option(0, help="Seed for the percent at which failures happen."),
    verbose: bool = typer.Option(False, "--verbose", help="Log every request to stderr."),
) -> None:
    """Serve until SIGINT/SIGTERM; prints `listening on http://HOST:PORT` first."""
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
    )
    raise typer.Exit(serve_until_signalled(options, sys.stdout))
