"""The real console script (`python -m grokbatch`) in a subprocess: help, exit codes, errors.

Everything here stops before a browser would be needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grokbatch import paths
from grokbatch.manifest import ItemStatus, Manifest, RunStatus

Cli = Callable[..., subprocess.CompletedProcess[str]]

PERMALINK = "http://127.0.0.1:9/imagine/post/abc123"
SECRET = "tangerine-octopus-waltzing-4417"
JOB = "myjob"
# A command that needs no browser answers in a second or two; this only catches a hang.
CLI_TIMEOUT_S = 60


def assert_usage_error(result: subprocess.CompletedProcess[str], home: Path) -> str:
    """Exit 2, exactly one line on stderr, no traceback, nothing written under runs/."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("grokbatch: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    runs = home / "runs"
    assert not runs.exists() or not any(runs.iterdir()), sorted(runs.rglob("*"))
    return lines[0]


def start_args(*extra: str) -> list[str]:
    return ["run", "start", "--account", "acct", "--permalink", PERMALINK, *extra]


def make_job(home: Path, *, prompt: str | None = SECRET, count: int = 2,
             completed: int = 0) -> Manifest:
    """A job `myjob` for account `acct`, created in-process (GROKBATCH_HOME is the test's)."""
    assert paths.home() == home.resolve()
    manifest = Manifest.create(
        paths.manifest_file(JOB), job_name=JOB, account_alias="acct", permalink=PERMALINK,
        count=count, prompt=prompt,
    )
    for _ in range(completed):
        item = manifest.claim_next_item("w1")
        assert item is not None
        manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    return manifest


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize(
    "command",
    [
        [],
        ["accounts"],
        ["accounts", "add"],
        ["accounts", "import"],
        ["accounts", "list"],
        ["accounts", "remove"],
        ["run"],
        ["run", "start"],
        ["run", "status"],
        ["run", "list"],
        ["run", "report"],
        ["simulator"],
        ["simulator", "serve"],
        ["doctor"],
    ],
    ids=lambda c: " ".join(c) or "grokbatch",
)
def test_help_of_every_command_exits_0(cli: Cli, command: list[str],
                                       grokbatch_home: Path) -> None:
    result = cli(*command, "--help", env_extra={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert "Traceback" not in result.stderr
    assert list(grokbatch_home.iterdir()) == []
    # A flag takes no value: Typer's boxed help showed `--help <bool>`.
    assert "<bool>" not in result.stdout
    assert re.search(r"--help +Show this message", result.stdout), result.stdout


def test_help_shows_what_value_an_option_takes_and_none_for_a_flag(cli: Cli) -> None:
    lines = cli("run", "start", "--help", env_extra={"COLUMNS": "200"}).stdout.splitlines()
    count = next(line for line in lines if "--count " in line)
    assert "<int>" in count
    keep = next(line for line in lines if "--keep-profiles " in line)
    assert re.search(r"--keep-profiles +Keep worker profile", keep), keep


def test_run_start_help_lists_every_documented_flag(cli: Cli) -> None:
    result = cli("run", "start", "--help")
    for flag in ("--config", "--account", "--permalink", "--prompt", "--prompts-file",
                 "--count", "--parallel", "--job-name", "--headed", "--headless", "--timeout",
                 "--download", "--no-download", "--keep-profiles", "--browser-path",
                 "--selectors", "--cooldown", "--force", "--json"):
        assert flag in result.stdout, flag


def test_version_prints_the_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("grokbatch ")


# --------------------------------------------------------------------------- shell completion
def test_help_offers_shell_completion(cli: Cli) -> None:
    result = cli("--help", env_extra={"COLUMNS": "200"})
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_show_completion_prints_a_bash_script_and_changes_no_file(tmp_path: Path,
                                                                 grokbatch_home: Path) -> None:
    """Typer finds the shell from the parent process: run the command under bash (the
    trailing `true` keeps bash from exec-ing it, which would hide bash)."""
    home = tmp_path / "user-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "GROKBATCH_HOME": str(grokbatch_home)}
    env.pop("_GROKBATCH_COMPLETE", None)
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", '"$@"; true', "bash",
         sys.executable, "-m", "grokbatch", "--show-completion"],
        env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_GROKBATCH_COMPLETE=complete_bash" in result.stdout
    assert result.stdout.rstrip().endswith("grokbatch")  # `complete ... grokbatch`
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(("words", "expected"),
                         [("grokbatch ru", ["run"]), ("grokbatch run st", ["start", "status"])])
def test_the_completion_script_completes_commands(cli: Cli, words: str,
                                                  expected: list[str]) -> None:
    """What the installed bash script asks the command, and its answer."""
    cword = str(len(words.split()) - 1)
    result = cli(env_extra={"_GROKBATCH_COMPLETE": "complete_bash", "COMP_WORDS": words,
                            "COMP_CWORD": cword})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


# --------------------------------------------------------------------------- bad input: exit 2
def test_missing_config_file_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                     grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args("--config", str(tmp_path / "nope.json"))),
                              grokbatch_home)
    assert "nope.json" in line and "does not exist" in line


def test_unreadable_config_file_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                        grokbatch_home: Path, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 text: unreadable as a config, even for root."""
    fake_account()
    config = tmp_path / "config.json"
    config.write_bytes(b"\xff\xfe{\x00")
    line = assert_usage_error(cli(*start_args("--config", str(config))), grokbatch_home)
    assert "cannot read" in line


def test_config_path_that_is_a_directory_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                                 grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args("--config", str(tmp_path))), grokbatch_home)
    assert "cannot read" in line


def test_invalid_json_config_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                     grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    config = tmp_path / "config.json"
    config.write_text('{"count": 3,,}')
    line = assert_usage_error(cli(*start_args("--config", str(config))), grokbatch_home)
    assert "not valid JSON" in line


def test_unknown_config_key_exits_2_naming_the_key(cli: Cli, fake_account: Callable[..., Path],
                                                   grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"count": 3, "paralel": 2}))
    line = assert_usage_error(cli(*start_args("--config", str(config))), grokbatch_home)
    assert "'paralel'" in line


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--count", "0"], "count must be between 1 and 1000"),
        (["--count", "1001"], "count must be between 1 and 1000"),
        (["--parallel", "0"], "parallel must be between 1 and 100"),
        (["--parallel", "101"], "parallel must be between 1 and 100"),
        (["--cooldown", "soon"], "--cooldown"),
        (["--job-name", "../evil"], "job name"),
    ],
)
def test_out_of_range_values_exit_2(cli: Cli, fake_account: Callable[..., Path],
                                    grokbatch_home: Path, flags: list[str], message: str) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args(*flags)), grokbatch_home)
    assert message in line


def test_count_out_of_range_in_config_file_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                                   grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"account": "acct", "permalink": PERMALINK, "batchSize": 0}))
    line = assert_usage_error(cli("run", "start", "--config", str(config)), grokbatch_home)
    assert "count must be between" in line


@pytest.mark.parametrize(
    "url", ["https://example.com/imagine/post/abc", "https://grok.com/imagine"]
)
def test_bad_permalink_exits_2(cli: Cli, fake_account: Callable[..., Path],
                               grokbatch_home: Path, url: str) -> None:
    fake_account()
    line = assert_usage_error(
        cli("run", "start", "--account", "acct", "--permalink", url), grokbatch_home
    )
    assert "permalink" in line


def test_run_start_with_unsafe_account_alias_exits_2(cli: Cli, grokbatch_home: Path) -> None:
    line = assert_usage_error(
        cli("run", "start", "--account", "../evil", "--permalink", PERMALINK), grokbatch_home
    )
    assert "account alias" in line
    assert not (grokbatch_home.parent / "evil").exists()


def test_accounts_add_with_unsafe_alias_exits_2_and_writes_nothing(
    cli: Cli, grokbatch_home: Path
) -> None:
    assert_usage_error(cli("accounts", "add", "../evil", "--headless"), grokbatch_home)
    assert list(grokbatch_home.iterdir()) == []
    assert not (grokbatch_home.parent / "evil").exists()


def test_unknown_account_exits_2(cli: Cli, grokbatch_home: Path) -> None:
    line = assert_usage_error(cli(*start_args()), grokbatch_home)
    assert "unknown account 'acct'" in line and "accounts add" in line


def test_prompt_and_prompts_file_together_exit_2(cli: Cli, fake_account: Callable[..., Path],
                                                 grokbatch_home: Path, tmp_path: Path) -> None:
    fake_account()
    csv = tmp_path / "prompts.csv"
    csv.write_text("prompt\nhello\n")
    line = assert_usage_error(
        cli(*start_args("--prompt", "x", "--prompts-file", str(csv))), grokbatch_home
    )
    assert "--prompt" in line and "--prompts-file" in line


def test_bad_prompts_file_row_exits_2_naming_row_not_prompt(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    fake_account()
    csv = tmp_path / "prompts.csv"
    csv.write_text(f"prompt,count\n{SECRET},abc\n")
    result = cli(*start_args("--prompts-file", str(csv)))
    line = assert_usage_error(result, grokbatch_home)
    assert "row 2" in line
    assert SECRET not in result.stdout + result.stderr


def test_unknown_flag_exits_2_without_traceback(cli: Cli, grokbatch_home: Path) -> None:
    result = cli("run", "start", "--no-such-flag")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert list(grokbatch_home.iterdir()) == []


# --------------------------------------------------------------------------- listing
def test_accounts_list_json_is_empty_then_shows_a_fake_account(
    cli: Cli, fake_account: Callable[..., Path]
) -> None:
    empty = cli("accounts", "list", "--json")
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == []
    fake_account("main")
    one = cli("accounts", "list", "--json")
    assert one.returncode == 0, one.stderr
    rows = json.loads(one.stdout)
    assert [row["alias"] for row in rows] == ["main"]
    assert rows[0]["siteUrl"] == "https://grok.com/imagine"
    assert rows[0]["looksSignedIn"] is False


def test_accounts_list_text_mentions_how_to_add_when_empty(cli: Cli) -> None:
    result = cli("accounts", "list")
    assert result.returncode == 0
    assert "accounts add" in result.stdout


def test_accounts_remove_deletes_the_account(cli: Cli, fake_account: Callable[..., Path],
                                             grokbatch_home: Path) -> None:
    fake_account("gone")
    result = cli("accounts", "remove", "gone")
    assert result.returncode == 0, result.stderr
    assert not (grokbatch_home / "accounts" / "gone").exists()
    again = cli("accounts", "remove", "gone")
    assert again.returncode == 2
    assert "unknown account" in again.stderr


def test_run_list_json_with_no_jobs_prints_empty_list(cli: Cli) -> None:
    result = cli("run", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("command", [["run", "status"], ["run", "report"]])
def test_status_and_report_of_unknown_job_exit_2(cli: Cli, grokbatch_home: Path,
                                                 command: list[str]) -> None:
    result = cli(*command, "NOSUCHJOB")
    line = assert_usage_error(result, grokbatch_home)
    assert "NOSUCHJOB" in line


def test_run_status_of_unsafe_job_name_exits_2(cli: Cli, grokbatch_home: Path) -> None:
    assert_usage_error(cli("run", "status", "../evil"), grokbatch_home)


# --------------------------------------------------------------------------- prompt privacy
def test_prompt_never_appears_when_run_start_fails_on_unknown_account(
    cli: Cli, grokbatch_home: Path
) -> None:
    result = cli(*start_args("--prompt", SECRET))
    assert_usage_error(result, grokbatch_home)
    assert SECRET not in result.stdout + result.stderr


def test_prompt_never_appears_when_run_start_fails_validation(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    fake_account()
    result = cli(*start_args("--prompt", SECRET, "--count", "0"))
    assert_usage_error(result, grokbatch_home)
    assert SECRET not in result.stdout + result.stderr


def test_resuming_with_another_prompt_exits_2_without_any_prompt_in_output_or_log(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    fake_account()
    manifest = make_job(grokbatch_home, prompt="the original prompt text")
    before = manifest.path.read_bytes()
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET))
    assert result.returncode == 2, result.stderr
    assert "different prompt" in result.stderr
    assert "Traceback" not in result.stderr
    run_log = paths.run_log_file(JOB)
    for text in (result.stdout, result.stderr, run_log.read_text(encoding="utf-8")):
        assert SECRET not in text
        assert "the original prompt text" not in text
    assert manifest.path.read_bytes() == before


def test_finished_job_rerun_exits_0_with_nothing_left_and_no_prompt_anywhere(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    fake_account()
    make_job(grokbatch_home, count=2, completed=2)
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET, "--json"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert summary["jobName"] == JOB
    assert summary["exitCode"] == 0
    assert summary["counts"]["COMPLETED"] == 2
    run_log = paths.run_log_file(JOB)
    log_text = run_log.read_text(encoding="utf-8")
    assert "nothing left to do" in log_text
    assert stat.S_IMODE(run_log.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.run_dir(JOB).stat().st_mode) == 0o700
    status = cli("run", "status", JOB, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["counts"]["COMPLETED"] == 2
    listing = cli("run", "list", "--json")
    assert [row["jobName"] for row in json.loads(listing.stdout)] == [JOB]
    for text in (result.stdout, result.stderr, log_text, status.stdout, status.stderr,
                 listing.stdout):
        assert SECRET not in text


def test_a_rerun_that_finds_nothing_left_records_how_the_job_ended(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    # Interrupted while its last videos finished: the job is done, not INTERRUPTED for good.
    fake_account()
    manifest = make_job(grokbatch_home, count=2, completed=2)
    manifest.set_status(RunStatus.INTERRUPTED, "interrupted: rerun the same command to finish")
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET, "--json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "COMPLETED"
    doc = manifest.snapshot()
    assert (doc["status"], doc["stopReason"]) == ("COMPLETED", None)
    listing = json.loads(cli("run", "list", "--json").stdout)
    assert [row["status"] for row in listing] == ["COMPLETED"]


def test_a_job_directory_copied_under_a_new_name_is_the_job_of_that_name(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    # Before, `run status copy`, `run list` and the reports printed the old name.
    fake_account()
    make_job(grokbatch_home, count=2, completed=2)
    shutil.copytree(paths.run_dir(JOB), paths.run_dir("copy"))
    status = json.loads(cli("run", "status", "copy", "--json").stdout)
    assert status["jobName"] == "copy"
    assert cli("run", "status", "copy").stdout.splitlines()[0].split() == ["job", "copy"]
    listing = json.loads(cli("run", "list", "--json").stdout)
    assert sorted(row["jobName"] for row in listing) == ["copy", JOB]
    assert cli("run", "report", "copy").returncode == 0
    assert "<h1>copy " in (paths.run_dir("copy") / "report.html").read_text(encoding="utf-8")
    result = cli(*start_args("--job-name", "copy", "--prompt", SECRET, "--json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["jobName"] == "copy"
    assert Manifest.open(paths.manifest_file("copy")).snapshot()["jobName"] == "copy"
    assert Manifest.open(paths.manifest_file(JOB)).snapshot()["jobName"] == JOB


def test_rerun_of_videos_that_used_their_attempts_says_how_to_retry_them(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    fake_account()
    manifest = make_job(grokbatch_home, count=2, completed=1)
    for attempt in range(3):  # three TIMEOUTs: the default --max-attempts
        item = manifest.claim_next_item("w1")
        assert item is not None
        manifest.update_item(item["index"], "w1", status=ItemStatus.FAILED,
                             error_kind="TIMEOUT", error="no result")
        if attempt < 2:
            manifest.reset_for_rerun(3)
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET, "--json"))
    assert result.returncode == 0, result.stderr  # nothing left to do, as the table says
    summary = json.loads(result.stdout)
    assert summary["failedByKind"] == {"TIMEOUT": 1}
    assert "1 used the 3 attempts a video may have (TIMEOUT 1)" in summary["message"]
    assert "--max-attempts" in summary["message"]
    assert "higher --max-attempts" in paths.run_log_file(JOB).read_text(encoding="utf-8")
    assert manifest.snapshot()["items"][1]["status"] == "FAILED"  # no generation spent


def test_rerun_inside_rate_limit_cooldown_exits_75(cli: Cli, fake_account: Callable[..., Path],
                                                   grokbatch_home: Path) -> None:
    fake_account()
    manifest = make_job(grokbatch_home, count=2, completed=1)
    manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, reason="rate limited")
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET, "--cooldown", "2h"))
    assert result.returncode == 75, result.stderr
    assert "cooldown" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert result.stderr.count("cooldown lasts") == 1  # once on the console, as before
    # A cron user reads the job's log: the refusal was only on the console.
    log = paths.run_log_file(JOB).read_text(encoding="utf-8")
    assert "cooldown lasts until" in log and "(exit 75)" in log
    status = cli("run", "status", JOB, "--json")
    report = json.loads(status.stdout)
    assert report["status"] == "STOPPED_RATE_LIMIT"
    assert report["cooldownUntil"]


def test_rerun_while_the_job_lock_is_held_exits_4(cli: Cli, fake_account: Callable[..., Path],
                                                  grokbatch_home: Path) -> None:
    from grokbatch.locks import job_lock

    fake_account()
    make_job(grokbatch_home, count=1)
    with job_lock(JOB):
        result = cli(*start_args("--job-name", JOB, "--prompt", SECRET))
    assert result.returncode == 4, result.stderr
    assert f"PID {os.getpid()}" in result.stderr
    assert SECRET not in result.stdout + result.stderr


# --------------------------------------------------------------------------- hardening: input
def assert_nothing_written(home: Path, alias: str = "acct") -> None:
    """No job directory, no manifest, no account directory other than the test's own."""
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
    accounts = home / "accounts"
    assert not accounts.exists() or {p.name for p in accounts.iterdir()} <= {alias}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--choice", "third"], "choice must be one of first, second, skip"),
        (["--resolution", "1080p"], "resolution must be one of 480p, 720p"),
    ],
)
def test_unknown_choice_or_resolution_exits_2_and_writes_nothing(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, flags: list[str],
    message: str
) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args(*flags)), grokbatch_home)
    assert message in line
    assert_nothing_written(grokbatch_home)


def test_run_start_help_describes_choice_resolution_and_prompt_file(cli: Cli) -> None:
    result = cli("run", "start", "--help", env_extra={"COLUMNS": "200"})
    for flag in ("--choice", "--resolution", "--prompt-file", "GROKBATCH_PROMPT", "ps"):
        assert flag in result.stdout, flag


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308"])
def test_non_finite_or_huge_timeout_exits_2_naming_the_bounds(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, value: str
) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args("--timeout", value)), grokbatch_home)
    assert "timeout must be positive and at most 3600 seconds" in line
    assert_nothing_written(grokbatch_home)


def test_nan_seconds_in_config_file_exits_2_naming_the_key(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    fake_account()
    config = tmp_path / "config.json"
    config.write_text('{"shutdownGrace": NaN}')
    line = assert_usage_error(cli(*start_args("--config", str(config))), grokbatch_home)
    assert "'shutdownGrace'" in line and "from 0 to 3600 seconds" in line


def test_deeply_nested_config_file_exits_2_naming_the_file(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    fake_account()
    config = tmp_path / "deep.json"
    config.write_text("[" * 100_000 + "]" * 100_000)
    line = assert_usage_error(cli(*start_args("--config", str(config))), grokbatch_home)
    assert "deep.json" in line and "nested too deeply" in line


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory"])
def test_bad_browser_path_exits_2_before_any_job_is_written(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path,
    kind: str
) -> None:
    fake_account()
    path = {"missing": tmp_path / "nonexistent", "directory": tmp_path,
            "not-executable": tmp_path / "chrome"}[kind]
    if kind == "not-executable":
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
    line = assert_usage_error(cli(*start_args("--browser-path", str(path))), grokbatch_home)
    assert str(path) in line
    assert_nothing_written(grokbatch_home)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999/imagine/post/x", "http://127.0.0.1:abc/imagine/post/x",
     "http://[::1/imagine/post/x"],
)
def test_permalink_with_bad_port_or_ipv6_literal_exits_2(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, url: str
) -> None:
    fake_account()
    line = assert_usage_error(
        cli("run", "start", "--account", "acct", "--permalink", url), grokbatch_home
    )
    assert "permalink" in line and "not a valid URL" in line


def test_job_name_with_trailing_newline_exits_2(cli: Cli, fake_account: Callable[..., Path],
                                                grokbatch_home: Path) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args("--job-name", "abc\n")), grokbatch_home)
    assert "invalid job name" in line
    assert_nothing_written(grokbatch_home)


def test_accounts_add_with_trailing_newline_alias_exits_2_and_writes_nothing(
    cli: Cli, grokbatch_home: Path
) -> None:
    line = assert_usage_error(cli("accounts", "add", "nl\n", "--headless"), grokbatch_home)
    assert "invalid account alias" in line
    assert list(grokbatch_home.iterdir()) == []


@pytest.mark.parametrize("flags", [["--max-attempts", "0"], ["--max-attempts", "21"],
                                   ["--count", "-1"], ["--parallel", "1000"]])
def test_count_parallel_and_max_attempts_out_of_range_exit_2(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, flags: list[str]
) -> None:
    fake_account()
    line = assert_usage_error(cli(*start_args(*flags)), grokbatch_home)
    assert "must be between" in line
    assert_nothing_written(grokbatch_home)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f'prompt,count\nfine,1\n"{SECRET},2\nmore,1\n', "row 3: a quote is never closed"),
        (f"prompt,count\n{SECRET},\uff13\n", "row 2 has a bad count"),  # fullwidth 3
        (f"prompt,count\n{SECRET},\u0663\n", "row 2 has a bad count"),  # Arabic-Indic 3
    ],
)
def test_prompts_file_with_unclosed_quote_or_non_ascii_count_exits_2_naming_the_row(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path,
    content: str, message: str
) -> None:
    fake_account()
    csv = tmp_path / "prompts.csv"
    csv.write_text(content, encoding="utf-8")
    result = cli(*start_args("--prompts-file", str(csv)))
    line = assert_usage_error(result, grokbatch_home)
    assert message in line
    assert SECRET not in result.stdout + result.stderr
    assert_nothing_written(grokbatch_home)


# --------------------------------------------------------------------------- prompt sources
def test_prompt_file_stdin_and_environment_give_the_jobs_prompt(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    """A finished job made with SECRET: each way of giving SECRET resumes it (exit 0, nothing
    left), and a different prompt from the same source is refused as a different prompt."""
    fake_account()
    make_job(grokbatch_home, count=1, completed=1)
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text(SECRET + "\n", encoding="utf-8")
    same = [
        cli(*start_args("--job-name", JOB, "--prompt-file", str(prompt_file))),
        cli(*start_args("--job-name", JOB, "--prompt", "-"), stdin=SECRET + "\n"),
        cli(*start_args("--job-name", JOB), env_extra={"GROKBATCH_PROMPT": SECRET}),
    ]
    for result in same:
        assert result.returncode == 0, result.stderr
        assert "nothing left to do" in result.stderr
        assert SECRET not in result.stdout + result.stderr
    other = cli(*start_args("--job-name", JOB), env_extra={"GROKBATCH_PROMPT": "other"})
    assert other.returncode == 2 and "different prompt" in other.stderr


def test_empty_prompt_file_exits_2_and_writes_nothing(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    fake_account()
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("\n", encoding="utf-8")
    line = assert_usage_error(cli(*start_args("--prompt-file", str(prompt_file))),
                              grokbatch_home)
    assert "prompt.txt is empty" in line
    assert_nothing_written(grokbatch_home)


@pytest.mark.parametrize("other", [["--prompt", "x"], ["--prompts-file", "p.csv"]])
def test_prompt_file_with_prompt_or_prompts_file_exits_2(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path,
    other: list[str]
) -> None:
    fake_account()
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("a prompt", encoding="utf-8")
    line = assert_usage_error(
        cli(*start_args("--prompt-file", str(prompt_file), *other)), grokbatch_home
    )
    assert "--prompt-file" in line


# --------------------------------------------------------------------------- default job name
def test_default_job_name_of_a_long_alias_and_post_id_is_valid_and_resumes_the_job(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    from grokbatch.run.jobs import default_job_name

    alias = "a" * 64
    permalink = "https://grok.com/imagine/post/0b7f3c1e-1234-4abc-9def-000000000001"
    fake_account(alias)
    name = default_job_name(alias, permalink, None, SECRET)
    Manifest.create(paths.manifest_file(name), job_name=name, account_alias=alias,
                    permalink=permalink, count=1, prompt=SECRET)
    manifest = Manifest.open(paths.manifest_file(name))
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    result = cli("run", "start", "--account", alias, "--permalink", permalink,
                 "--prompt", SECRET, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["jobName"] == name


# --------------------------------------------------------------------------- manifest checks
def _edit_manifest(manifest: Manifest, change: Callable[[dict], None]) -> bytes:
    doc = json.loads(manifest.path.read_text())
    change(doc)
    manifest.path.write_text(json.dumps(doc))
    return manifest.path.read_bytes()


@pytest.mark.parametrize("key", ["status", "items", "permalink", "accountAlias"])
def test_status_and_start_on_a_manifest_missing_a_key_exit_2_naming_it_file_unchanged(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, key: str
) -> None:
    fake_account()
    manifest = make_job(grokbatch_home, count=2, completed=1)
    written = _edit_manifest(manifest, lambda doc: doc.pop(key))
    for result in (cli("run", "status", JOB), cli(*start_args("--job-name", JOB,
                                                              "--prompt", SECRET))):
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0] and "internal error" not in lines[0]
        assert SECRET not in result.stderr
    assert manifest.path.read_bytes() == written


def test_status_of_a_garbage_lease_exits_2_naming_field_and_item(
    cli: Cli, grokbatch_home: Path
) -> None:
    manifest = make_job(grokbatch_home, count=2, completed=1)
    written = _edit_manifest(manifest, lambda doc: doc["items"][1].update(
        leaseExpiresAt="yesterday"))
    result = cli("run", "status", JOB, "--json")
    assert result.returncode == 2
    assert "item 1 field leaseExpiresAt is 'yesterday'" in result.stderr
    # A script reading --json gets one document either way: here, the error.
    error = json.loads(result.stdout)
    assert error["exitCode"] == 2
    assert "item 1 field leaseExpiresAt is 'yesterday'" in error["error"]
    assert manifest.path.read_bytes() == written


def test_status_and_list_recompute_counts_a_hand_edit_made_stale(
    cli: Cli, grokbatch_home: Path
) -> None:
    manifest = make_job(grokbatch_home, count=2, completed=2)
    _edit_manifest(manifest, lambda doc: (doc["items"][0].update(status="PENDING"),
                                          doc.pop("batchSize")))
    listing = json.loads(cli("run", "list", "--json").stdout)
    assert [(r["completedCount"], r["batchSize"]) for r in listing] == [(1, 2)]
    status = json.loads(cli("run", "status", JOB, "--json").stdout)
    assert status["batchSize"] == 2 and status["counts"]["PENDING"] == 1


def test_a_manifest_from_a_newer_grokbatch_exits_2_asking_for_an_upgrade(
    cli: Cli, grokbatch_home: Path
) -> None:
    manifest = make_job(grokbatch_home)
    written = _edit_manifest(manifest, lambda doc: doc.update(schemaVersion=9))
    result = cli("run", "status", JOB)
    assert result.returncode == 2
    assert "newer grokbatch" in result.stderr and "upgrade" in result.stderr
    assert manifest.path.read_bytes() == written


def test_run_status_of_a_run_whose_process_is_gone_shows_interrupted(
    cli: Cli, grokbatch_home: Path
) -> None:
    manifest = make_job(grokbatch_home, count=2)
    manifest.set_status(RunStatus.IN_PROGRESS)  # as a runner does when it starts
    assert manifest.claim_next_item("w1") is not None  # by this test's PID: gone for the CLI
    before = manifest.path.read_bytes()
    text = cli("run", "status", JOB)
    assert text.returncode == 0, text.stderr
    assert "status    INTERRUPTED" in text.stdout
    report = json.loads(cli("run", "status", JOB, "--json").stdout)
    assert (report["status"], report["recordedStatus"]) == ("INTERRUPTED", "IN_PROGRESS")
    assert manifest.path.read_bytes() == before


def test_run_status_while_a_run_holds_the_lock_shows_in_progress(
    cli: Cli, grokbatch_home: Path
) -> None:
    from grokbatch.locks import job_lock

    manifest = make_job(grokbatch_home, count=2)
    manifest.set_status(RunStatus.IN_PROGRESS)  # as a runner does when it starts
    assert manifest.claim_next_item("w1") is not None
    with job_lock(JOB):
        report = json.loads(cli("run", "status", JOB, "--json").stdout)
    assert report["status"] == "IN_PROGRESS"


# --------------------------------------------------------------------------- the disk
def test_runs_directory_that_cannot_be_made_exits_1_naming_it_and_leaves_no_lock(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path
) -> None:
    """A regular file where runs/ should be: every mkdir under it fails, even for root."""
    fake_account()
    (grokbatch_home / "runs").write_text("not a directory")
    result = cli(*start_args("--job-name", JOB, "--prompt", SECRET))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"grokbatch: error: cannot create directory "
                     f"{grokbatch_home / 'runs' / JOB}: Not a directory"]
    assert not list(grokbatch_home.rglob("run.lock"))


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--permalink", "http://127.0.0.1:99999/imagine/post/x"], "not a valid URL"),
     (["--browser-path", "/nonexistent/chromium"], "does not exist")],
)
def test_doctor_with_a_bad_permalink_or_browser_path_exits_2_and_writes_nothing(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, flags: list[str],
    message: str
) -> None:
    fake_account()
    result = cli("doctor", "--account", "acct", *flags)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert sorted(p.name for p in grokbatch_home.iterdir()) == ["accounts"]


@pytest.mark.parametrize(("variables", "noted"), [
    ({"DEBUG": "pw:api", "DEBUG_FILE": "/tmp/pw.log"}, True),
    ({"DEBUG": "*"}, True),
    ({"PWDEBUG": "console"}, True),
    ({"DEBUG": "1"}, False),  # someone else's DEBUG: Playwright would print nothing
])
def test_playwright_debug_variables_leave_the_environment_with_a_note_if_they_did_anything(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        variables: dict[str, str], noted: bool) -> None:
    from grokbatch.cli.app import PLAYWRIGHT_DEBUG_ENV, drop_playwright_debug

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    drop_playwright_debug()
    assert not set(PLAYWRIGHT_DEBUG_ENV) & set(os.environ)
    assert ("Playwright's debug output" in capsys.readouterr().err) is noted


def test_grokbatch_debug_adds_a_traceback_and_keeps_the_exit_code_and_the_redaction(
    cli: Cli, grokbatch_home: Path
) -> None:
    args = ["run", "start", "--account", "nobody", "--permalink", PERMALINK, "--prompt", SECRET]
    plain = cli(*args)
    debugging = cli(*args, env_extra={"GROKBATCH_DEBUG": "1"})
    assert plain.returncode == debugging.returncode == 2
    assert "Traceback" not in plain.stderr
    assert "Traceback" in debugging.stderr
    assert "unknown account" in debugging.stderr
    assert SECRET not in debugging.stderr + debugging.stdout


def test_accounts_add_without_a_display_says_how_to_sign_in_and_keeps_nothing(
    cli: Cli, grokbatch_home: Path
) -> None:
    result = cli("accounts", "add", "main", env_extra={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert result.returncode == 2, result.stderr
    assert "DISPLAY is not set" in result.stderr
    assert "accounts import" in result.stderr
    assert not (grokbatch_home / "accounts" / "main").exists()


def test_a_json_run_start_that_fails_prints_the_error_as_its_json_and_never_the_prompt(
    cli: Cli, grokbatch_home: Path
) -> None:
    result = cli("run", "start", "--account", "nobody", "--permalink", PERMALINK,
                 "--prompt", SECRET, "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": result.stderr.strip().removeprefix("grokbatch: "), "exitCode": 2}
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [
    ["run", "status", "--json"],  # a missing argument
    ["run", "list", "--json", "--bogus"],  # an unknown option
    ["run", "start", "--count", "2.5", "--json"],  # a value of the wrong type
], ids=["missing", "unknown", "wrong-type"])
def test_a_usage_error_of_the_command_line_is_one_line_and_with_json_one_document(
    cli: Cli, grokbatch_home: Path, args: list[str]
) -> None:
    # Typer printed its box on stderr and nothing on stdout, though --json promises one.
    result = cli(*args)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("grokbatch: error: ") and "\n" not in line, result.stderr
    assert "--help`" in line  # where to look
    assert json.loads(result.stdout) == {"error": line.removeprefix("grokbatch: "),
                                         "exitCode": 2}


def test_an_unquoted_prompt_is_not_repeated_in_the_usage_error(cli: Cli) -> None:
    # "Got unexpected extra argument(s) (octopus waltzing)" showed the prompt's words.
    result = cli("run", "start", "--account", "acct", "--permalink", PERMALINK,
                 "--prompt", "tangerine", "octopus", "waltzing")
    assert result.returncode == 2
    assert "octopus" not in result.stdout + result.stderr
    assert "unexpected extra argument(s)" in result.stderr
    assert 'quote a value that has spaces (a prompt: --prompt "...")' in result.stderr
    other = cli("run", "status", "a", "b")  # a command without --prompt gets no such hint
    assert other.returncode == 2
    assert "quote a value that has spaces (see" in other.stderr


@pytest.mark.parametrize("args", [
    ["run", "start", "--account", "acct", "--permalink", PERMALINK, "--prompt", "--json"],
    ["run", "start", "--account", "acct", "--permalink", PERMALINK, "--prompt-file", "--json"],
    ["doctor", "--account", "--json"],
    ["run", "start", "--account", "acct", "--permalink", PERMALINK, "--prompt", "--help",
     "--json"],
])
def test_a_flag_taken_as_the_value_before_it_is_refused(cli: Cli, grokbatch_home: Path,
                                                        args: list[str]) -> None:
    # `--prompt --json` made videos of the prompt "--json", and printed no JSON.
    result = cli(*args)
    assert result.returncode == 2
    option, flag = (args[-3], args[-2]) if args[-2] == "--help" else (args[-2], args[-1])
    assert (f"Invalid value for '{option}': it took the flag {flag} as its value: give "
            f"{option} its value right after it") in result.stderr
    assert json.loads(result.stdout)["exitCode"] == 2  # the --json the user meant
    assert not (grokbatch_home / "runs").exists() or not any((grokbatch_home / "runs").iterdir())


def test_a_flag_taken_as_a_value_is_named_though_its_own_value_is_left_over(
        cli: Cli, grokbatch_home: Path) -> None:
    # `--prompt --count 3` left "3" over, and the error spoke of an unquoted prompt.
    result = cli("run", "start", "--account", "acct", "--permalink", PERMALINK, "--prompt",
                 "--count", "3", "--json")
    assert result.returncode == 2
    assert ("Invalid value for '--prompt': it took the flag --count as its value: give "
            "--prompt its value right after it") in result.stderr
    assert "unexpected extra argument" not in result.stderr
    assert json.loads(result.stdout)["exitCode"] == 2
    assert not (grokbatch_home / "runs").exists() or not any((grokbatch_home / "runs").iterdir())


def test_a_group_without_its_command_shows_its_help_and_exits_2(cli: Cli) -> None:
    result = cli("run")
    assert result.returncode == 2
    assert "Usage: grokbatch run" in result.stdout + result.stderr
    assert "start" in result.stdout + result.stderr


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "left-by-a-killed-run"])
def test_copies_kept_on_purpose_outlive_a_refused_or_idle_rerun_and_others_do_not(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, kept: bool
) -> None:
    # A rerun refused (another prompt) or with nothing to do deleted the copies a run had
    # kept with --keep-profiles. Copies no one kept (a killed run's) hold cookies: removed.
    fake_account()
    manifest = make_job(grokbatch_home, count=1, completed=1)
    manifest.update_fields(settings={"keepProfiles": kept})
    copy = paths.run_files(JOB).worker_profiles / "worker-0"
    copy.mkdir(parents=True)
    refused = cli(*start_args("--job-name", JOB, "--prompt", "another prompt"))
    assert refused.returncode == 2, refused.stderr
    assert copy.is_dir() is kept
    if kept:
        idle = cli(*start_args("--job-name", JOB, "--prompt", SECRET))
        assert idle.returncode == 0, idle.stderr
        assert "nothing left to do" in idle.stderr
        assert copy.is_dir()


def test_a_rerun_asking_for_other_counts_is_told_the_job_keeps_its_own(
    cli: Cli, fake_account: Callable[..., Path], grokbatch_home: Path, tmp_path: Path
) -> None:
    # Both were ignored without a word: "nothing left to do".
    fake_account()
    make_job(grokbatch_home, count=3, completed=3)
    smaller = cli(*start_args("--job-name", JOB, "--prompt", SECRET, "--count", "2"))
    assert smaller.returncode == 0, smaller.stderr
    assert "it has 3 video(s); --count 2 does not make it smaller" in smaller.stderr

    rows = [{"prompt": "first idea", "count": 1}, {"prompt": "second idea", "count": 1}]
    manifest = Manifest.create(paths.manifest_file("rows"), job_name="rows",
                               account_alias="acct", permalink=PERMALINK, count=2,
                               prompt=None, prompts=rows)
    for _ in range(2):
        item = manifest.claim_next_item("w1")
        assert item is not None
        manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("prompt,count\nfirst idea,4\nsecond idea,1\n", encoding="utf-8")
    more = cli(*start_args("--job-name", "rows", "--prompts-file", str(prompts)))
    assert more.returncode == 0, more.stderr
    assert "it keeps the counts it was made with (2 video(s) in all)" in more.stderr
    assert "use a new --job-name" in more.stderr
    prompts.write_text("prompt,count\nfirst idea,1\nsecond idea,1\n", encoding="utf-8")
    same = cli(*start_args("--job-name", "rows", "--prompts-file", str(prompts)))
    assert "counts it was made with" not in same.stderr


def test_run_list_keeps_its_columns_with_a_name_of_64_characters(
    cli: Cli, grokbatch_home: Path
) -> None:
    long_name = "j" * 64
    for job in (long_name, "short"):
        Manifest.create(paths.manifest_file(job), job_name=job, account_alias="acct",
                        permalink=PERMALINK, count=1, prompt=None)
    lines = cli("run", "list").stdout.splitlines()
    starts = {line.index(" PENDING" if "PENDING" in line else " STATUS") for line in lines}
    assert len(starts) == 1, lines  # STATUS and every status begin in the same column


def test_the_cron_example_reads_a_config_path_relative_to_where_it_is_called(
    tmp_path: Path, grokbatch_home: Path
) -> None:
    # It changed to the checkout first: `cron-example.sh batch.json` said the file was missing.
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "scripts" / "cron-example.sh", checkout / "scripts")
    shim = checkout / ".venv" / "bin" / "grokbatch"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grokbatch "$@"\n')
    shim.chmod(0o755)
    calling = tmp_path / "batches"
    calling.mkdir()
    (calling / "batch.json").write_text(json.dumps(
        {"account": "nobody", "permalink": "https://grok.com/imagine/post/abc", "count": 1}))
    result = subprocess.run(["bash", str(checkout / "scripts" / "cron-example.sh"),
                             "batch.json"], cwd=calling, capture_output=True, text=True,
                            env={**os.environ, "GROKBATCH_HOME": str(grokbatch_home)},
                            timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "nobody" in result.stderr  # the file was read: its account is unknown
    assert "exit 2" in result.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_an_error_on_a_console_the_disk_refuses_keeps_its_exit_code(
        fake_account: Callable[..., Path], grokbatch_home: Path) -> None:
    # Cron's `>> cron.log 2>&1` on a full disk: the error line could not be written, its
    # OSError ended the command with a traceback no one saw and exit 1, so a rerun in its
    # cooldown exited 1 (a failure to cron) instead of 75 (try later).
    fake_account()
    manifest = make_job(grokbatch_home, count=2, completed=1)
    manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, reason="rate limited")
    env = {**os.environ, "GROKBATCH_HOME": str(grokbatch_home)}
    env.pop("GROKBATCH_DEBUG", None)
    cases = [(start_args("--job-name", JOB, "--prompt", SECRET, "--cooldown", "2h"), 75),
             (start_args("--job-name", JOB, "--prompt", SECRET, "--cooldown", "2h", "--json"),
              75),
             (["run", "start", "--account", "nobody", "--permalink", PERMALINK], 2)]
    for args, code in cases:
        with open("/dev/full", "w") as full:
            result = subprocess.run([sys.executable, "-m", "grokbatch", *args], env=env,
                                    stdout=full, stderr=full, stdin=subprocess.DEVNULL,
                                    timeout=CLI_TIMEOUT_S)
        assert result.returncode == code, args
