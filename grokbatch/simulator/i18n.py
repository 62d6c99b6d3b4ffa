"""The simulator's UI words in several languages, kept as data (``locales/<code>.json``).

The real site follows the account's language, not the browser's, so the language is a
simulator option: ``Accept-Language`` never changes it. Every locale file holds the same keys
as ``en.json``; texts with a number hold the placeholder ``{n}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

# Languages with a complete table, in the order `--help` and errors list them.
SUPPORTED_LANGS = ("en", "es", "fr", "de", "pt", "ja", "zh-CN")
# The language whose keys every other table must have.
REFERENCE_LANG = "en"
# Loose BCP 47 shape: a 2-8 letter primary subtag (or the private-use "x"), then
# alphanumeric subtags: "tlh", "de-AT", "x-klingon".
_LANGUAGE_TAG_RE = re.compile(r"^(?:[A-Za-z]{2,8}|[xX])(?:-[A-Za-z0-9]{1,8})*$")


def is_language_tag(value: str) -> bool:
    """True when ``value`` looks like a BCP 47 language tag."""
    return _LANGUAGE_TAG_RE.match(value) is not None


@cache
def _load(lang: str) -> Mapping[str, str]:
    raw = (resources.files("grokbatch.simulator") / "locales" / f"{lang}.json").read_text("utf-8")
    table = json.loads(raw)
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ValueError(f"locale {lang!r} must be a JSON object of strings")
    return MappingProxyType(table)


def texts(lang: str) -> Mapping[str, str]:
    """The UI texts of a supported language (KeyError for an unsupported one)."""
    if lang not in SUPPORTED_LANGS:
        raise KeyError(lang)
    return _load(lang)


def text_keys() -> frozenset[str]:
    """Every key a language table must have."""
    return frozenset(_load(REFERENCE_LANG))


def numbered(template: str, n: int) -> str:
    """Fill the ``{n}`` placeholder of a text such as "Thumbnail {n}"."""
    return template.replace("{n}", str(n))
