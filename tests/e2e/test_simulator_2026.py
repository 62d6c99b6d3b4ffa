"""The simulator's 2026 site (``--layout 2026`` and friends), driven by real Chromium."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from grokbatch.simulator.i18n import texts

pytestmark = pytest.mark.e2e

Simulator = Callable[..., Any]  # the `simulator` fixture factory from conftest.py
Y2026 = ("--auto-login", "--layout", "2026")
EDITOR = ".query-bar div.tiptap.ProseMirror[contenteditable=true][role=textbox]"
GENERATE = ".query-bar button.generate"
VIDEO_OPTIONS = "button[aria-label='Video Options']"
SD_VIDEO = "video#sd-video"
TOAST = "section[aria-label^='Notifications'] ol[data-sonner-toaster] li.toast[data-sonner-toast]"
VIDEO_SRC_RE = re.compile(
    r"^/assets/users/s-[0-9a-f]{32}/generated/[0-9a-f-]{36}/generated_video\.mp4$"
)
QUOTA_PATH = "/rest/media/imagine/quota_info"
_CLI_TIMEOUT_S = 30


def _wait_playable(page: Page, selector: str) -> None:
    """Wait until the video element has loaded metadata and has a positive duration."""
    page.wait_for_function(
        """sel => { const v = document.querySelector(sel);
                    return v && v.readyState >= 1 && v.duration > 0; }""",
        arg=selector,
        timeout=15_000,
    )


def _generate(page: Page, prompt: str = "a cat surfing") -> None:
    page.locator(EDITOR).fill(prompt)
    page.locator(GENERATE).click()


def _request(
    url: str, body: dict[str, Any] | None = None, session: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET (body None) or POST JSON; returns (status, headers, body) whatever the status."""
    headers = {"Content-Type": "application/json"}
    if session:
        headers["Cookie"] = f"sso={session}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# --- the post page ------------------------------------------------------------------------
@pytest.mark.parametrize("stream_format", ["captured", "simple"])
def test_2026_post_page_makes_videos_with_the_2026_dom(
    simulator: Simulator, browser_page: Page, stream_format: str
) -> None:
    sim = simulator(*Y2026, "--stream-format", stream_format, "--generation-seconds", "2")
    page = browser_page
    page.goto(sim.post_url())
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav[aria-label=Sidebar][data-testid=app-shell]")).to_be_visible()
    editor = page.locator(EDITOR)
    expect(editor).to_have_attribute("data-placeholder", "Type to customize this video")
    expect(page.locator("[aria-label='Make a video']")).to_have_count(0)
    generate = page.locator("button[type=button][aria-label='Make video']")
    expect(generate).to_have_count(1)
    expect(generate.locator("svg")).to_have_count(1)
    assert generate.inner_text().strip() == ""
    expect(page.locator(f"{VIDEO_OPTIONS}[aria-haspopup=menu]")).to_be_visible()

    _generate(page)
    expect(page.locator(f"{VIDEO_OPTIONS} span.tabular-nums")).to_have_text(
        re.compile(r"^\d{1,3}%$")
    )
    expect(page.locator(".animate-pulse", has_text="Generating")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel video")).to_be_visible()
    expect(generate).to_be_disabled()
    expect(page.locator(SD_VIDEO)).to_have_count(1, timeout=15_000)
    _wait_playable(page, SD_VIDEO)
    first = page.locator(SD_VIDEO).get_attribute("src") or ""
    assert VIDEO_SRC_RE.match(first)
    expect(page.locator(".query-bar button[aria-label='Redo']")).to_be_enabled()
    expect(page.locator(f"{VIDEO_OPTIONS} .tabular-nums")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel video")).to_be_hidden()
    expect(page.locator("img[alt='Thumbnail 1']")).to_have_count(1)

    page.locator(".query-bar button[aria-label='Redo']").click()
    expect(page.locator("img[alt='Thumbnail 2']")).to_have_count(1, timeout=15_000)
    expect(page.locator("video")).to_have_count(1)
    expect(page.locator(SD_VIDEO)).not_to_have_attribute("src", first)
    _wait_playable(page, SD_VIDEO)
    assert page.locator("img[alt='Thumbnail 2']").evaluate("i => i.complete && i.naturalWidth > 0")
    stats = sim.stats()
    assert stats["generationsStarted"] == stats["generationsCompleted"] == 2

    page.reload()  # the post shows its last video and its history
    expect(page.locator(SD_VIDEO)).to_have_count(1)
    expect(page.locator(".history-strip img[alt^='Thumbnail']")).to_have_count(2)
    expect(page.locator(".query-bar button[aria-label='Redo']")).to_be_visible()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--moderate-every", "Content Moderated. Try a different idea."),
        ("--network-error-every", "Network error. Check your connection and try again."),
        ("--generation-error-every", "Something went wrong. Please try again."),
    ],
)
def test_failures_are_error_toasts(
    simulator: Simulator, browser_page: Page, option: str, message: str
) -> None:
    sim = simulator(*Y2026, "--stream-format", "captured", "--generation-seconds", "1", option, "1")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    toast = page.locator(f"{TOAST}[data-type=error]")
    expect(toast.locator("[data-title]")).to_have_text(message, timeout=15_000)
    expect(page.locator(SD_VIDEO)).to_have_count(0)
    expect(page.locator(GENERATE)).to_be_enabled()
    eye_off = page.locator(".video-tile svg[data-icon=eye-off]")
    expect(eye_off).to_have_count(1 if option == "--moderate-every" else 0)
    toast.evaluate("t => t.setAttribute('data-seen', '')")
    _generate(page)  # the next generation clears the toasts
    expect(page.locator(f"{TOAST}[data-seen]")).to_have_count(0)


def test_upscale_and_delete_through_more_options(simulator: Simulator, browser_page: Page) -> None:
    sim = simulator(*Y2026, "--stream-format", "captured", "--generation-seconds", "0.5")
    page = browser_page
    page.goto(sim.post_url())
    expect(page.get_by_role("button", name="More options")).to_be_hidden()
    _generate(page)
    expect(page.locator(SD_VIDEO)).to_have_count(1, timeout=15_000)
    page.get_by_role("button", name="More options").click()
    page.get_by_role("menuitem", name="Upscale video").click()
    expect(page.locator("video#hd-video")).to_have_attribute(
        "src", re.compile(r"/generated_video_hd\.mp4$"), timeout=15_000
    )
    _wait_playable(page, "video#hd-video")
    expect(page.locator(".hd-badge")).to_be_visible()
    page.get_by_role("button", name="More options").click()
    expect(page.get_by_role("menuitem", name="Upscale video")).to_be_disabled()
    page.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("dialog", name="Delete video").get_by_role("button", name="Delete").click()
    expect(page.locator("video")).to_have_count(0)
    expect(page.locator(".query-bar button[aria-label='Make video']")).to_be_visible()
    stats = sim.stats()
    assert (stats["upscales"], stats["deletes"]) == (1, 1)


# --- the choice dialog --------------------------------------------------------------------
def _choice_dialog(page: Page) -> Any:
    dialog = page.locator("div[role=dialog][aria-modal=true]")
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog.get_by_role("heading")).to_have_text("Which video do you prefer?")
    return dialog


def _assert_page_is_covered(page: Page) -> None:
    """Nothing under the dialog can be clicked: the backdrop is on top of the generate button."""
    on_top = page.locator(GENERATE).evaluate(
        """b => { const r = b.getBoundingClientRect();
                  const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                  return top ? top.className : null; }"""
    )
    assert "choice-backdrop" in str(on_top)
    with pytest.raises(PlaywrightTimeoutError):
        page.locator(GENERATE).click(timeout=1500)


@pytest.mark.parametrize("stream_format", ["captured", "simple"])
def test_choice_dialog_covers_the_page_until_a_card_or_skip_is_clicked(
    simulator: Simulator, browser_page: Page, stream_format: str
) -> None:
    sim = simulator(
        *Y2026, "--stream-format", stream_format, "--generation-seconds", "1", "--choice-every", "1"
    )
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    dialog = _choice_dialog(page)
    cards = dialog.locator("div[role=button][tabindex='0']")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Video 1")
    expect(cards.nth(1)).to_contain_text("Video 2")
    expect(dialog.get_by_role("button", name="Skip")).to_be_visible()
    srcs = [cards.nth(i).locator("video").get_attribute("src") or "" for i in (0, 1)]
    assert all(VIDEO_SRC_RE.match(s) for s in srcs) and srcs[0] != srcs[1]
    for src in srcs:  # both files are servable
        assert page.request.get(sim.url + src).status == 200
    _assert_page_is_covered(page)
    assert sim.stats()["choicesShown"] == 1

    cards.nth(1).click()
    expect(dialog).to_have_count(0)
    expect(page.locator(SD_VIDEO)).to_have_attribute("src", srcs[1])
    stats = sim.stats()
    assert (stats["choicesAnswered"], stats["choicesSkipped"]) == (1, 0)
    assert stats["generationsStarted"] == stats["generationsCompleted"] == 1

    page.locator(GENERATE).click()
    dialog = _choice_dialog(page)
    first = dialog.locator("div[role=button] video").first.get_attribute("src")
    dialog.get_by_role("button", name="Skip").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(SD_VIDEO)).to_have_attribute("src", first or "")
    stats = sim.stats()
    assert (stats["choicesShown"], stats["choicesAnswered"], stats["choicesSkipped"]) == (2, 2, 1)
    assert stats["generationsStarted"] == stats["generationsCompleted"] == 2
    page.reload()
    expect(page.locator(SD_VIDEO)).to_have_attribute("src", first or "")


# --- informational toast ------------------------------------------------------------------
def test_info_toast_shows_while_the_video_still_completes(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator(
        *Y2026, "--stream-format", "captured", "--generation-seconds", "1",
        "--info-toast-every", "1",
    )  # fmt: skip
    page = browser_page
    page.goto(sim.post_url())
    page.locator(VIDEO_OPTIONS).click()
    page.get_by_role("menuitemradio", name="720p").click()
    # Note, in the page, whether the toast arrived while the generation was still running.
    page.evaluate(
        """() => { window.__toastDuringGeneration = null;
                   new MutationObserver(() => {
                     if (window.__toastDuringGeneration === null &&
                         document.querySelector('li.toast[data-type=info]')) {
                       window.__toastDuringGeneration =
                         !!document.querySelector('#video-options-trigger .tabular-nums');
                     }
                   }).observe(document.body, { childList: true, subtree: true }); }"""
    )
    _generate(page)
    info = page.locator(f"{TOAST}[data-type=info]")
    expect(info).to_have_text("You've reached your 720p limit. This video will be made in 480p.")
    expect(page.locator(SD_VIDEO)).to_have_count(1, timeout=15_000)
    assert page.evaluate("window.__toastDuringGeneration") is True
    expect(page.locator(f"{TOAST}[data-type=error]")).to_have_count(0)
    expect(page.locator(SD_VIDEO)).to_have_attribute("data-resolution", "480p")
    stats = sim.stats()
    assert (stats["infoToastsShown"], stats["generationsCompleted"], stats["rateLimited"]) == (
        1,
        1,
        0,
    )
    assert stats["generationsByResolution"] == {"480p": 1, "720p": 0}
    page.locator(GENERATE).click()  # the toast stays but never covers the query bar
    expect(page.locator("img[alt='Thumbnail 2']")).to_have_count(1, timeout=15_000)


# --- length and resolution ----------------------------------------------------------------
def _choose_in_menu(page: Page, length: str, resolution: str) -> None:
    page.locator(VIDEO_OPTIONS).click()
    page.get_by_role("menuitemradio", name=length, exact=True).click()
    page.locator(VIDEO_OPTIONS).click()
    page.get_by_role("menuitemradio", name=resolution, exact=True).click()
    page.locator(VIDEO_OPTIONS).click()
    for name in (length, resolution):
        expect(page.get_by_role("menuitemradio", name=name, exact=True)).to_have_attribute(
            "aria-checked", "true"
        )
    page.keyboard.press("Escape")


def _choose_in_radiogroups(page: Page, length: str, resolution: str) -> None:
    expect(page.get_by_role("menuitemradio", name=resolution)).to_have_count(0)
    page.locator("button#model-select-trigger[aria-haspopup=menu]").click()
    for group, name in (("Video length", length), ("Resolution", resolution)):
        radio = page.get_by_role("radiogroup", name=group).get_by_role("radio", name=name)
        radio.click()
        expect(radio).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Escape")


@pytest.mark.parametrize("options_ui", ["menu", "radiogroup"])
def test_length_and_resolution_are_sent_and_counted(
    simulator: Simulator, browser_page: Page, options_ui: str
) -> None:
    sim = simulator(
        *Y2026, "--options-ui", options_ui, "--stream-format", "captured",
        "--generation-seconds", "0.5",
    )  # fmt: skip
    page = browser_page
    page.goto(sim.post_url())
    choose = _choose_in_menu if options_ui == "menu" else _choose_in_radiogroups
    choose(page, "10s", "720p")
    with page.expect_request("**/rest/app-chat/conversations/new") as request_info:
        _generate(page)
    config = request_info.value.post_data_json["responseMetadata"]["modelConfigOverride"]
    video_config = config["modelMap"]["videoGenModelConfig"]
    assert (video_config["videoLength"], video_config["resolutionName"]) == (10, "720p")
    assert video_config["parentPostId"] == "abc123"
    expect(page.locator(SD_VIDEO)).to_have_attribute("data-resolution", "720p", timeout=15_000)
    choose(page, "6s", "480p")
    page.locator(GENERATE).click()
    expect(page.locator("img[alt='Thumbnail 2']")).to_have_count(1, timeout=15_000)
    stats = sim.stats()
    assert stats["generationsByResolution"] == {"480p": 1, "720p": 1}
    assert stats["generationsByLength"] == {"10": 1, "6": 1}


# --- languages ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "rate_limit"), [("de", "Ratenlimit erreicht"), ("ja", "レート制限に達しました")]
)
def test_the_account_language_is_used_whatever_the_browser_locale(
    simulator: Simulator, browser: Browser, lang: str, rate_limit: str
) -> None:
    sim = simulator(
        *Y2026, "--lang", lang, "--generation-seconds", "0.3", "--rate-limit-after", "1",
        "--banner",
    )  # fmt: skip
    t = texts(lang)
    context = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en-US"})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(sim.post_url())
        expect(page.locator("html")).to_have_attribute("lang", lang)
        banner = page.locator("div.absolute[class*='z-[9999]']")
        expect(banner).to_be_visible()
        with pytest.raises(PlaywrightTimeoutError):
            page.locator(GENERATE).click(timeout=1500)
        banner.get_by_role("button", name=t["close"]).click()
        expect(banner).to_have_count(0)
        expect(page.locator("nav[aria-label=Sidebar]")).to_contain_text(t["nav_home"])
        expect(page.locator(EDITOR)).to_have_attribute("data-placeholder", t["prompt_placeholder"])
        expect(page.locator(f"button[aria-label='{t['video_options']}']")).to_be_visible()
        expect(page.locator(f"button[aria-label='{t['make_video']}']")).to_be_visible()
        expect(page.get_by_role("button", name="Make video")).to_have_count(0)
        _generate(page)
        redo = page.locator(f"button[aria-label='{t['redo']}']")
        expect(redo).to_be_enabled(timeout=15_000)
        expect(page.locator(f"img[alt='{t['thumbnail'].replace('{n}', '1')}']")).to_have_count(1)
        redo.click()
        toast = page.locator(f"section[aria-label='{t['notifications']}'] li.toast")
        expect(toast).to_have_attribute("data-type", "error")
        expect(toast.locator("[data-title]")).to_have_text(rate_limit)
        expect(toast.get_by_role("button", name=t["upgrade"])).to_be_visible()
        expect(page.get_by_text("Rate limit reached")).to_have_count(0)
    finally:
        context.close()


def test_html_lang_overrides_only_the_attribute(simulator: Simulator, browser_page: Page) -> None:
    sim = simulator(*Y2026, "--html-lang", "tlh")
    browser_page.goto(sim.post_url())
    expect(browser_page.locator("html")).to_have_attribute("lang", "tlh")
    expect(browser_page.locator("button[aria-label='Make video']")).to_be_visible()


def test_signed_out_2026_page_has_only_a_translated_sign_in(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator("--layout", "2026", "--lang", "es")
    page = browser_page
    page.goto(sim.post_url())
    expect(page.locator("[data-testid=app-shell]")).to_have_count(0)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("button", name="Iniciar sesión").click()  # the button on /sign-in
    expect(page).to_have_url(sim.post_url())
    expect(page.locator("nav[aria-label=Sidebar][data-testid=app-shell]")).to_contain_text("Inicio")
    expect(page.locator("button[aria-label='Crear vídeo']")).to_be_visible()


# --- quota --------------------------------------------------------------------------------
def test_quota_info_then_429_once_the_quota_is_used(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator(
        *Y2026, "--generation-seconds", "0.2", "--quota", "1", "--quota-window", "3600"
    )
    page = browser_page
    page.goto(sim.post_url())
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "sso")
    assert _request(sim.url + QUOTA_PATH, {})[0] == 401
    status, _, body = _request(sim.url + QUOTA_PATH, {}, session)
    before = json.loads(body)
    assert status == 200
    assert list(before) == ["image", "imagePro", "imageEdit", "video", "video720p"]
    assert before["video"] == {"available": True, "remainingQueries": 1, "windowSizeSeconds": 3600}

    _generate(page)
    expect(page.locator(SD_VIDEO)).to_have_count(1, timeout=15_000)
    after = json.loads(_request(sim.url + QUOTA_PATH, {}, session)[2])
    video = after["video"]
    assert (video["available"], video["remainingQueries"]) == (False, 0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", video["nextAvailableAt"])
    assert json.loads(_request(sim.url + QUOTA_PATH, {}, session)[2]) == after  # stable

    page.locator(".query-bar button[aria-label='Redo']").click()
    expect(page.locator(f"{TOAST}[data-type=error] [data-title]")).to_have_text(
        "Rate limit reached"
    )
    status, headers, body = _request(sim.generation_request(session).full_url, {
        "postId": "abc123", "prompt": "x", "videoLength": 6}, session)  # fmt: skip
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == 8
    stats = sim.stats()
    assert stats["rateLimitedAttempts"] == 2 and stats["generationsStarted"] == 1
    assert stats["quotaCalls"] == 3
    assert stats["quotaNextAvailableAt"] == video["nextAvailableAt"]


def test_quota_info_is_served_without_a_quota_option(simulator: Simulator) -> None:
    sim = simulator()
    status, _, body = _request(sim.url + QUOTA_PATH, {}, sim.new_session())
    assert status == 200
    assert json.loads(body)["video720p"] == {"available": True, "windowSizeSeconds": 64800}


# --- navigation to the video's own post ---------------------------------------------------
def test_the_page_moves_to_each_new_video_post(simulator: Simulator, browser_page: Page) -> None:
    sim = simulator(
        *Y2026, "--stream-format", "captured", "--generation-seconds", "0.5",
        "--navigate-to-video-post",
    )  # fmt: skip
    page = browser_page
    page.goto(sim.post_url("abc123"))
    _generate(page)
    expect(page.locator(SD_VIDEO)).to_have_count(1, timeout=15_000)
    first_post = page.locator(SD_VIDEO).get_attribute("data-video-post-id") or ""
    assert first_post and first_post != "abc123"
    expect(page).to_have_url(sim.post_url(first_post))
    first_src = page.locator(SD_VIDEO).get_attribute("src")

    page.locator(GENERATE).click()
    expect(page.locator(SD_VIDEO)).not_to_have_attribute("src", first_src or "", timeout=15_000)
    second_post = page.locator(SD_VIDEO).get_attribute("data-video-post-id") or ""
    expect(page).to_have_url(sim.post_url(second_post))
    assert sim.stats()["generationsByParentPost"] == {"abc123": 1, first_post: 1}

    page.goto(sim.post_url(first_post))  # a video post renders, showing its video
    expect(page.locator(SD_VIDEO)).to_have_count(1)
    expect(page.locator("img.source-image")).to_have_attribute(
        "src", "/assets/post/abc123/image.png"
    )


# --- browser check ------------------------------------------------------------------------
def test_challenge_answers_pages_and_rest_calls_with_403(simulator: Simulator) -> None:
    sim = simulator("--auto-login", "--challenge")
    session = sim.new_session()
    for url, body in (
        (sim.post_url(), None),
        (sim.url + "/rest/app-chat/conversations/new", {"postId": "abc123"}),
        (sim.url + QUOTA_PATH, {}),
    ):
        status, headers, page = _request(url, body, session)
        assert status == 403, url
        assert headers["cf-mitigated"] == "challenge"
        assert headers["Content-Type"].startswith("text/html")
        assert b"<title>Just a moment...</title>" in page and b"Checking your browser" in page
    stats = sim.stats()
    assert stats["challengesServed"] == 3 and stats["generationsStarted"] == 0


# --- command line -------------------------------------------------------------------------
def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grokbatch", "simulator", "serve", *args],
        capture_output=True,
        text=True,
        timeout=_CLI_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--port", "99999"), "--port"),
        (("--port", "-1"), "--port"),
        (("--host", "no-such-host.invalid"), "no-such-host.invalid"),
        (("--layout", "2026", "--lang", "xx"), "en, es, fr, de, pt, ja, zh-CN"),
        (("--choice-every", "2"), "--layout 2026"),
        (("--stream-format", "sse"), "--stream-format sse needs --layout 2026"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: tuple[str, ...], needle: str) -> None:
    result = _serve(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_exits_2_with_one_line(simulator: Simulator) -> None:
    sim = simulator()
    port = sim.url.rsplit(":", 1)[1]
    result = _serve("--port", port)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f":{port}" in lines[0] and "in use" in lines[0]
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5):
        pass  # the running simulator is untouched


# --- odds and ends ------------------------------------------------------------------------
def test_cancel_video_stops_the_generation_without_a_toast(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator(*Y2026, "--stream-format", "captured", "--stall-every", "1")
    page = browser_page
    page.goto(sim.post_url())
    _generate(page)
    expect(page.locator(f"{VIDEO_OPTIONS} .tabular-nums")).to_have_text(re.compile(r"^[1-9]\d*%$"))
    page.get_by_role("button", name="Cancel video").click()
    expect(page.get_by_role("button", name="Cancel video")).to_be_hidden()
    expect(page.locator(GENERATE)).to_be_enabled()
    expect(page.locator(f"{VIDEO_OPTIONS} .tabular-nums")).to_have_count(0)
    expect(page.locator(TOAST)).to_have_count(0)
    assert sim.stats()["generationsStarted"] == 1


def test_the_classic_page_reads_the_captured_stream(
    simulator: Simulator, browser_page: Page
) -> None:
    sim = simulator(
        "--auto-login", "--stream-format", "captured", "--generation-seconds", "0.5",
        "--info-toast-every", "1", "--navigate-to-video-post",
    )  # fmt: skip
    page = browser_page
    page.goto(sim.post_url())
    page.get_by_label("Make a video").fill("a dog")
    page.locator("button[type=submit]").click()
    video = page.locator("video[data-testid=generated-video]")
    expect(video).to_have_attribute("src", VIDEO_SRC_RE, timeout=15_000)
    _wait_playable(page, "video[data-testid=generated-video]")
    expect(page.locator("[data-testid=generation-info]")).to_have_text(
        "You've reached your 720p limit. This video will be made in 480p."
    )
    expect(page).not_to_have_url(sim.post_url())
    assert sim.stats()["generationsCompleted"] == 1
