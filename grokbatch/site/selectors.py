"""Every selector and word grokbatch uses on the Grok Imagine page, in one place.

Each selector is a Playwright selector (CSS with Playwright's `:has-text()`/`:text-is()`;
several alternatives joined with commas). `{w:KEY}` in a selector stands for each of the
page language's words for KEY (see `words.py`): `button[aria-label="{w:redo}" i]` becomes
one alternative per word. Override any selector, and correct or add words, with
`--selectors FILE`: a JSON object of name -> selector, plus an optional `"words"` object of
language -> key -> list of words.

What a control is called changes from one site release and one language to the next;
where structure can find it (a submit button beside the editor, a dialog holding two
videos) the scripts in `page_scripts/` use structure too.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grokbatch.errors import ConfigError
from grokbatch.site.words import SiteWords, WordTable, check_table, merged_table

_WORD_SLOT = re.compile(r"\{w:(?P<key>[a-z_]+)\}")
# Selectors that are no selectors of the page: a pattern of URLs and an endpoint's path.
_NOT_PAGE_SELECTORS = ("stream_url_pattern", "quota_path")


@dataclass(frozen=True)
class Selectors:
    """The selectors of the Grok Imagine UI, with defaults that match the real site's
    2026 layouts (and the older one), in any language that has words."""

    # Signed-in pages show the app shell or the prompt editor; signed-out ones a
    # "Sign in" control (matched by the words of every language: see `sign_in_pattern`).
    app_shell: str = '[data-testid="app-shell"], nav[aria-label="Sidebar"]'
    # The prompt editor: a textarea on older builds, a TipTap/ProseMirror editor since.
    prompt_editor: str = (
        'textarea[aria-label="Make a video"], textarea[placeholder*="video" i], '
        'div.ProseMirror[contenteditable="true"], .query-bar [contenteditable="true"], '
        '[contenteditable="true"][role="textbox"], .query-bar textarea'
    )
    # The generate control, icon-only on the real site: found by its label here, else by
    # the page's own words for it, else as the submit button beside the editor.
    make_video_button: str = 'button[aria-label="{w:make_video}" i]'
    redo_button: str = 'button[aria-label="{w:redo}" i]'
    editor_submit_button: str = 'form button[type="submit"], .query-bar button[type="submit"]'
    # Generation progress shown on the page ("NN%"), when the stream is not readable.
    progress: str = '.tabular-nums, [data-testid="generation-progress"]'
    video: str = "video[src]"
    hd_video: str = 'video#hd-video[src], video[data-testid="hd-video"][src], video[src*="_hd"]'
    # Failure toasts and dialogs. Informational toasts (data-type info, success, warning,
    # loading) never count, whatever they say.
    error_toast: str = '[data-type="error"], [role="alert"], [role="alertdialog"]'
    info_toast: str = (
        '[data-type="info"], [data-type="success"], [data-type="warning"], '
        '[data-type="loading"]'
    )
    # "Which video do you prefer?": a dialog that holds two or more videos.
    choice_dialog: str = '[role="dialog"], [aria-modal="true"], dialog[open]'
    banner: str = (
        '[data-testid="announcement"], [role="dialog"][aria-label="Announcement"], '
        'div.absolute[class*="z-[9999]"]'
    )
    # Only a close control dismisses an overlay: its other buttons may be "Upgrade".
    banner_dismiss: str = (
        '[data-testid="announcement"] button, [role="dialog"][aria-label="Announcement"] button, '
        'div.absolute[class*="z-[9999]"] button[aria-label="{w:close}" i], '
        'div.absolute[class*="z-[9999]"] button:text-is("{w:close}")'
    )
    video_options_button: str = (
        'button[aria-label="{w:video_options}" i], #model-select-trigger'
    )
    video_duration_item: str = (
        '[role="menuitemradio"]:has-text("{duration}"), [role="radio"]:has-text("{duration}")'
    )
    resolution_item: str = (
        '[role="menuitemradio"]:text-is("{resolution}"), [role="radio"]:text-is("{resolution}"), '
        '[role="option"]:text-is("{resolution}")'
    )
    more_options_button: str = 'button[aria-label="{w:more_options}" i]'
    upscale_item: str = '[role="menuitem"]:has-text("{w:upscale}")'
    delete_item: str = '[role="menuitem"]:has-text("{w:delete}")'
    delete_confirm: str = '[role="dialog"] button:has-text("{w:delete}")'
    # Requests whose response is the generation stream, and the quota endpoint.
    stream_url_pattern: str = r"/rest/app-chat/conversations/new"
    quota_path: str = "/rest/media/imagine/quota_info"
    words: WordTable = field(default_factory=merged_table, compare=False)
    # The names the selectors file set: the first look at the page checks that Playwright
    # can read each (a typo would fail every try as an error of the page).
    overridden: tuple[str, ...] = field(default=(), compare=False)

    def page_selectors(self) -> dict[str, str]:
        """The overridden selectors that are Playwright selectors, as the page would use
        them (`{duration}` and `{resolution}` filled with an example)."""
        return {name: getattr(self, name).replace("{duration}", "6s")
                .replace("{resolution}", "480p")
                for name in self.overridden if name not in _NOT_PAGE_SELECTORS}

    # ----------------------------------------------------------------- words
    def site_words(self, lang: str | None) -> SiteWords | None:
        """The words for a page language, or None when there are none for it."""
        return SiteWords.for_language(self.words, lang)

    def localized(self, words: SiteWords) -> Selectors:
        """These selectors with every `{w:KEY}` replaced by the language's words."""
        changes: dict[str, Any] = {
            f.name: expand_words(getattr(self, f.name), words)
            for f in dataclasses.fields(self)
            if f.name != "words" and "{w:" in getattr(self, f.name)
        }
        return dataclasses.replace(self, **changes)

    def sign_in_pattern(self) -> str:
        """A regex source matching any language's whole sign-in label."""
        labels = {w for entry in self.words.values() for w in entry.get("sign_in", [])}
        return r"^\s*(?:" + "|".join(re.escape(w) for w in sorted(labels)) + r")\s*$"

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: Path | None) -> Selectors:
        """Defaults, with the overrides from the JSON file at `path` (if any)."""
        if path is None:
            return cls()
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"selectors file {path} does not exist") from None
        except (OSError, ValueError, RecursionError) as exc:  # bad JSON or not UTF-8
            raise ConfigError(f"selectors file {path} is not readable JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"selectors file {path} must hold a JSON object")
        known = {f.name for f in dataclasses.fields(cls)} - {"words", "overridden"}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "words":
                try:
                    values["words"] = merged_table(check_table(value, str(path)))
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
                continue
            if name not in known:
                raise ConfigError(
                    f"unknown selector {name!r} in {path}; known: {', '.join(sorted(known))}"
                )
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"selector {name!r} in {path} must be a non-empty string")
            values[name] = value
        pattern = values.get("stream_url_pattern")
        if pattern is not None:
            try:  # the page's script reads it as a JavaScript RegExp: much the same syntax
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"selector 'stream_url_pattern' in {path} is not a regular "
                                  f"expression: {exc}") from None
        return cls(**values, overridden=tuple(n for n in values if n != "words"))


def split_alternatives(selector: str) -> list[str]:
    """Split a selector list on the commas that are outside quotes and brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote, escaped = 0, "", False
    for char in selector:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def expand_words(selector: str, words: SiteWords) -> str:
    """One alternative per word wherever an alternative holds `{w:KEY}`."""
    out: list[str] = []
    for part in split_alternatives(selector):
        match = _WORD_SLOT.search(part)
        if match is None:
            out.append(part)
            continue
        for word in words.words.get(match.group("key"), ()):
            quoted = word.replace("\\", "\\\\").replace('"', '\\"')
            out.append(part[: match.start()] + quoted + part[match.end():])
    return ", ".join(out) or ":not(*)"  # no words at all: a selector that matches nothing
