"""The simulator, driven by real Chromium over loopback HTTP: pages, scenarios, stats."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from grokbatch.simulator.scenario import Scenario, SimulatorOptions

pytestmark = pytest.mark.e2e

Simulator = Callable[..., Any]  # the `simulator` fixture factory from conftest.py
GENERATE = "button[type=submit]"
PROGRESS = "[data-testid=generation-progress]"
VIDEO = "video[data-testid=generated-video]"
ALERT = "[data-testid=generation-error]"
PERCENT_RE = re.compile(r"^\d{1,3}%$")
# Lead time to schedule the concurrent clicks in all pages before they fire.
_CLICK_DELAY_MS = 6000


def _wait_playable(page: Page, selector: str) -> None:
    """Wait until the video element has loaded metadata and has a positive duration."""
    page.wait_for_function(
        """sel => { const v = document.querySelector(sel);
                    return v && v.readyState >= 1 && v.duration > 0; }""",
        arg=selector,
        timeout=15_000,
    )


def _generate(page: Page, prompt: str = "a cat surfing") -> None:
    page.get_by_label("Make a video").fill(prompt)
    page.locator(GENERATE).click()


def _percent(page: Page) -> int:
    return int(page.locator(PROGRESS).inner_text().rstrip("%"))


def _get(url: str, session: str | None = None, range_: str | None = None) -> tuple[int, bytes]:
    headers = {"Cookie": f"sso={session}"} if session else {}
    if range_:
        headers["Range"] = range_
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- sessions -------------------------------------------------------------------------------
def test_signed_out_post_page_offers_only_sign_in_then_signing_in_shows_the_shell(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator()
    page = browser_page
    page.goto(sim.post_url("abc123"))
    expect(page.get_by_role("button", name="Sign in")).to_have_count(1)
    expect(page.locator("[data-testid=app-shell]")).to_have_count(0)
    expect(page.get_by_text("Log in")).to_have_count(0)
    expect(page.locator(GENERATE)).to_have_count(0)

    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign in").click()  # the button on /sign-in
    expect(page).to_have_url(sim.post_url("abc123"))
    expect(page.locator("nav[aria-label=Sidebar][data-testid=app-shell]")).to_be_visible()
    expect(page.get_by_text("Sign in")).to_have_count(0)
    cookie = next(c for c in page.context.cookies() if c["name"] == "sso")
    assert re.fullmatch(r"s-[0-9a-f]{32}", cookie["value"])
    assert cookie["httpOnly"] and cookie["expires"] > time.time() + 29 * 24 * 3600
    assert sim.stats()["signIns"] == 1


def test_auto_login_serves_signed_in_page_on_first_visit(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--auto-login")
    browser_page.goto(sim.post_url())
    expect(browser_page.locator("[data-testid=app-shell]")).to_be_visible()
    expect(browser_page.get_by_role("button", name="Make video")).to_be_visible()
    assert sim.stats()["signIns"] == 1


def test_expired_sessions_show_sign_in_even_with_a_cookie(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--expire-sessions")
    browser_page.context.add_cookies([{"name": "sso", "value": sim.new_session(), "url": sim.url}])
    browser_page.goto(sim.url + "/imagine")
    expect(browser_page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(browser_page.locator("[data-testid=app-shell]")).to_have_count(0)


# --- generation -----------------------------------------------------------------------------
@pytest.mark.parametrize("editor", ["textarea", "contenteditable"])
def test_generation_shows_progress_then_a_playable_video(
    simulator: Simulator, browser_page: Page, editor: str
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "2", "--editor", editor)
    page = browser_page
    page.goto(sim.post_url())
    tag = "textarea" if editor == "textarea" else "div.ProseMirror[contenteditable=true]"
    expect(page.locator(f"{tag}[aria-label='Make a video']")).to_be_visible()
    _generate(page, "a dog on a skateboard")
    expect(page.locator(PROGRESS)).to_have_text(PERCENT_RE)
    expect(page.locator(GENERATE)).to_be_disabled()
    expect(page.locator(VIDEO)).to_have_count(1, timeout=15_000)
    _wait_playable(page, VIDEO)
    src = page.locator(VIDEO).get_attribute("src") or ""
    assert re.fullmatch(
        r"/assets/users/s-[0-9a-f]{32}/generated/[0-9a-f-]{36}/"
        r"generated_video\.mp4",
        src,
    )
    expect(page.locator(PROGRESS)).to_be_hidden()
    expect(page.get_by_role("button", name="Redo")).to_be_enabled()
    stats = sim.stats()
    assert stats["generationsStarted"] == stats["generationsCompleted"] == 1


def test_redo_replaces_the_video_and_reload_shows_the_last_one(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.5")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    expect(page.get_by_role("button", name="Redo")).to_be_enabled(timeout=15_000)
    first = page.locator(VIDEO).get_attribute("src")

    page.reload()
    expect(page.locator(VIDEO)).to_have_attribute("src", first or "")
    expect(page.get_by_role("button", name="Redo")).to_be_visible()
    _wait_playable(page, VIDEO)

    page.get_by_role("button", name="Redo").click()
    expect(page.locator(VIDEO)).not_to_have_attribute("src", first or "", timeout=15_000)
    expect(page.locator(VIDEO)).to_have_count(1)
    assert sim.stats()["generationsCompleted"] == 2


def test_rate_limit_shows_message_and_disables_button(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.3", "--rate-limit-after", "1")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    expect(page.get_by_role("button", name="Redo")).to_be_enabled(timeout=15_000)
    page.locator(GENERATE).click()
    expect(page.locator(ALERT)).to_have_text(
        "You've reached your limit of video generations. Upgrade or try again later."
    )
    expect(page.locator(GENERATE)).to_be_disabled()
    stats = sim.stats()
    assert (stats["rateLimited"], stats["generationsStarted"]) == (1, 1)


@pytest.mark.parametrize(
    ("option", "message", "counter"),
    [
        ("--moderate-every", "This video was moderated. Try a different idea.", "moderated"),
        (
            "--network-error-every",
            "Network error. Please check your connection and try again.",
            "networkErrors",
        ),
        (
            "--generation-error-every",
            "Something went wrong. Please try again.",
            "generationErrors",
        ),
    ],
)
def test_failure_scenarios_show_their_message(
    simulator: Simulator, browser_page: Page, option: str, message: str, counter: str
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "1", option, "1")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    expect(page.locator(f"[role=alert]{ALERT}")).to_have_text(message, timeout=15_000)
    expect(page.locator(PROGRESS)).to_be_hidden()
    expect(page.locator(VIDEO)).to_have_count(0)
    expect(page.locator(GENERATE)).to_be_enabled()
    stats = sim.stats()
    assert stats[counter] == 1 and stats["generationsCompleted"] == 0


def test_stalled_generation_stays_below_100_percent(
    simulator: Simulator, browser_page: Page
) -> None:
    # Where the simulator's scenario stops this generation (seeded, so known in advance).
    stuck = Scenario(SimulatorOptions(stall_every=1)).plan(1).stop_percent
    assert 10 <= stuck < 100
    sim = simulator("--auto-login", "--generation-seconds", "1", "--stall-every", "1")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    # The page reaches the stall's percent, and the simulator has sent its last line and
    # holds the stream open: nothing more can arrive to move the progress on.
    expect(page.locator(PROGRESS)).to_have_text(f"{stuck}%", timeout=15_000)
    stats = sim.stats()
    assert stats["stalled"] == 1 and stats["inFlight"] == 1
    assert stats["generationsCompleted"] == 0
    assert _percent(page) == stuck
    expect(page.locator(VIDEO)).to_have_count(0)


def test_banner_intercepts_clicks_until_dismissed(simulator: Simulator, browser_page: Page) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.3", "--banner")
    page = browser_page
    page.goto(sim.post_url())
    expect(page.get_by_role("dialog", name="Announcement")).to_be_visible()
    with pytest.raises(PlaywrightTimeoutError):
        page.locator(GENERATE).click(timeout=1500)
    page.get_by_role("button", name="Close").click()
    expect(page.locator("[data-testid=announcement]")).to_have_count(0)
    _generate(page)
    expect(page.locator(VIDEO)).to_have_count(1, timeout=15_000)


# --- assets ---------------------------------------------------------------------------------
def test_video_is_served_only_with_the_session_cookie(simulator: Simulator) -> None:
    sim = simulator("--generation-seconds", "0.2")
    session = sim.new_session()
    video_url = (
        sim.url
        + sim.generate(session)["result"]["response"]["streamingVideoGenerationResponse"][
            "videoUrl"
        ]
    )
    assert _get(video_url)[0] == 403
    assert _get(video_url, sim.new_session())[0] == 403
    status, body = _get(video_url, session)
    assert status == 200 and body[4:8] == b"ftyp" and 1000 < len(body) < 50_000
    status, part = _get(video_url, session, "bytes=0-99")
    assert status == 206 and part == body[:100]


def test_every_second_download_fails_with_500_but_playback_never_does(
    simulator: Simulator,
) -> None:
    sim = simulator("--generation-seconds", "0.2", "--download-error-every", "2")
    session = sim.new_session()
    path = sim.generate(session)["result"]["response"]["streamingVideoGenerationResponse"][
        "videoUrl"
    ]
    statuses = [_get(sim.url + path, session)[0] for _ in range(4)]
    assert statuses == [200, 500, 200, 500]
    stats = sim.stats()
    assert (stats["videoRequests"], stats["downloadErrors"]) == (4, 2)
    # The media element's ranged reads are playback, not downloads: they never fail.
    assert [_get(sim.url + path, session, "bytes=0-99")[0] for _ in range(3)] == [206] * 3
    assert sim.stats()["downloadErrors"] == 2


# --- stats and concurrency ------------------------------------------------------------------
def test_stats_count_generations_and_reset_zeroes_them(simulator: Simulator) -> None:
    sim = simulator("--generation-seconds", "0.2", "--moderate-every", "3")
    a, b = sim.new_session(), sim.new_session()
    for session in (a, a, b, b):
        sim.generate(session)
    stats = sim.stats()
    assert stats["generationsStarted"] == 4
    assert stats["generationsCompleted"] == 3
    assert stats["moderated"] == 1
    assert stats["generationsBySession"] == {a: 2, b: 1}
    assert stats["sessions"] == 2 and stats["inFlight"] == 0
    fresh = sim.reset()
    assert fresh["generationsStarted"] == fresh["generationsCompleted"] == 0
    assert fresh["generationsBySession"] == {} and fresh == sim.stats()


def test_reset_lifts_rate_limits(simulator: Simulator) -> None:
    sim = simulator("--generation-seconds", "0.1", "--rate-limit-after", "1")
    session = sim.new_session()
    sim.generate(session)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(sim.generation_request(session), timeout=10)
    assert excinfo.value.code == 429
    assert json.load(excinfo.value)["error"]["code"] == 8
    sim.reset()
    assert (
        sim.generate(session)["result"]["response"]["streamingVideoGenerationResponse"]["progress"]
        == 100
    )


@pytest.mark.slow
def test_twenty_browser_contexts_generate_concurrently(
    simulator: Simulator, browser: Browser
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "2")
    contexts = [browser.new_context() for _ in range(20)]
    try:
        pages = [ctx.new_page() for ctx in contexts]
        for page in pages:
            page.goto(sim.post_url())
        for page in pages:
            page.get_by_label("Make a video").fill("a crowd")
        # Schedule every click for the same instant: on a loaded machine, clicking pages one
        # by one can take longer than a generation, which would hide the overlap.
        click_at_ms = time.time() * 1000 + _CLICK_DELAY_MS
        for page in pages:
            page.evaluate(
                "at => setTimeout(() => document.querySelector('button[type=submit]').click(),"
                " at - Date.now())",
                click_at_ms,
            )
        for page in pages:
            expect(page.locator(VIDEO)).to_have_count(1, timeout=30_000)
    finally:
        for ctx in contexts:
            ctx.close()
    stats = sim.stats()
    assert stats["generationsCompleted"] == 20 and stats["sessions"] == 20
    assert stats["maxConcurrent"] >= 10


def test_hundred_streaming_generations_do_not_slow_each_other_down(simulator: Simulator) -> None:
    # Long enough that all 100 have started before the first ends, with a test beside it.
    sim = simulator("--generation-seconds", "4")
    sessions = [sim.new_session() for _ in range(100)]
    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(sim.generate, sessions))
    assert all(
        r["result"]["response"]["streamingVideoGenerationResponse"]["progress"] == 100
        for r in results
    )
    stats = sim.stats()
    # At least 90 of them streamed at the same time: none waited for another to end.
    assert stats["generationsCompleted"] == 100 and stats["maxConcurrent"] >= 90


def test_generation_response_really_streams(simulator: Simulator) -> None:
    sim = simulator("--generation-seconds", "4")
    with urllib.request.urlopen(sim.generation_request(sim.new_session()), timeout=30) as resp:
        first = json.loads(resp.readline())
        while_streaming = sim.stats()  # the first line came before the generation ended
        rest = [json.loads(line) for line in resp if line.strip()]
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    assert first["result"]["response"]["streamingVideoGenerationResponse"]["progress"] == 0
    assert while_streaming["generationsStarted"] == 1
    assert while_streaming["generationsCompleted"] == 0
    assert sim.stats()["generationsCompleted"] == 1
    last = rest[-1]["result"]["response"]["streamingVideoGenerationResponse"]
    assert last["progress"] == 100 and last["videoUrl"].endswith("/generated_video.mp4")
    assert len(rest) == 20


# --- menus (duration, upscale, delete) ------------------------------------------------------
def test_video_options_menu_sends_the_chosen_length(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.3")
    page = browser_page
    page.goto(sim.post_url())
    page.get_by_role("button", name="Video Options").click()
    expect(page.get_by_role("menuitemradio", name="6s")).to_have_attribute("aria-checked", "true")
    page.get_by_role("menuitemradio", name="10s").click()
    expect(page.get_by_role("menu")).to_be_hidden()
    page.get_by_role("button", name="Video Options").click()
    expect(page.get_by_role("menuitemradio", name="10s")).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Escape")
    _generate(page)
    expect(page.locator(VIDEO)).to_have_count(1, timeout=15_000)
    assert sim.stats()["generationsByLength"] == {"10": 1}


def test_upscale_adds_a_playable_hd_video_and_delete_removes_the_video(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--auto-login", "--generation-seconds", "0.6")
    page = browser_page
    page.goto(sim.post_url())
    expect(page.get_by_role("button", name="More options")).to_be_hidden()
    _generate(page)
    expect(page.locator(VIDEO)).to_have_count(1, timeout=15_000)
    src = page.locator(VIDEO).get_attribute("src") or ""

    page.get_by_role("button", name="More options").click()
    page.get_by_role("menuitem", name="Upscale video").click()
    hd = page.locator("video[data-testid=hd-video]")
    expect(hd).to_have_attribute("src", re.compile(r"/generated_video_hd\.mp4$"), timeout=15_000)
    _wait_playable(page, "video[data-testid=hd-video]")
    page.get_by_role("button", name="More options").click()
    expect(page.get_by_role("menuitem", name="Upscale video")).to_be_disabled()
    assert sim.stats()["upscales"] == 1

    page.get_by_role("menuitem", name="Delete video").click()
    page.get_by_role("dialog", name="Delete video").get_by_role("button", name="Delete").click()
    expect(page.locator("video")).to_have_count(0)
    expect(page.get_by_role("button", name="Make video")).to_be_visible()
    assert sim.stats()["deletes"] == 1
    response = page.request.get(sim.url + src)
    assert response.status == 404
    page.reload()
    expect(page.locator("video")).to_have_count(0)
    expect(page.get_by_role("button", name="Make video")).to_be_visible()
