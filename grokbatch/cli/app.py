"""The `grokbatch` command: mounts the command groups and maps errors to exit codes.

This is the one place that turns a `GrokBatchError` into a line on stderr and an exit
code; commands just raise.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from typing import Any, NoReturn

import typer
import typer.core

from grokbatch import __version__
from grokbatch.cli import entry
from grokbatch.cli.accounts import accounts_app
from grokbatch.cli.command import Command
from grokbatch.cli.doctor import doctor
from grokbatch.cli.run import run_app
from grokbatch.cli.simulator import simulator_app
from grokbatch.errors import DiskError, ExitCode, GrokBatchError
from grokbatch.logs import configure_console, debugging, redact

_option_type = typer.core.TyperOption.display_type_rich


def _flags_take_no_value(option: typer.core.TyperOption, ctx: Any) -> str | None:
    """The value an option's help shows it takes: none for a flag. Typer's boxed help shows
    `<bool>` after every flag, `--help` included, as if it wanted `--keep-profiles true`
    (which it refuses); its plain help shows none, as here."""
    return None if option.is_flag else _option_type(option, ctx)


typer.core.TyperOption.display_type_rich = _flags_take_no_value  # type: ignore[method-assign,assignment]

app = typer.Typer(
    name="grokbatch",
    help="Batch-generate Grok Imagine videos from one image permalink, with parallel workers.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    pretty_exceptions_show_locals=False,  # locals may hold a prompt or a cookie
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(run_app, name="run")
app.add_typer(simulator_app, name="simulator")
app.command("doctor", cls=Command)(doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"grokbatch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Batch-generate Grok Imagine videos from one image permalink, with parallel workers.

    Sign in once with `grokbatch accounts add ALIAS`, then `grokbatch run start`.
    Set GROKBATCH_HOME to keep everything under one directory.
    """


# Playwright's debug variables. No process grokbatch starts inherits them: DEBUG=pw:api
# prints every Playwright call with its arguments (the prompt typed into the page) and
# pw:protocol every message (the session cookies), on the console or into DEBUG_FILE, past
# grokbatch's redaction; PWDEBUG opens Playwright's inspector and lifts every timeout.
PLAYWRIGHT_DEBUG_ENV = ("DEBUG", "DEBUG_FILE", "PWDEBUG")


def drop_playwright_debug() -> None:
    """Take Playwright's debug variables out of this process's environment (so out of every
    driver, worker and browser it starts), and say so if they would have done anything."""
    dropped = {name: os.environ.pop(name) for name in PLAYWRIGHT_DEBUG_ENV
               if name in os.environ}
    namespaces = dropped.get("DEBUG", "")
    if "PWDEBUG" in dropped or "pw" in namespaces or "*" in namespaces:
        typer.echo("grokbatch: note: Playwright's debug output (DEBUG, PWDEBUG) is off: it "
                   "shows the prompt and session cookies. GROKBATCH_DEBUG=1 logs more.",
                   err=True)


def main() -> None:
    """Console-script entry point."""
    drop_playwright_debug()
    configure_console()  # redacting, on stderr; not loguru's own sink, which prints all
    try:
        # Not standalone: the command line's own errors come here, to be said as ours are.
        code = app(prog_name="grokbatch", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    except typer.Abort:  # a question at the terminal met its end of input
        _fail("aborted", ExitCode.FAILED)
    except typer.exceptions.TyperException as exc:  # a usage error of the command line
        _usage_error(exc)
    except KeyboardInterrupt:  # before Typer's own handling began
        _fail("interrupted", ExitCode.INTERRUPTED)
    except GrokBatchError as exc:
        advice = exc.advice if isinstance(exc, DiskError) else None
        _fail(f"error: {exc}" + (f": {advice}" if advice else ""), exc.exit_code)
    except OSError as exc:  # the disk or the system said no: not a bug, say what and where
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"error: {where}{exc.strerror or exc}", ExitCode.FAILED)
    except Exception as exc:  # a bug: one line, no locals, unless debugging
        _fail(f"internal error: {type(exc).__name__}: {exc}"
              + ("" if debugging() else " (set GROKBATCH_DEBUG=1 for a traceback)"),
              ExitCode.FAILED_ITEMS)
    # Typer ends a command that a signal interrupted with exit 130 and not a word.
    if code == ExitCode.INTERRUPTED and entry.interrupted():
        _fail("interrupted", ExitCode.INTERRUPTED)
    sys.exit(code)


def _usage_error(exc: typer.exceptions.TyperException) -> NoReturn:
    """A usage error of the command line (an unknown option, a missing argument, a value
    of the wrong type), said as one line, and with --json as one JSON document too.
    Extra arguments are not repeated: they are often a prompt left unquoted."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help is shown: ended as Typer does
        sys.exit(getattr(exc, "exit_code", ExitCode.USAGE))
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    if message.startswith("Got unexpected extra argument"):
        takes_prompt = ctx is not None and any(
            "--prompt" in getattr(param, "opts", ()) for param in ctx.command.params)
        message = ("unexpected extra argument(s), not repeated here: quote a value that has "
                   "spaces" + (" (a prompt: --prompt \"...\")" if takes_prompt else ""))
    see = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    _fail(f"error: {message}{see}", getattr(exc, "exit_code", ExitCode.USAGE))


def _fail(message: str, code: int) -> NoReturn:
    """End with `message` as one line on stderr (after the traceback with
    GROKBATCH_DEBUG=1) and exit `code`; with --json, also one JSON document on stdout that
    says the same, so a script reading it gets one either way. Prompts are redacted."""
    if debugging():
        _echo(redact(traceback.format_exc()), err=True)
    message = redact(message)
    _echo(f"grokbatch: {message}", err=True)
    if "--json" in sys.argv[1:]:
        _echo(json.dumps({"error": message, "exitCode": int(code)}))
    sys.exit(code)


def _echo(text: str, *, err: bool = False) -> None:
    """Say `text` on stderr (`err`) or stdout; a console the disk refuses (cron's `>> cron.log
    2>&1` on a full disk) costs the line, never the exit code (a cron rerun in its
    cooldown exited 1, not 75): what the stream still holds goes to /dev/null, so that
    Python's own flush at exit does not fail again."""
    stream = sys.stderr if err else sys.stdout
    try:
        typer.echo(text, err=err)
    except OSError:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, stream.fileno())
            finally:
                os.close(devnull)
            stream.flush()
