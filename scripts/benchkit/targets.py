"""The benchmark's targets and the issue's goals, each with its verdict: PASS, MISS, or
n/a when not measured; and the issue's table (our column) from the startup and longrun
parts."""

from __future__ import annotations

from typing import Any

from .numbers import MB, fmt, median, spread

# Targets: (key, description). Values are checked in evaluate_targets().
TARGETS = {
    "efficiency_n10": "efficiency >= 0.90 at N=10",
    "overhead_n1": "median per-video overhead <= 0.3 s at N=1",
    "first_claim_n10": "start -> first claim <= 5 s at N=10",
    "memory": "per-worker memory <= 200 MB PSS (max over workers)",
    "profile_copy": "profile copy <= 25 MB and <= 1 s",
    "manifest_p99": "manifest p99 (claim and update) <= 20 ms with 20 processes",
}

# The issue's goals for the startup and longrun figures.
GOALS = {"memN5MB": 220.0, "memN10MB": 190.0, "memN1MB": 400.0, "effN5": 0.65,
         "lastClaimN5S": 6.0, "allClaimedN10S": 8.0, "effN10": 0.85, "growth": 1.10}


def floor_text(floors: list[dict[str, Any]]) -> str:
    """The memory floor beside the N=1 figure: what a plain Playwright script holding the
    same page takes, and its parts ("" if it was not measured)."""
    good = [f for f in floors if f.get("treeMB") is not None]
    if not good:
        return ""

    def part(key: str) -> str:
        return spread([float(f[key]) for f in good], 0, " MB")

    return (f" (floor: {part('treeMB')}, a plain Playwright script holding the same page: "
            f"Chromium {part('chromiumMB')}, driver {part('driverMB')}, "
            f"its Python {part('pythonMB')})")


def run_row(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    """The row of the run with N workers and no downloads, if it ran."""
    for row in results.get("runs", []):
        if row.get("workers") == n and not row.get("download") and "wallS" in row:
            return row
    return None


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/MISS (or n/a when not measured) for every target."""
    out = []

    def add(key: str, value: Any, ok: bool | None, note: str = "") -> None:
        verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
        out.append({"target": TARGETS[key], "key": key, "measured": value, "verdict": verdict,
                    "note": note})

    n10, n1 = run_row(results, 10), run_row(results, 1)
    eff = n10.get("efficiency") if n10 else None
    add("efficiency_n10", eff, None if eff is None else eff >= 0.90,
        "" if n10 else "N=10 not run")
    ovh = n1.get("medianOverheadS") if n1 else None
    add("overhead_n1", ovh, None if ovh is None else ovh <= 0.3, "" if n1 else "N=1 not run")
    fc = n10.get("startToFirstClaimS") if n10 else None
    add("first_claim_n10", fc, None if fc is None else fc <= 5.0, "" if n10 else "N=10 not run")
    mem = results.get("memory") or {}
    peak = mem.get("perWorkerMaxMB")
    add("memory", peak, None if peak is None else peak <= 200,
        f"N={mem.get('workersN')}; median {fmt(mem.get('perWorkerMedianMB'), 1)} MB"
        if mem else "not measured")
    prof = results.get("profile") or {}
    if prof:
        mb, secs = prof["copyProfileBytes"] / MB, prof["copyProfileSeconds"]
        add("profile_copy", f"{mb:.1f} MB in {secs:.3f} s", mb <= 25 and secs <= 1.0)
    else:
        add("profile_copy", None, None, "not measured")
    m20 = next((m for m in results.get("manifest", {}).get("contended", [])
                if m["processes"] == 20), None)
    if m20 and m20.get("claimP99Ms") is not None:
        worst = max(m20["claimP99Ms"], m20["updateP99Ms"])
        paced = results["manifest"].get("paced") or {}
        note = "tight loop"
        if paced.get("claimP99Ms") is not None:
            note += (f"; paced: claim {paced['claimP99Ms']:.1f} / update "
                     f"{paced['updateP99Ms']:.1f} ms")
        add("manifest_p99", f"claim {m20['claimP99Ms']:.1f} / update {m20['updateP99Ms']:.1f} ms",
            worst <= 20.0, note)
    else:
        add("manifest_p99", None, None, "not measured")
    if results.get("startup") or results.get("longrun"):
        for fig in issue_figures(results):
            out.append({"target": f"{fig['figure']}: {fig['goal']}", "key": "issue",
                        "measured": fig["measured"],
                        "verdict": "n/a" if fig["ok"] is None else "PASS" if fig["ok"] else "MISS",
                        "note": "the issue's table"})
    return out


def issue_figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's table (our column), from the startup and longrun parts: one row per
    figure with its label, measured text, median value, goal and verdict (None: n/a)."""
    scenarios = results.get("startup", {}).get("scenarios", {})
    rows: list[dict[str, Any]] = []

    def values(name: str, key: str) -> list[float]:
        return [float(r[key]) for r in scenarios.get(name, []) if r.get(key) is not None]

    def shape(name: str) -> tuple[Any, Any, Any]:
        runs = scenarios.get(name) or [{}]
        return runs[0].get("workers", "?"), runs[0].get("videos", "?"), runs[0].get("T", "?")

    def add(figure: str, vals: list[float], goal_text: str, ok: Any, digits: int = 2,
            unit: str = "", extra: str = "") -> None:
        mid = median(vals)
        rows.append({"figure": figure, "measured": spread(vals, digits, unit) + extra,
                     "value": mid, "goal": goal_text,
                     "ok": None if mid is None else bool(ok(mid))})

    n5, b5, t5 = shape("n5")
    n10, b10, t10 = shape("n10")
    add(f"memory per worker (peak PSS / N), N={n5}", values("n5", "peakPerWorkerMB"),
        f"≤ {GOALS['memN5MB']:.0f} MB", lambda v: v <= GOALS["memN5MB"], 0, " MB")
    add(f"memory per worker, N={n10}", values("n10", "peakPerWorkerMB"),
        f"≤ {GOALS['memN10MB']:.0f} MB", lambda v: v <= GOALS["memN10MB"], 0, " MB")
    add("memory, N=1 (whole tree)", values("n1", "treePeakMB"),
        f"≤ {GOALS['memN1MB']:.0f} MB", lambda v: v <= GOALS["memN1MB"], 0, " MB",
        extra=floor_text(results.get("startup", {}).get("floor") or []))
    ideal5 = scenarios.get("n5", [{}])[0].get("idealS") if scenarios.get("n5") else None
    add(f"{n5} workers, {b5} videos of {t5:g} s, whole command (ideal {fmt(ideal5, 0)} s)"
        if isinstance(t5, float) else "N=5 run", values("n5", "efficiency"),
        f"≥ {GOALS['effN5']}", lambda v: v >= GOALS["effN5"],
        extra=f" (wall {spread(values('n5', 'wallS'), 1)} s)")
    add(f"last of {n5} workers' first claim", values("n5", "lastFirstClaimS"),
        f"≤ {GOALS['lastClaimN5S']:.0f} s", lambda v: v <= GOALS["lastClaimN5S"], 1, " s")
    last10 = values("n10", "lastFirstClaimS")
    first10 = values("n10", "firstClaimS")
    rows.append({"figure": f"first video started, N={n10}",
                 "measured": f"{spread(first10, 1, ' s')} (all {n10} by "
                             f"{spread(last10, 1, ' s')})",
                 "value": median(last10), "goal": f"all {n10} by {GOALS['allClaimedN10S']:.0f} s",
                 "ok": None if not last10 else (median(last10) or 0) <= GOALS["allClaimedN10S"]})
    add(f"N={n10}, {b10} videos of {t10:g} s" if isinstance(t10, float) else "N=10 run",
        values("n10", "efficiency"), f"≥ {GOALS['effN10']}", lambda v: v >= GOALS["effN10"],
        extra=f" (wall {spread(values('n10', 'wallS'), 1)} s)")
    long_rows = results.get("longrun") or []
    if long_rows:
        lr = long_rows[0]
        growth = [float(r["memoryGrowthMax"]) for r in long_rows
                  if r.get("memoryGrowthMax") is not None]
        counted = [r["memoryGrowthWorkers"] for r in long_rows
                   if r.get("memoryGrowthWorkers") is not None]
        anyone = [float(r["memoryGrowthMaxAnyBrowsers"]) for r in long_rows
                  if r.get("memoryGrowthMaxAnyBrowsers") is not None]
        late_mb = [v for r in long_rows
                   for v in (r.get("memoryAtVideo") or {}).get(str(r.get("late")), {}).values()]
        by_kind: dict[str, list[float]] = {}
        for r in long_rows:
            for kind, mb in (r.get("memoryGrowthByKindMB") or {}).items():
                by_kind.setdefault(kind, []).append(mb)
        grew = sorted(((median(v) or 0.0, k) for k, v in by_kind.items()), reverse=True)
        grew_text = ", ".join(f"{k} {mb:+.1f}" for mb, k in grew if abs(mb) >= 0.1)
        sized = f", videos of {lr['videoMb']:g} MB" if lr.get("videoMb") else ""
        add(f"{lr.get('workers')} workers x {lr.get('late')} videos of {lr.get('T')} s "
            f"({lr.get('page', '2026')} page{sized}): a "
            f"worker's memory at its video {lr.get('late')} / at its video {lr.get('early')} "
            "(max over workers)", growth, f"≤ {GOALS['growth']:.2f}",
            lambda v: v <= GOALS["growth"], 3,
            extra=f" (at video {lr.get('late')}: {spread(late_mb, 0, ' MB')} per worker; "
                  f"workers counted {spread(counted, 0)}, those that reached it while every "
                  f"browser was up; from every sample: {spread(anyone, 3)}"
                  + (f"; what grew, MB by process kind: {grew_text}" if grew_text else "")
                  + ")")
    return rows
