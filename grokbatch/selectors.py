"""Every selector grokbatch uses on the Grok Imagine page, in one place.

Each value is a Playwright selector (CSS, `text=`, `role=`; several alternatives may be
joined with commas in CSS). When the site changes, override any of them with
`--selectors FILE`, a JSON object of name -> selector, without touching code.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from grokbatch.errors import ConfigError
from grokbatch.outcomes import Outcome


@dataclass(frozen=True)
class Selectors:
    """The selectors of the Grok Imagine UI, with defaults that match the real site."""

    # Signed-out pages show a "Sign in"/"Log in" control and no app shell.
    sign_in: str = (
        'a:text-matches("^\\\\s*(sign in|log in)\\\\s*$", "i"), '
        'button:text-matches("^\\\\s*(sign in|log in)\\\\s*$", "i")'
    )
    app_shell: str = '[data-testid="app-shell"], nav[aria-label="Sidebar"]'
    # The prompt editor: a textarea on older builds, a ProseMirror contenteditable now.
    prompt_editor: str = (
        'textarea[aria-label="Make a video"], textarea[placeholder*="video" i], '
        'div.ProseMirror[contenteditable="true"], [contenteditable="true"][role="textbox"]'
    )
    make_video_button: str = 'button[aria-label="Make video"], button:has-text("Make video")'
    redo_button: str = 'button[aria-label="Redo"], button:has-text("Redo")'
    # Fallback when neither label is found: the submit button next to the editor.
    editor_submit_button: str = 'form button[type="submit"]'
    progress: str = '[data-testid="generation-progress"]:text-matches("^\\\\s*\\\\d{1,3}\\\\s*%")'
    video: str = "video[src]"
    rate_limit_message: str = (
        "text=/reached your limit|rate limit|too many requests|try again later/i"
    )
    moderated_message: str = "text=/moderated|try a different idea/i"
    network_error_message: str = "text=/network error|check your connection/i"
    generation_error_message: str = "text=/something went wrong|generation failed/i"
    banner: str = '[data-testid="announcement"], [role="dialog"][aria-label="Announcement"]'
    banner_dismiss: str = (
        '[data-testid="announcement"] button, [role="dialog"][aria-label="Announcement"] button'
    )
    video_options_button: str = 'button[aria-label="Video Options"]'
    video_duration_item: str = '[role="menuitemradio"]:has-text("{duration}")'
    more_options_button: str = 'button[aria-label="More options"]'
    upscale_item: str = '[role="menuitem"]:has-text("Upscale")'
    hd_video: str = 'video[data-testid="hd-video"][src], video[src*="_hd"]'
    delete_item: str = '[role="menuitem"]:has-text("Delete")'
    delete_confirm: str = '[role="dialog"] button:has-text("Delete")'

    def failure_signs(self) -> list[tuple[Outcome, str]]:
        """What each failure looks like on the page, in the order they are checked."""
        return [
            (Outcome.AUTH_REQUIRED, self.sign_in),
            (Outcome.RATE_LIMIT, self.rate_limit_message),
            (Outcome.CONTENT_MODERATED, self.moderated_message),
            (Outcome.NETWORK_ERROR, self.network_error_message),
            (Outcome.GENERATION_ERROR, self.generation_error_message),
        ]

    @classmethod
    def load(cls, path: Path | None) -> Selectors:
        """Defaults, with the overrides from the JSON file at `path` (if any)."""
        if path is None:
            return cls()
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"selectors file {path} does not exist") from None
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or not UTF-8
            raise ConfigError(f"selectors file {path} is not readable JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"selectors file {path} must hold a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        for name, value in raw.items():
            if name not in known:
                raise ConfigError(
                    f"unknown selector {name!r} in {path}; known: {', '.join(sorted(known))}"
                )
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"selector {name!r} in {path} must be a non-empty string")
        return cls(**raw)
