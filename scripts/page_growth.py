"""How a page's renderer grows over many videos when nothing of grokbatch drives it.

One browser (grokbatch's flags) on the simulator's post page; a plain Playwright loop types
a prompt, clicks the generate button and waits for the new video, again and again, and
prints the renderer's PSS at some videos. `--page-script` installs grokbatch's page.js
first, to tell its share from the page's and Chromium's own; `--collect-every K` has the
renderer collect its garbage every K videos, as a worker does (`PageGarbage`). The long run
of `scripts/bench.py` measures the whole worker; this isolates the renderer.

`--layout 2026` drives the 2026 page (with the captured stream) instead of the classic one;
`--video-mb X` has the simulator pad each video to about X MB, as big as the real site's
(its own are a few KB). The Playwright driver starts with grokbatch's settings, as a
worker's does (`tune_driver`); `--plain-driver` starts it with none of them.

    .venv/bin/python scripts/page_growth.py --videos 200
    .venv/bin/python scripts/page_growth.py --videos 200 --page-script
    .venv/bin/python scripts/page_growth.py --videos 200 --collect-every 5
    .venv/bin/python scripts/page_growth.py --videos 30 --layout 2026 --video-mb 2
    .venv/bin/python scripts/page_growth.py --videos 30 --layout 2026 --video-mb 2 --plain-driver
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loguru import logger
from playwright.sync_api import Locator, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grokbatch

from benchkit.proctree import cmdline, proc_table, pss_kb

from grokbatch import drivers
from grokbatch.browser import browser_env, find_browser, launch_args, tune_driver
from grokbatch.simulator.process import SimulatorProcess
from grokbatch.site.page_memory import PageGarbage
from grokbatch.site.pagewatch import install_page_script
from grokbatch.site.selectors import Selectors

_PROFILE_PREFIX = "page-growth-"
_MARKS = (1, 10, 25, 50, 100, 150, 200, 300, 500)
# Bound on one video: the simulator makes each in a fifth of a second.
_VIDEO_TIMEOUT_MS = 30_000
_NEWER_VIDEO_JS = ("([sel, old]) => { const v = document.querySelector(sel);"
                   " return v && v.src !== old; }")
_VIDEO_SRC_JS = "sel => (document.querySelector(sel) || {}).src || ''"


@dataclass(frozen=True)
class Layout:
    """One of the simulator's post pages: how to start it and where its controls are."""

    simulator_args: tuple[str, ...]
    editor: Callable[[Page], Locator]  # the prompt editor
    video: str  # the current video (the page replaces it, or its src, for each new one)
    generate: str  # the generate button


_LAYOUTS = {
    "classic": Layout((), lambda page: page.get_by_label("Make a video"), "video[src]",
                      "button[type=submit]"),
    # grokbatch/simulator/layout2026.py and templates/post2026.js: icon-only buttons
    "2026": Layout(("--layout", "2026", "--stream-format", "captured"),
                   lambda page: page.locator("[contenteditable=true]").first, "#sd-video",
                   "button.generate"),
}


def renderer_mb() -> int:
    """PSS of the renderers of the browser this script launched, in MB."""
    return sum(pss_kb(pid) for pid in proc_table()
               if "--type=renderer" in (cmd := cmdline(pid)) and _PROFILE_PREFIX in cmd) // 1024


def choose_driver(plain: bool) -> str:
    """Set this process's environment for the Playwright driver `sync_playwright` starts:
    grokbatch's settings (as a worker's driver gets them), or none of them; returns the
    driver's NODE_OPTIONS."""
    if not plain:
        tune_driver()
    else:
        options = os.environ.get("NODE_OPTIONS", "")
        if drivers.DRIVER_NODE_OPTIONS in options:
            rest = " ".join(options.replace(drivers.DRIVER_NODE_OPTIONS, " ").split())
            if rest:  # the user's own options stay
                os.environ["NODE_OPTIONS"] = rest
            else:
                del os.environ["NODE_OPTIONS"]
    return os.environ.get("NODE_OPTIONS", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--page-script", action="store_true",
                        help="install grokbatch's page.js in the page first")
    parser.add_argument("--collect-every", type=int, default=0, metavar="K",
                        help="have the renderer collect its garbage every K videos (0: never)")
    parser.add_argument("--layout", choices=sorted(_LAYOUTS), default="classic",
                        help="the simulator's post page: classic, or 2026 (with the captured "
                             "stream) (default: classic)")
    parser.add_argument("--video-mb", type=float, metavar="X",
                        help="have the simulator pad each video to about X MB (default: its "
                             "own videos of a few KB)")
    parser.add_argument("--plain-driver", action="store_true",
                        help="start Playwright's driver without grokbatch's settings (by "
                             "default it gets them, as a worker's: NODE_OPTIONS, with which "
                             "grokbatch's drivers tell each page to keep no response bodies); "
                             "measures the page without that")
    args = parser.parse_args()
    layout = _LAYOUTS[args.layout]
    logger.remove()  # PageGarbage's debug lines would interleave the table
    sim_args = ["--auto-login", "--generation-seconds", "0.2", *layout.simulator_args]
    if args.video_mb is not None:
        sim_args += ["--video-mb", str(args.video_mb)]
    node_options = choose_driver(args.plain_driver)  # before sync_playwright starts the driver
    print(f"layout {args.layout}, video_mb {args.video_mb or 0}, driver "
          f"{'plain' if args.plain_driver else 'grokbatch'}: NODE_OPTIONS={node_options!r}\n")
    sim = SimulatorProcess(*sim_args)
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
                editor = layout.editor(page)
                print("| video | renderer PSS MB |\n|---|---|")
                for video in range(1, args.videos + 1):
                    if args.collect_every:
                        garbage.attempt_starting()
                    editor.fill(f"prompt {video}")
                    old = page.evaluate(_VIDEO_SRC_JS, layout.video)
                    page.locator(layout.generate).first.click()
                    page.wait_for_function(_NEWER_VIDEO_JS, arg=[layout.video, old],
                                           timeout=_VIDEO_TIMEOUT_MS).dispose()
                    if video in _MARKS or video == args.videos:
                        print(f"| {video} | {renderer_mb()} |", flush=True)
            finally:
                context.close()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
