"""logs.py: prompts registered as secrets never reach the console or run.log."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from grokbatch.logs import (
    REDACTED,
    add_run_log,
    configure_console,
    first_line,
    log_forwarded,
    redact,
    register_secret,
    secret_pieces,
)


@pytest.fixture(autouse=True)
def reset_loguru() -> Iterator[None]:
    """Leave loguru as we found it: one plain stderr sink, no patcher."""
    yield
    logger.remove()
    logger.configure(patcher=None, extra={})
    logger.add(sys.stderr)


def test_redact_replaces_every_registered_secret() -> None:
    register_secret("a purple elephant skating")
    text = "start a purple elephant skating, then a purple elephant skating again"
    assert redact(text) == f"start {REDACTED}, then {REDACTED} again"
    assert redact("nothing secret here") == "nothing secret here"


def test_first_line_of_an_error_is_redacted_and_cut_to_one_log_line() -> None:
    register_secret("a violet heron dancing")
    error = "  Timeout 10000ms exceeded: a violet heron dancing\nCall log:\n  - waiting\n"
    assert first_line(error) == f"Timeout 10000ms exceeded: {REDACTED}"
    assert first_line("x" * 500) == "x" * 200
    assert first_line("") == ""


def test_redact_catches_html_escaped_form_for_debug_snapshots() -> None:
    register_secret("<i>birds & bees</i>")
    assert redact("x <i>birds & bees</i> y") == f"x {REDACTED} y"
    assert redact("x &lt;i&gt;birds &amp; bees&lt;/i&gt; y") == f"x {REDACTED} y"


def test_redact_catches_stripped_and_html_escaped_forms_of_a_padded_prompt() -> None:
    register_secret("  <b>cats & dogs</b>  ")
    assert redact("x <b>cats & dogs</b> y") == f"x {REDACTED} y"
    assert redact("x &lt;b&gt;cats &amp; dogs&lt;/b&gt; y") == f"x {REDACTED} y"


def test_each_line_of_a_multi_line_prompt_and_its_written_forms_are_redacted() -> None:
    # A rich editor holds each line in an element of its own; a page or an error may write
    # the prompt as JSON, with a non-breaking space as &nbsp;, or with its spaces run together.
    register_secret("north wind\nover  the\u00a0dunes \"quietly\"\nend")
    assert redact("<p>north wind</p><p>over  the&nbsp;dunes \"quietly\"</p>") == (
        f"<p>{REDACTED}</p><p>{REDACTED}</p>")
    assert redact('{"prompt":"north wind\\nover  the\\u00a0dunes \\"quietly\\"\\nend"}') == (
        '{"prompt":"' + REDACTED + '"}')
    assert redact("north wind over the\u00a0dunes") == f"{REDACTED} over the\u00a0dunes"
    assert redact("said: north wind over the dunes \"quietly\" end") == f"said: {REDACTED}"
    assert "end" in redact("the end")  # a short line stays a word of the log, not a secret
    assert first_line("Error: north wind\nover  the\u00a0dunes") == f"Error: {REDACTED}"
    assert secret_pieces()[0] == "north wind\nover  the\u00a0dunes \"quietly\"\nend"
    assert "end" not in secret_pieces()


def test_a_prompt_is_redacted_in_either_unicode_form_of_its_accents() -> None:
    # "é" as one code point (NFC) or as "e" and a combining accent (NFD): the same to the
    # eye, and a site that normalizes text shows the prompt in the form it keeps.
    register_secret("cafe\u0301 au lait, cre\u0300me bru\u0302le\u0301e")  # NFD
    assert redact("x caf\u00e9 au lait, cr\u00e8me br\u00fbl\u00e9e y") == f"x {REDACTED} y"
    register_secret("na\u00efve still life")  # NFC
    assert redact("<p>nai\u0308ve still life</p>") == f"<p>{REDACTED}</p>"
    assert "caf\u00e9 au lait, cr\u00e8me br\u00fbl\u00e9e" in secret_pieces()  # the page too


def test_longer_secret_is_replaced_before_a_shorter_one_inside_it() -> None:
    register_secret("moon")
    register_secret("moon over the silent harbour")
    assert redact("the moon over the silent harbour") == f"the {REDACTED}"


def test_empty_or_blank_secret_is_ignored() -> None:
    register_secret("")
    register_secret("   ")
    register_secret(None)
    assert redact("a b  c") == "a b  c"


def test_secret_never_reaches_console_or_run_log(tmp_path: Path) -> None:
    secret = "violet-kraken-under-ice-5521"
    register_secret(secret)
    console = io.StringIO()
    configure_console(stream=console)
    run_log = tmp_path / "runs" / "job" / "run.log"
    sink = add_run_log(run_log)
    logger.info(f"generating with {secret} now")
    logger.warning("second line: {}", secret)
    log_forwarded({"type": "log", "level": "INFO", "message": f"worker says {secret}",
                   "source": "worker-1"})
    logger.remove(sink)
    console_text = console.getvalue()
    file_text = run_log.read_text(encoding="utf-8")
    for text in (console_text, file_text):
        assert secret not in text
        assert text.count(REDACTED) == 3
        assert "generating with [prompt] now" in text
    assert "worker-1" in file_text
    assert stat.S_IMODE(run_log.stat().st_mode) == 0o600


def test_run_log_is_created_0600_and_appended(tmp_path: Path) -> None:
    run_log = tmp_path / "run.log"
    configure_console(stream=io.StringIO())
    for word in ("first", "second"):
        sink = add_run_log(run_log)
        logger.info(word)
        logger.remove(sink)
    text = run_log.read_text(encoding="utf-8")
    assert "first" in text and "second" in text
    assert stat.S_IMODE(run_log.stat().st_mode) == 0o600


def test_run_log_is_made_0600_even_if_it_existed_with_wider_mode(tmp_path: Path) -> None:
    run_log = tmp_path / "run.log"
    run_log.write_text("old\n")
    run_log.chmod(0o644)
    logger.remove(add_run_log(run_log))
    assert stat.S_IMODE(run_log.stat().st_mode) == 0o600


def test_secret_in_a_logged_exception_never_reaches_console_or_run_log(tmp_path: Path) -> None:
    secret = "crimson-lighthouse-walking-8830"
    register_secret(secret)
    console = io.StringIO()
    configure_console(stream=console)
    run_log = tmp_path / "run.log"
    sink = add_run_log(run_log)
    try:
        raise RuntimeError(f"could not type {secret}")
    except RuntimeError:
        logger.exception("generation failed")
    logger.remove(sink)
    assert "generation failed" in console.getvalue()
    assert secret not in console.getvalue()
    assert secret not in run_log.read_text(encoding="utf-8")


def test_short_prompt_is_redacted_only_as_a_whole_word() -> None:
    register_secret("q")
    register_secret("zqx")
    line = "created job q-1: queue zqx ready (zqx) q"
    r = REDACTED
    assert redact(line) == f"created job {r}-1: queue {r} ready ({r}) {r}"
    assert redact("quartz zqxz 2024 aq") == "quartz zqxz 2024 aq"


def test_short_prompt_leaves_console_and_run_log_readable(tmp_path: Path) -> None:
    register_secret("e")
    console = io.StringIO()
    configure_console(stream=console)
    run_log = tmp_path / "run.log"
    sink = add_run_log(run_log)
    logger.info("job created with 3 video(s); prompt provided")
    logger.info("typed e into the editor")
    logger.remove(sink)
    for text in (console.getvalue(), run_log.read_text(encoding="utf-8")):
        assert "job created with 3 video(s); prompt provided" in text
        assert f"typed {REDACTED} into the editor" in text


def test_prompt_of_four_characters_or_more_is_redacted_inside_words() -> None:
    register_secret("kiwi")
    assert redact("kiwifruit") == f"{REDACTED}fruit"


def test_a_hang_up_sends_only_the_terminals_output_to_dev_null() -> None:
    # stdout is a terminal, stderr a pipe (as with `2>file`): only the terminal is dropped.
    master, slave = os.openpty()
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys; from grokbatch.logs import Hangup\n"
         "hangup = Hangup(); print('before', flush=True); hangup.hang_up()\n"
         "print('after', flush=True); print('to the pipe', file=sys.stderr); hangup.close()"],
        stdout=slave, stderr=subprocess.PIPE, text=True, timeout=60, check=True)
    os.close(slave)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child's side is closed
        while chunk := os.read(master, 4096):
            shown += chunk
    os.close(master)
    assert b"before" in shown
    assert b"after" not in shown
    assert child.stderr == "to the pipe\n"


def _fds_open_on(path: Path) -> list[int]:
    """This process's file descriptors open on `path`."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                fds.append(int(name))
    return fds


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_run_log_the_disk_refuses_costs_its_lines_not_the_run(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # The disk full under run.log: its descriptor now answers ENOSPC, as /dev/full does.
    # loguru printed a traceback and the whole record on stderr for each line, and the
    # line kept in the file's buffer failed again when the sink was removed, an OSError
    # that replaced the run's own error ("grokbatch: error: No space left on device").
    console = io.StringIO()
    configure_console(stream=console)
    run_log = tmp_path / "run.log"
    sink = add_run_log(run_log)
    logger.info("kept before")
    [fd] = _fds_open_on(run_log)
    saved = os.dup(fd)
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, fd)
        logger.info("refused one")
        logger.error("refused two")
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(full)
    logger.info("kept after")
    logger.remove(sink)  # raises nothing: no line is left to fail again
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert err.count(f"grokbatch: warning: cannot write {run_log}: No space left on device") == 1
    assert "refused two" in console.getvalue()  # the console still has every line
    text = run_log.read_text(encoding="utf-8")
    assert "kept before" in text and "kept after" in text and "refused" not in text
