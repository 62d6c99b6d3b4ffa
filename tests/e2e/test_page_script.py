"""page_scripts/page.js in real Chromium, on small pages made for each case: which control
it takes for "generate", which toasts count as failures, how it answers the choice dialog.
Pages are served by Playwright's router, so nothing leaves the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from grokbatch.site.pagewatch import PageWatch, wait_for_value
from grokbatch.site.selectors import Selectors

pytestmark = pytest.mark.e2e

EDITOR = '<div class="query-bar"><div contenteditable="true" role="textbox"></div>{buttons}</div>'


@pytest.fixture
def page(browser_page: Page) -> Page:
    """The e2e conftest's fresh page (a fresh context, no cookies)."""
    return browser_page


def _watch(page: Page, body: str, lang: str = "en") -> PageWatch:
    html = f'<!doctype html><html lang="{lang}"><body>{body}</body></html>'
    page.route("http://site.test/**", lambda route: route.fulfill(
        body=html, content_type="text/html; charset=utf-8"))
    watch = PageWatch(page, Selectors())
    page.goto("http://site.test/imagine/post/x")
    words = Selectors().site_words(watch.language())
    assert words is not None
    watch.set_language(words)
    return watch


def _marked(page: Page) -> str | None:
    return page.evaluate("() => { const e = document.querySelector("
                         "'[data-grokbatch-target=generate]'); return e && e.id; }")


def test_the_generate_control_nearest_the_editor_wins_over_a_same_label_elsewhere(page):
    body = ('<header><button id="edit-image" aria-label="Edit">e</button></header>'
            + EDITOR.format(buttons='<button id="redo" aria-label="Edit">r</button>'))
    found = _watch(page, body).mark_generate()
    assert found == {"how": "selector", "label": "Edit", "covered": None, "disabled": False}
    assert _marked(page) == "redo"


def test_an_icon_button_with_an_unknown_label_beside_the_editor_is_found_by_structure(page):
    buttons = ('<button id="options" aria-haspopup="menu" aria-label="Réglages">o</button>'
               '<button id="go" aria-label="Zzz"><svg width="10" height="10"></svg></button>')
    found = _watch(page, EDITOR.format(buttons=buttons)).mark_generate()
    assert found is not None and found["how"] == "beside the editor"
    assert _marked(page) == "go"


def test_a_label_in_the_pages_language_is_found_by_words(page):
    buttons = '<span><button id="go">Video erstellen</button></span>'
    body = '<div contenteditable="true" role="textbox"></div>' + buttons
    found = _watch(page, body, lang="de").mark_generate()
    assert found is not None and found["how"] == "words"
    assert _marked(page) == "go"


def _check(watch: PageWatch) -> object:
    return watch.page.evaluate("arg => window.__grokbatchPage.check(arg)",
                               {**watch._base, "mode": "generate", "since": 0, "old": [],
                                "wantProgress": False, "graceMs": 0})


def test_only_error_toasts_fail_an_attempt_and_their_words_say_how(page):
    toasts = ('<ol><li data-type="info" role="status">Limit erreicht: in 480p erstellt</li>'
              '<p role="alert" style="position:absolute;width:1px;height:1px;overflow:hidden">'
              'Fehler</p></ol>')
    watch = _watch(page, toasts, lang="de")
    assert _check(watch) is False  # an informational toast and a 1-px live region: nothing
    page.evaluate("""() => document.querySelector('ol').insertAdjacentHTML('beforeend',
        '<li data-type="error" role="status">Ratenlimit erreicht</li>')""")
    assert _check(watch) == {"kind": "failure", "outcome": "RATE_LIMIT", "source": "page",
                             "unseen": True,  # no stream seen: the page said it alone
                             "progressed": False}  # nor a percent past 0


def test_an_error_toast_after_a_stream_that_progressed_says_the_video_had_begun(page):
    # The stream ended without a video and without an error of its own: the toast says
    # what happened, and whether the video had begun decides if its "limit" is a limit.
    line = ('{"result":{"response":{"streamingVideoGenerationResponse":'
            '{"videoId":"v1","videoPostId":"p1","progress":%d}}}}\n')
    watch = _watch(page, '<ol></ol>')
    page.route("http://site.test/rest/app-chat/conversations/new", lambda route: route.fulfill(
        body=line % 33, content_type="application/x-ndjson"))  # the later route wins
    page.evaluate("""async () => { const r = await fetch('/rest/app-chat/conversations/new',
        {method: 'POST', body: '{}'}); await r.text(); }""")
    wait_for_value(page, "() => window.__grokbatch.ended", arg=None, timeout_ms=5_000)
    page.evaluate("""() => document.querySelector('ol').insertAdjacentHTML('beforeend',
        '<li data-type="error">Rate limit reached</li>')""")
    assert _check(watch) == {"kind": "failure", "outcome": "RATE_LIMIT", "source": "page",
                             "progressed": True}


@pytest.mark.parametrize(("percents", "progressed"), [(["0%"], False), (["0%", "35%"], True)])
def test_with_no_stream_a_failure_says_whether_the_pages_percent_went_past_0(
        page, percents, progressed):
    # The page shows "0%" as soon as the control is clicked: a 429 then is no video begun.
    watch = _watch(page, '<span class="tabular-nums"></span><ol></ol>')
    watch.snapshot()  # the click
    for percent in percents:
        page.evaluate("p => { document.querySelector('.tabular-nums').textContent = p; }",
                      percent)
        assert _check(watch) is False  # not asked for progress: nothing decided yet
    page.evaluate("""() => document.querySelector('ol').insertAdjacentHTML('beforeend',
        '<li data-type="error">Rate limit reached</li>')""")
    assert _check(watch) == {"kind": "failure", "outcome": "RATE_LIMIT", "source": "page",
                             "unseen": True, "progressed": progressed}


def test_a_toast_showing_before_the_click_never_counts_for_the_attempt(page):
    watch = _watch(page, '<li data-type="error">Something went wrong</li>')
    assert watch.snapshot()["failure"] == "GENERATION_ERROR"
    assert _check(watch) is False


CHOICE = ('<div role="dialog" aria-modal="true"><h2>?</h2>'
          '<div role="button" tabindex="0" id="card1"><video src="/a.mp4"></video>1</div>'
          '<div role="button" tabindex="0" id="card2"><video src="/b.mp4"></video>2</div>'
          '<button id="skip">Überspringen</button></div>')


@pytest.mark.parametrize(("choice", "target", "src"),
                         [("first", "card1", "/a.mp4"), ("second", "card2", "/b.mp4"),
                          ("skip", "skip", None)])
def test_the_choice_dialog_is_answered_by_structure_and_words(page, choice, target, src):
    watch = _watch(page, CHOICE, lang="de")
    assert watch.choice_shown()
    marked = watch.mark_choice(choice)
    assert marked is not None and marked["marked"]
    assert (marked["src"] or None) == (f"http://site.test{src}" if src else None)
    assert page.evaluate("() => document.querySelector('[data-grokbatch-target=choice]').id") \
        == target


def _live_handles(page: Page) -> int:
    """JS handles the Playwright connection still holds (each one lives in the driver and
    in the page too, until it is disposed)."""
    objects = page._impl_obj._connection._objects  # no public count exists
    return sum(1 for owner in objects.values() if owner._type == "JSHandle")


def test_waiting_on_the_page_leaves_no_handle_behind_however_the_wait_ends(page):
    watch = _watch(page, '<li data-type="error">Something went wrong</li>')
    before = _live_handles(page)
    for _ in range(20):
        watch.wait(mode="generate", since_generation=0, old_srcs=[], timeout_ms=5000)
    with pytest.raises(PlaywrightError):  # a wait that runs out holds no handle either
        wait_for_value(page, "() => false", arg=None, timeout_ms=100)
    assert wait_for_value(page, "n => ({n})", arg=7, timeout_ms=1000) == {"n": 7}
    assert _live_handles(page) == before
