"""`grokbatch run …`: start or resume a batch, and look at jobs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from grokbatch.cli.command import Command
from grokbatch.config import build_run_config, parse_duration
from grokbatch.drivers import WORKERS_PER_DRIVER
from grokbatch.errors import ConfigError, UsageError
from grokbatch.logs import PROMPT_ENV
from grokbatch.run import jobs
from grokbatch.run.capacity import HEADLESS_SHELL_WORKER_MEMORY_MB, WORKER_MEMORY_MB
from grokbatch.run.status import format_status, job_status, list_jobs, write_job_report

run_app = typer.Typer(help="Start, resume and inspect batch runs (jobs).", no_args_is_help=True)


@run_app.command("start", cls=Command)
def start(
    config: Path | None = typer.Option(
        None, "--config", help="JSON config file (camelCase keys; the original tool's work). "
        "Files it names (promptsFile, selectors, browserPath) are relative to it; flags "
        "override it."
    ),
    account: str | None = typer.Option(None, help="Account alias (see `accounts list`)."),
    permalink: str | None = typer.Option(
        None, help="Image post URL: https://grok.com/imagine/post/<id>."
    ),
    prompt: str | None = typer.Option(
        None,
        help="Prompt for every video (never logged). Any user can read it in `ps` while the "
        "run lasts: prefer --prompt-file, `--prompt -` (read from stdin) or the "
        "GROKBATCH_PROMPT environment variable. Omit all of them to let Grok choose.",
    ),
    prompt_file: Path | None = typer.Option(
        None, "--prompt-file",
        help="File holding the prompt (all of it, UTF-8; trailing newline dropped). Unlike "
        "--prompt, it does not show in `ps`.",
    ),
    prompts_file: Path | None = typer.Option(
        None, "--prompts-file", help="CSV with a 'prompt' column and optional 'count' column."
    ),
    count: int | None = typer.Option(
        None, help="Videos to make (1-1000; default 10); with --prompts-file, per row without "
        "a count of its own."),
    parallel: int | None = typer.Option(
        None, help="Worker processes at most (1-100; default 10). Fewer start when there are "
        "fewer videos left, or when the available memory holds fewer (about "
        f"{WORKER_MEMORY_MB} MB each, {HEADLESS_SHELL_WORKER_MEMORY_MB} with --headless-shell); "
        "the run says so."),
    job_name: str | None = typer.Option(
        None, "--job-name", help="Job name; default derived from account, permalink, prompt."
    ),
    headed: bool | None = typer.Option(
        None, "--headed/--headless", help="Show browser windows (default: headless)."
    ),
    timeout: float | None = typer.Option(None, help="Seconds to wait for one video (60)."),
    download: bool | None = typer.Option(
        None, "--download/--no-download", help="Save each video under videos/ (default on)."
    ),
    upscale: bool | None = typer.Option(
        None, "--upscale/--no-upscale",
        help="Also request and save the HD version. A rerun finishes an upscale that a "
        "killed or failed try left undone, and never asks for one twice.",
    ),
    delete: bool | None = typer.Option(
        None, "--delete/--no-delete",
        help="Delete each video from the site once every enabled download succeeded (a "
        "rerun deletes those whose files it had to save first).",
    ),
    video_duration: str | None = typer.Option(
        None, "--video-duration",
        help="Video length from the site's menu: one it offers (6s or 10s in 2026), or max "
        "for the longest (default: the site's). One the menu does not offer stops the run "
        "before any video starts (exit 2).",
    ),
    choice: str | None = typer.Option(
        None, "--choice",
        help="When the site asks which of two videos you prefer: keep the first, the second, "
        "or skip the question (first|second|skip; default first).",
    ),
    resolution: str | None = typer.Option(
        None, "--resolution",
        help="Video resolution from the site's menu: 480p or 720p (default: the site's). If "
        "the menu offers none like it, the run stops before any video starts (exit 2).",
    ),
    keep_profiles: bool | None = typer.Option(
        None, "--keep-profiles", help="Keep worker profile copies after the run, under "
        "<run dir>/worker-profiles/ (0700: they hold the session cookies), until a later "
        "run of the job starts its workers. Delete them yourself when done."
    ),
    browser_path: str | None = typer.Option(
        None, "--browser-path", envvar="GROKBATCH_BROWSER", help="Chromium/Chrome executable."
    ),
    headless_shell: bool | None = typer.Option(
        None, "--headless-shell/--no-headless-shell", envvar="GROKBATCH_HEADLESS_SHELL",
        help="Run the workers in Chromium's headless shell: about 50 MB less memory per "
        "worker and a quicker start, but the site sees a different browser (the full version "
        "in its user agent, a HeadlessChrome brand in its client hints, no plugins), so use it "
        "only where the site works with it "
        "(`grokbatch doctor --headless-shell` checks). Default off.",
    ),
    shared_driver: bool | None = typer.Option(
        None, "--shared-driver/--own-drivers", envvar="GROKBATCH_SHARED_DRIVER",
        help=f"Let workers share Playwright drivers (Node.js processes), one for every "
        f"{WORKERS_PER_DRIVER} workers and at most one per core: about 50 MB less memory per "
        "worker and a quicker start; the site sees the "
        "same browser. "
        "--own-drivers gives each worker a driver of its own, as before, so a driver that "
        "fails takes only its worker's browser with it. Default: shared.",
    ),
    selectors: Path | None = typer.Option(
        None, "--selectors", help="JSON file overriding UI selectors (name -> selector)."
    ),
    cooldown: str | None = typer.Option(
        None, help="Wait after a rate limit before a rerun may start: 90s, 15m, 2h, 1h30m "
        "or seconds (default 2h; 0 = none). The site's own time, when its quota tells one, "
        "comes first."
    ),
    max_attempts: int | None = typer.Option(
        None, "--max-attempts",
        help="Tries per video for retryable failures, counted over every run of the job "
        "(default 3): raise it to retry videos that used theirs."
    ),
    max_video_mb: int | None = typer.Option(
        None, "--max-video-mb", help="Refuse to save a video larger than this (MB; default 200)."
    ),
    force: bool = typer.Option(False, "--force", help="Ignore the rate-limit cooldown."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
) -> None:
    """Generate videos, or resume the job where its last run stopped.

    Exit codes: 0 done, 1 some videos failed for good, 2 usage error, 3 not signed in,
    4 job already running, 75 rate limited (rerun later), 130 interrupted.
    """
    try:
        cooldown_s = parse_duration(cooldown, "--cooldown") if cooldown is not None else None
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    run_config = build_run_config(
        config,
        {
            "account": account,
            "permalink": permalink,
            "prompt": prompt,
            "prompt_file": prompt_file,
            "prompts_file": prompts_file,
            "count": count,
            "parallel": parallel,
            "job_name": job_name,
            "headed": headed,
            "timeout_s": timeout,
            "auto_download": download,
            "auto_upscale": upscale,
            "auto_delete": delete,
            "video_duration": video_duration,
            "choice": choice,
            "resolution": resolution,
            "keep_profiles": keep_profiles or None,
            "browser_path": browser_path,
            "headless_shell": headless_shell,
            "shared_driver": shared_driver,
            "selectors": selectors,
            "cooldown_s": cooldown_s,
            "max_attempts": max_attempts,
            "max_video_mb": max_video_mb,
            "force": force or None,
        },
    )
    # Read once: no process the run starts inherits it (a browser's crash dump holds the
    # browser's whole environment).
    os.environ.pop(PROMPT_ENV, None)
    summary = jobs.start(run_config, json_output=as_json)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
    sys.exit(summary.exit_code)


@run_app.command("status", cls=Command)
def status(
    job: str = typer.Argument(..., help="Job name (see `run list`)."),
    items: bool = typer.Option(False, "--items", help="Also show one row per item."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show a job's counts by status and error kind, rate-limit time and cooldown end."""
    report = job_status(job)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(format_status(report, with_items=items))


@run_app.command("list", cls=Command)
def list_(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """List every job with its status, counts and last update."""
    rows = list_jobs()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no jobs yet: start one with `grokbatch run start`")
        return
    width = max(len("JOB"), *(len(str(row["jobName"])) for row in rows))  # names reach 64
    typer.echo(f"{'JOB':<{width}} {'STATUS':<20} {'DONE':>5} {'FAIL':>5} {'TOTAL':>5}  UPDATED")
    for row in rows:
        typer.echo(
            f"{row['jobName']:<{width}} {row['status']:<20} {row['completedCount']:>5} "
            f"{row['failedCount']:>5} {row['batchSize']:>5}  {str(row['updatedAt'])[:19]}"
        )


@run_app.command("report", cls=Command)
def report(
    job: str = typer.Argument(..., help="Job name (see `run list`)."),
    include_prompts: bool = typer.Option(
        False, "--include-prompts", help="Show prompt text in the report (off by default)."
    ),
) -> None:
    """Write <run dir>/report.html: a gallery of the videos and the status of every item."""
    path = write_job_report(job, include_prompts=include_prompts)
    typer.echo(f"report written to {path}")
