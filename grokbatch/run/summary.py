"""What a run did: its summary (console, `--json`, exit code) and its final status.

The runner alone decides a run's status: workers report why they stopped (a
`StopReason`), and `final_status` turns that and the manifest's counts into the status,
the exit code and the one line that says what to do next.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grokbatch.errors import ExitCode, VideoTooLargeError
from grokbatch.manifest import (
    Item,
    ItemStatus,
    ManifestDocument,
    RunStatus,
    attempts_used_up,
    failed_by_kind,
    retried_by_rerun,
)
from grokbatch.run.worker_protocol import StopReason


@dataclass(frozen=True)
class Halt:
    """Why a run must not go on, decided from the first look at the page (before any item
    was claimed): the status the runner writes, the exit code and what to do."""

    status: RunStatus
    exit_code: int
    message: str


@dataclass
class RunSummary:
    """What a run did, for the console summary, `--json` and the exit code."""

    job_name: str
    run_dir: Path
    status: str
    exit_code: int
    counts: dict[str, int]
    failed_by_kind: dict[str, int]
    wall_s: float
    replacements: int = 0
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """The summary as `run start --json` prints it (no prompt text)."""
        return {
            "jobName": self.job_name,
            "runDir": str(self.run_dir),
            "status": self.status,
            "exitCode": self.exit_code,
            "counts": self.counts,
            "failedByKind": self.failed_by_kind,
            "wallSeconds": round(self.wall_s, 3),
            "workerReplacements": self.replacements,
            "message": self.message,
        }


def final_status(stop_reason: StopReason | None, stop_message: str | None,
                 counts: dict[str, int], unsaved: int, doc: ManifestDocument,
                 max_attempts: int) -> tuple[RunStatus, int, str]:
    """A finished run's status, exit code and message, from why it stopped (if it did
    early), its item counts and how many made videos are not saved."""
    if stop_reason is StopReason.AUTH_REQUIRED:
        return (RunStatus.STOPPED_AUTH, ExitCode.AUTH_REQUIRED, stop_message or
                "the account is not signed in: run `grokbatch accounts add` again")
    if stop_reason is StopReason.USAGE:
        return RunStatus.FAILED, ExitCode.USAGE, stop_message or "usage error"
    if stop_reason is StopReason.DISK:
        return (RunStatus.FAILED, ExitCode.FAILED,
                f"{stop_message or 'the disk refused a write'}: free space (or make it "
                "writable), then rerun the same command")
    if stop_reason is StopReason.RATE_LIMIT:
        return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                "stopped by the site's rate limit: rerun the same command later")
    left = counts[ItemStatus.PENDING.value] + counts[ItemStatus.IN_PROGRESS.value]
    if stop_reason is StopReason.INTERRUPTED and left:
        # Interrupted with nothing left (every video finished in the grace): as any end.
        return (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED,
                "interrupted: rerun the same command to finish")
    if counts[ItemStatus.PENDING.value] and doc.get("generationBudget") == 0:
        return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                "the account's video quota allows no more videos now: rerun the same "
                "command later for the rest")
    if counts[ItemStatus.PENDING.value] or counts[ItemStatus.FAILED.value]:
        used_up = attempts_used_up(doc, max_attempts)
        again = counts[ItemStatus.PENDING.value] + len(retried_by_rerun(doc, max_attempts))
        said = [f"a rerun retries {again}"] if again else []
        if used_up:
            said.append(used_up_note(used_up, max_attempts))
        if not said:
            return RunStatus.FAILED, ExitCode.FAILED_ITEMS, failed_for_good_note(doc)
        return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                "some videos failed or were not made: " + "; ".join(said))
    if unsaved:
        too_large = sum(1 for item in doc["items"]
                        if item["status"] == ItemStatus.COMPLETED.value
                        and str(item.get("error") or "").startswith(VideoTooLargeError.TOO_LARGE))
        if too_large:
            return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                    f"{unsaved} video(s) made but not saved (in full), {too_large} of them "
                    "larger than --max-video-mb allows: rerun with a higher --max-video-mb "
                    "to fetch them")
        return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                f"{unsaved} video(s) made but not saved (in full): rerun to fetch them")
    return RunStatus.COMPLETED, ExitCode.OK, "every video completed"


def failed_for_good_note(doc: ManifestDocument) -> str:
    """Why a job ended FAILED with nothing a rerun would retry: its failures by kind."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(failed_by_kind(doc).items()))
    return (f"some videos failed for good ({kinds}), which a rerun does not retry: "
            "`grokbatch run status JOB --items` lists them")


def used_up_note(used_up: list[Item], max_attempts: int) -> str:
    """What to do about videos that failed after every attempt they may have."""
    kinds = Counter(str(item.get("errorKind")) for item in used_up)
    listed = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    return (f"{len(used_up)} used the {max_attempts} attempts a video may have ({listed}): "
            "a rerun tries them again only with a higher --max-attempts")
