"""The site's words in each UI language: control labels and error-message parts.

The page's own structure and its generation stream decide first; words are for what only
words can tell, such as which error toast is a rate limit or which dialog button is
"Skip". They live in `site_words.json`, one entry per language, and a `--selectors` file
may correct or extend them (`{"words": {"de": {"rate_limit": ["..."]}}}`). The page's
`<html lang>` picks the language; English is always matched as well, since sites leave
some strings untranslated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Label keys are matched against a control's whole accessible name; message keys against
# part of an error toast's text.
LABEL_KEYS = ("make_video", "redo", "skip", "sign_in", "close", "video_options",
              "more_options", "upscale", "delete")
MESSAGE_KEYS = ("rate_limit", "moderated", "network_error", "generation_error")
KEYS = LABEL_KEYS + MESSAGE_KEYS
FALLBACK_LANGUAGE = "en"

WordTable = dict[str, dict[str, list[str]]]


@cache
def _bundled() -> WordTable:
    raw = json.loads((resources.files("grokbatch.site") / "site_words.json").read_text("utf-8"))
    return {lang: entry for lang, entry in raw.items() if not lang.startswith("_")}


def check_table(raw: Any, source: str) -> WordTable:
    """Validate a words object (language -> key -> list of strings); ValueError names the
    first wrong part."""
    if not isinstance(raw, dict):
        raise ValueError(f"'words' in {source} must be an object of language -> words")
    for lang, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"words for {lang!r} in {source} must be an object")
        for key, values in entry.items():
            if key not in KEYS:
                raise ValueError(f"unknown words key {key!r} for {lang!r} in {source}; "
                                 f"known: {', '.join(KEYS)}")
            if not (isinstance(values, list) and values
                    and all(isinstance(v, str) and v.strip() for v in values)):
                raise ValueError(f"words {lang}.{key} in {source} must be a list of "
                                 "non-empty strings")
    return raw


def merged_table(overrides: WordTable | None = None) -> WordTable:
    """The bundled words with `overrides` laid over them key by key."""
    table = {lang: dict(entry) for lang, entry in _bundled().items()}
    for lang, entry in (overrides or {}).items():
        table.setdefault(lang, {}).update(entry)
    return table


def language_key(table: WordTable, lang: str | None) -> str | None:
    """The table's entry for a page language: exact (any case), then the base language
    (`de-DE` -> `de`), then a regional sibling (`zh` -> `zh-CN`); None when there is none.
    A page without a language is taken as English."""
    if not lang or not lang.strip():
        return FALLBACK_LANGUAGE
    wanted = lang.strip().replace("_", "-").lower()
    by_lower = {key.lower(): key for key in table}
    if wanted in by_lower:
        return by_lower[wanted]
    base = wanted.split("-")[0]
    if base in by_lower:
        return by_lower[base]
    siblings = sorted(key for key in table if key.lower().split("-")[0] == base)
    return siblings[0] if siblings else None


@dataclass(frozen=True)
class SiteWords:
    """The words of one page language (plus English) for every key."""

    language: str
    words: dict[str, tuple[str, ...]]

    @classmethod
    def for_language(cls, table: WordTable, lang: str | None) -> SiteWords | None:
        """The words for `lang`, or None when the table has no entry for it."""
        key = language_key(table, lang)
        if key is None:
            return None
        words: dict[str, tuple[str, ...]] = {}
        for name in KEYS:
            own = table.get(key, {}).get(name, [])
            english = table.get(FALLBACK_LANGUAGE, {}).get(name, [])
            words[name] = tuple(dict.fromkeys([*own, *english]))
        return cls(key, words)

    def label_pattern(self, key: str) -> re.Pattern[str]:
        """Matches a whole label (trimmed, any case) of the `key` control."""
        return re.compile(r"^\s*(?:" + "|".join(map(re.escape, self.words[key])) + r")\s*$",
                          re.IGNORECASE)

    def text_pattern(self, key: str) -> re.Pattern[str]:
        """Matches the `key` words anywhere in a text (any case)."""
        return re.compile("|".join(map(re.escape, self.words[key])), re.IGNORECASE)

    def for_page(self) -> dict[str, list[str]]:
        """Every key's words, lower-cased, as the in-page scripts take them."""
        return {key: [w.lower() for w in values] for key, values in self.words.items()}


def all_sign_in_labels(table: WordTable) -> list[str]:
    """Every language's sign-in labels: sign-in is checked before the language is known."""
    labels: dict[str, None] = {}
    for entry in table.values():
        for label in entry.get("sign_in", []):
            labels[label] = None
    return list(labels)
