"""`grokbatch run start` end to end: real CLI, real worker processes, real Chromium,
the simulator over HTTP. Each test asserts on exit codes, the manifest, files on disk and
the simulator's own counters."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from grokbatch.run.capacity import (
    HEADLESS_SHELL_WORKER_MEMORY_MB,
    MEMORY_AVAILABLE_ENV,
    OWN_DRIVER_MEMORY_MB,
    WORKER_MEMORY_MB,
)
from tests.e2e.clihelpers import (
    ALIAS,
    assert_prompt_absent,
    manifest,
    processes_left_by_run,
    run_cli,
    start_args,
    statuses,
)

pytestmark = pytest.mark.e2e



def test_ten_videos_with_four_workers_all_complete_and_leave_no_profile_or_process(
        home, simulator):
    sim = simulator("--generation-seconds", "1")
    result = run_cli(home, *start_args(sim.post_url(), count=10, parallel=4))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 10
    assert doc["status"] == "COMPLETED"
    assert doc["completedCount"] == 10
    assert sim.stats()["generationsCompleted"] == 10
    assert not (home / "runs" / "job" / "worker-profiles").exists()
    videos = sorted((home / "runs" / "job" / "videos").iterdir())
    assert [v.name for v in videos] == [f"job-{i:03d}.mp4" for i in range(10)]
    assert {item["workerId"] for item in doc["items"]} <= {f"worker-{i}" for i in range(4)}
    assert_prompt_absent(home, result)
    log = (home / "runs" / "job" / "run.log").read_text()
    assert "4 worker(s) share 1 Playwright driver(s)" in log
    assert _drivers_said(log) == ["shared"] * 4
    assert processes_left_by_run(home) == []  # the fork server and the driver ended too


def _drivers_said(log: str) -> list[str]:
    """What each worker said of its Playwright driver ("shared" or "its own")."""
    return [line.split(": Playwright driver: ", 1)[1].strip() for line in log.splitlines()
            if ": Playwright driver: " in line]


def test_own_drivers_give_each_worker_a_driver_of_its_own_counted_in_its_memory(
        home, simulator):
    sim = simulator("--generation-seconds", "0.5")
    fake_mb = 3 * WORKER_MEMORY_MB  # room for three workers sharing drivers, two with their own
    assert fake_mb // (WORKER_MEMORY_MB + OWN_DRIVER_MEMORY_MB) == 2
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=3), "--own-drivers",
                     env_extra={MEMORY_AVAILABLE_ENV: str(fake_mb)})
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 4
    assert "starting 2 of 3 workers" in result.stderr
    log = (home / "runs" / "job" / "run.log").read_text()
    assert "share" not in log
    assert _drivers_said(log) == ["its own"] * 2
    assert processes_left_by_run(home) == []


def test_too_little_memory_starts_fewer_workers_says_so_once_and_completes_every_item(
        home, simulator):
    sim = simulator("--generation-seconds", "0.5")
    fake_mb = 2 * WORKER_MEMORY_MB + WORKER_MEMORY_MB // 2  # room for two workers
    result = run_cli(home, *start_args(sim.post_url(), count=6, parallel=4),
                     env_extra={MEMORY_AVAILABLE_ENV: str(fake_mb)})
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 6
    assert {item["workerId"] for item in doc["items"]} <= {"worker-0", "worker-1"}
    assert sim.stats()["generationsCompleted"] == 6
    assert sim.stats()["maxConcurrent"] <= 2
    said = [line for line in result.stderr.splitlines() if "starting 2 of 4 workers" in line]
    assert len(said) == 1, result.stderr
    assert f"{fake_mb} MB available" in said[0]
    fit = min(4, fake_mb // HEADLESS_SHELL_WORKER_MEMORY_MB)
    assert fit == 3
    assert f"--headless-shell would fit {fit}" in said[0]  # a way to run more of them


def test_the_headless_shell_runs_every_worker_when_asked_and_more_of_them_fit(
        home, simulator, headless_shell):
    sim = simulator("--generation-seconds", "0.5")
    # Memory for three shell workers (injected), where two full Chromium workers would fit.
    fake_mb = 3 * HEADLESS_SHELL_WORKER_MEMORY_MB
    assert fake_mb // WORKER_MEMORY_MB == 2
    result = run_cli(home, *start_args(sim.post_url(), count=6, parallel=4),
                     "--headless-shell", env_extra={MEMORY_AVAILABLE_ENV: str(fake_mb)})
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 6
    assert sim.stats()["generationsCompleted"] == 6
    assert "starting 3 of 4 workers" in result.stderr
    assert "would fit" not in result.stderr  # it is the shell already
    log = (home / "runs" / "job" / "run.log").read_text()
    launched = {line.rsplit(" browser ", 1)[1] for line in log.splitlines()
                if ": browser " in line}
    assert launched == {headless_shell}


def test_parallel_one_runs_every_video_sequentially(home, simulator):
    sim = simulator("--generation-seconds", "0.5")
    result = run_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 3
    assert {item["workerId"] for item in doc["items"]} == {"worker-0"}
    stats = sim.stats()
    assert stats["generationsCompleted"] == 3
    assert stats["maxConcurrent"] == 1


def test_playwright_debug_variables_reach_no_driver_so_the_prompt_is_not_printed(
        home, simulator):
    sim = simulator("--generation-seconds", "0.5")
    debug = {"DEBUG": "pw:api,pw:protocol", "PWDEBUG": "1"}
    result = run_cli(home, *start_args(sim.post_url(), count=1, parallel=1), env_extra=debug)
    assert result.code == 0, result.stderr  # no inspector, no headed browser
    assert manifest(home)["completedCount"] == 1
    assert "Playwright's debug output (DEBUG, PWDEBUG) is off" in result.stderr
    assert "pw:api" not in result.stderr and "pw:protocol" not in result.stderr
    assert_prompt_absent(home, result)


def test_rate_limit_stops_every_worker_and_leaves_the_rest_pending(home, simulator):
    sim = simulator("--generation-seconds", "0.5", "--rate-limit-after", "5")
    result = run_cli(home, *start_args(sim.post_url(), count=12, parallel=3))
    assert result.code == 75, result.stderr
    doc = manifest(home)
    counts = Counter(statuses(doc))
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    assert doc["rateLimitedAt"]
    assert counts["COMPLETED"] == 5
    assert counts["PENDING"] == 7
    assert "IN_PROGRESS" not in counts
    stats = sim.stats()
    assert stats["generationsCompleted"] == 5
    # Each worker meets the limit at most once, then claims nothing more. A worker that
    # claimed an item and saw the stop before its click gives it back too, so the items
    # given back are at least those the site refused. None of them spent an attempt, and
    # the site started no video beyond the five it made.
    assert stats["generationsStarted"] == 5
    given_back = [i for i in doc["items"] if i["status"] == "PENDING" and i["startedAt"]]
    assert 1 <= stats["rateLimited"] <= len(given_back) <= 3
    assert all(i["attempts"] == 0 for i in doc["items"] if i["status"] == "PENDING")
    never_claimed = [i for i in doc["items"] if not i["startedAt"]]
    assert len(never_claimed) == 12 - 5 - len(given_back)
    assert_prompt_absent(home, result)


def test_signed_out_account_exits_3_and_leaves_nothing_in_progress(home, simulator):
    sim = simulator("--expire-sessions")
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=2))
    assert result.code == 3, result.stderr
    doc = manifest(home)
    assert doc["status"] == "STOPPED_AUTH"
    assert "IN_PROGRESS" not in statuses(doc)
    assert sim.stats()["generationsStarted"] == 0
    assert "accounts add" in result.stderr
    # What the page showed, for the user to see (the prompt was never typed).
    debug = home / "runs" / "job" / "debug"
    assert {p.suffix for p in debug.glob("*_AUTH_REQUIRED_*")} == {".html", ".png"}
    assert_prompt_absent(home, result)


def test_each_failure_kind_is_recorded_and_the_run_goes_on(home, simulator):
    sim = simulator(
        "--generation-seconds",
        "1",
        "--moderate-every",
        "3",
        "--network-error-every",
        "4",
        "--generation-error-every",
        "5",
        "--stall-every",
        "7",
    )
    result = run_cli(home, *start_args(sim.post_url(), "--timeout", "6", "--max-attempts", "1",
                                       count=8, parallel=2))
    assert result.code == 1, result.stderr
    doc = manifest(home)
    kinds = Counter(i["errorKind"] for i in doc["items"] if i["status"] == "FAILED")
    # Generations 3 and 6 moderated, 4 and 8 network errors, 5 a generation error,
    # 7 stalled (times out); 1 and 2 complete.
    assert kinds == {
        "CONTENT_MODERATED": 2,
        "NETWORK_ERROR": 2,
        "GENERATION_ERROR": 1,
        "TIMEOUT": 1,
    }
    assert statuses(doc).count("COMPLETED") == 2
    assert doc["status"] == "FAILED"
    debug = home / "runs" / "job" / "debug"
    for kind in kinds:
        assert list(debug.glob(f"worker-*_{kind}_*.png")), kind
        assert list(debug.glob(f"worker-*_{kind}_*.html")), kind
    assert_prompt_absent(home, result)


def test_transient_failures_are_retried_in_the_same_run_at_the_back_of_the_queue(
        home, simulator):
    sim = simulator("--generation-seconds", "0.5", "--generation-error-every", "3")
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=1))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 4
    # Generation 3 (video #2) failed; video #3 went first, then #2 was made on attempt 2.
    assert [i["attempts"] for i in doc["items"]] == [1, 1, 2, 1]
    assert [h["errorKind"] for h in doc["items"][2]["history"]] == ["GENERATION_ERROR"]
    assert doc["items"][3]["startedAt"] < doc["items"][2]["startedAt"]
    assert sim.stats()["generationsStarted"] == 5


def test_contenteditable_editor_and_banner_are_handled(home, simulator):
    sim = simulator("--generation-seconds", "0.5", "--editor", "contenteditable", "--banner")
    result = run_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 3
    assert sim.stats()["generationsCompleted"] == 3


def test_selector_override_file_is_used(home, simulator, tmp_path):
    sim = simulator("--generation-seconds", "0.5")
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {"prompt_editor": "textarea#no-such-editor"}
        )
    )
    # Each of the three tries waits `elementTimeout` for the editor that is not there: longer
    # than the video's --timeout, which is no reason to call it a video that never came.
    short_waits = tmp_path / "short-waits.json"
    short_waits.write_text(json.dumps({"elementTimeout": "2s"}))
    result = run_cli(
        home,
        *start_args(
            sim.post_url(),
            "--selectors",
            str(broken),
            "--config",
            str(short_waits),
            "--timeout",
            "1",
            count=1,
            parallel=1,
            job="broken",
        ),
    )
    assert result.code == 1, result.stderr
    assert "3 tries in a row could not start a video" in result.stderr
    tries = manifest(home, "broken")["items"][0]["history"]
    missing = "no prompt editor shown on the page within 2 s (run `grokbatch doctor`)"
    assert [(t["errorKind"], t["error"]) for t in tries] == [("GENERATION_ERROR", missing)] * 3
    assert sim.stats()["generationsStarted"] == 0  # the override really replaced the default

    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({"make_video_button": 'form button[type="submit"]'}))
    result = run_cli(
        home,
        *start_args(sim.post_url(), "--selectors", str(fixed), count=2, parallel=1, job="fixed"),
    )
    assert result.code == 0, result.stderr
    assert statuses(manifest(home, "fixed")) == ["COMPLETED"] * 2


def test_unknown_selector_name_is_a_usage_error(home, simulator, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"no_such_selector": "button"}))
    result = run_cli(
        home, *start_args("http://127.0.0.1:9/imagine/post/x", "--selectors", str(bad))
    )
    assert result.code == 2
    assert "no_such_selector" in result.stderr


def test_account_add_signs_in_headless_and_lists_it(grokbatch_home, simulator):
    sim = simulator("--auto-login")
    result = run_cli(
        grokbatch_home,
        "accounts",
        "add",
        "fresh",
        "--url",
        f"{sim.url}/imagine",
        "--headless",
        "--timeout",
        "30",
    )
    assert result.code == 0, result.stderr
    listed = json.loads(run_cli(grokbatch_home, "accounts", "list", "--json").stdout)
    assert [(a["alias"], a["looksSignedIn"]) for a in listed] == [("fresh", True)]
    profile = grokbatch_home / "accounts" / "fresh" / "profile"
    assert profile.stat().st_mode & 0o777 == 0o700
    assert run_cli(grokbatch_home, "accounts", "remove", "fresh").code == 0
    assert not profile.exists()


def test_account_add_without_sign_in_exits_3_and_keeps_nothing(grokbatch_home, simulator):
    sim = simulator()
    result = run_cli(
        grokbatch_home,
        "accounts",
        "add",
        "nobody",
        "--url",
        f"{sim.url}/imagine",
        "--headless",
        "--timeout",
        "3",
    )
    assert result.code == 3
    assert not (grokbatch_home / "accounts" / "nobody").exists()
    assert ALIAS not in result.stdout


def test_imported_chrome_profile_is_signed_in_and_makes_videos(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    source = home / "accounts" / ALIAS / "profile"
    result = run_cli(home, "accounts", "import", "imported", "--from-chrome-profile",
                     str(source), "--url", f"{sim.url}/imagine")
    assert result.code == 0, result.stderr
    listed = {a["alias"]: a for a in json.loads(run_cli(home, "accounts", "list", "--json").stdout)}
    assert listed["imported"]["looksSignedIn"] is True
    args = start_args(sim.post_url(), count=2, parallel=1, job="imported")
    args[args.index("--account") + 1] = "imported"
    run = run_cli(home, *args)
    assert run.code == 0, run.stderr
    assert statuses(manifest(home, "imported")) == ["COMPLETED"] * 2
    again = run_cli(home, "accounts", "import", "imported", "--from-chrome-profile", str(source))
    assert again.code == 2 and "already exists" in again.stderr


# --- accounts add that fails, or is interrupted, keeps nothing ------------------------------
# Bound on waiting for the browser of `accounts add` to start, and for it to exit after.
_BROWSER_WAIT_S = 60.0


def _pids_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains `text` (a Chromium launched on a profile names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _wait_until(condition, what: str, timeout_s: float = _BROWSER_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_account_add_to_an_unreachable_site_exits_1_in_one_line_and_keeps_nothing(
    grokbatch_home,
):
    result = run_cli(grokbatch_home, "accounts", "add", "nowhere", "--url",
                     "http://127.0.0.1:9/imagine", "--headless", "--timeout", "30")
    assert result.code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open http://127.0.0.1:9/imagine" in lines[0]
    assert "internal error" not in lines[0]
    assert not (grokbatch_home / "accounts" / "nowhere").exists()
    after = run_cli(grokbatch_home, "run", "start", "--account", "nowhere", "--permalink",
                    "http://127.0.0.1:9/imagine/post/x")
    assert after.code == 2 and "unknown account 'nowhere'" in after.stderr


def test_account_add_with_a_browser_that_does_not_start_exits_2_and_keeps_nothing(
    grokbatch_home, simulator, tmp_path
):
    sim = simulator("--auto-login")
    fake = tmp_path / "not-a-browser"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    result = run_cli(grokbatch_home, "accounts", "add", "fresh", "--url", f"{sim.url}/imagine",
                     "--headless", "--browser-path", str(fake))
    assert result.code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"browser {fake} did not start" in lines[0]
    assert not (grokbatch_home / "accounts" / "fresh").exists()


def test_a_run_whose_browser_path_starts_in_no_worker_exits_2_naming_it(home, simulator,
                                                                         tmp_path):
    # It ended "some videos failed or were not made: a rerun retries 2", exit 1, each rerun.
    sim = simulator()
    fake = tmp_path / "not-a-browser"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    result = run_cli(home, *start_args(sim.post_url(), "--browser-path", str(fake), count=2,
                                       parallel=2))
    assert result.code == 2, result.stderr
    assert f"the browser at {fake} started in no worker" in result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["PENDING"] * 2 and [i["attempts"] for i in doc["items"]] == [0, 0]
    assert sim.stats()["generationsStarted"] == 0


def test_sigint_while_account_add_waits_for_sign_in_exits_130_and_closes_the_browser(
    grokbatch_home, simulator
):
    sim = simulator()  # no --auto-login: the page asks to sign in, and add waits
    profile = grokbatch_home / "accounts" / "waiting" / "profile"
    env = {**os.environ, "GROKBATCH_HOME": str(grokbatch_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grokbatch", "accounts", "add", "waiting", "--url",
         f"{sim.url}/imagine", "--headless", "--timeout", "600"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_until(lambda: (profile / "Default").is_dir() or proc.poll() is not None,
                    "the browser to start")
        assert proc.poll() is None, proc.communicate()[1]
        assert _pids_mentioning(str(profile))  # Chromium is up on the new profile
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=_BROWSER_WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "grokbatch: error: interrupted before account waiting signed in"]
    _wait_until(lambda: not _pids_mentioning(str(profile)), "Chromium to exit")
    assert not (grokbatch_home / "accounts" / "waiting").exists()


def test_chromium_crash_reports_are_kept_under_grokbatch_home_not_in_home(
    grokbatch_home, simulator, tmp_path
):
    sim = simulator("--auto-login")
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    result = run_cli(grokbatch_home, "accounts", "add", "fresh", "--url", f"{sim.url}/imagine",
                     "--headless", env_extra={"HOME": str(user_home)})
    assert result.code == 0, result.stderr
    assert not (user_home / ".config" / "chromium" / "Crash Reports").exists()
    dumps = grokbatch_home / "crash-dumps"
    assert dumps.is_dir() and (dumps.stat().st_mode & 0o777) == 0o700
    assert any(dumps.iterdir())  # Chromium's crash-report database lives here now


@pytest.mark.parametrize("editor_found", [True, False], ids=["editor", "editor-not-found"])
def test_a_multi_line_prompt_in_a_rich_editor_never_reaches_debug_files(
    home, simulator, tmp_path, editor_found
):
    sim = simulator("--generation-seconds", "0.5", "--editor", "contenteditable",
                    "--moderate-every", "1")
    lines = ["first line of a secret idea", "second\u00a0line,  also  secret", "third"]
    args = start_args(sim.post_url(), count=1, parallel=1)
    args[args.index("--prompt") + 1] = "\n".join(lines)
    if not editor_found:
        # An override that finds the editor empty, then not once it holds the prompt: the
        # snapshot cannot empty it. The page itself is then cleared of the prompt; before,
        # the HTML held the lines apart (and the screenshot showed them).
        selectors = tmp_path / "selectors.json"
        selectors.write_text(json.dumps(
            {"prompt_editor": '[contenteditable="true"][role="textbox"]:not(:has-text("e"))'}))
        args += ["--selectors", str(selectors)]
    result = run_cli(home, *args)
    assert result.code == 1, result.stderr
    debug = sorted((home / "runs" / "job" / "debug").glob("*.html"))
    assert debug
    for path in debug:
        text = path.read_text()
        for line in lines[:2]:
            for form in (line, html.escape(line), line.replace("\u00a0", "&nbsp;"),
                         " ".join(line.split())):
                assert form not in text, (path, form)
        assert editor_found or "[prompt]" in text, path  # hidden where the editor showed it


def test_a_prompt_that_is_a_word_of_the_page_leaves_the_page_working_after_a_snapshot(
    home, simulator
):
    """A debug snapshot changes every text of the page that holds the prompt, attributes
    too: with the prompt "video", the classic editor's label "Make a video" became "Make a
    [prompt]". The page is loaded again before its next video; before, the next video on
    it found no editor (10 s lost, a failed try each time a snapshot came before it)."""
    sim = simulator("--generation-seconds", "0.3", "--download-error-every", "1")
    args = start_args(sim.post_url(), count=3, parallel=1)
    args[args.index("--prompt") + 1] = "video"
    result = run_cli(home, *args)
    assert result.code == 1, result.stderr  # made, not saved: every download fails
    assert sorted((home / "runs" / "job" / "debug").glob("*DOWNLOAD_ERROR*.html"))
    items = manifest(home)["items"]
    assert statuses(manifest(home)) == ["COMPLETED"] * 3
    assert [item.get("history") for item in items] == [None] * 3
    assert sim.stats()["generationsStarted"] == 3


@pytest.mark.parametrize("layout", [(), ("--editor", "contenteditable"), ("--layout", "2026")],
                         ids=["textarea", "contenteditable", "2026"])
def test_an_unusual_prompt_reaches_the_site_as_written(home, simulator, tmp_path, layout):
    """Tabs, runs of spaces, a non-breaking space, an empty line, markup, an emoji and an
    accent as two code points: the site gets the prompt as written (it trims its ends, as
    grok.com's editor does). The simulator's rich editors read it as their text showed it,
    spaces run together and each line break doubled, so no test could tell."""
    sim = simulator("--generation-seconds", "0.3", *layout)
    prompt = ('slow\tzoom  on\u00a0<b>Tom & "Jerry"</b> {0} %s \\n\n'
              "line two,  spaced\n\nline four \U0001f3ac cafe\u0301")
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text(f"  {prompt}  \n", encoding="utf-8")
    args = start_args(sim.post_url(), count=2, parallel=1)
    at = args.index("--prompt")
    args[at:at + 2] = ["--prompt-file", str(prompt_file)]
    result = run_cli(home, *args)
    assert result.code == 0, result.stderr
    assert sim.stats()["generationsByPrompt"] == {prompt: 2}
