"""The original Node tool's method, re-implemented minimally: the benchmark's baseline.

One browser on a copy of the account profile, the permalink opened once, then for each
video, one after another: click "Make video"/"Redo", sleep 1 s (the original slept after
every click), then poll every 2 s until a `<video src>` that was not on the page before the
click has loaded (duration > 0), giving up on that video after 120 s.

Importable (`run_baseline(...)`) and runnable:

    .venv/bin/python scripts/naive_baseline.py --permalink http://127.0.0.1:PORT/imagine/post/x \
        --profile ~/.local/share/grokbatch/accounts/main/profile --count 5

Loopback permalinks only: this is a benchmark tool, not a way to use the real site.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

GENERATE_BUTTON = 'button[aria-label="Make video"], button[aria-label="Redo"]'
PROMPT_EDITOR = 'textarea[aria-label="Make a video"], [contenteditable="true"][role="textbox"]'
# The original tool's fixed waits.
SETTLE_AFTER_CLICK_MS = 1000
POLL_EVERY_MS = 2000
VIDEO_BOUND_S = 120.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# Every <video src> on the page with its duration (NaN until metadata has loaded).
_VIDEOS_JS = (
    "() => Array.from(document.querySelectorAll('video[src]'))"
    ".map(v => [v.getAttribute('src'), Number.isFinite(v.duration) ? v.duration : 0])"
)


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in _LOOPBACK:
        raise SystemExit(f"refusing {url}: the baseline only talks to a loopback simulator")


def _ignore_locks(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n.startswith("Singleton")}


def run_baseline(
    permalink: str,
    profile: Path,
    count: int,
    *,
    prompt: str | None = None,
    headless: bool = True,
    bound_s: float = VIDEO_BOUND_S,
) -> dict[str, Any]:
    """Make `count` videos the naive way; return timings (seconds) per video and in total.

    `profile` is the account's Chromium user-data dir; a private copy of it is used.
    """
    _check_loopback(permalink)
    from playwright.sync_api import sync_playwright

    from grokbatch.browser import find_browser, launch_args

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="naive-baseline-"))
    per_video: list[float] = []
    failures = 0
    try:
        copy = workdir / "profile"
        shutil.copytree(profile, copy, ignore=_ignore_locks, symlinks=True)
        with sync_playwright() as pw:
            choice = find_browser(pw)
            context = pw.chromium.launch_persistent_context(
                str(copy),
                executable_path=choice.executable_path,
                channel=choice.channel,
                headless=headless,
                args=launch_args(headless),
                viewport={"width": 1280, "height": 800},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(permalink, wait_until="domcontentloaded", timeout=30_000)
                ready_s = time.monotonic() - started
                loop_started = time.monotonic()
                for _ in range(count):
                    t0 = time.monotonic()
                    before = {src for src, _ in page.evaluate(_VIDEOS_JS)}
                    if prompt:
                        page.locator(PROMPT_EDITOR).first.fill(prompt, timeout=10_000)
                    page.locator(GENERATE_BUTTON).first.click(timeout=10_000)
                    page.wait_for_timeout(SETTLE_AFTER_CLICK_MS)
                    done = False
                    while time.monotonic() - t0 < bound_s:
                        videos = page.evaluate(_VIDEOS_JS)
                        if any(src not in before and dur > 0 for src, dur in videos):
                            done = True
                            break
                        page.wait_for_timeout(POLL_EVERY_MS)
                    if done:
                        per_video.append(time.monotonic() - t0)
                    else:
                        failures += 1
                loop_s = time.monotonic() - loop_started
            finally:
                context.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "videos": count,
        "completed": len(per_video),
        "failed": failures,
        "startupSeconds": round(ready_s, 3),
        "loopSeconds": round(loop_s, 3),
        "wallSeconds": round(time.monotonic() - started, 3),
        "perVideoSeconds": [round(s, 3) for s in per_video],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permalink", required=True, help="loopback simulator post URL")
    parser.add_argument("--profile", required=True, type=Path, help="signed-in profile dir")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--prompt", default=None)
    parser.add_argument("--headed", action="store_true")
    args = parser.parse_args(argv)
    result = run_baseline(args.permalink, args.profile, args.count, prompt=args.prompt,
                          headless=not args.headed)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if result["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
