"""The memory floor's client, started by scripts/benchkit/floor.py: a plain Playwright
script that opens one page in the browser a grokbatch worker would get (the same Chromium,
flags and driver settings) and does nothing else.

    python scripts/floor_probe.py URL PROFILE_DIR [--headless-shell]

Prints "ready" once the page's app shell is up, then holds the page until it is ended
(at most HOLD_S seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grokbatch

from playwright.sync_api import sync_playwright

from grokbatch.browser import find_browser, launch_persistent, tune_driver

# How long the page is held if nobody ends the probe; each step's bound before that.
HOLD_S = 120.0
STEP_TIMEOUT_S = 60.0
# The simulator's page is up (the selector the benchmark's other page probes wait for).
APP_SHELL = '[data-testid="app-shell"]'


def main() -> int:
    """Open the page, say so, hold it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("profile_dir", type=Path)
    parser.add_argument("--headless-shell", action="store_true")
    args = parser.parse_args()
    tune_driver()  # the driver this starts gets the settings grokbatch's drivers get
    with sync_playwright() as playwright:
        choice = find_browser(playwright, headless_shell=args.headless_shell)
        context = launch_persistent(playwright, args.profile_dir, choice, headless=True,
                                    timeout_s=STEP_TIMEOUT_S)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(args.url, wait_until="domcontentloaded",
                      timeout=STEP_TIMEOUT_S * 1000)
            page.locator(APP_SHELL).wait_for(timeout=STEP_TIMEOUT_S * 1000)
            print("ready", flush=True)
            time.sleep(HOLD_S)
        finally:
            context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
