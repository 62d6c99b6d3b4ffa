"""What a worker does with a video an earlier try started and did not live to see.

The site goes on making a video when the try that asked for it dies or hangs (a killed
worker or run, a frozen page, a broken stream). As soon as the stream names the video's
own post, the item keeps it (`Item.generation`); the next try of the item looks on that
post, for what is left of that generation's time, and keeps the video it finds instead of
asking the site for another.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from grokbatch.clock import parse_iso, utc_now
from grokbatch.logs import first_line, redact
from grokbatch.manifest import SiteGeneration
from grokbatch.outcomes import Outcome
from grokbatch.run.watchdog import DEADLINE_SLACK_S, Watchdog
from grokbatch.run.worker_protocol import WorkerSpec
from grokbatch.site.generator import GenerationResult, VideoGenerator

# The longest a look waits for a video that the site's progress says is still coming.
LONGEST_LOOK_S = 600.0


def look_wait_s(generation: SiteGeneration, timeout_s: float) -> float:
    """How long to wait for the video of `generation` to show on its post: the rest of
    the `timeout_s` its try had; and when that try gave up while the site was making it,
    until twice the whole time its progress said it would take (from its start; at most
    `LONGEST_LOOK_S` from now). A video the site stopped making is then made anew."""
    started_at = parse_iso(generation["startedAt"])
    since = (utc_now() - started_at).total_seconds() if started_at else timeout_s
    wait_s = min(timeout_s, max(0.0, timeout_s - since))
    progress, at_s = generation.get("progress"), generation.get("progressSeconds")
    if (isinstance(progress, int) and 0 < progress < 100
            and isinstance(at_s, (int, float)) and at_s > 0):
        whole_s = at_s * 100 / progress
        wait_s = max(wait_s, min(LONGEST_LOOK_S, 2 * whole_s - since))
    return wait_s


def look_for_started(index: int, generation: SiteGeneration, spec: WorkerSpec,
                     generator: VideoGenerator, watchdog: Watchdog,
                     give_up: Callable[[], bool]) -> GenerationResult | None:
    """Look for video #`index`, which an earlier try started (`generation`), on its post.

    COMPLETED: found, to be kept (of a pair, the one `--choice` keeps). NETWORK_ERROR: a
    page did not load, so nothing is known; the next try looks again and nothing is made
    meanwhile (the result says no generate control was clicked). None: the site shows no
    such video (or `give_up` said to stop looking).
    """
    posts = list(generation["videoPostIds"])
    if spec.choice == "second" and len(posts) > 1:
        posts[0], posts[1] = posts[1], posts[0]
    wait_s = look_wait_s(generation, spec.timeout_s)
    # Its last round may look at each post twice (a pair's preferred one again).
    watchdog.arm(wait_s + 2 * len(posts) * (spec.page_load_timeout_s + spec.element_timeout_s)
                 + DEADLINE_SLACK_S)
    started = time.monotonic()
    url: str | None = None
    error: str | None = None
    try:
        url = generator.find_made_video(posts, wait_s, give_up)
    except PlaywrightError as exc:
        error = first_line(str(exc))
    finally:
        watchdog.arm(None)
    elapsed = time.monotonic() - started
    if url is not None:
        logger.info("{}: video #{}: found the video an earlier try started, made while no one "
                    "watched; kept, not made again", spec.worker_id, index)
        return GenerationResult(Outcome.COMPLETED, video_url=url, elapsed_s=elapsed,
                                choice=spec.choice if len(posts) > 1 else None,
                                clicked=True, found_again=True)
    if error is not None or watchdog.deadline_hit.is_set():
        return GenerationResult(Outcome.NETWORK_ERROR, redact(
            f"the page of the video an earlier try started did not load: {error}"
            if error else "no answer from the page of the video an earlier try started"),
            elapsed_s=elapsed)
    return None
