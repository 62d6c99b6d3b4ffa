"""What `run status`, `run list` and `run report` show: read-only views of the jobs.

A run recorded as working whose process is gone (killed, the machine rebooted) is shown as
INTERRUPTED; reading a job first removes what such a dead run left behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from grokbatch import paths
from grokbatch.clock import local_time, parse_iso
from grokbatch.config import DEFAULT_COOLDOWN_S
from grokbatch.errors import ManifestError
from grokbatch.locks import job_is_running
from grokbatch.manifest import (
    Manifest,
    ManifestDocument,
    RunStatus,
    failed_by_kind,
    not_saved_in_full,
    status_counts,
)
from grokbatch.profiles import clean_dead_run
from grokbatch.report import write_html_report


def cooldown_until(doc: ManifestDocument, cooldown_s: float | None = None) -> datetime | None:
    """When a job stopped by a rate limit may run again: the site's own `nextAvailableAt`
    when the quota told it at that stop, else the rate-limit time plus the cooldown
    setting (a time the site told before that stop says nothing of it)."""
    if doc.get("status") != RunStatus.STOPPED_RATE_LIMIT.value:
        return None
    told = parse_iso(doc.get("cooldownUntil"))
    limited_at = parse_iso(doc.get("rateLimitedAt"))
    if told is not None and (limited_at is None or told >= limited_at):
        return told
    if limited_at is None:
        return None
    # Without a rerun's own --cooldown: the last run's, or (an older file) the default a
    # rerun without the flag would keep to.
    seconds = cooldown_s if cooldown_s is not None else float(
        doc.get("settings", {}).get("cooldownSeconds", DEFAULT_COOLDOWN_S))
    return limited_at + timedelta(seconds=seconds)


def _read(job: str) -> ManifestDocument:
    """The job's manifest, checked and with its counters recomputed (see manifest.py)."""
    path = paths.manifest_file(job)
    if not path.exists():
        raise ManifestError(f"no job named {job!r} (see `grokbatch run list`)")
    try:
        doc = Manifest(path).snapshot()
    except ManifestError:
        clean_dead_run(job)  # the copies hold session cookies, whatever the manifest says
        raise
    clean_dead_run(job, keep_copies=bool(doc.get("settings", {}).get("keepProfiles")))
    doc["jobName"] = job  # the directory's: a job copied by hand keeps the old name inside
    return doc


def _shown_status(job: str, doc: ManifestDocument) -> str:
    """The run's status as it is: a run recorded as working whose process is gone (killed,
    the machine rebooted) is INTERRUPTED, though its manifest could not say so."""
    working = (doc["status"] == RunStatus.IN_PROGRESS.value
               or doc.get("inProgressCount", 0) > 0)
    if working and paths.is_valid_name(job) and not job_is_running(job):
        return RunStatus.INTERRUPTED.value
    return str(doc["status"])


def _when(iso_time: str) -> str:
    """A recorded time as the machine's local time (as `run start` says them)."""
    moment = parse_iso(iso_time)
    return local_time(moment) if moment is not None else iso_time


def _cooldown_shown(doc: ManifestDocument) -> tuple[datetime | None, bool]:
    """The cooldown `run status` shows, and whether the site's quota named its end.

    A run that made all the quota allowed it, where the quota named no time, records its
    own end as the cooldown's (a rerun may start at once, not after --cooldown): that is
    no cooldown at all. The site's time is the one its quota answer held
    (`lastQuota.nextAvailableAt`, recorded with it)."""
    until = cooldown_until(doc)
    recorded = parse_iso(doc.get("cooldownUntil"))
    if until is None or until != recorded:
        return until, False  # none, or the rate limit's time plus --cooldown
    told = parse_iso((doc.get("lastQuota") or {}).get("nextAvailableAt"))  # to the second
    by_site = told is not None and abs((until - told).total_seconds()) < 1
    return (until, True) if by_site else (None, False)


def job_status(job: str) -> dict[str, Any]:
    """The job's status as `run status --json` prints it (no prompt text)."""
    doc = _read(job)
    until, by_site = _cooldown_shown(doc)
    return {
        "jobName": doc["jobName"],
        "status": _shown_status(job, doc),
        "recordedStatus": doc["status"],
        "accountAlias": doc["accountAlias"],
        "permalink": doc["permalink"],
        "batchSize": doc["batchSize"],
        "counts": status_counts(doc),
        "failedByKind": failed_by_kind(doc),
        # Completed on the site, but a file or the HD copy could not be saved: a rerun
        # fetches them (it does not make them again).
        "notSavedInFull": not_saved_in_full(doc, download=False),
        "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
        "rateLimitedAt": doc.get("rateLimitedAt"),
        "cooldownUntil": until.isoformat() if until else None,
        "cooldownBySite": by_site,
        "quota": doc.get("lastQuota"),
        # The last run spent what that quota allowed it (its budget ran out).
        "quotaSpent": doc.get("generationBudget") == 0,
        "stopReason": doc.get("stopReason"),
        "items": [
            {k: item.get(k) for k in ("index", "status", "attempts", "workerId", "startedAt",
                                      "completedAt", "errorKind", "error", "promptIndex",
                                      "videoUrl", "video", "generationSeconds")}
            for item in doc["items"]
        ],
    }


def format_status(report: dict[str, Any], *, with_items: bool = False) -> str:
    """`run status` as text."""
    counts = report["counts"]
    lines = [
        f"job       {report['jobName']}",
        f"status    {report['status']}" + (
            f" (recorded as {report['recordedStatus']}, but no run of it is live: "
            "rerun the same `run start` to continue)"
            if report["status"] != report.get("recordedStatus", report["status"]) else ""),
        f"videos    {counts['COMPLETED']} completed, {counts['FAILED']} failed, "
        f"{counts['PENDING']} pending, {counts['IN_PROGRESS']} in progress"
        + (f", {counts['RATE_LIMITED']} rate limited (a rerun makes them)"
           if counts.get("RATE_LIMITED") else "")  # an older version's status
        + f" (of {report['batchSize']})",
    ]
    for kind, n in sorted(report["failedByKind"].items()):
        lines.append(f"          {n} failed with {kind}")
    if report.get("notSavedInFull"):
        lines.append(f"          {report['notSavedInFull']} made but not saved in full "
                     "(DOWNLOAD_ERROR): a rerun fetches them")
    if report.get("stopReason"):
        lines.append(f"why       {report['stopReason']}")
    if report["rateLimitedAt"]:
        lines.append(f"stopped   {_when(report['rateLimitedAt'])}")
    if report["cooldownUntil"]:
        lines.append(f"cooldown  until {_when(report['cooldownUntil'])}, "
                     + ("as the site's quota said" if report.get("cooldownBySite") else
                        "with the last run's --cooldown (a rerun's own, if given, decides)"))
    quota = report.get("quota")
    if quota:
        left = ("none left" if not quota["available"] else "available" if
                quota["remainingQueries"] is None else f"{quota['remainingQueries']} left")
        until = (f", next at {_when(quota['nextAvailableAt'])}"
                 if quota.get("nextAvailableAt") else "")
        if report.get("quotaSpent"):
            lines.append(f"quota     none left after the last run's videos ({left}{until} "
                         f"when it looked, at {_when(quota['checkedAt'])})")
        else:
            lines.append(f"quota     {left}{until} (checked {_when(quota['checkedAt'])})")
    if with_items:
        lines.append("")
        lines.append(f"{'#':>4} {'STATUS':<12} {'TRIES':>5} {'KIND':<18} FILE")
        for item in report["items"]:
            video = (item.get("video") or {}).get("path", "")
            lines.append(f"{item['index']:>4} {item['status']:<12} {item['attempts']:>5} "
                         f"{item.get('errorKind') or '':<18} {video}")
    return "\n".join(lines)


def list_jobs() -> list[dict[str, Any]]:
    """Every job, newest update first, as `run list --json` prints them."""
    root = paths.runs_dir()
    rows: list[dict[str, Any]] = []
    if not root.is_dir():
        return rows
    for manifest_path in sorted(root.glob("*/manifest.json")):
        try:
            doc = Manifest(manifest_path).snapshot()
        except ManifestError as exc:
            rows.append({"jobName": manifest_path.parent.name, "status": "UNREADABLE",
                         "error": str(exc), "completedCount": 0, "failedCount": 0,
                         "batchSize": 0, "updatedAt": ""})
            continue
        row = {k: doc.get(k) for k in ("jobName", "status", "completedCount", "failedCount",
                                       "rateLimitedCount", "batchSize", "createdAt",
                                       "updatedAt")}
        row["jobName"] = manifest_path.parent.name  # how the job is named on the command line
        row["status"] = _shown_status(manifest_path.parent.name, doc)
        rows.append(row)
    rows.sort(key=lambda r: str(r.get("updatedAt") or ""), reverse=True)
    return rows


def write_job_report(job: str, *, include_prompts: bool = False) -> Path:
    """Write the job's report.html and return its path."""
    return write_html_report(_read(job), paths.run_dir(job), include_prompts=include_prompts)
