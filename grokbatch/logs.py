"""Logging: loguru to the console and to run.log, from every process, prompts redacted.

Worker processes do not write logs themselves: their loguru sends each record over the
runner's event queue (see `worker_sink`), and the runner logs it to the console and to
run.log. One writer per file means no interleaved lines, and the console stays under the
control of the live progress display.

The prompt text must never reach a log. Every finished line is passed through `redact`
by the sink that writes it (and a worker's records once more before they leave its
process), which replaces each registered secret (the prompts of the run) with
`[prompt]`; callers should still never put a prompt in a message in the first place.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

from grokbatch.errors import DiskError
from grokbatch.paths import NO_FOLLOW, PRIVATE_FILE_MODE

REDACTED = "[prompt]"
# GROKBATCH_DEBUG=1: DEBUG lines on the console, and a traceback with an error.
DEBUG_ENV = "GROKBATCH_DEBUG"
# The prompt, when no flag and no config file gives one: unlike --prompt, an environment
# variable is not shown to other users by `ps`. Read once, and passed on to no process.
PROMPT_ENV = "GROKBATCH_PROMPT"
CONSOLE_FORMAT = "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}"
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {extra[source]: <9} | {message}"

# A prompt shorter than this is redacted only where it stands as a whole word: replacing
# every "e" in every line would garble the logs and hide nothing.
WHOLE_WORD_BELOW = 4
# An error message's first line is cut here: enough to say what failed, one log line long.
_FIRST_LINE_CHARS = 200

# Each secret, longest first, with the pattern that finds it as a whole word if it is short.
_secrets: list[tuple[str, re.Pattern[str] | None]] = []
# The prompts' texts as a page shows them (whole, each line, spaces run together).
_pieces: set[str] = set()
# The lines of the prompts too short to hide as words ("Tom"): a page hides one where it is a
# whole text, as a rich editor holds each line in an element of its own.
_short_lines: set[str] = set()
_secrets_lock = threading.Lock()


def _variants(text: str) -> set[str]:
    """`text` and the pieces of it that may stand alone: a rich editor puts each line of
    a prompt in an element of its own, and a page may run its spaces together. Each in
    both Unicode forms of its accents ("é" as one code point or as "e" and a combining
    accent): a site that normalizes text shows the prompt in the other, the same to the eye."""
    lines = {line.strip() for line in text.splitlines()}
    pieces = {text, text.strip(), " ".join(text.split()),
              *(line for line in lines if len(line) >= WHOLE_WORD_BELOW)} - {""}
    return pieces | {unicodedata.normalize(form, piece)
                     for piece in pieces for form in ("NFC", "NFD")}


def _written_forms(variant: str) -> set[str]:
    """How `variant` reads once written into HTML or JSON."""
    escaped = html.escape(variant, quote=False)
    return {variant, html.escape(variant), escaped, escaped.replace("\u00a0", "&nbsp;"),
            json.dumps(variant)[1:-1], json.dumps(variant, ensure_ascii=False)[1:-1]}


def register_secret(text: str | None) -> None:
    """Never let `text` (a prompt) reach a log, console or debug file."""
    if not text or not text.strip():
        return
    with _secrets_lock:
        variants = _variants(text)
        _pieces.update(variants)
        _short_lines.update(
            unicodedata.normalize(form, line) for line in map(str.strip, text.splitlines())
            if 0 < len(line) < WHOLE_WORD_BELOW and line != text.strip()
            for form in ("NFC", "NFD"))
        forms = {form for variant in variants for form in _written_forms(variant)}
        known = {secret for secret, _ in _secrets}
        for form in forms - known:
            if form:
                whole_word = (re.compile(rf"(?<!\w){re.escape(form)}(?!\w)")
                              if len(form) < WHOLE_WORD_BELOW else None)
                _secrets.append((form, whole_word))
        _secrets.sort(key=lambda entry: len(entry[0]), reverse=True)  # no partial leftovers


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `[prompt]` (a short one only where
    it stands as a whole word)."""
    for secret, whole_word in _secrets:
        if secret in text:
            text = (whole_word.sub(REDACTED, text) if whole_word is not None
                    else text.replace(secret, REDACTED))
    return text


def secret_pieces() -> list[str]:
    """The registered prompts as a page would show them (whole, each line), longest first,
    leaving out those too short to hide inside words (`short_secret_pieces`)."""
    with _secrets_lock:
        return sorted((piece for piece in _pieces if len(piece.strip()) >= WHOLE_WORD_BELOW),
                      key=len, reverse=True)


def short_secret_pieces() -> list[str]:
    """The registered prompts too short to hide inside words ("cat"), longest first: a
    page hides them where they stand as a whole word, as `redact` does in a log."""
    with _secrets_lock:
        return sorted((piece for piece in _pieces
                       if 0 < len(piece.strip()) < WHOLE_WORD_BELOW), key=len, reverse=True)


def short_secret_lines() -> list[str]:
    """The lines of the registered prompts too short to hide as words ("Tom"): a page hides
    one only where it is the whole of a text."""
    with _secrets_lock:
        return sorted(_short_lines)


def first_line(text: str) -> str:
    """The first line of an error message, redacted (whole: a prompt's first line alone
    must not slip through) and cut to `_FIRST_LINE_CHARS`: a Playwright error runs to a
    call log of many lines, of which the first says what failed."""
    text = redact(text).strip()
    return (text.splitlines()[0] if text else text)[:_FIRST_LINE_CHARS]


class _RedactingStream:
    """A text stream wrapper that redacts each finished log line (exception text included)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(redact(text))

    def flush(self) -> None:
        self.stream.flush()

    def stop(self) -> None:
        """Called by loguru when the sink is removed: close files we opened."""
        if self.stream not in (sys.stderr, sys.stdout) and hasattr(self.stream, "name"):
            self.stream.close()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())


class Hangup:
    """Where the console goes when the terminal hangs up (SIGHUP: its window closed, its
    ssh session dropped): to /dev/null. The run then winds down as on Ctrl-C and writes
    its end to run.log, with no error from every line that would have gone to the gone
    terminal. Which of stdout and stderr are a terminal is known before: a hung-up terminal
    answers no question. `hang_up` only calls dup2, so a signal handler may call it."""

    def __init__(self) -> None:
        self.fds = [fd for fd in (1, 2) if os.isatty(fd)]
        self.devnull = os.open(os.devnull, os.O_WRONLY) if self.fds else -1
        self.happened = False

    def hang_up(self) -> None:
        """Send the terminal's output to /dev/null."""
        self.happened = True
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.dup2(self.devnull, fd)

    def close(self) -> None:
        if self.devnull >= 0:
            os.close(self.devnull)
            self.devnull = -1


def debugging() -> bool:
    """Whether GROKBATCH_DEBUG=1: DEBUG lines on the console, a traceback with an error."""
    return os.environ.get(DEBUG_ENV) == "1"


# Bound to a record (`logger.bind(**{RUN_LOG_ONLY: True})`) that the console has shown
# already in its own words (an error the command line prints): only run.log takes it.
RUN_LOG_ONLY = "run_log_only"


def configure_console(*, verbose: bool | None = None, stream: TextIO | None = None) -> None:
    """Reset loguru to one console sink on stderr (stdout is kept for --json output), with
    DEBUG lines if `verbose` (default: `debugging()`)."""
    verbose = debugging() if verbose is None else verbose
    logger.remove()
    logger.configure(extra={"source": "runner"})
    out = stream or sys.stderr
    logger.add(
        _RedactingStream(out),
        level="DEBUG" if verbose else "INFO",
        format=CONSOLE_FORMAT,
        filter=lambda record: not record["extra"].get(RUN_LOG_ONLY),
        colorize=out.isatty() if hasattr(out, "isatty") else False,
        backtrace=False,
        diagnose=False,  # diagnose prints local variables, which may hold a prompt
    )


class _RunLogFile:
    """run.log as a sink: each finished line, redacted, written straight to its file
    descriptor, so no buffer holds a line the disk refused (to fail again, and replace the
    run's own error, when the sink is closed).

    A line the disk refuses (full, read-only, an I/O error) costs that line, never the
    run: the first one says so once on stderr, where and why, in one line (loguru would
    print a traceback and the whole record); later lines are still tried, and are kept
    once the disk takes them again.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path
        self.failed = False

    def write(self, text: str) -> None:
        data = redact(text).encode("utf-8", errors="replace")
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as exc:
            if not self.failed:
                self.failed = True
                self._say(f"grokbatch: warning: cannot write {self.path}: "
                          f"{exc.strerror or exc}; its lines go to the console only "
                          "until it can be written again\n")

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # no console left to tell
            sys.stderr.write(line)
            sys.stderr.flush()

    def stop(self) -> None:
        """Called by loguru when the sink is removed."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


def add_run_log(path: Path) -> int:
    """Also log to `path` (0600, appended, never through a symlink); return the sink id
    for `logger.remove`. A line that cannot be written is said once on stderr, not
    raised (`_RunLogFile`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | NO_FOLLOW,
                     PRIVATE_FILE_MODE)
    except OSError as exc:
        raise DiskError.from_os_error("open log", path, exc) from None
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except OSError as exc:
        os.close(fd)
        raise DiskError.from_os_error("open log", path, exc) from None
    return logger.add(
        _RunLogFile(fd, path),
        level="DEBUG",
        format=FILE_FORMAT,
        backtrace=False,
        diagnose=False,
    )


def worker_sink(send: Callable[[dict[str, Any]], None], source: str) -> None:
    """Configure loguru in a worker process to forward every record through `send`."""

    def forward(message: Any) -> None:
        record = message.record
        send(
            {
                "type": "log",
                "level": record["level"].name,
                "message": redact(record["message"]),
                "source": source,
            }
        )

    logger.remove()
    logger.configure(extra={"source": source})
    logger.add(forward, level="DEBUG", format="{message}", backtrace=False, diagnose=False)


def log_forwarded(event: dict[str, Any]) -> None:
    """Log, in the runner, a record a worker forwarded through `worker_sink`."""
    logger.bind(source=event.get("source", "worker")).log(
        event.get("level", "INFO"), str(event.get("message", ""))
    )
