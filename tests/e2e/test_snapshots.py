"""Debug snapshots of a real page: no prompt in them, and a directory keeps only the
newest ones."""

from __future__ import annotations

import os

import pytest

from grokbatch import logs
from grokbatch.site import snapshot

pytestmark = pytest.mark.e2e


def test_each_snapshot_saved_leaves_only_the_newest_in_its_directory(
        browser_page, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "KEEP_SNAPSHOTS", 2)
    browser_page.set_content("<main><textarea>draft</textarea><p>a failure</p></main>")
    debug = tmp_path / "debug"
    for n in range(3):
        snapshot.save_snapshot(browser_page, debug / f"worker-0_GENERATION_ERROR_{n}",
                               "textarea")
        for path in debug.iterdir():  # the order the disk's clock gives, made explicit
            stamp = 1_700_000_000 + 10 * int(path.stem[-1])
            os.utime(path, (stamp, stamp))
    assert sorted(p.name for p in debug.iterdir()) == [
        "worker-0_GENERATION_ERROR_1.html", "worker-0_GENERATION_ERROR_1.png",
        "worker-0_GENERATION_ERROR_2.html", "worker-0_GENERATION_ERROR_2.png"]
    assert "a failure" in (debug / "worker-0_GENERATION_ERROR_2.html").read_text()


@pytest.fixture
def no_other_prompts(monkeypatch):
    """The prompts registered so far forgotten: the test's own prompt only, and only here."""
    monkeypatch.setattr(logs, "_secrets", [])
    monkeypatch.setattr(logs, "_pieces", set())
    monkeypatch.setattr(logs, "_short_lines", set())


def test_a_prompt_of_fewer_than_four_characters_is_hidden_in_the_page_as_a_whole_word(
        browser_page, tmp_path, no_other_prompts):
    """The page is cleared of the prompt before its screenshot, also when the editor is not
    the one the selectors name. A prompt as short as "cat" was left in it (the screenshot
    showed it); it is hidden where it stands as a whole word, as a log hides it."""
    logs.register_secret("cat")
    browser_page.set_content('<main><textarea></textarea><div contenteditable="true"></div>'
                             '<p>a cat, a category</p><img alt="cat"></main>')
    browser_page.locator("textarea").fill("cat")
    browser_page.locator("[contenteditable]").fill("cat")
    snapshot.save_snapshot(browser_page, tmp_path / "debug" / "worker-0_TIMEOUT_0",
                           "#not-the-editor")
    assert browser_page.locator("textarea").input_value() == logs.REDACTED
    assert browser_page.locator("[contenteditable]").inner_text() == logs.REDACTED
    assert browser_page.locator("p").inner_text() == f"a {logs.REDACTED}, a category"
    assert browser_page.locator("img").get_attribute("alt") == logs.REDACTED
    assert "cat<" not in (tmp_path / "debug" / "worker-0_TIMEOUT_0.html").read_text()


def test_a_prompt_the_page_shows_cut_short_is_hidden_from_its_start_on(
        browser_page, tmp_path, no_other_prompts):
    """A page may show a prompt cut short: a title made of its first 60 characters, as the
    site's stream names one. It was left in the snapshot, whole pieces and lines only being
    hidden; it is hidden from its first 20 characters on, as far as it goes on as the prompt."""
    prompt = ("a slow dolly zoom over a neon harbour at night, rain on the lens, then a "
              "whip pan to the lighthouse keeper waving")
    logs.register_secret(prompt)
    browser_page.set_content('<main><textarea></textarea><nav><a></a><p></p></nav></main>')
    browser_page.locator("textarea").fill(prompt)
    browser_page.evaluate("""t => {
        document.title = t.slice(0, 60);
        const link = document.querySelector('nav a');
        link.textContent = 'made: ' + t.slice(0, 60).replace(/ /g, '\\u00a0') + '\\u2026';
        link.title = t.slice(0, 37);
        document.querySelector('nav p').textContent = 'a slow dolly zoom, then more';
    }""", prompt)
    snapshot.save_snapshot(browser_page, tmp_path / "debug" / "worker-0_TIMEOUT_0", "textarea")
    html = (tmp_path / "debug" / "worker-0_TIMEOUT_0.html").read_text()
    assert prompt[:20] not in html and "slow&nbsp;dolly" not in html and "rain on" not in html
    assert f"<title>{logs.REDACTED}</title>" in html
    assert f"made: {logs.REDACTED}\u2026" in html
    assert "a slow dolly zoom, then more" in html  # fewer than 20 of its characters: a text


def test_a_short_line_of_a_multi_line_prompt_is_hidden_where_it_is_a_whole_text(
        browser_page, tmp_path, no_other_prompts):
    """A rich editor holds each line of a prompt in an element of its own. A line of fewer
    than four characters ("Tom") was left in the page and the HTML when the editor was not
    the selectors' one; it is hidden where it is the whole of a text, not inside others."""
    logs.register_secret("a cat chases\nTom\nover the fence")
    browser_page.set_content('<main><div contenteditable="true"></div>'
                             '<p>Tom and Jerry</p></main>')
    browser_page.locator("[contenteditable]").fill("a cat chases\nTom\nover the fence")
    snapshot.save_snapshot(browser_page, tmp_path / "debug" / "worker-0_TIMEOUT_0",
                           "#not-the-editor")
    html = (tmp_path / "debug" / "worker-0_TIMEOUT_0.html").read_text()
    assert ">Tom<" not in html and "chases" not in html and "fence" not in html
    assert "<p>Tom and Jerry</p>" in html
