"""The language tables: complete in every language, and really translated."""

from __future__ import annotations

import pytest

from grokbatch.simulator.i18n import (
    REFERENCE_LANG,
    SUPPORTED_LANGS,
    is_language_tag,
    numbered,
    text_keys,
    texts,
)

# Texts that may legitimately read the same as English (brand names, loanwords).
_MAY_EQUAL_ENGLISH = {
    "nav_imagine", "mode", "mode_normal", "video_tile", "choice_video", "notifications",
}  # fmt: skip


@pytest.mark.parametrize("lang", SUPPORTED_LANGS)
def test_every_language_has_every_key_with_a_non_empty_text(lang: str) -> None:
    table = texts(lang)
    assert set(table) == text_keys()
    assert all(text.strip() for text in table.values())
    for key, text in table.items():
        assert ("{n}" in text) is ("{n}" in texts(REFERENCE_LANG)[key]), (lang, key)


@pytest.mark.parametrize("lang", [lang for lang in SUPPORTED_LANGS if lang != REFERENCE_LANG])
def test_other_languages_are_translated(lang: str) -> None:
    english = texts(REFERENCE_LANG)
    same = {k for k, v in texts(lang).items() if v == english[k]} - _MAY_EQUAL_ENGLISH
    assert not same, f"{lang} still English: {sorted(same)}"


def test_some_known_wordings() -> None:
    assert texts("de")["toast_rate_limit"] == "Ratenlimit erreicht"
    assert texts("ja")["toast_rate_limit"] == "レート制限に達しました"
    assert texts("en")["toast_moderated"] == "Content Moderated. Try a different idea."
    assert numbered(texts("fr")["thumbnail"], 3) == "Miniature 3"


def test_unsupported_languages_are_refused() -> None:
    with pytest.raises(KeyError):
        texts("xx")


@pytest.mark.parametrize(
    ("tag", "ok"),
    [("tlh", True), ("de-AT", True), ("zh-Hant-TW", True), ("x-klingon", True), ("", False),
     ("de_AT", False), ("a", False), ("toolonglanguage", False)],
)  # fmt: skip
def test_language_tags(tag: str, ok: bool) -> None:
    assert is_language_tag(tag) is ok
