"""Reruns that cron can trust: resume after a rate limit, cooldown, job lock, signals,
killed workers and a killed runner. Real CLI, real Chromium, the simulator.

Waits in these tests are on conditions (a manifest state, a process exit), each bounded;
nothing asserts on how long something took.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clihelpers import (
    RUN_TIMEOUT_S,
    assert_prompt_absent,
    in_progress,
    manifest,
    popen_cli,
    processes_left_by_run,
    processes_of_home,
    run_cli,
    start_args,
    statuses,
    temp_env,
    wait_for_run,
)

pytestmark = pytest.mark.e2e

def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def test_rate_limit_then_cooldown_then_rerun_finishes_exactly_what_is_left(home, simulator):
    sim = simulator("--generation-seconds", "0.5", "--rate-limit-after", "4")
    args = start_args(sim.post_url(), count=8, parallel=2)  # 4 before the limit, 4 after
    first = run_cli(home, *args)
    assert first.code == 75, first.stderr
    done_first = sim.stats()["generationsCompleted"]
    assert done_first == 4
    before = (home / "runs" / "job" / "manifest.json").read_bytes()
    stats = sim.stats()

    again = run_cli(home, *args)  # inside the default 2 h cooldown
    assert again.code == 75
    assert "cooldown" in again.stderr
    assert sim.stats() == stats  # no browser reached the site
    assert not (home / "runs" / "job" / "worker-profiles").exists()
    assert (home / "runs" / "job" / "manifest.json").read_bytes() == before

    sim.reset()
    last = run_cli(home, *args, "--cooldown", "0")
    assert last.code == 0, last.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 8
    assert done_first + sim.stats()["generationsCompleted"] == 8
    assert_prompt_absent(home, last)


def test_rerun_of_a_finished_job_exits_0_without_a_browser(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    args = start_args(sim.post_url(), count=2, parallel=1)
    assert run_cli(home, *args).code == 0
    stats = sim.stats()
    again = run_cli(home, *args)
    assert again.code == 0
    assert "nothing left" in again.stderr
    assert sim.stats() == stats
    assert not (home / "runs" / "job" / "worker-profiles").exists()


def test_larger_count_extends_the_job(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    assert run_cli(home, *start_args(sim.post_url(), count=2, parallel=1)).code == 0
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=2))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 4
    assert sim.stats()["generationsCompleted"] == 4


def test_changed_prompt_for_existing_job_exits_2_and_leaves_manifest_untouched(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    assert run_cli(home, *start_args(sim.post_url(), count=1, parallel=1)).code == 0
    path = home / "runs" / "job" / "manifest.json"
    before = path.read_bytes()
    args = start_args(sim.post_url(), count=1, parallel=1)
    args[args.index("--prompt") + 1] = "a different prompt entirely"
    result = run_cli(home, *args)
    assert result.code == 2
    assert "prompt" in result.stderr
    assert "a different prompt entirely" not in result.stderr
    assert path.read_bytes() == before


def test_default_job_name_is_stable_so_the_same_command_resumes(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    args = [a for a in start_args(sim.post_url(), count=2, parallel=1)]
    i = args.index("--job-name")
    del args[i:i + 2]
    assert run_cli(home, *args).code == 0
    jobs = [p.name for p in (home / "runs").iterdir()]
    assert len(jobs) == 1 and jobs[0].startswith("acct-abc123-")
    again = run_cli(home, *args)
    assert again.code == 0 and jobs[0] in again.stderr
    assert [p.name for p in (home / "runs").iterdir()] == jobs


def test_second_run_of_the_same_job_exits_4_while_the_first_holds_the_lock(home, simulator):
    sim = simulator("--generation-seconds", "1")
    args = start_args(sim.post_url(), count=4, parallel=1)
    first = popen_cli(home, *args)
    try:
        wait_for_run(lambda: bool(in_progress(home)), "an item in progress", first)
        # Held still while the second looks: a slow machine could let it finish first.
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = run_cli(home, *args)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert second.code == 4
        assert f"PID {first.pid}" in second.stderr
    finally:
        assert first.wait(RUN_TIMEOUT_S) == 0
    assert statuses(manifest(home)) == ["COMPLETED"] * 4


def test_sigint_finishes_current_videos_exits_130_and_rerun_completes(home, simulator):
    sim = simulator("--generation-seconds", "1.5")
    args = start_args(sim.post_url(), count=8, parallel=2)
    proc = popen_cli(home, *args)
    wait_for_run(lambda: "COMPLETED" in statuses(manifest(home)) and bool(in_progress(home)),
                 "a completed video and one in progress", proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 130, stderr
    assert "press Ctrl-C again" in stderr
    doc = manifest(home)
    assert doc["status"] == "INTERRUPTED"
    assert "IN_PROGRESS" not in statuses(doc)
    assert Counter(statuses(doc))["PENDING"] > 0
    rerun = run_cli(home, *args)
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 8


def test_sigterm_to_the_whole_process_group_finishes_current_videos_like_sigint(
    home, simulator
):
    # cron's and service managers' way: the runner's process group (its fork server too,
    # which must not die of it, or the runner would take every worker for dead).
    sim = simulator("--generation-seconds", "3")
    args = start_args(sim.post_url(), count=6, parallel=2)
    proc = popen_cli(home, *args, own_group=True)
    # Started on the site: a video claimed and not yet asked for is not asked for once
    # the run stops, and goes back to the queue.
    wait_for_run(lambda: len(_started_on_the_site(home)) == 2, "two videos started", proc)
    busy = [i["index"] for i in _started_on_the_site(home)]
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 130, stderr
    doc = manifest(home)
    assert doc["status"] == "INTERRUPTED"
    for index in busy:  # finished where they were, not killed and put back
        assert doc["items"][index]["status"] == "COMPLETED"
        assert doc["items"][index]["attempts"] == 1
    assert "died" not in stderr
    assert sim.stats()["generationsCompleted"] == Counter(statuses(doc))["COMPLETED"]
    # No terminal to press Ctrl-C on: the log of a cron run said to.
    assert "SIGTERM: finishing current videos" in stderr and "Ctrl-C" not in stderr


def _on_a_terminal(home: Path, args: list[str], env_extra: dict[str, str]) -> tuple[
        subprocess.Popen[bytes], int, list[bytes]]:
    """Start `grokbatch ARGS` on a pseudo-terminal of its own, as its controlling terminal
    (the runner leads the terminal's session, as a shell's job would its group); the
    terminal's output is read as it comes, until the terminal goes."""
    master, slave = os.openpty()
    env = {**os.environ, "GROKBATCH_HOME": str(home), **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grokbatch", *args], env=env, stdin=slave, stdout=slave,
        stderr=slave, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    shown: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once the terminal is gone
            while chunk := os.read(master, 65536):
                shown.append(chunk)

    threading.Thread(target=read, daemon=True).start()
    return proc, master, shown


def test_a_terminal_that_hangs_up_stops_the_run_as_ctrl_c_does(home, simulator, tmp_path):
    # The window closed or the ssh session dropped: the kernel hangs the run's terminal up
    # (SIGHUP to the runner), and a shell sends one more. Before, the runner died of it at
    # once: no summary, its temporary directory left, and a video killed in its first
    # moment was made twice by the rerun.
    sim = simulator("--generation-seconds", "3")
    args = start_args(sim.post_url(), count=6, parallel=2)
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    proc, master, _ = _on_a_terminal(home, args, {"TMPDIR": str(temp_dir),
                                                  "XDG_RUNTIME_DIR": ""})
    try:
        wait_for_run(lambda: len(_started_on_the_site(home)) == 2, "two videos started",
                     proc)
        busy = [i["index"] for i in _started_on_the_site(home)]
        os.close(master)  # the terminal hangs up
        os.killpg(proc.pid, signal.SIGHUP)  # and the shell passes it on to the job's group
        code = proc.wait(RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    doc = manifest(home)
    assert doc["status"] == "INTERRUPTED"
    for index in busy:  # finished where they were, not killed and put back
        assert doc["items"][index]["status"] == "COMPLETED"
        assert doc["items"][index]["attempts"] == 1
    log = (home / "runs" / "job" / "run.log").read_text()
    assert "finishing current videos" in log
    assert "stopping now" not in log  # two hang-ups are not a second Ctrl-C
    assert "interrupted: rerun the same command to finish" in log
    assert sim.stats()["generationsStarted"] == Counter(statuses(doc))["COMPLETED"]
    assert processes_left_by_run(home) == []
    assert list(temp_dir.iterdir()) == []
    rerun = run_cli(home, *args)
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 6
    assert sim.stats()["generationsStarted"] == 6


def test_a_hang_up_sent_to_the_runs_group_leaves_nothing_but_its_own_lines(home, simulator):
    # The group holds multiprocessing's resource tracker too, which died of a hang-up and
    # left a traceback and a "leaked semaphore" warning. Here stderr is a pipe, not the
    # terminal, so what the run says after the hang-up can be read.
    sim = simulator("--generation-seconds", "3")
    args = start_args(sim.post_url(), count=4, parallel=2)
    proc = popen_cli(home, *args, own_group=True)
    wait_for_run(lambda: len(in_progress(home)) == 2, "two items in progress", proc)
    os.killpg(proc.pid, signal.SIGHUP)
    os.killpg(proc.pid, signal.SIGHUP)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 130, stderr
    assert "the terminal hung up: finishing current videos" in stderr
    for noise in ("Traceback", "Warning", "leaked", "stopping now"):
        assert noise not in stderr, stderr
    assert processes_left_by_run(home) == []


def _started_on_the_site(home: Path) -> list[dict[str, Any]]:
    """The items in progress whose generation the site has started (the stream named
    its video's post, and the worker kept it)."""
    return [item for item in in_progress(home) if item.get("generation")]


def test_killed_worker_is_replaced_and_its_video_is_found_not_made_again(home, simulator):
    sim = simulator("--generation-seconds", "2")
    proc = popen_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    victim = _started_on_the_site(home)[0]
    os.kill(victim["workerPid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 6
    killed = doc["items"][victim["index"]]
    # The site went on making its video: the next try found it on the video's own post
    # and kept it. The killed worker was grokbatch's failure, not the video's, so that
    # attempt is not counted.
    assert killed["attempts"] == 1
    assert killed["generation"]["videoPostIds"] == victim["generation"]["videoPostIds"]
    assert (home / "runs" / "job" / Path(killed["video"]["path"])).is_file()
    assert "replacement" in stderr
    assert "not made again" in stderr
    assert sim.stats()["generationsStarted"] == 6


def test_killed_browser_is_relaunched_and_the_item_retried(home, simulator):
    sim = simulator("--generation-seconds", "1.5")
    proc = popen_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    # Once its generation started: a browser lost before that costs the video no attempt.
    wait_for_run(lambda: sim.stats()["generationsStarted"] >= 1, "a generation", proc)
    profile = str(home / "runs" / "job" / "worker-profiles" / "worker-0")
    browsers = _processes_mentioning(f"--user-data-dir={profile}")
    assert browsers
    for pid in browsers:
        with contextlib.suppress(ProcessLookupError):  # gone with the one killed before it
            os.kill(pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 3
    assert "starting it again" in stderr
    doc = manifest(home)
    crashed = [h for i in doc["items"] for h in i.get("history", [])]
    assert [h["errorKind"] for h in crashed] == ["BROWSER_CRASHED"]  # at once, no timeout


def test_killed_runner_leaves_no_process_behind_and_rerun_finishes(
        home, simulator, temp_dir):
    sim = simulator("--generation-seconds", "2")
    args = start_args(sim.post_url(), count=6, parallel=2)
    env = temp_env(temp_dir)  # where no run of another test keeps its driver's socket
    proc = popen_cli(home, *args, env_extra=env)
    wait_for_run(lambda: len(_started_on_the_site(home)) == 2, "two generations started", proc)
    worker_pids = [i["workerPid"] for i in in_progress(home)]
    profiles = str(home / "runs" / "job" / "worker-profiles")
    sockets = _driver_socket_dirs(temp_dir)
    assert len(sockets) == 1  # the run's shared driver
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        _processes_mentioning(profiles) or any(_alive(p) for p in worker_pids)
        or processes_of_home(home) or _driver_socket_dirs(temp_dir) & sockets
    ):
        time.sleep(0.1)
    assert _processes_mentioning(profiles) == []
    assert not any(_alive(p) for p in worker_pids)
    assert processes_of_home(home) == []  # the fork server and the resource tracker too
    assert not _driver_socket_dirs(temp_dir) & sockets  # the driver removed its socket as it exited
    (killed_runs_temp,) = {socket.parent for socket in sockets}
    assert killed_runs_temp.is_dir()  # the runner was killed: it could not remove it
    rerun = run_cli(home, *args, env_extra=env)
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 6
    assert not killed_runs_temp.exists()  # the rerun did
    # The kill was grokbatch's failure, not the videos': the two in flight spent no
    # attempt (a few such kills must not fail a video for good), and the site, which
    # made them all the same, was not asked for them again: the rerun found them.
    assert [item["attempts"] for item in manifest(home)["items"]] == [1] * 6
    assert sim.stats()["generationsStarted"] == 6
    assert rerun.stderr.count("not made again") == 2


def _driver_socket_dirs(temp: Path) -> set[Path]:
    """The socket directories of the shared drivers of the runs whose TMPDIR is `temp` (and
    XDG_RUNTIME_DIR unset): in each run's own directory there (grokbatch/scratch.py)."""
    return set(temp.glob("grokbatch-run-*/grokbatch-driver-*"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_second_sigint_stops_workers_at_once_and_releases_their_items(home, simulator):
    sim = simulator("--generation-seconds", "30")  # nobody finishes a video on their own
    args = start_args(sim.post_url(), "--timeout", "60", count=4, parallel=2)
    proc = popen_cli(home, *args)
    # Both videos started on the site: the first Ctrl-C lets them finish (30 s), so the run
    # is still there for the second. (Claimed only, they went back at once, and the run
    # could end before the second came.)
    wait_for_run(lambda: len(_started_on_the_site(home)) == 2, "two videos started", proc)
    worker_pids = [i["workerPid"] for i in in_progress(home)]
    proc.send_signal(signal.SIGINT)
    log = home / "runs" / "job" / "run.log"
    wait_for_run(lambda: "press Ctrl-C again" in log.read_text(),
                 "the first signal to be acknowledged", proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)  # well before any 30 s video could finish
    assert proc.returncode == 130, stderr
    assert "stopping now" in log.read_text()  # the second signal did the stopping
    doc = manifest(home)
    assert doc["status"] == "INTERRUPTED"
    assert statuses(doc) == ["PENDING"] * 4
    assert sim.stats()["generationsCompleted"] == 0
    assert not any(_alive(p) for p in worker_pids)
    assert _processes_mentioning(str(home / "runs" / "job" / "worker-profiles")) == []


def test_a_ctrl_c_while_the_run_cleans_up_still_leaves_its_status_written(home, simulator):
    # The workers gave their claimed videos back and left; the runner is closing drivers and
    # writing the status when the second Ctrl-C comes. It was a KeyboardInterrupt there:
    # exit 130, and the job left IN_PROGRESS, as if still running.
    sim = simulator("--generation-seconds", "30")
    proc = popen_cli(home, *start_args(sim.post_url(), "--timeout", "60", count=4, parallel=2))
    wait_for_run(lambda: len(in_progress(home)) == 2, "two items in progress", proc)
    worker_pids = [i["workerPid"] for i in in_progress(home)]
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in worker_pids) and proc.poll() is None:
        assert time.monotonic() < deadline, "the workers did not leave"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # nothing, if the run has ended already
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    doc = manifest(home)
    assert doc["status"] == "INTERRUPTED"  # videos left (those clicked before the first
    assert doc["inProgressCount"] == 0      # Ctrl-C were let finish), none held


def test_sigkill_of_the_whole_tree_then_any_run_command_leaves_no_profile_copy(home, simulator):
    sim = simulator("--generation-seconds", "3")
    proc = popen_cli(home, *start_args(sim.post_url(), count=4, parallel=2))
    wait_for_run(lambda: len(in_progress(home)) == 2, "two items in progress", proc)
    profiles = home / "runs" / "job" / "worker-profiles"
    # Everything of the run at once, browsers included (they run in sessions of their own).
    for pid in [proc.pid, *(i["workerPid"] for i in in_progress(home)),
                *_processes_mentioning(f"--user-data-dir={profiles}")]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert profiles.exists()  # what a killed run leaves: copies holding session cookies
    status = run_cli(home, "run", "status", "job")
    assert status.code == 0, status.stderr
    assert not profiles.exists()
    assert _processes_mentioning(str(profiles)) == []


def test_keep_profiles_keeps_each_worker_copy_and_no_browser(home, simulator):
    sim = simulator("--generation-seconds", "0.5")
    result = run_cli(home, *start_args(sim.post_url(), "--keep-profiles", count=2, parallel=1))
    assert result.code == 0, result.stderr
    profiles = home / "runs" / "job" / "worker-profiles"
    assert (profiles / "worker-0").is_dir()
    assert (profiles / "worker-0").stat().st_mode & 0o777 == 0o700
    assert _processes_mentioning(str(profiles)) == []
    # Kept on purpose: looking at the run does not take them away, as it does a dead run's.
    for command in (("run", "status", "job"), ("run", "report", "job")):
        looked = run_cli(home, *command)
        assert looked.code == 0, looked.stderr
        assert (profiles / "worker-0" / "Default").is_dir(), command


def test_a_frozen_renderer_ends_its_attempt_as_timeout_and_the_video_made_is_kept(
        home, simulator, tmp_path):
    sim = simulator("--generation-seconds", "1")
    config = tmp_path / "fast.json"
    config.write_text(json.dumps({"pageLoadTimeout": 5, "elementTimeout": 3}))
    proc = popen_cli(home, "run", "start", "--config", str(config),
                     *start_args(sim.post_url(), "--timeout", "4", count=1, parallel=1)[2:])
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    profile = home / "runs" / "job" / "worker-profiles" / "worker-0"
    _signal_renderers(profile, signal.SIGSTOP)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    item = manifest(home)["items"][0]
    assert item["status"] == "COMPLETED"
    assert [h["errorKind"] for h in item["history"]] == ["TIMEOUT"]
    assert _processes_mentioning(str(profile)) == []
    # The site made the video while the page was frozen: the retry found it on the
    # video's post instead of making another.
    assert sim.stats()["generationsStarted"] == 1
    assert "not made again" in stderr


def test_a_video_the_site_shows_nowhere_after_a_broken_stream_is_made_again(
        home, simulator, tmp_path):
    # The second generation's stream breaks off and the site makes no video of it: the
    # retry looks on its post for the rest of its time, finds nothing, and makes it.
    sim = simulator("--generation-seconds", "1", "--network-error-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), "--timeout", "8", "--max-attempts", "2",
                                       count=2, parallel=1))
    assert result.code == 0, result.stderr
    first, second = manifest(home)["items"]
    assert [first["status"], second["status"]] == ["COMPLETED", "COMPLETED"]
    assert [h["errorKind"] for h in second["history"]] == ["NETWORK_ERROR"]
    assert second["attempts"] == 2
    assert "it is made now" in result.stderr
    assert "not made again" not in result.stderr
    stats = sim.stats()
    assert stats["generationsStarted"] == 3
    assert stats["generationsCompleted"] == 2


def test_a_video_still_in_the_making_when_its_try_timed_out_is_found_not_made_again(
        home, simulator):
    # --timeout shorter than the site takes: before, the retry looked for the rest of the
    # try's time (none), saw no video yet, and asked for another: three generations, none
    # kept. The site's own progress when the try gave up says how long the rest may take.
    sim = simulator("--generation-seconds", "8")
    args = start_args(sim.post_url(), count=1, parallel=1)
    args[args.index("--timeout") + 1] = "3"
    result = run_cli(home, *args)
    assert result.code == 0, result.stderr
    item = manifest(home)["items"][0]
    assert item["status"] == "COMPLETED"
    assert [h["errorKind"] for h in item["history"]] == ["TIMEOUT"]
    assert 0 < item["generation"]["progress"] < 100
    assert "not made again" in result.stderr
    assert sim.stats()["generationsStarted"] == 1


def test_a_rerun_looks_for_the_video_of_a_last_attempt_that_timed_out(home, simulator):
    # Its attempts used up, the item failed; the site went on and made the video. Before,
    # the rerun said "nothing left to do" and the video was never kept.
    sim = simulator("--generation-seconds", "6")
    args = start_args(sim.post_url(), "--max-attempts", "1", count=1, parallel=1)
    args[args.index("--timeout") + 1] = "2"
    first = run_cli(home, *args)
    assert first.code == 1, first.stderr
    item = manifest(home)["items"][0]
    assert (item["status"], item["errorKind"], item["attempts"]) == ("FAILED", "TIMEOUT", 1)
    rerun = run_cli(home, *args)
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"]
    assert "0 video(s) to make and 1 made or started already (to fetch or look for)" in (
        rerun.stderr)
    assert "not made again" in rerun.stderr
    assert sim.stats()["generationsStarted"] == 1


def test_a_started_video_not_found_when_the_quota_is_spent_is_kept_for_the_rerun_to_look_for(
        home, simulator):
    # The site stops making the video (a stall) and the quota allows no other: the item
    # goes back holding where its video would be. Before, that was forgotten, and the
    # rerun made the video again though the site might have finished it.
    sim = simulator("--quota", "1", "--stall-every", "1", "--generation-seconds", "2")
    args = start_args(sim.post_url(), count=1, parallel=1)
    args[args.index("--timeout") + 1] = "2"
    result = run_cli(home, *args)
    assert result.code == 75, result.stderr
    item = manifest(home)["items"][0]
    assert (item["status"], item["waitsForRerun"]) == ("PENDING", True)
    assert item["generation"]["videoPostIds"]
    assert "waits for a rerun" in result.stderr
    assert sim.stats()["generationsStarted"] == 1


def _signal_renderers(profile: Path, signum: int) -> None:
    """Send `signum` to the page renderers of the browser running on `profile` (each of
    its processes names the profile), and to no other browser's."""
    ours = set(_processes_mentioning(f"--user-data-dir={profile} "))
    renderers = ours & set(_processes_mentioning("--type=renderer "))
    assert renderers, f"no renderer of the browser on {profile}"
    for renderer in renderers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(renderer, signum)


def test_no_worker_profile_is_left_on_any_exit_path(home, simulator):
    def copies(job: str) -> bool:
        return (home / "runs" / job / "worker-profiles").exists()

    limited = simulator("--generation-seconds", "0.5", "--rate-limit-after", "1")
    args = start_args(limited.post_url(), count=3, parallel=2, job="limited")
    assert run_cli(home, *args).code == 75  # stopped by the rate limit
    assert not copies("limited")
    assert run_cli(home, *args).code == 75  # inside the cooldown
    assert not copies("limited")
    good = simulator("--generation-seconds", "0.5")
    finish = start_args(good.post_url(), count=3, parallel=2)
    assert run_cli(home, *finish).code == 0
    assert not copies("job")
    assert run_cli(home, *finish).code == 0  # nothing left to do
    assert not copies("job")
    signed_out = simulator("--expire-sessions")
    other = start_args(signed_out.post_url(), count=2, parallel=2, job="other")
    assert run_cli(home, *other).code == 3
    assert not copies("other")
    assert _processes_mentioning(str(home / "runs")) == []


def test_a_renderer_crash_ends_the_attempt_as_browser_crashed_not_as_a_timeout(home, simulator):
    sim = simulator("--generation-seconds", "2")
    proc = popen_cli(home, *start_args(sim.post_url(), "--timeout", "60", count=1, parallel=1))
    wait_for_run(lambda: sim.stats()["generationsStarted"] >= 1, "a generation", proc)
    _signal_renderers(home / "runs" / "job" / "worker-profiles" / "worker-0", signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    item = manifest(home)["items"][0]
    assert item["status"] == "COMPLETED"
    assert [h["errorKind"] for h in item["history"]] == ["BROWSER_CRASHED"]


def test_a_killed_shared_driver_costs_its_workers_their_browsers_and_the_run_completes(
        home, simulator):
    sim = simulator("--generation-seconds", "1.5")
    proc = popen_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    wait_for_run(lambda: len(in_progress(home)) == 2, "two items in progress", proc)
    drivers = sorted(set(processes_of_home(home)) & set(_processes_mentioning("shared_driver.js")))
    assert len(drivers) == 1  # two workers, one driver
    os.kill(drivers[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 6
    assert "shared Playwright driver 0 exited" in stderr
    assert "its shared Playwright driver is gone" in stderr
    assert "crashed" not in stderr
    log = (home / "runs" / "job" / "run.log").read_text()
    assert ": Playwright driver: its own" in log  # those that started again
    assert processes_left_by_run(home) == []



def test_a_site_that_goes_down_mid_run_costs_no_attempt_and_the_rerun_makes_the_rest(
        home, simulator):
    port = _a_port_no_one_else_is_given()  # the site comes back on it
    sim = simulator("--generation-seconds", "1", "--port", port)
    proc = popen_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    wait_for_run(lambda: sim.stats()["generationsCompleted"] >= 1, "a video made", proc)
    sim.stop()  # the site goes away: pages no longer load
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 1, stderr
    doc = manifest(home)
    # Nothing failed for good: a video whose page did not load was never started. Only a
    # video in flight when the site went may have spent an attempt.
    assert "FAILED" not in statuses(doc)
    assert all(item["attempts"] <= 1 for item in doc["items"] if item["status"] == "PENDING")
    assert "tries in a row could not start a video" in stderr
    kinds = {h["errorKind"] for item in doc["items"] for h in item.get("history", [])}
    assert "NETWORK_ERROR" in kinds and "GENERATION_ERROR" not in kinds  # the site, not it
    back = simulator("--generation-seconds", "0.5", "--port", port)  # the site is back
    result = run_cli(home, *start_args(back.post_url(), count=6, parallel=2))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 6
    # Only what the first run had not saved is made: a restarted simulator no longer has
    # the videos the first one made, so one made but not yet fetched is made again too.
    saved = sum(1 for item in doc["items"] if item.get("video"))
    assert back.stats()["generationsCompleted"] == 6 - saved


def _a_port_no_one_else_is_given() -> str:
    """A free loopback port below the kernel's ephemeral range: no connection (a browser's,
    of a test running beside this one) is given it while the site it served is down."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(10_000, low), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return str(port)
    raise AssertionError(f"no free port between 10000 and {low}")


def test_a_killed_runs_side_by_side_pair_is_found_on_the_kept_videos_post(home, simulator):
    # The 2026 page and the captured stream; each generation makes two videos and asks
    # which one to keep. The run dies before the pair is made: the rerun keeps the pair's
    # second video (the --choice) from its post, upscales, saves and deletes it there, and
    # asks the site for no other video.
    sim = simulator("--layout", "2026", "--stream-format", "captured", "--choice-every", "1",
                    "--generation-seconds", "2")
    args = start_args(sim.post_url(), "--choice", "second", "--upscale", "--delete",
                      count=1, parallel=1)
    proc = popen_cli(home, *args)
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    (started,) = _started_on_the_site(home)
    assert len(started["generation"]["videoPostIds"]) == 2
    proc.kill()
    proc.communicate(timeout=30)
    rerun = run_cli(home, *args)
    assert rerun.code == 0, rerun.stderr
    item = _saved_in_full(home)
    assert "not made again" in rerun.stderr
    assert item["choice"] == "second"
    # The kept (second) video was deleted after it was saved; the other is still there.
    first_post, _ = started["generation"]["videoPostIds"]
    assert [v["videoPostId"] for v in sim.videos()] == [first_post]
    stats = sim.stats()
    assert stats["generationsStarted"] == 1
    assert stats["choicesAnswered"] == 0  # no one was there to answer
    assert (stats["upscales"], stats["deletes"]) == (1, 1)


def _saved_in_full(home: Path) -> dict[str, Any]:
    """The job's only item, completed with its video and HD files saved, and deleted from
    the site."""
    item = manifest(home)["items"][0]
    assert item["status"] == "COMPLETED"
    assert (home / "runs" / "job" / Path(item["video"]["path"])).is_file()
    assert (home / "runs" / "job" / Path(item["hdVideo"]["path"])).is_file()
    assert item["deleted"] is True
    return item


def test_a_run_killed_while_its_video_is_upscaled_is_finished_on_the_videos_post(
        home, simulator):
    # The run dies while the site upscales its video, and the site finishes the upscale
    # without it. The rerun opens the video's own post, waits there for the HD copy (or
    # takes the one the page shows, if the upscale is done by then) instead of asking for
    # a second upscale, saves both files and deletes the video there; it asks the site
    # for no video.
    # An upscale longer than the rerun takes to reach the video's post.
    sim = simulator("--generation-seconds", "2", "--upscale-seconds", "8")
    args = start_args(sim.post_url(), "--upscale", "--delete", count=1, parallel=1)
    proc = popen_cli(home, *args)
    wait_for_run(lambda: sim.stats()["upscalesStarted"] == 1, "an upscale asked for", proc)
    proc.kill()
    proc.communicate(timeout=30)
    # Its worker, left without its run, may have recorded the video as saved without HD.
    killed = manifest(home)["items"][0]
    assert killed["videoUrl"] and killed["hdVideo"]["askedAt"]
    assert not killed["hdVideo"].get("url") and not killed.get("deleted")
    rerun = run_cli(home, *args)
    assert rerun.code == 0, rerun.stderr
    assert _saved_in_full(home)["hdVideo"]["url"].endswith("_hd.mp4")
    assert "the HD copy an earlier try asked for is kept" in rerun.stderr
    assert sim.videos() == []  # deleted once saved: nothing left behind on the site
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["upscalesStarted"], stats["deletes"]) == (1, 1, 1)
    assert_prompt_absent(home, rerun)


def test_a_worker_killed_as_its_video_is_deleted_costs_no_second_video(home, simulator):
    # The worker dies once the site was asked to delete its saved video. Its replacement
    # finds the files saved and the video gone from the site: deleted, not made again.
    sim = simulator("--generation-seconds", "2")
    proc = popen_cli(home, *start_args(sim.post_url(), "--delete", count=1, parallel=1))
    wait_for_run(lambda: sim.stats()["deletes"] == 1, "the video deleted", proc)
    worker = manifest(home)["items"][0]["workerPid"]
    assert worker  # never 0: that would kill this test's whole process group
    with contextlib.suppress(ProcessLookupError):  # a quick worker may have saved it all
        os.kill(worker, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    item = manifest(home)["items"][0]
    assert (item["status"], item["deleted"]) == ("COMPLETED", True)
    assert (home / "runs" / "job" / Path(item["video"]["path"])).is_file()
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["deletes"]) == (1, 1)
    assert sim.videos() == []


def test_a_killed_runs_started_video_is_looked_for_though_the_quota_is_used_up(
        home, simulator):
    # A quota of 1 for 2 videos: the run is killed while the site makes the first. The
    # rerun's look at the page finds the quota used up, yet looks for that video (which
    # asks the site for nothing) and keeps it; the second waits for the quota.
    sim = simulator("--quota", "1", "--generation-seconds", "2")
    args = start_args(sim.post_url(), count=2, parallel=1)
    proc = popen_cli(home, *args)
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    proc.kill()
    proc.communicate(timeout=30)
    rerun = run_cli(home, *args)
    assert rerun.code == 75, rerun.stderr
    assert "only fetches or looks for the 1 video(s)" in rerun.stderr
    assert "not made again" in rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED", "PENDING"]
    assert sim.stats()["generationsStarted"] == 1


def test_a_video_found_again_costs_the_runs_quota_budget_nothing_more(home, simulator):
    # A quota of 3 for 3 videos, and a worker killed while the site makes its video: the
    # replacement finds that video, and the budget still holds the other two generations.
    sim = simulator("--quota", "3", "--generation-seconds", "2")
    proc = popen_cli(home, *start_args(sim.post_url(), count=3, parallel=2))
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    os.kill(_started_on_the_site(home)[0]["workerPid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 3
    assert "not made again" in stderr
    assert sim.stats()["generationsStarted"] == 3


def test_a_partial_download_a_killed_worker_left_is_gone_when_the_run_ends(home, simulator):
    """A worker killed while it writes a video leaves its temp file under videos/: the run
    that goes on without it removes it as it ends, not only a later `run start` of the
    job (a finished job may never have one)."""
    sim = simulator("--generation-seconds", "1")
    proc = popen_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    wait_for_run(lambda: bool(in_progress(home)), "an item in progress", proc)
    videos = home / "runs" / "job" / "videos"
    videos.mkdir(exist_ok=True)
    left = videos / ".job-000.k1ll3d.tmp"  # as AtomicFile names a download's temp file
    left.write_bytes(b"\0" * 4096)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 3
    assert not left.exists()
    assert sorted(p.name for p in videos.iterdir()) == [
        f"job-00{n}.mp4" for n in range(3)]


def test_a_video_found_again_under_an_announcement_overlay_is_upscaled_not_left_without_hd(
        home, simulator):
    """The video a killed worker started is found on its own post, which shows the site's
    announcement overlay: its upscale (a menu behind the overlay) is asked for there, as on
    the permalink's page, not given up as "no HD copy" by every rerun."""
    sim = simulator("--layout", "2026", "--banner", "--generation-seconds", "2")
    args = start_args(sim.post_url(), "--upscale", count=1, parallel=1)
    proc = popen_cli(home, *args)
    wait_for_run(lambda: bool(_started_on_the_site(home)), "a generation started", proc)
    os.kill(_started_on_the_site(home)[0]["workerPid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, stderr
    assert "not made again" in stderr
    item = manifest(home)["items"][0]
    assert item["status"] == "COMPLETED" and item["errorKind"] is None, item
    hd = item["hdVideo"]
    assert (home / "runs" / "job" / hd["path"]).stat().st_size == hd["bytes"]
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["upscalesStarted"]) == (1, 1)


def test_an_upscale_item_that_is_never_clicked_leaves_no_hd_copy_to_wait_for(
        home, simulator, tmp_path):
    """The site's menu holds no upscale item like the selectors': the item is never
    clicked, so the item records no upscale asked for (a rerun would have waited
    --timeout for it), and the site saw none."""
    sim = simulator("--layout", "2026", "--generation-seconds", "0.5")
    selectors = tmp_path / "selectors.json"
    selectors.write_text(json.dumps({"upscale_item": '[role="menuitem"]:has-text("Nowhere")'}))
    args = start_args(sim.post_url(), "--upscale", "--selectors", str(selectors), count=1,
                      parallel=1)
    result = run_cli(home, *args)
    assert result.code == 1, result.stderr
    assert "the site was not asked" in result.stderr
    item = manifest(home)["items"][0]
    assert (item["status"], item["errorKind"], item["hdVideo"]) == (
        "COMPLETED", "DOWNLOAD_ERROR", None)
    assert sim.stats()["upscalesStarted"] == 0
