"""A finished run's status and message (`grokbatch.run.summary.final_status`): what it
tells the user to do about the videos that failed."""

from __future__ import annotations

from typing import Any

from grokbatch.errors import ExitCode
from grokbatch.manifest import (
    RunStatus,
    attempts_used_up,
    not_saved_in_full,
    retried_by_rerun,
    status_counts,
)
from grokbatch.manifest.document import new_document
from grokbatch.manifest.resume import reset_for_rerun
from grokbatch.run.summary import final_status
from grokbatch.run.worker_protocol import StopReason

MAX_ATTEMPTS = 3


def _doc(*items: tuple[str, str | None, int]) -> Any:
    """A document whose items have these (status, errorKind, attempts)."""
    doc = new_document(job_name="j", account_alias="a", permalink="https://grok.com/imagine/post/x",
                       count=len(items), prompt=None, prompts=None, settings=None)
    for item, (status, kind, attempts) in zip(doc["items"], items, strict=True):
        item.update(status=status, errorKind=kind, attempts=attempts)
    return doc


def _finish(doc: Any) -> tuple[RunStatus, int, str]:
    return final_status(None, None, status_counts(doc), 0, doc, MAX_ATTEMPTS)


def test_videos_that_used_their_attempts_are_named_with_how_to_retry_them() -> None:
    doc = _doc(("COMPLETED", None, 1), ("FAILED", "TIMEOUT", 3), ("FAILED", "TIMEOUT", 3))
    status, code, message = _finish(doc)
    assert (status, code) == (RunStatus.FAILED, ExitCode.FAILED_ITEMS)
    assert "a rerun retries" not in message  # it would not: promising it misled
    assert "2 used the 3 attempts a video may have (TIMEOUT 2)" in message
    assert "higher --max-attempts" in message


def test_what_a_rerun_retries_is_counted_apart_from_what_it_does_not() -> None:
    doc = _doc(("PENDING", None, 0), ("FAILED", "NETWORK_ERROR", 1),
               ("FAILED", "GENERATION_ERROR", 3), ("FAILED", "CONTENT_MODERATED", 1))
    _, code, message = _finish(doc)
    assert code == ExitCode.FAILED_ITEMS
    assert "a rerun retries 2" in message  # the pending one and the network error
    assert "1 used the 3 attempts a video may have (GENERATION_ERROR 1)" in message


def test_only_moderated_videos_failed_and_no_rerun_is_promised() -> None:
    doc = _doc(("COMPLETED", None, 1), ("FAILED", "CONTENT_MODERATED", 1))
    _, code, message = _finish(doc)
    assert code == ExitCode.FAILED_ITEMS
    # It said "`grokbatch run status` says why", which `run status` printed as its why.
    assert message == ("some videos failed for good (CONTENT_MODERATED 1), which a rerun does "
                       "not retry: `grokbatch run status JOB --items` lists them")


def test_the_messages_agree_with_what_a_rerun_does() -> None:
    doc = _doc(("FAILED", "TIMEOUT", 2), ("FAILED", "TIMEOUT", 3),
               ("FAILED", "CONTENT_MODERATED", 1), ("RATE_LIMITED", None, 1))
    retried = [item["index"] for item in retried_by_rerun(doc, MAX_ATTEMPTS)]
    used_up = [item["index"] for item in attempts_used_up(doc, MAX_ATTEMPTS)]
    assert (retried, used_up) == ([0, 3], [1])
    assert attempts_used_up(doc, MAX_ATTEMPTS + 1) == []  # a higher limit retries it
    assert reset_for_rerun(doc, MAX_ATTEMPTS) == retried


def test_a_complete_run_is_ok() -> None:
    assert _finish(_doc(("COMPLETED", None, 1)))[:2] == (RunStatus.COMPLETED, ExitCode.OK)


def test_a_video_without_its_hd_copy_is_not_saved_in_full_and_the_run_says_so() -> None:
    doc = _doc(("COMPLETED", None, 1), ("COMPLETED", "DOWNLOAD_ERROR", 1),
               ("COMPLETED", None, 1))
    video = {"path": "videos/0.mp4", "bytes": 5, "sha256": "-"}
    doc["items"][0]["video"] = video
    doc["items"][1]["video"] = video  # its file is saved, its HD copy is not
    assert not_saved_in_full(doc, download=False) == 1
    assert not_saved_in_full(doc, download=True) == 2  # and #2 has no file at all
    status, code, message = final_status(None, None, status_counts(doc), 1, doc,
                                         MAX_ATTEMPTS)
    assert (status, code) == (RunStatus.FAILED, ExitCode.FAILED_ITEMS)
    assert "not saved (in full): rerun" in message


def test_a_video_larger_than_the_cap_says_to_raise_the_cap_not_only_to_rerun() -> None:
    # "rerun to fetch them" failed the same way every time.
    doc = _doc(("COMPLETED", "DOWNLOAD_ERROR", 1))
    doc["items"][0]["error"] = "video larger than 10 MB (31457280 bytes announced)"
    _, code, message = final_status(None, None, status_counts(doc), 1, doc, MAX_ATTEMPTS)
    assert code == ExitCode.FAILED_ITEMS
    assert "1 of them larger than --max-video-mb allows" in message
    assert "rerun with a higher --max-video-mb" in message


def test_an_interrupted_run_with_nothing_left_ends_as_any_run_would() -> None:
    # Every video finished while the run wound down: nothing for a rerun to do.
    done = _doc(("COMPLETED", None, 1), ("COMPLETED", None, 1))
    assert final_status(StopReason.INTERRUPTED, None, status_counts(done), 0, done,
                        MAX_ATTEMPTS) == (RunStatus.COMPLETED, ExitCode.OK,
                                          "every video completed")
    moderated = _doc(("COMPLETED", None, 1), ("FAILED", "CONTENT_MODERATED", 1))
    status, code, _ = final_status(StopReason.INTERRUPTED, None, status_counts(moderated), 0,
                                   moderated, MAX_ATTEMPTS)
    assert (status, code) == (RunStatus.FAILED, ExitCode.FAILED_ITEMS)
    left = _doc(("COMPLETED", None, 1), ("PENDING", None, 1))
    status, code, message = final_status(StopReason.INTERRUPTED, None, status_counts(left), 0,
                                         left, MAX_ATTEMPTS)
    assert (status, code) == (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED)
    assert "rerun the same command to finish" in message


def test_a_run_stopped_by_the_disk_says_what_the_disk_refused_and_what_to_do() -> None:
    doc = _doc(("COMPLETED", None, 1), ("PENDING", None, 0))
    status, code, message = final_status(
        StopReason.DISK, "cannot write /x/manifest.json: No space left on device",
        status_counts(doc), 0, doc, MAX_ATTEMPTS)
    assert (status, code) == (RunStatus.FAILED, ExitCode.FAILED)
    assert message == ("cannot write /x/manifest.json: No space left on device: free space "
                       "(or make it writable), then rerun the same command")
