"""The benchmark's report: markdown tables of every part, the issue's table, the start-up
timelines and the targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .numbers import MB, fmt, median
from .targets import issue_figures, run_row


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; cells go through fmt()."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [
        "| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(headers)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(row)) + " |"
              for row in cells]
    return "\n".join(lines)


def merged_timeline(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One start-up timeline from repeated runs: each field the median over the runs."""
    by_phase: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    for run in runs:
        for row in run.get("timeline") or []:
            if row["phase"] not in by_phase:
                order.append(row["phase"])
            by_phase.setdefault(row["phase"], []).append(row)
    merged = []
    for phase in order:
        rows = by_phase[phase]
        out: dict[str, Any] = {"phase": phase}
        for key in rows[0]:
            if key == "phase":
                continue
            vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
            out[key] = median(vals) if vals else None
            if key == "workers" and out[key] is not None:
                out[key] = round(out[key])
        merged.append(out)
    return merged


def render_timeline(name: str, runs: Sequence[dict[str, Any]]) -> list[str]:
    """The start-up timeline of one scenario as report lines."""
    rows = merged_timeline(runs)
    if not rows:
        return []
    first = runs[0]
    parts = ["", f"### Start-up timeline, {name}: N={first.get('workers')}, "
             f"B={first.get('videos')}, T={first.get('T')} s (median over {len(runs)} run(s))",
             ""]
    looked = [r["verdictS"] for r in runs if r.get("verdictS") is not None]
    if looked:
        parts.append(f"the first worker whose page loaded looked at it for the run; the runner "
                     f"had its word at t={fmt(median(looked))} s")
        parts.append("")
    parts.append(render_table(
        ["phase (reached)", "workers", "t median s", "t max s", "phase s", "CPU python s",
         "CPU driver s", "CPU browser s", "CPU total s"],
        [[r["phase"], r.get("workers"), r.get("tMedianS"), r.get("tMaxS"),
          r.get("phaseMedianS"), r.get("cpuPythonS"), r.get("cpuDriverS"),
          r.get("cpuBrowserS"), r.get("cpuS")] for r in rows]))
    parts.append("\nt: seconds from the command's start to the mark; phase: from the "
                 "worker's previous mark to this one; CPU: what that phase cost the worker's "
                 "Python (exact), its own driver (none when it shares one) and its browser "
                 "(sampled every 0.25 s); medians over workers.")
    shared = [r["sharedDriverCpuS"] for r in runs if r.get("sharedDriverCpuS") is not None]
    if shared:
        parts.append(f"\nshared Playwright driver(s) ({first.get('sharedDrivers')}): "
                     f"{fmt(median(shared))} CPU-s from the start to the last first claim, "
                     f"for all {first.get('workers')} workers")
    return parts


def _count_errors(errors: Sequence[str]) -> str:
    """Distinct error messages with their counts, for one table cell."""
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return "; ".join(f"{n} x {e}" for e, n in counts.items()) or "-"


def render_report(results: dict[str, Any]) -> str:
    """The whole report, markdown, from bench.json's fields."""
    parts = ["# grokbatch benchmark", ""]
    cfg = results["config"]
    parts.append(f"B={cfg['videos']} videos, T={cfg['generationSeconds']} s per generation, "
                 f"N in {cfg['workers']}; started {results['startedAt']}"
                 + (" (--quick)" if cfg.get("quick") else ""))
    runs = results.get("runs", [])
    if runs:
        parts += ["", "## grokbatch runs (simulator subprocess, headless Chromium)", ""]
        rows = []
        for r in runs:
            quota = r.get("quota")
            rows.append([
                r["workers"],
                r["videos"] if quota is None else f"{min(quota, r['videos'])} of {r['videos']}",
                r["T"], r.get("wallS"), r.get("idealS"),
                r.get("efficiency"), r.get("medianOverheadS"), r.get("p90OverheadS"),
                r.get("startToFirstClaimS"),
                ("ok" if r.get("ok") else f"FAILED exit {r.get('exitCode')}") +
                (" +download" if r.get("download") else ""),
                f"{r.get('load1Before', 0):.1f}",
            ])
        parts.append(render_table(
            ["workers", "videos", "T s", "wall s", "ideal s", "efficiency",
             "median overhead s", "p90 overhead s", "start→first claim s", "check",
             "load1"], rows))
        parts.append("")
        parts.append("overhead = (completedAt - startedAt) - T per item; ideal = ceil(B/N)*T; "
                     "check = exit 0 and simulator generationsCompleted == B "
                     "(with a quota Q < B: Q made, exit 75; ideal = ceil(Q/N)*T). "
                     "simulator maxConcurrent per run: "
                     + ", ".join(f"N={r['workers']}: {r.get('simMaxConcurrent')}" for r in runs))
        peaks = [r for r in runs if r.get("treePeakMB") is not None]
        if peaks:
            parts.append("peak PSS of the run's process tree: " + ", ".join(
                f"N={r['workers']}: {r['treePeakMB']:.0f} MB" for r in peaks))
        for r in runs:
            if r.get("error") or r.get("stderrTail"):
                parts.append(f"\nN={r['workers']} problem: {r.get('error') or ''}\n"
                             f"```\n{(r.get('stderrTail') or '')[-1500:]}\n```")
    mem = results.get("memory")
    if mem:
        parts += ["", f"## Per-worker memory (PSS, N={mem.get('workersN')}, steady state)", ""]
        parts.append(render_table(
            ["workers sampled", "samples", "processes/worker", "median MB/worker",
             "max MB/worker", "all workers MB", "runner MB", "fork server MB",
             "shared drivers MB"],
            [[mem.get("workers"), mem.get("samples"), mem.get("processesPerWorker"),
              mem.get("perWorkerMedianMB"), mem.get("perWorkerMaxMB"),
              mem.get("totalWorkersMB"), mem.get("runnerMB"), mem.get("forkServerMB"),
              mem.get("sharedDriverMB")]]))
        by_kind = mem.get("byKindMedianMB") or {}
        if by_kind:
            parts.append("\nper worker, by process kind (median MB): " + ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])
                if v >= 0.5))
        parts.append("\nworker tree = the worker process + its Chromium (browser, zygotes, "
                     "renderers, GPU/utility) + its own Playwright node driver, if it has "
                     "one; the shared drivers (one per 10 workers), and the fork server the "
                     "workers are forked from, count once for all of them; PSS from "
                     "/proc/<pid>/smaps_rollup.")
        if mem.get("error"):
            parts.append(f"sampler error: {mem['error']}")
    prof = results.get("profile")
    if prof:
        p = prof["profile"]
        parts += ["", "## Profile copy (synthetic Chromium-like profile)", ""]
        parts.append(
            f"profile: {p['totalBytes'] / MB:.0f} MB = session-bearing "
            f"{p['sessionBytes'] / MB:.1f} MB (cookies, local storage, IndexedDB, session "
            f"storage, web data, ...) + history/favicons/top sites "
            f"{p['otherStateBytes'] / MB:.1f} MB + caches/crash dumps "
            f"{p['cacheBytes'] / MB:.0f} MB")
        parts.append("")
        parts.append(render_table(
            ["method", "MB copied", "files", f"seconds (median of {prof['reps']})"],
            [["grokbatch copy_profile", prof["copyProfileBytes"] / MB, prof["copyProfileFiles"],
              prof["copyProfileSeconds"]],
             ["shutil.copytree (naive)", prof["copytreeBytes"] / MB, "all",
              prof["copytreeSeconds"]]]))
        real = [r.get("accountProfileBytes") for r in runs if r.get("accountProfileBytes")]
        if real:
            parts.append(f"\n(a real profile after `accounts add` on the simulator: "
                         f"{real[0] / MB:.1f} MB)")
    man = results.get("manifest")
    if man:
        parts += ["", f"## Manifest latency ({man.get('items')} items, spawn processes, "
                  "fsync on every write)", ""]
        rows = []
        for m in [man.get("uncontended"), *man.get("contended", []), man.get("paced")]:
            if not m:
                continue
            label = m["processes"]
            if m.get("thinkSeconds"):
                label = f"{label} paced ({m['thinkSeconds']:g} s think)"
            rows.append([label, m.get("claimP50Ms"), m.get("claimP99Ms"),
                         m.get("updateP50Ms"), m.get("updateP99Ms"),
                         m.get("opsPerSecond"), m.get("spanSeconds"),
                         m.get("completed", "-"), _count_errors(m.get("errors", []))])
        parts.append(render_table(
            ["processes", "claim p50 ms", "claim p99 ms", "update p50 ms", "update p99 ms",
             "ops/s", "span s", "completed", "errors"], rows))
        if man.get("uncontended"):
            parts.append(f"\nprocesses=1: one process, {man['uncontended']['reps']} claim+update "
                         f"pairs on a fresh manifest of "
                         f"{man['uncontended']['manifestBytes'] / 1024:.0f} KB. Other rows: "
                         "every process claims and completes in a tight loop until the queue "
                         "is empty (saturation: latency ~ queue length x lock hold time)"
                         + ("; paced: each process sleeps ~think s before every operation, "
                            "10 items each (closer to real workers)." if man.get("paced")
                            else "."))
    base = results.get("baseline")
    if base:
        parts += ["", "## Naive baseline (one browser, click, sleep 1 s, poll every 2 s)", ""]
        if base.get("error"):
            parts.append(f"baseline failed: {base['error']}")
        else:
            rows = [["naive baseline", base["videos"], base.get("completed"),
                     base.get("wallS_measured"), base.get("meanPerVideoS"),
                     base.get("medianOverheadS"), base.get("p90OverheadS"),
                     base.get("projectedWallS")]]
            n1 = run_row(results, 1)
            if n1:
                rows.append(["grokbatch N=1", n1["videos"], n1.get("completedItems"),
                             n1.get("wallS"), n1["wallS"] / n1["videos"],
                             n1.get("medianOverheadS"), n1.get("p90OverheadS"), n1.get("wallS")])
            parts.append(render_table(
                ["tool", "videos run", "completed", "wall s (measured)", "s/video",
                 "median overhead s", "p90 overhead s", f"wall s for B={cfg['videos']}"],
                rows))
            if base["videos"] != cfg["videos"]:
                parts.append(f"\nThe baseline ran {base['videos']} videos, not B="
                             f"{cfg['videos']} (--baseline-videos); its wall time for B is "
                             "PROJECTED: startup + B * mean seconds per video.")
            if base.get("speedupN1") is not None:
                parts.append(f"Speed-up of grokbatch N=1 over the baseline at B={cfg['videos']}:"
                             f" {base['speedupN1']:.2f}x")
            if base.get("speedupBest") is not None:
                parts.append(f"Speed-up of grokbatch's best run (N={base['bestN']}) over the "
                             f"baseline: {base['speedupBest']:.2f}x")
    mach = results.get("machine", {})
    parts += ["", "## Machine", ""]
    parts.append(render_table(
        ["nproc", "mem MB", "load avg before", "load avg after", "browser", "python",
         "playwright"],
        [[mach.get("nproc"), mach.get("memTotalMB"),
          " / ".join(f"{x:.2f}" for x in results.get("loadBefore", [])),
          " / ".join(f"{x:.2f}" for x in results.get("loadAfter", [])),
          mach.get("browserVersion") or mach.get("browser"), mach.get("python"),
          mach.get("playwright")]]))
    if mach.get("systemChromium"):
        parts.append(f"\n(system: {mach['systemChromium']}; grokbatch drives "
                     f"{mach.get('browser')})")
    if results.get("startup") or results.get("longrun"):
        parts += ["", "## The issue's figures", ""]
        parts.append(render_table(["figure", "grokbatch", "goal", "verdict"],
                                  [[r["figure"], r["measured"], r["goal"],
                                    "n/a" if r["ok"] is None else "PASS" if r["ok"] else "MISS"]
                                   for r in issue_figures(results)]))
        parts.append("\nmemory: peak PSS of the whole `run start` tree (runner, "
                     "workers, drivers, browsers) sampled once a second, divided by N; first "
                     "claim: from the command's start; efficiency: ideal ceil(B/N)*T over the "
                     "whole command's wall time.")
        for name, runs in (results.get("startup") or {}).get("scenarios", {}).items():
            parts += render_timeline(name, [r for r in runs if r.get("timeline")])
    parts += ["", "## Targets", ""]
    parts.append(render_table(
        ["target", "measured", "verdict", "note"],
        [[t["target"], t["measured"], t["verdict"], t["note"]] for t in results["targets"]]))
    parts.append(f"\nTotal bench time {results.get('benchSeconds', 0):.0f} s.")
    return "\n".join(parts)
