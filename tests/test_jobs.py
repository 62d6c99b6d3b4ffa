"""jobs.py: default job names, status of a job whose run is gone."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from loguru import logger

from grokbatch import paths
from grokbatch.clock import parse_iso
from grokbatch.config import RunConfig, build_run_config
from grokbatch.locks import job_lock
from grokbatch.manifest import ROOM_PER_WRITE, ItemStatus, Manifest, RunStatus
from grokbatch.run import jobs, status
from grokbatch.run.jobs import default_job_name
from grokbatch.run.summary import RunSummary
from grokbatch.site import post_urls

UUID_POST = "https://grok.com/imagine/post/0b7f3c1e-1234-4abc-9def-000000000001"


@pytest.mark.parametrize("alias", ["a", "main", "x" * 30, "y" * 31, "z" * 63, "A" * 64,
                                   "a.b-c_d" * 9])
@pytest.mark.parametrize("permalink", [UUID_POST, "http://127.0.0.1:8123/imagine/post/abc/",
                                       "https://grok.com/imagine/post/" + "f" * 128])
def test_default_job_name_is_always_a_valid_name_and_stable(alias: str, permalink: str) -> None:
    alias = alias[:64]
    name = default_job_name(alias, permalink, None, "a prompt")
    assert paths.is_valid_name(name), name
    assert len(name) <= paths.MAX_NAME_LENGTH
    assert name == default_job_name(alias, permalink, None, "a prompt")
    assert name != default_job_name(alias, permalink, None, "another prompt")


def test_default_job_name_of_two_long_aliases_differs() -> None:
    first = default_job_name("a" * 63 + "1", UUID_POST, None, None)
    second = default_job_name("a" * 63 + "2", UUID_POST, None, None)
    assert first != second


SAME_POST = ["https://grok.com/imagine/post/abc-123", "https://grok.com/imagine/post/abc-123/",
             "https://www.grok.com/imagine/post/abc-123?source=share",
             "https://GROK.com/imagine/post/abc-123#top"]


def test_one_post_written_several_ways_is_one_job() -> None:
    configs = [RunConfig(account="main", permalink=url, prompt="p") for url in SAME_POST]
    assert {jobs._default_job(c, None) for c in configs} == {
        default_job_name("main", SAME_POST[0], None, "p")}
    other = RunConfig(account="main", permalink="https://grok.com/imagine/post/abc-124",
                      prompt="p")
    assert jobs._default_job(other, None) != jobs._default_job(configs[0], None)
    for config in configs:  # and resumes it, whichever way the job was first written
        jobs._check_same_job({"accountAlias": "main", "permalink": SAME_POST[2],  # type: ignore[typeddict-item]
                              "prompt": "p"}, config, None)
    with pytest.raises(jobs.JobMismatchError):
        jobs._check_same_job({"accountAlias": "main", "permalink": SAME_POST[0],  # type: ignore[typeddict-item]
                              "prompt": "p"}, other, None)


def test_a_job_an_older_grokbatch_named_from_the_url_as_given_is_still_found() -> None:
    config = RunConfig(account="main", permalink=SAME_POST[2], prompt="p")
    as_given = default_job_name("main", SAME_POST[2], None, "p")
    assert jobs._default_job(config, None) != as_given  # a new job: the post's own name
    Manifest.create(paths.manifest_file(as_given), job_name=as_given, account_alias="main",
                    permalink=SAME_POST[2], count=1, prompt="p")
    assert jobs._default_job(config, None) == as_given  # never a second job for it


def test_the_simulator_s_port_is_part_of_the_post() -> None:
    assert post_urls.same_post("http://127.0.0.1:8123/imagine/post/x/") == (
        "http://127.0.0.1:8123/imagine/post/x")


def test_default_job_name_that_fits_is_what_older_versions_made() -> None:
    """Jobs started before names were shortened are found by the same command."""
    name = default_job_name("main", "https://grok.com/imagine/post/abc123", None, "p")
    assert name.startswith("main-abc123-") and len(name) == len("main-abc123-") + 8


# --------------------------------------------------------------------------- run start, in process
PERMALINK = "http://127.0.0.1:9/imagine/post/abc123"
JOB = "myjob"


@pytest.fixture(autouse=True)
def reset_loguru() -> Iterator[None]:
    """jobs.start configures loguru; leave it as we found it."""
    yield
    logger.remove()
    logger.configure(extra={})
    logger.add(sys.stderr)


def _config(**flags: Any) -> RunConfig:
    return build_run_config(None, {"account": "acct", "permalink": PERMALINK,
                                   "job_name": JOB, "prompt": "a prompt", **flags})


def _make_job(count: int = 2, completed: int = 0, claimed: int = 0) -> Manifest:
    manifest = Manifest.create(paths.manifest_file(JOB), job_name=JOB, account_alias="acct",
                               permalink=PERMALINK, count=count, prompt="a prompt")
    for _ in range(completed):
        item = manifest.claim_next_item("w1")
        assert item is not None
        manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED)
    if claimed:
        manifest.set_status(RunStatus.IN_PROGRESS)  # as a runner does when it starts
    for _ in range(claimed):
        assert manifest.claim_next_item("w2", pid=os.getpid()) is not None
    return manifest


class _FakeRunner:
    """Stands in for ParallelRunner: records what it was asked to run, starts nothing (no
    browser, so no look at the page to judge)."""

    halted = None

    pending_seen: ClassVar[list[int]] = []

    def __init__(self, config: Any, job: str, manifest: Manifest, *args: Any,
                 **kwargs: Any) -> None:
        self.job, self.manifest = job, manifest

    def run(self) -> RunSummary:
        doc = self.manifest.snapshot()
        _FakeRunner.pending_seen.append(doc["pendingCount"])
        return RunSummary(job_name=self.job, run_dir=paths.run_dir(self.job),
                          status=doc["status"], exit_code=0, counts={}, failed_by_kind={},
                          wall_s=0.0)


def test_an_item_edited_back_to_pending_is_run_again_not_nothing_left_to_do(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_account()
    manifest = _make_job(count=2, completed=2)

    def reopen(doc: dict[str, Any]) -> None:
        doc["items"][1].update(status="PENDING", completedAt=None)

    doc = json.loads(manifest.path.read_text())
    reopen(doc)
    manifest.path.write_text(json.dumps(doc))  # counters still say 2 completed, 0 pending
    monkeypatch.setattr(jobs, "ParallelRunner", _FakeRunner)
    _FakeRunner.pending_seen = []
    summary = jobs.start(_config())
    assert summary.message != "nothing left to do"
    assert _FakeRunner.pending_seen == [1]
    listed = status.list_jobs()
    assert [(r["completedCount"], r["batchSize"]) for r in listed] == [(1, 2)]


def test_a_report_the_disk_refuses_leaves_a_finished_run_its_exit_code_and_summary(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every video made and saved, the last one filling the disk: report.html could not be
    # written, and its DiskError ended the run with exit 1 and no summary.
    from grokbatch.errors import DiskError

    fake_account()
    _make_job(count=2, completed=1)

    def disk_full(doc: Any, run_dir: Path, **kwargs: Any) -> Path:
        raise DiskError(f"cannot write {run_dir / 'report.html'}: No space left on device")

    monkeypatch.setattr(jobs, "ParallelRunner", _FakeRunner)
    monkeypatch.setattr(jobs, "write_html_report", disk_full)
    summary = jobs.start(_config())
    assert summary.exit_code == 0
    run_log = paths.run_log_file(JOB).read_text(encoding="utf-8")
    assert f"job {JOB}: 0 completed, 0 failed, 0 left" in run_log  # the summary
    assert "no report: cannot write" in run_log
    assert f"grokbatch run report {JOB}" in run_log


def test_a_run_sets_room_aside_for_its_manifest_and_gives_it_back_at_its_end(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While workers may record where the site makes a video, the disk keeps room for each
    one's (`Manifest`); nothing is left taking room once the run ends."""
    fake_account()
    _make_job(count=2)
    room = paths.RunFiles(paths.run_dir(JOB)).manifest_room
    seen: list[int] = []

    class Runner(_FakeRunner):
        def run(self) -> RunSummary:
            seen.append(room.stat().st_blocks * 512)
            return super().run()

    monkeypatch.setattr(jobs, "ParallelRunner", Runner)
    jobs.start(_config(parallel=3))
    assert len(seen) == 1 and seen[0] >= 3 * ROOM_PER_WRITE  # a write for each worker
    assert not room.exists()


def test_a_disk_without_room_for_the_manifest_starts_no_worker(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk with less than that room could keep no video either: the run says so before
    any worker starts, and leaves nothing behind."""
    from grokbatch import files
    from grokbatch.errors import DiskError

    fake_account()
    _make_job(count=2)

    def full(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "posix_fallocate", full)
    monkeypatch.setattr(jobs, "ParallelRunner", _FakeRunner)
    _FakeRunner.pending_seen = []
    with pytest.raises(DiskError, match=r"cannot set \d+ KB aside in .*: No space left"):
        jobs.start(_config())
    assert _FakeRunner.pending_seen == []
    assert not paths.RunFiles(paths.run_dir(JOB)).manifest_room.exists()


# --------------------------------------------------------------------------- interrupted runs
def test_status_of_a_run_whose_process_is_gone_is_interrupted_and_the_file_unchanged() -> None:
    manifest = _make_job(count=3, completed=1, claimed=1)
    before = manifest.path.read_bytes()
    report = status.job_status(JOB)
    assert report["status"] == "INTERRUPTED"
    assert report["recordedStatus"] == "IN_PROGRESS"
    assert "INTERRUPTED (recorded as IN_PROGRESS" in status.format_status(report)
    assert [r["status"] for r in status.list_jobs()] == ["INTERRUPTED"]
    assert manifest.path.read_bytes() == before
    assert not paths.run_lock_file(JOB).exists()  # looking made no lock file


def test_status_of_a_run_holding_its_lock_stays_in_progress() -> None:
    _make_job(count=2, claimed=1)
    with job_lock(JOB):
        assert status.job_status(JOB)["status"] == "IN_PROGRESS"
        assert [r["status"] for r in status.list_jobs()] == ["IN_PROGRESS"]
    assert status.job_status(JOB)["status"] == "INTERRUPTED"  # lock file left, lock free


def test_status_of_a_finished_run_is_what_the_manifest_says() -> None:
    _make_job(count=1, completed=1)
    Manifest.open(paths.manifest_file(JOB)).set_status(RunStatus.COMPLETED)
    report = status.job_status(JOB)
    assert report["status"] == report["recordedStatus"] == "COMPLETED"


def test_status_shows_an_older_versions_rate_limited_videos_and_each_videos_url() -> None:
    # The line read "1 completed, 0 failed, 0 pending, 0 in progress (of 3)"; and with
    # --no-download no command showed where the made videos are.
    manifest = _make_job(count=3, completed=1)
    doc = json.loads(manifest.path.read_text())
    doc["items"][0]["videoUrl"] = "https://assets.grok.com/v/generated_video.mp4"
    for item in doc["items"][1:]:
        item["status"] = "RATE_LIMITED"
    manifest.path.write_text(json.dumps(doc))
    report = status.job_status(JOB)
    assert "1 completed, 0 failed, 0 pending, 0 in progress, 2 rate limited (a rerun makes " \
           "them) (of 3)" in status.format_status(report)
    assert report["items"][0]["videoUrl"] == "https://assets.grok.com/v/generated_video.mp4"


def test_status_counts_the_videos_made_but_not_saved_and_says_why_the_run_stopped() -> None:
    # Before, such a run read "FAILED, 2 completed, 0 failed" with nothing saying why.
    manifest = _make_job(count=2, completed=1)
    item = manifest.claim_next_item("w1")
    assert item is not None
    manifest.update_item(item["index"], "w1", status=ItemStatus.COMPLETED,
                         error_kind="DOWNLOAD_ERROR", error="HTTP 500")
    manifest.set_status(RunStatus.FAILED, "1 video(s) made but not saved (in full): rerun to "
                        "fetch them")
    report = status.job_status(JOB)
    assert report["notSavedInFull"] == 1
    text = status.format_status(report)
    assert "1 made but not saved in full (DOWNLOAD_ERROR): a rerun fetches them" in text
    assert "why       1 video(s) made but not saved (in full)" in text


# --------------------------------------------------------------------------- the disk
def test_full_disk_at_manifest_creation_is_one_error_line_exit_1_and_no_lock_file_left(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    from grokbatch import files
    from grokbatch.cli.app import main

    fake_account()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", disk_full)
    monkeypatch.setattr(sys, "argv", ["grokbatch", "run", "start", "--account", "acct",
                                      "--permalink", PERMALINK, "--job-name", JOB])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"grokbatch: error: cannot write {paths.manifest_file(JOB)}: "
                   "No space left on device: free space, then rerun the same command"]
    run_dir = paths.run_dir(JOB)
    assert not paths.run_lock_file(JOB).exists()
    assert not paths.manifest_file(JOB).exists()
    assert not list(run_dir.glob(".*.tmp"))


# --------------------------------------------------------------------------- the environment
def test_a_prompt_from_the_environment_is_read_once_and_passed_to_no_process(
    fake_account: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A browser's crash dump held GROKBATCH_PROMPT: every process of the run inherited it.
    from grokbatch import browser
    from grokbatch.cli.app import main

    fake_account()
    seen: dict[str, Any] = {}

    def start(config: RunConfig, *, json_output: bool = False) -> RunSummary:
        seen["prompt"] = config.prompt
        seen["environment"] = os.environ.get("GROKBATCH_PROMPT")
        seen["browser"] = browser.browser_env().get("GROKBATCH_PROMPT")
        return RunSummary(job_name=JOB, run_dir=paths.run_dir(JOB), status="COMPLETED",
                          exit_code=0, counts={}, failed_by_kind={}, wall_s=0.0, message="")

    monkeypatch.setattr(jobs, "start", start)
    monkeypatch.setenv("GROKBATCH_PROMPT", "a prompt kept out of ps")
    monkeypatch.setattr(sys, "argv", ["grokbatch", "run", "start", "--account", "acct",
                                      "--permalink", PERMALINK, "--job-name", JOB])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    assert seen == {"prompt": "a prompt kept out of ps", "environment": None, "browser": None}


def test_a_browser_is_never_given_a_prompt_from_the_environment(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from grokbatch import browser

    monkeypatch.setenv("GROKBATCH_PROMPT", "set in the shell of `accounts add`")
    assert "GROKBATCH_PROMPT" not in browser.browser_env()


def test_status_says_whether_the_cooldown_is_the_sites_or_the_last_runs() -> None:
    manifest = _make_job(count=1)
    manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, "rate limited")
    assert status.job_status(JOB)["cooldownBySite"] is False  # rateLimitedAt + --cooldown
    # As a run records a time the site's quota told it: the answer, and its time.
    manifest.update_fields(cooldownUntil="2099-01-01T00:00:00+00:00",
                           lastQuota=_quota(nextAvailableAt="2099-01-01T00:00:00+00:00"))
    report = status.job_status(JOB)
    assert (report["cooldownUntil"], report["cooldownBySite"]) == (
        "2099-01-01T00:00:00+00:00", True)
    assert "as the site's quota said" in status.format_status(report)


def test_status_shows_no_cooldown_when_the_quota_allowed_no_more_and_named_no_time() -> None:
    # The run made all the quota allowed; the quota named no time: a rerun may start at
    # once, and the status said "cooldown until <the stop>, as the site's quota said".
    manifest = _make_job(count=2, completed=1)
    manifest.set_status(RunStatus.STOPPED_RATE_LIMIT, "the quota allows no more videos now")
    stopped = manifest.snapshot()["rateLimitedAt"]
    manifest.update_fields(cooldownUntil=stopped, generationBudget=0,
                           lastQuota=_quota(remainingQueries=1, available=True))
    report = status.job_status(JOB)
    assert (report["cooldownUntil"], report["cooldownBySite"]) == (None, False)
    text = status.format_status(report)
    assert "cooldown" not in text
    assert "quota     none left after the last run's videos" in text
    assert status.cooldown_until(manifest.snapshot()) == parse_iso(stopped)  # rerun at once


def _quota(**fields: object) -> dict[str, object]:
    """A `lastQuota` as a run records it, with `fields` changed."""
    return {"checkedAt": "2026-12-03T04:00:00+00:00", "available": False,
            "remainingQueries": 0, "windowSizeSeconds": 64800, "nextAvailableAt": None,
            **fields}
