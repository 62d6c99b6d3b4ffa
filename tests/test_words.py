"""The site's words and the selectors built from them: every language complete, the page's
language picked right, overrides merged, `{w:KEY}` expanded."""

from __future__ import annotations

import json

import pytest

from grokbatch.errors import ConfigError
from grokbatch.site.selectors import Selectors, expand_words, split_alternatives
from grokbatch.site.words import KEYS, SiteWords, language_key, merged_table

REQUIRED_LANGUAGES = ("en", "es", "fr", "de", "pt", "ja", "zh-CN")


def test_every_bundled_language_has_words_for_every_key():
    table = merged_table()
    assert set(REQUIRED_LANGUAGES) <= set(table)
    for lang, entry in table.items():
        assert set(entry) == set(KEYS), lang
        for key, words in entry.items():
            assert words and all(w.strip() for w in words), (lang, key)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("de", "de"), ("de-DE", "de"), ("DE-at", "de"), ("zh-CN", "zh-CN"), ("zh-cn", "zh-CN"),
     ("zh", "zh-CN"), ("pt-BR", "pt"), ("en-US", "en"), ("", "en"), (None, "en"),
     ("tlh", None), ("xx-YY", None)],
)
def test_the_page_language_picks_the_closest_words(lang, expected):
    assert language_key(merged_table(), lang) == expected


def test_a_language_matches_its_own_words_and_english_as_well():
    words = SiteWords.for_language(merged_table(), "de")
    assert words is not None
    skip = words.label_pattern("skip")
    assert skip.match(" Überspringen ") and skip.match("skip")
    assert not skip.match("Überspringen und weiter")  # labels match whole
    assert words.text_pattern("rate_limit").search("Ratenlimit erreicht. Upgrade?")
    assert words.for_page()["moderated"][0] == words.words["moderated"][0].lower()


def test_a_selectors_file_corrects_words_and_adds_a_language(tmp_path):
    path = tmp_path / "sel.json"
    path.write_text(json.dumps({"words": {"de": {"skip": ["Weiter ohne Wahl"]},
                                          "tlh": {"rate_limit": ["mISmoH"]}}}))
    selectors = Selectors.load(path)
    de = selectors.site_words("de")
    assert de is not None and de.words["skip"][0] == "Weiter ohne Wahl"
    assert "Überspringen" not in de.words["skip"]  # a corrected key replaces the bundled one
    assert de.words["moderated"][0] == "moderiert"  # other keys stay
    tlh = selectors.site_words("tlh")
    assert tlh is not None and tlh.words["rate_limit"][0] == "mISmoH"
    assert "Skip" in tlh.words["skip"]  # English fills what a new language does not say


@pytest.mark.parametrize(
    "words",
    [{"de": {"no_such_key": ["x"]}}, {"de": {"skip": []}}, {"de": {"skip": [""]}},
     {"de": ["skip"]}, ["de"]],
)
def test_bad_words_in_a_selectors_file_are_a_usage_error(tmp_path, words):
    path = tmp_path / "sel.json"
    path.write_text(json.dumps({"words": words}))
    with pytest.raises(ConfigError):
        Selectors.load(path)


def test_a_stream_pattern_that_is_no_regular_expression_is_a_usage_error(tmp_path):
    # The page's script built a RegExp of it and threw: no stream was ever read.
    path = tmp_path / "sel.json"
    path.write_text(json.dumps({"stream_url_pattern": "(/rest/app-chat"}))
    with pytest.raises(ConfigError, match=r"stream_url_pattern.*not a regular expression"):
        Selectors.load(path)


def test_only_the_files_page_selectors_are_checked_on_the_page(tmp_path):
    path = tmp_path / "sel.json"
    path.write_text(json.dumps({
        "resolution_item": '[role="radio"]:text-is("{resolution}")', "quota_path": "/q",
        "stream_url_pattern": "/new", "words": {"de": {"skip": ["Weiter"]}}}))
    selectors = Selectors.load(path)
    assert selectors.page_selectors() == {"resolution_item": '[role="radio"]:text-is("480p")'}
    assert Selectors().page_selectors() == {}  # nothing to ask the page by default


def test_word_slots_expand_to_one_alternative_per_word():
    words = SiteWords("x", {"redo": ('Re"do', "Again")})
    expanded = expand_words('button[aria-label="{w:redo}" i], form button', words)
    assert split_alternatives(expanded) == [
        'button[aria-label="Re\\"do" i]', 'button[aria-label="Again" i]', "form button"]
    assert expand_words('button[aria-label="{w:redo}"]', SiteWords("x", {})) == ":not(*)"


def test_a_word_slot_inside_has_text_keeps_a_word_with_a_comma_in_one_alternative():
    words = SiteWords("x", {"redo": ("Do, again", "Redo")})
    expanded = expand_words('button:has-text("{w:redo}"), a', words)
    assert split_alternatives(expanded) == [
        'button:has-text("Do, again")', 'button:has-text("Redo")', "a"]


def test_localized_selectors_have_no_slots_left():
    selectors = Selectors()
    words = selectors.site_words("ja")
    assert words is not None
    localized = selectors.localized(words)
    assert '"やり直す"' in localized.redo_button
    for value in vars(localized).values():
        assert "{w:" not in str(value)


@pytest.mark.parametrize(
    ("selector", "parts"),
    [("a, b", ["a", "b"]),
     ('a[title="x, y"], b', ['a[title="x, y"]', "b"]),
     ("a:is(b, c), d", ["a:is(b, c)", "d"]),
     ("a[x='1,2'] , ", ["a[x='1,2']"]),
     ("", []),
     ('button:has-text("Make, video"), a', ['button:has-text("Make, video")', "a"]),
     ('text="a, b", c', ['text="a, b"', "c"]),
     (r'a[title="say \"hi, you\""], b', [r'a[title="say \"hi, you\""]', "b"]),
     ("a[title=\"it's, ok\"], b", ["a[title=\"it's, ok\"]", "b"]),
     ('a:is([x="]"], b), c', ['a:is([x="]"], b)', "c"]),
     ("x >> nth=-1, y", ["x >> nth=-1", "y"])],
)
def test_selector_lists_split_only_on_top_level_commas(selector, parts):
    assert split_alternatives(selector) == parts


def test_the_sign_in_pattern_knows_every_language():
    import re

    pattern = re.compile(Selectors().sign_in_pattern(), re.IGNORECASE)
    for label in ("Sign in", "Anmelden", "ログイン", "登录", "Iniciar sesión", "Se connecter"):
        assert pattern.match(label), label
    assert not pattern.match("Sign in to continue")
