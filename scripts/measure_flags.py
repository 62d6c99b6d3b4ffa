"""Measure what each candidate Chromium flag does to a worker browser's memory and start-up.

For each variant (the flags grokbatch uses, then that plus one candidate flag), launch a
persistent context on a fresh profile, open a simulator post page, wait for the app shell,
and record the launch-to-ready time, the CPU-seconds the browser's tree spent getting
there, and the PSS of the driver and the browser's whole process tree. Then the same with
each candidate NODE_OPTIONS for the Playwright driver (a new driver each). Prints a
markdown table; used to decide which flags `grokbatch/browser.py` keeps.

    .venv/bin/python scripts/measure_flags.py --rounds 5
    .venv/bin/python scripts/measure_flags.py --only renderer,in-process   # some candidates
    .venv/bin/python scripts/measure_flags.py --flag=--disable-spell-checking   # any flag
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grokbatch

from benchkit.proctree import cmdline, cpu_s, proc_table, pss_mb, tree_pids

from grokbatch.browser import find_browser, launch_args
from grokbatch.simulator.lifecycle import start_simulator
from grokbatch.simulator.scenario import SimulatorOptions

CANDIDATES = [
    # The new headless mode is the whole browser: it keeps the omnibox's WebUI popup
    # loaded in a renderer of its own (browser UI: the site never sees it).
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
    # Playwright's own --disable-features list is replaced by ours (Chromium keeps the last
    # one): these of its entries are background work only.
    "--disable-features=AimEnabled,PreconnectToSearch,NetworkTimeServiceQuerying,LensOverlay",
    "--in-process-gpu",
    "--single-process",  # unsupported by Chromium; measured to know what it would save
    "--no-zygote",
    "--renderer-process-limit=1",
    "--disable-features=site-per-process",
    "--js-flags=--max-old-space-size=128",
    "--js-flags=--max-semi-space-size=1",
    "--js-flags=--lite-mode",
    "--disable-features=BackForwardCache",
    "--disable-gpu-compositing",
    "--disable-breakpad",
]
# For the Playwright driver (node), not Chromium: each gets a driver of its own.
NODE_CANDIDATES = [  # node refuses most V8 flags in NODE_OPTIONS (--lite-mode, --no-opt)
    "--max-semi-space-size=1",
    "--max-old-space-size=64",
    "--jitless",
    "--v8-pool-size=1",
    "--max-semi-space-size=1 --max-old-space-size=64",
    "--max-semi-space-size=1 --jitless",
]


def merged_args(extra: list[str]) -> list[str]:
    """grokbatch's flags plus `extra`, merging --disable-features lists (Chromium keeps only
    the last of a repeated switch)."""
    args = launch_args(True)
    for flag in extra:
        if flag.startswith("--disable-features="):
            base = next((a for a in args if a.startswith("--disable-features=")), None)
            if base:
                args[args.index(base)] = base + "," + flag.split("=", 1)[1]
                continue
        args.append(flag)
    return args


def driver_pid() -> int:
    """The Playwright driver started by this process (the browser is its child)."""
    me = os.getpid()
    for pid, stat in proc_table().items():
        if stat.ppid == me and "node" in cmdline(pid):
            return pid
    raise RuntimeError("no Playwright driver found")


def measure(playwright, choice, url: str, extra: list[str], rounds: int
            ) -> tuple[float, float, float, float]:
    """Median (ready seconds, browser CPU-seconds to ready, driver PSS MB, browser PSS MB)
    of `rounds` launches with `extra` flags."""
    ready, pss, cpu, driver = [], [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as profile:
            started = time.monotonic()
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=choice.executable_path, channel=choice.channel,
                headless=True, args=merged_args(extra), timeout=60_000,
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=30_000)
                page.locator('[data-testid="app-shell"]').wait_for(timeout=30_000)
                ready.append(time.monotonic() - started)
                node = driver_pid()
                browser = [p for p in tree_pids(node) if p != node]
                cpu.append(cpu_s(browser))
                page.wait_for_timeout(1500)  # let the renderer settle before measuring
                browser = [p for p in tree_pids(node) if p != node]
                pss.append(pss_mb(browser))
                driver.append(pss_mb([node]))
            finally:
                context.close()
    return (statistics.median(ready), statistics.median(cpu), statistics.median(driver),
            statistics.median(pss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="",
                        help="comma-separated substrings: measure only candidates holding one")
    parser.add_argument("--flag", action="append", default=[], metavar="FLAG",
                        help="measure this Chromium flag (repeatable); without --only, "
                             "only the flags given this way")
    args = parser.parse_args()
    only = [x for x in args.only.split(",") if x]

    def wanted(flag: str) -> bool:
        if args.flag and not only:
            return flag in args.flag
        return not only or any(o in flag for o in only) or flag in args.flag

    sim = start_simulator(SimulatorOptions(auto_login=True))
    try:
        url = f"{sim.url}/imagine/post/flags"
        print("| variant | ready s | browser CPU s | driver PSS MB | browser PSS MB | "
              "Δ driver | Δ browser |")
        print("|---|---|---|---|---|---|---|")

        def row(label: str, got: tuple[float, float, float, float],
                base: tuple[float, float, float, float] | None) -> None:
            ready, cpu, drv, brw = got
            delta = (f"{drv - base[2]:+.0f} | {brw - base[3]:+.0f}" if base else " | ")
            print(f"| {label} | {ready:.2f} | {cpu:.2f} | {drv:.0f} | {brw:.0f} | {delta} |",
                  flush=True)

        with sync_playwright() as playwright:
            choice = find_browser(playwright)
            base = measure(playwright, choice, url, [], args.rounds)
            row("grokbatch defaults", base, None)
            for flag in dict.fromkeys([*CANDIDATES, *args.flag]):
                if wanted(flag):
                    row(f"+ `{flag}`", measure(playwright, choice, url, [flag], args.rounds),
                        base)
        for options in NODE_CANDIDATES:
            if not wanted(options):
                continue
            os.environ["NODE_OPTIONS"] = options
            try:
                with sync_playwright() as playwright:  # a new driver that reads NODE_OPTIONS
                    row(f"NODE_OPTIONS=`{options}`",
                        measure(playwright, choice, url, [], args.rounds), base)
            except Exception as exc:  # node refused the option: say so, go on
                print(f"| NODE_OPTIONS=`{options}` | {str(exc).splitlines()[0]} | | | | | |")
            finally:
                del os.environ["NODE_OPTIONS"]
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
