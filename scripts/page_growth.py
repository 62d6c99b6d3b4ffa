"""How a page's renderer grows over many videos when nothing of grokbatch drives it.

One browser (grokbatch's flags) on the simulator's post page; a plain Playwright loop types
a prompt, clicks the generate button and waits for the new video, again and again, and
prints the renderer's PSS at some videos. `--page-script` installs grokbatch's page.js
first, to tell its share from the page's and Chromium's own; `--collect-every K` has the
renderer collect its garbage every K videos, as a worker does (`PageGarbage`). The long run
of `scripts/bench.py` measures the whole worker; this isolates the renderer.

    .venv/bin/python scripts/page_growth.py --videos 200
    .venv/bin/python scripts/page_growth.py --videos 200 --page-script
    .venv/bin/python scripts/page_growth.py --videos 200 --collect-every 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from loguru import logger
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grokbatch

from benchkit.proctree import cmdline, proc_table, pss_kb

from grokbatch.browser import browser_env, find_browser, launch_args
from grokbatch.simulator.process import SimulatorProcess
from grokbatch.site.page_memory import PageGarbage
from grokbatch.site.pagewatch import install_page_script
from grokbatch.site.selectors import Selectors

_PROFILE_PREFIX = "page-growth-"
_MARKS = (1, 10, 25, 50, 100, 150, 200, 300, 500)
# Bound on one video: the simulator makes each in a fifth of a second.
_VIDEO_TIMEOUT_MS = 30_000
_NEWER_VIDEO_JS = ("old => { const v = document.querySelector('video[src]');"
                   " return v && v.src !== old; }")
_VIDEO_SRC_JS = "() => (document.querySelector('video[src]') || {}).src || ''"


def renderer_mb() -> int:
    """PSS of the renderers of the browser this script launched, in MB."""
    return sum(pss_kb(pid) for pid in proc_table()
               if "--type=renderer" in (cmd := cmdline(pid)) and _PROFILE_PREFIX in cmd) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--page-script", action="store_true",
                        help="install grokbatch's page.js in the page first")
    parser.add_argument("--collect-every", type=int, default=0, metavar="K",
                        help="have the renderer collect its garbage every K videos (0: never)")
    args = parser.parse_args()
    logger.remove()  # PageGarbage's debug lines would interleave the table
    sim = SimulatorProcess("--auto-login", "--generation-seconds", "0.2")
    try:
        with sync_playwright() as playwright, \
                tempfile.TemporaryDirectory(prefix=_PROFILE_PREFIX) as profile:
            choice = find_browser(playwright)
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=choice.executable_path, channel=choice.channel,
                headless=True, args=launch_args(headless=True), env=browser_env())
            try:
                page = context.pages[0]
                garbage = PageGarbage(page, "page-growth", every=args.collect_every or 1)
                if args.page_script:
                    install_page_script(page, Selectors())
                page.goto(sim.post_url())
                editor = page.get_by_label("Make a video")
                print("| video | renderer PSS MB |\n|---|---|")
                for video in range(1, args.videos + 1):
                    if args.collect_every:
                        garbage.attempt_starting()
                    editor.fill(f"prompt {video}")
                    old = page.evaluate(_VIDEO_SRC_JS)
                    page.locator("button[type=submit]").first.click()
                    page.wait_for_function(_NEWER_VIDEO_JS, arg=old,
                                           timeout=_VIDEO_TIMEOUT_MS).dispose()
                    if video in _MARKS or video == args.videos:
                        print(f"| {video} | {renderer_mb()} |", flush=True)
            finally:
                context.close()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
