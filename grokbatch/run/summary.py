"""What a run did: its summary (console, `--json`, exit code) and its final status.

The runner alone decides a run's status: workers report why they stopped (a
`StopReason`), and `final_status` turns that and the manifest's counts into the status,
the exit code and the one line that says what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grokbatch.errors import ExitCode
from grokbatch.manifest import ItemStatus, ManifestDocument, RunStatus
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
                 counts: dict[str, int], unsaved: int, doc: ManifestDocument
                 ) -> tuple[RunStatus, int, str]:
    """A finished run's status, exit code and message, from why it stopped (if it did
    early), its item counts and how many made videos are not saved."""
    if stop_reason is StopReason.AUTH_REQUIRED:
        return (RunStatus.STOPPED_AUTH, ExitCode.AUTH_REQUIRED, stop_message or
                "the account is not signed in: run `grokbatch accounts add` again")
    if stop_reason is StopReason.USAGE:
        return RunStatus.FAILED, ExitCode.USAGE, stop_message or "usage error"
    if stop_reason is StopReason.RATE_LIMIT:
        return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                "stopped by the site's rate limit: rerun the same command later")
    if stop_reason is StopReason.INTERRUPTED:
        return (RunStatus.INTERRUPTED, ExitCode.INTERRUPTED,
                "interrupted: rerun the same command to finish")
    if counts[ItemStatus.PENDING.value] and doc.get("generationBudget") == 0:
        return (RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                "the account's video quota allows no more videos now: rerun the same "
                "command later for the rest")
    if counts[ItemStatus.PENDING.value] or counts[ItemStatus.FAILED.value]:
        return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                "some videos failed or were not made: rerun to retry what can be retried")
    if unsaved:
        return (RunStatus.FAILED, ExitCode.FAILED_ITEMS,
                f"{unsaved} video(s) made but not saved: rerun to fetch them")
    return RunStatus.COMPLETED, ExitCode.OK, "every video completed"
