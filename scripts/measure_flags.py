"""Measure what each candidate Chromium flag does to a worker browser's memory and start-up.

For each variant (the flags grokbatch uses, then that plus one candidate flag), launch a
persistent context on a fresh profile, open a simulator post page, wait for the app shell,
and record the launch-to-ready time and the PSS of the browser's whole process tree.
Prints a markdown table; used to decide which flags `grokbatch/browser.py` keeps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from grokbatch.browser import find_browser, launch_args
from grokbatch.simulator.lifecycle import start_simulator
from grokbatch.simulator.scenario import SimulatorOptions

CANDIDATES = [
    "--in-process-gpu",
    "--no-zygote",
    "--enable-features=NetworkServiceInProcess2",
    "--disable-features=SpareRendererForSitePerProcess",
    "--disable-extensions",
    "--renderer-process-limit=1",
    "--js-flags=--max-old-space-size=128",
    "--disable-software-rasterizer",
    "NODE_OPTIONS=--max-semi-space-size=1",  # the Playwright driver (node), not Chromium
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


def tree_pss_mb(root_pid: int) -> float:
    """PSS of a process and all its descendants, in MB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total_kb, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def driver_pid() -> int:
    """The Playwright driver started by this process (the browser is its child)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and "node" in (entry / "cmdline").read_bytes().decode(
                errors="ignore"
            ):
                return int(entry.name)
    raise RuntimeError("no Playwright driver found")


def measure(playwright, choice, url: str, extra: list[str], rounds: int) -> tuple[float, float]:
    """Median (ready seconds, PSS MB) of `rounds` launches with `extra` flags."""
    ready, pss = [], []
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
                page.wait_for_timeout(1500)  # let the renderer settle before measuring
                pss.append(tree_pss_mb(driver_pid()))
            finally:
                context.close()
    return statistics.median(ready), statistics.median(pss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sim = start_simulator(SimulatorOptions(auto_login=True))
    try:
        url = f"{sim.url}/imagine/post/flags"
        with sync_playwright() as playwright:
            choice = find_browser(playwright)
            base_ready, base_pss = measure(playwright, choice, url, [], args.rounds)
            print("| flags | ready s | Δ ready | PSS MB (driver+browser) | Δ PSS |")
            print("|---|---|---|---|---|")
            print(f"| grokbatch defaults | {base_ready:.2f} | | {base_pss:.0f} | |")
            for flag in CANDIDATES:
                if flag.startswith("NODE_OPTIONS="):
                    continue  # needs its own driver: measured below
                ready, pss = measure(playwright, choice, url, [flag], args.rounds)
                print(f"| + `{flag}` | {ready:.2f} | {ready - base_ready:+.2f} | {pss:.0f} | "
                      f"{pss - base_pss:+.0f} |", flush=True)
            everything = [f for f in CANDIDATES if f.startswith("--")]
            ready, pss = measure(playwright, choice, url, everything, args.rounds)
            print(f"| all of the above | {ready:.2f} | {ready - base_ready:+.2f} | {pss:.0f} | "
                  f"{pss - base_pss:+.0f} |", flush=True)
        os.environ["NODE_OPTIONS"] = "--max-semi-space-size=1"
        with sync_playwright() as playwright:  # a new driver that reads NODE_OPTIONS
            ready, pss = measure(playwright, choice, url, [], args.rounds)
            print(f"| NODE_OPTIONS=--max-semi-space-size=1 | {ready:.2f} | "
                  f"{ready - base_ready:+.2f} | {pss:.0f} | {pss - base_pss:+.0f} |", flush=True)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
