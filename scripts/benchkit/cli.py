"""The benchmark's command line and the order of its parts; every part writes into one
results document (bench.json), saved after each part, and the report is rendered from it."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .baseline import bench_baseline_part
from .longrun import LONG_RUN, QUICK_LONG_RUN, bench_long_run
from .machine import machine_info
from .manifest_latency import bench_manifest_part
from .profile_copy import bench_profile
from .report import render_report
from .runs import bench_runs_part
from .spawn import log
from .startup import QUICK_STARTUP_SCENARIOS, STARTUP_SCENARIOS, bench_startup_part
from .targets import evaluate_targets

PARTS = ("runs", "memory", "startup", "longrun", "profile", "manifest", "baseline")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked, with the scenarios, long run and parts it selects."""
    parser = argparse.ArgumentParser(
        description="Benchmark grokbatch against the simulator, the floor and a naive baseline.",
        epilog="Parts: " + ", ".join(PARTS) + ". Only loopback traffic.",
    )
    parser.add_argument("--workers", default="1,5,10,20",
                        help="comma-separated worker counts N (default 1,5,10,20)")
    parser.add_argument("--videos", type=int, default=100, help="videos per run B (100)")
    parser.add_argument("--generation-seconds", type=float, default=5.0,
                        help="simulated generation time T in seconds (5)")
    parser.add_argument("--baseline-videos", type=int, default=20,
                        help="videos for the naive baseline (20; projected to B)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N in {1,4}, B=8, T=1, small profile, 20/40 processes")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-manifest", action="store_true")
    parser.add_argument("--only", default=None,
                        help="comma-separated parts to run: " + ",".join(PARTS))
    parser.add_argument("--with-download", action="store_true",
                        help="also run N=10 (or the largest N <= 10) with downloads on")
    parser.add_argument("--manifest-processes", default="20,100",
                        help="contending process counts for the manifest part (20,100)")
    parser.add_argument("--manifest-items", type=int, default=1000)
    parser.add_argument("--manifest-think", type=float, default=1.0,
                        help="also run the first process count paced: ~S s between "
                             "operations, 10 items each, as busy workers would (0: skip)")
    parser.add_argument("--profile-cache-mb", type=float, default=450)
    parser.add_argument("--profile-state-mb", type=float, default=50)
    parser.add_argument("--profile-reps", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(STARTUP_SCENARIOS),
                        help="start-up scenarios to run (n1,n5,n10)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each start-up scenario and of the long run (1)")
    parser.add_argument("--long-run", default=None, metavar="N,PER,EARLY,T",
                        help="long run: workers, videos per worker, the early video, T "
                             "(10,100,10,1)")
    parser.add_argument("--long-run-page", choices=("2026", "classic"), default="2026",
                        help="the long run's page: 2026 (its history strip shows every video "
                             "of the post, so the page grows with the run) or classic (one "
                             "video: what grokbatch itself keeps) (2026)")
    parser.add_argument("--long-run-video-mb", type=float, default=0.0, metavar="X",
                        help="have the long run's simulator pad each video to about X MB, as "
                             "big as the real site's (0: its own videos of a few KB) (0)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the grokbatch runs (repeatable)")
    parser.add_argument("--headless-shell", action="store_true",
                        help="run grokbatch with Chromium's headless shell (its option of "
                             "that name)")
    parser.add_argument("--quota", type=int, default=None, metavar="Q",
                        help="the runs part: the account may make Q videos (the simulator's "
                             "quota); a run makes Q of B and exits 75 (default: no quota)")
    parser.add_argument("--peak-memory", action="store_true",
                        help="the runs part: also sample each run's process tree (PSS every "
                             "second) and report its peak")
    parser.add_argument("--out", default="bench.json", help="JSON results (bench.json)")
    args = parser.parse_args(argv)
    if any("=" not in e for e in args.env):
        parser.error("--env takes NAME=VALUE")
    args.run_env = dict(e.split("=", 1) for e in args.env)
    if args.headless_shell:
        args.run_env["GROKBATCH_HEADLESS_SHELL"] = "1"
    table = QUICK_STARTUP_SCENARIOS if args.quick else STARTUP_SCENARIOS
    wanted = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    if set(wanted) - set(table):
        parser.error(f"--scenarios: known are {', '.join(table)}")
    args.startup_scenarios = {name: table[name] for name in wanted}
    long_run = QUICK_LONG_RUN if args.quick else LONG_RUN
    if args.long_run:
        try:
            n, per, early, gen = args.long_run.split(",")
            long_run = (int(n), int(per), int(early), float(gen))
        except ValueError:
            parser.error("--long-run takes N,PER,EARLY,T")
        if not 1 <= long_run[2] < long_run[1]:
            parser.error("--long-run: EARLY must be at least 1 and below PER")
    args.long_run_shape = long_run
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.quota is not None and args.quota < 0:
        parser.error("--quota must be at least 0")
    if args.quick:
        args.workers = "1,4"
        args.videos = 8
        args.generation_seconds = 1.0
        args.baseline_videos = min(args.baseline_videos, 4)
        args.profile_cache_mb = min(args.profile_cache_mb, 90)
        args.profile_state_mb = min(args.profile_state_mb, 10)
        args.manifest_processes = "20,40"
        args.manifest_items = min(args.manifest_items, 300)
        args.manifest_think = min(args.manifest_think, 0.3)
    try:
        args.worker_counts = sorted({int(x) for x in args.workers.split(",") if x.strip()})
        args.manifest_counts = [int(x) for x in args.manifest_processes.split(",") if x.strip()]
    except ValueError:
        parser.error("--workers and --manifest-processes take comma-separated integers")
    if not args.worker_counts or min(args.worker_counts) < 1 or max(args.worker_counts) > 100:
        parser.error("--workers must be between 1 and 100")
    parts = set(PARTS)
    if args.only:
        parts = {p.strip() for p in args.only.split(",") if p.strip()}
        unknown = parts - set(PARTS)
        if unknown:
            parser.error(f"unknown part(s) {sorted(unknown)}; known: {', '.join(PARTS)}")
    if args.skip_baseline:
        parts.discard("baseline")
    if args.skip_manifest:
        parts.discard("manifest")
    args.parts = parts
    return args


def _save(results: dict[str, Any], out: str) -> None:
    """Write what was measured so far (again at the end, with the report)."""
    with contextlib.suppress(OSError):
        Path(out).write_text(json.dumps(results, indent=2, default=str) + "\n")


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: the bench stops and reports what it measured."""
    raise KeyboardInterrupt  # unwinds through every finally: subprocesses and temp dirs go


def main(argv: list[str] | None = None) -> int:
    """Run the selected parts, print the report, write bench.json; 130 if interrupted."""
    args = parse_args(argv)
    started = time.monotonic()
    results: dict[str, Any] = {
        "startedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"workers": args.worker_counts, "videos": args.videos,
                   "env": args.run_env,
                   "generationSeconds": args.generation_seconds,
                   "baselineVideos": args.baseline_videos, "quick": args.quick,
                   "quota": args.quota, "peakMemory": args.peak_memory,
                   "parts": sorted(args.parts)},
        "loadBefore": list(os.getloadavg()),
    }
    signal.signal(signal.SIGTERM, _on_sigterm)

    def save() -> None:
        _save(results, args.out)

    log(f"parts: {', '.join(sorted(args.parts))}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results["machine"] = machine_info(args.run_env)
    try:
        if "profile" in args.parts:
            log(f"profile copy: building a {args.profile_state_mb + args.profile_cache_mb:.0f} MB"
                " synthetic profile")
            results["profile"] = bench_profile(args.profile_state_mb, args.profile_cache_mb,
                                               args.profile_reps)
            save()
        if "manifest" in args.parts:
            results["manifest"] = {}
            bench_manifest_part(results["manifest"], args.manifest_items, args.manifest_counts,
                                args.manifest_think)
            save()
        if "runs" in args.parts or "memory" in args.parts:
            bench_runs_part(results, args.parts, args.worker_counts, args.videos,
                            args.generation_seconds, args.with_download, args.run_env, save,
                            quota=args.quota, peak_memory=args.peak_memory)
        if "startup" in args.parts:
            results["startup"] = bench_startup_part(args.startup_scenarios, args.repeat,
                                                    args.run_env, save)
        if "longrun" in args.parts:
            workers, per_worker, early, gen_s = args.long_run_shape
            results["longrun"] = bench_long_run(workers, per_worker, early, gen_s, args.repeat,
                                                args.run_env, save, page=args.long_run_page,
                                                video_mb=args.long_run_video_mb)
        if "baseline" in args.parts:
            results["baseline"] = bench_baseline_part(results, args.videos,
                                                      args.baseline_videos,
                                                      args.generation_seconds)
    except KeyboardInterrupt:
        log("interrupted: writing what was measured so far")
        results["interrupted"] = True
    results["loadAfter"] = list(os.getloadavg())
    results["benchSeconds"] = time.monotonic() - started
    results["targets"] = evaluate_targets(results)
    report = render_report(results)
    results["report"] = report
    print(report)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"results written to {args.out}")
    return 130 if results.get("interrupted") else 0
