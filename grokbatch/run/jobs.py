"""Jobs: create or resume one and hold its lock for the run (`run start`).

A job is a directory under `<home>/runs/<job>/` with its manifest. `start` is what
`run start` does: a new job is created, an existing one is resumed (completed items are
skipped, retryable failures retried), so the same command rerun from cron finishes
exactly what is left.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loguru import logger

from grokbatch import accounts, paths, scratch
from grokbatch.clock import local_time
from grokbatch.config import RunConfig
from grokbatch.errors import (
    ConfigError,
    CooldownError,
    DiskError,
    ExitCode,
    GrokBatchError,
    JobMismatchError,
    ManifestError,
    UnknownLanguageError,
)
from grokbatch.files import give_room_back, remove_stale_temp_files, set_room_aside
from grokbatch.locks import job_lock
from grokbatch.logs import RUN_LOG_ONLY, add_run_log, configure_console, register_secret
from grokbatch.manifest import (
    ROOM_PER_WRITE,
    ItemStatus,
    Manifest,
    ManifestDocument,
    RunStatus,
    Saving,
    attempts_used_up,
    failed_by_kind,
    files_lost,
    started_on_site,
    status_counts,
)
from grokbatch.profiles import clear_worker_profiles
from grokbatch.prompts import load_prompts_file
from grokbatch.report import write_html_report
from grokbatch.run.runner import ParallelRunner
from grokbatch.run.status import cooldown_until
from grokbatch.run.summary import Halt, RunSummary, failed_for_good_note, used_up_note
from grokbatch.run.timeline import Timeline
from grokbatch.site.page_check import (
    PageCheck,
    challenge_message,
    unknown_language_message,
    unreadable_selectors_message,
)
from grokbatch.site.post_urls import same_post
from grokbatch.site.selectors import Selectors

# How much of the post id a default job name keeps: enough to tell posts apart at a glance.
_JOB_NAME_POST_ID_CHARS = 24


def default_job_name(account: str, permalink: str, prompts: list[dict[str, Any]] | None,
                     prompt: str | None) -> str:
    """A stable name from account, permalink and prompt(s): the same command, the same job.

    `<account>-<post id>-<digest>`, always a valid job name: when a long alias would make
    it longer than a name may be, the alias is shortened (the digest covers the whole
    alias, so two long aliases still give two jobs). Names that fit are never changed, so
    a job started by an older grokbatch is still found by the same command.
    """
    post_id = urlsplit(permalink).path.rstrip("/").rsplit("/", 1)[-1][:_JOB_NAME_POST_ID_CHARS]
    fingerprint = json.dumps(
        [account, permalink, [r["prompt"] for r in prompts] if prompts else prompt]
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:8]
    room = paths.MAX_NAME_LENGTH - len(post_id) - len(digest) - 2
    return f"{account[:room]}-{post_id}-{digest}"


def _default_job(config: RunConfig, rows: list[dict[str, Any]] | None) -> str:
    """The job a command without --job-name means: named from its post however its URL was
    written (`same_post`), so a link pasted another way resumes the same job; or the job an
    older grokbatch named from the URL as given, if there is one."""
    named = default_job_name(config.account, same_post(config.permalink), rows, config.prompt)
    as_given = default_job_name(config.account, config.permalink, rows, config.prompt)
    if as_given != named and paths.manifest_file(as_given).exists():
        return as_given
    return named


def _prompt_texts(config: RunConfig) -> tuple[list[dict[str, Any]] | None, tuple[str | None, ...]]:
    if config.prompts_file is not None:
        rows = load_prompts_file(config.prompts_file, config.count)
        return rows, tuple(r["prompt"] for r in rows)
    return None, (config.prompt,)


def _check_same_job(doc: ManifestDocument, config: RunConfig,
                    rows: list[dict[str, Any]] | None) -> None:
    """Refuse to continue a job with a different permalink, prompt(s) or account."""
    if doc.get("accountAlias") != config.account:
        raise JobMismatchError("this job was made with another account; use a new --job-name")
    if same_post(str(doc.get("permalink"))) != same_post(config.permalink):
        raise JobMismatchError("this job was made with another permalink; use a new --job-name")
    old = [r["prompt"] for r in doc["prompts"]] if "prompts" in doc else doc.get("prompt")
    new = [r["prompt"] for r in rows] if rows is not None else config.prompt
    if old != new:
        field = "prompts" if "prompts" in doc or rows is not None else "prompt"
        raise JobMismatchError(
            f"this job was made with a different {field}; use a new --job-name"
        )


def _say_counts_kept(job: str, doc: ManifestDocument, config: RunConfig,
                     rows: list[dict[str, Any]] | None) -> None:
    """Say so when a rerun asks for other counts than the job has, which it keeps: a job
    grows by a larger --count, never shrinks (its videos may be made already), and a
    prompts-file job keeps the counts it was made with."""
    size = len(doc["items"])
    if rows is None and config.count_given and config.count < size:
        logger.warning("job {}: it has {} video(s); --count {} does not make it smaller "
                       "(a rerun makes what is left of the {})", job, size, config.count, size)
    if rows is not None and "prompts" in doc:
        made_with = [r["count"] for r in doc["prompts"]]
        if [r["count"] for r in rows] != made_with:
            logger.warning("job {}: it keeps the counts it was made with ({} video(s) in "
                           "all); the prompts file's counts or --count now differ: for "
                           "other counts, use a new --job-name", job, size)


def _check_cooldown(doc: ManifestDocument, config: RunConfig) -> None:
    if config.force or config.cooldown_s <= 0:
        return
    until = cooldown_until(doc, config.cooldown_s)
    if until is not None and datetime.now(timezone.utc) < until:
        local = local_time(until)
        why = ("the site's video quota allows no video" if doc.get("cooldownUntil")
               else "job stopped on a rate limit; cooldown lasts")
        raise CooldownError(f"{why} until {local}: rerun then (or pass --cooldown 0 / --force)")


def _judge_look(job: str, manifest: Manifest, config: RunConfig, check: PageCheck) -> Halt | None:
    """What the look at the page means for the run: a halt if it must not go on.

    Sets the job's generation budget from the site's quota (None: unknown, no limit), and
    its cooldown when no video may start now.
    """
    if check.error:
        logger.warning("job {}: the page did not load for the pre-run check ({}); going on",
                       job, check.error)
    if check.challenge:
        return Halt(RunStatus.STOPPED_AUTH, ExitCode.AUTH_REQUIRED,
                    challenge_message(config.account))
    if check.signed_in is False:
        return Halt(RunStatus.STOPPED_AUTH, ExitCode.AUTH_REQUIRED,
                    f"the account is not signed in: run `grokbatch accounts add "
                    f"{config.account}` again")
    if check.unreadable_selectors:
        raise ConfigError(unreadable_selectors_message(check.unreadable_selectors))
    if check.words_missing:
        raise UnknownLanguageError(unknown_language_message(check.language))
    quota = check.quota.quota if check.quota else None
    if quota is None:
        if check.quota is not None and check.signed_in:
            logger.warning("job {}: the site's video quota could not be read ({}); videos "
                           "start until the site itself says its limit is reached",
                           job, check.quota.why_unknown())
        manifest.update_fields(generationBudget=None)
        return None
    manifest.update_fields(lastQuota=quota.to_json(), generationBudget=quota.allows())
    if quota.available:
        left = manifest.snapshot()["pendingCount"]
        if quota.remaining is not None and quota.remaining < left:
            logger.warning("job {}: the video quota allows {} of the {} video(s) left now; "
                           "the rest wait for a rerun", job, quota.remaining, left)
        return None
    until = quota.next_available_at
    when = until.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if until else "later"
    no_generation = [item for item in manifest.snapshot()["items"]
                     if item["status"] == ItemStatus.PENDING.value and started_on_site(item)]
    if no_generation:
        # The site made or started them: fetching one, or looking for it, asks for nothing.
        logger.warning("job {}: the account's video quota is used up until {}; this run only "
                       "fetches or looks for the {} video(s) the site already made or started",
                       job, when, len(no_generation))
        return None
    manifest.update_fields(cooldownUntil=until.isoformat() if until else None)
    return Halt(RunStatus.STOPPED_RATE_LIMIT, ExitCode.RATE_LIMITED,
                f"the account's video quota is used up until {when}: rerun then")


def _copies_kept(manifest_path: Path) -> bool:
    """Whether the job's last run kept its worker profile copies on purpose."""
    try:
        doc = Manifest(manifest_path).snapshot() if manifest_path.exists() else None
    except ManifestError:
        return False
    return bool(doc and doc.get("settings", {}).get("keepProfiles"))


def _nothing_left(job: str, manifest: Manifest, max_attempts: int,
                  started: float) -> RunSummary:
    """A rerun that finds nothing to do: the job's status says how it ended (an earlier run
    stopped early may have left it INTERRUPTED or rate limited), and the exit is 0."""
    doc = manifest.snapshot()
    counts = status_counts(doc)
    ended = RunStatus.FAILED if counts[ItemStatus.FAILED.value] else RunStatus.COMPLETED
    if doc["status"] != ended.value:
        manifest.set_status(ended, None if ended is RunStatus.COMPLETED else
                            failed_for_good_note(doc))
    logger.info("job {}: nothing left to do ({} completed, {} failed for good)",
                job, counts["COMPLETED"], counts["FAILED"])
    message = "nothing left to do"
    used_up = attempts_used_up(doc, max_attempts)
    if used_up:
        note = used_up_note(used_up, max_attempts)
        message += "; " + note
        logger.info("job {}: {}", job, note)
    return RunSummary(job_name=job, run_dir=paths.run_dir(job), status=ended.value,
                      exit_code=ExitCode.OK, counts=counts, failed_by_kind=failed_by_kind(doc),
                      wall_s=time.monotonic() - started, message=message)


def start(config: RunConfig, *, json_output: bool = False) -> RunSummary:
    """Create or resume the job described by `config`, run it, and return the summary."""
    started = time.monotonic()
    timeline = Timeline()
    configure_console()
    profile = accounts.require_account(config.account)
    rows, prompts = _prompt_texts(config)
    Selectors.load(config.selectors)  # a bad file is a usage error, before any work
    for text in prompts:
        register_secret(text)
    job = config.job_name or _default_job(config, rows)
    run_dir = paths.run_dir(job)
    paths.make_private_dir(run_dir)
    with job_lock(job):
        remove_stale_temp_files(run_dir)
        scratch.remove_left_behind()  # what killed runs left, whether or not this one runs
        # Copies a killed run left behind, unless it kept them on purpose (--keep-profiles):
        # those stay until a run of the job starts its workers, which make their own.
        clear_worker_profiles(job, keep_copies=_copies_kept(paths.manifest_file(job)))
        log_sink = add_run_log(paths.run_log_file(job))
        workers_started = False
        try:
            manifest_path = paths.manifest_file(job)
            if manifest_path.exists():
                manifest = Manifest.open(manifest_path)
                doc = manifest.snapshot()
                _check_same_job(doc, config, rows)
                _check_cooldown(doc, config)
                if doc["jobName"] != job:  # a job directory copied or renamed by hand
                    manifest.update_fields(jobName=job)
                manifest.requeue_abandoned(frozenset(
                    i["workerId"] for i in doc["items"] if i["workerId"]))
                if config.count_given and rows is None:
                    manifest.extend(config.count)
                _say_counts_kept(job, doc, config, rows)
                manifest.reset_for_rerun(config.max_attempts)
                unsaved = manifest.requeue_unsaved(run_dir, saving_of(config))
                if unsaved:
                    logger.info("job {}: {} made video(s) not saved in full (a missing file, "
                                "HD copy or delete); finishing them", job, len(unsaved))
                lost = files_lost(manifest.snapshot(), run_dir)
                if lost:
                    logger.warning("job {}: {} video(s) deleted from the site once saved "
                                   "have a file missing under videos/ ({}); nothing can "
                                   "fetch it again", job, len(lost),
                                   ", ".join(f"#{i}" for i in lost[:10])
                                   + (", ..." if len(lost) > 10 else ""))
                doc = manifest.snapshot()
                if not doc["pendingCount"]:
                    return _nothing_left(job, manifest, config.max_attempts, started)
                logger.info("job {}: resuming, {} of {} left", job, doc["pendingCount"],
                            doc["batchSize"])
                manifest.update_fields(settings=_settings(config))
            else:
                manifest = Manifest.create(
                    manifest_path, job_name=job, account_alias=config.account,
                    permalink=config.permalink, count=config.count, prompt=config.prompt,
                    prompts=[{"prompt": r["prompt"], "count": r["count"]} for r in rows]
                    if rows is not None else None,
                    settings=_settings(config),
                )
                logger.info("job {}: created with {} video(s); {}", job,
                            manifest.snapshot()["batchSize"],
                            "prompt provided" if config.prompt else
                            (f"{len(rows)} prompt row(s)" if rows else "no prompt"))
            accounts.touch_last_used(config.account)
            clear_worker_profiles(job)
            workers_started = True
            # Room a disk that fills under the run still gives the manifest: for the
            # generation each worker may have to record, the site making it (`Manifest`).
            set_room_aside(paths.RunFiles(run_dir).manifest_room, config.parallel * max(
                ROOM_PER_WRITE, 2 * manifest_path.stat().st_size))

            def judge(check: PageCheck) -> Halt | None:
                return _judge_look(job, manifest, config, check)

            runner = ParallelRunner(config, job, manifest, profile, prompts, judge=judge,
                                    show_progress=not json_output, timeline=timeline)
            summary = runner.run()
            if runner.halted is not None:  # nothing was claimed: no report
                log_summary(summary)
                return summary
            log_summary(summary)
            try:
                logger.info("report: {}", write_html_report(manifest.snapshot(), run_dir))
            except DiskError as exc:  # a gallery: never what a finished run's exit code says
                logger.warning("no report: {}; `grokbatch run report {}` writes it once the "
                               "disk takes it", exc, job)
            return summary
        except GrokBatchError as exc:  # the command line prints it; a cron user reads run.log
            logger.bind(**{RUN_LOG_ONLY: True}).error("job {}: {} (exit {})", job, exc,
                                                      int(exc.exit_code))
            raise
        finally:
            if workers_started:
                # What a worker killed in the middle of a write left (a video's partial
                # download, a manifest's temp copy): every worker of the run is gone now,
                # and a finished job may never be started again to remove it.
                remove_stale_temp_files(run_dir)
                give_room_back(paths.RunFiles(run_dir).manifest_room)
                if not config.keep_profiles:
                    clear_worker_profiles(job)
            logger.remove(log_sink)


def saving_of(config: RunConfig) -> Saving:
    """What the run does with each made video."""
    return Saving(download=config.auto_download, upscale=config.auto_upscale,
                  delete=config.auto_delete)


def _settings(config: RunConfig) -> dict[str, Any]:
    """What the manifest keeps of the last run's settings: its cooldown (`run status` says
    when a rerun may start) and whether it kept its profile copies (`run status` and
    `run report` remove those a dead run left, unless it kept them on purpose)."""
    return {"cooldownSeconds": config.cooldown_s, "keepProfiles": config.keep_profiles}


def log_summary(summary: RunSummary) -> None:
    """The colour-coded end-of-run summary, on the console and in run.log."""
    counts = summary.counts
    line = (f"job {summary.job_name}: {counts.get('COMPLETED', 0)} completed, "
            f"{counts.get('FAILED', 0)} failed, {counts.get('PENDING', 0)} left, "
            f"in {summary.wall_s:.1f} s")
    if summary.exit_code == ExitCode.OK:
        logger.success(line)
    else:
        logger.warning(line)
    for kind, n in sorted(summary.failed_by_kind.items()):
        logger.warning("  failed with {}: {}", kind, n)
    if summary.message:
        logger.info("{} (exit {})", summary.message, summary.exit_code)
