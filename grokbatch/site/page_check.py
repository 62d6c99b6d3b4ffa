"""What one look at the post page found (`preflight`), and what to do about what stops a
run: the worker that looks sends it to the runner, which judges it, and `doctor` shows it.
Plain data, so the runner reads it without Playwright."""

from __future__ import annotations

from dataclasses import dataclass, field

from grokbatch.site.quota import QuotaAnswer


@dataclass
class PageCheck:
    """What one look at the post page found."""

    url: str
    browser: str = ""
    http_status: int | None = None
    challenge: bool = False
    signed_in: bool | None = None
    language: str = ""
    words_language: str | None = None
    quota: QuotaAnswer | None = None
    selectors: dict[str, bool] = field(default_factory=dict)
    generate_control: str | None = None  # how it was found
    generate_label: str = ""
    generate_covered_by: str | None = None  # what a click at its middle would reach instead
    # Selectors of the selectors file that Playwright cannot read: name -> its error.
    unreadable_selectors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def words_missing(self) -> bool:
        """The page's language has no words (only known once the page loaded)."""
        return self.signed_in is True and self.words_language is None


def challenge_message(account: str = "ALIAS") -> str:
    """What to do about a browser-check page (never evade it)."""
    return ("the site answered with a browser check instead of the page: open it in a "
            f"window with `grokbatch accounts add {account}` (pass the check there), then rerun")


def unknown_language_message(lang: str) -> str:
    """What to do about a UI language without words."""
    return (f"the site's language is {lang!r} and grokbatch has no words for it: add them "
            "with --selectors FILE holding {\"words\": {\"" + lang + "\": {...}}} "
            "(see grokbatch/site/site_words.json for the keys)")


def unreadable_selectors_message(unreadable: dict[str, str]) -> str:
    """What to do about selectors of the selectors file that Playwright cannot read."""
    named = "; ".join(f"{name!r}: {error}" for name, error in sorted(unreadable.items()))
    return (f"the selectors file holds a selector Playwright cannot read ({named}): correct "
            "it (see grokbatch/site/selectors.py for the defaults)")
