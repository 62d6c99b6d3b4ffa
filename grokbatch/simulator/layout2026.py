"""The 2026 layout of the pages (``--layout 2026``), as real-site-notes.md describes it.

The post page: the image, a video tile (``video#sd-video``, after an upscale ``#hd-video``),
a history strip of ``img[alt="Thumbnail N"]``, and a ``div.query-bar`` holding the TipTap
editor, the icon-only Video Options / More options / generate buttons. Every visible text,
aria-label and placeholder comes from the language table of ``--lang`` (see ``i18n``),
except the app shell's ``aria-label="Sidebar"`` and ``data-testid``. The behaviour is in
``templates/post2026.js``; toasts and the choice dialog are built there.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from urllib.parse import quote

from grokbatch.simulator import icons
from grokbatch.simulator.i18n import numbered, texts
from grokbatch.simulator.pages import PostView, VideoView, template
from grokbatch.simulator.scenario import (
    RESOLUTIONS,
    VIDEO_LENGTHS_S,
    OptionsUi,
    SimulatorOptions,
    StreamFormat,
)
from grokbatch.simulator.streams import RENAMED_KEYS
from grokbatch.simulator.urls import CHOICE_PATH, image_url

# Texts the page script needs (toasts, dialogs, labels it switches).
_SCRIPT_TEXTS = (
    "make_video", "redo", "thumbnail", "toast_rate_limit", "upgrade", "toast_moderated",
    "toast_network", "toast_generic", "toast_resolution_limit", "choice_title",
    "choice_video", "skip", "delete_title", "delete_text", "cancel", "delete",
)  # fmt: skip
_MODES = ("normal", "fun", "spicy")


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


class Pages2026:
    """The pages of the 2026 layout, in the language of ``options.lang``."""

    def __init__(self, options: SimulatorOptions) -> None:
        """Keep the options and the language table."""
        self.options = options
        self.t: Mapping[str, str] = texts(options.lang)

    # --- frame ---------------------------------------------------------------------------
    def _document(self, title: str, body: str, script: str = "") -> str:
        style = template("style.css") + template("style2026.css")
        return (
            f'<!doctype html>\n<html lang="{_esc(self.options.page_lang)}"><head>'
            f'<meta charset="utf-8"><title>{_esc(title)}</title><style>{style}</style></head>'
            f'<body class="layout-2026">{body}{script}</body></html>\n'
        )

    def _shell(self) -> str:
        t = self.t
        return (
            '<nav aria-label="Sidebar" data-testid="app-shell">'
            f'<a href="/">{_esc(t["nav_home"])}</a><a href="/imagine">{_esc(t["nav_imagine"])}</a>'
            f'<a href="/profile">{_esc(t["nav_profile"])}</a></nav>'
        )

    # --- simple pages --------------------------------------------------------------------
    def signed_out(self, next_path: str) -> str:
        """A gated page: no app shell, only a Sign in control."""
        href = "/sign-in?next=" + quote(next_path, safe="/")
        body = (
            f'<main class="gate"><h1>Grok Imagine</h1><p>{_esc(self.t["gate_text"])}</p>'
            f'<a href="{_esc(href)}" role="button">{_esc(self.t["sign_in"])}</a></main>'
        )
        return self._document("Grok", body)

    def sign_in(self, next_path: str) -> str:
        """The sign-in page: one button that posts back to ``/sign-in``."""
        body = (
            f'<main class="gate"><h1>{_esc(self.t["sign_in_heading"])}</h1>'
            '<form method="post" action="/sign-in">'
            f'<input type="hidden" name="next" value="{_esc(next_path)}">'
            f'<button type="submit">{_esc(self.t["sign_in"])}</button></form></main>'
        )
        return self._document("Grok", body)

    def home(self) -> str:
        """The signed-in home page."""
        body = f'{self._shell()}<main><h1>Grok</h1><p>{_esc(self.t["home_prompt"])}</p></main>'
        return self._document("Grok", body)

    def gallery(self) -> str:
        """``/imagine``: the signed-in gallery."""
        body = f'{self._shell()}<main><h1>Imagine</h1><p>{_esc(self.t["gallery_text"])}</p></main>'
        return self._document("Imagine - Grok", body)

    def profile(self) -> str:
        """``/profile``: a signed-in placeholder page."""
        body = f'{self._shell()}<main><h1>{_esc(self.t["nav_profile"])}</h1></main>'
        return self._document("Grok", body)

    def not_found(self) -> str:
        """A 404 page."""
        return self._document("Grok", f'<main><h1>{_esc(self.t["not_found"])}</h1></main>')

    # --- the post page -------------------------------------------------------------------
    def post(self, view: PostView) -> str:
        """``/imagine/post/<id>``."""
        t = self.t
        body = (
            self._shell()
            + f'<main id="post" data-post-id="{_esc(view.post_id)}">'
            + '<div class="media">'
            + f'<img class="source-image" alt="{_esc(t["image_alt"])}" '
            + f'src="{_esc(image_url(view.image_post_id))}">'
            + self._tile(view.video)
            + self._history(view.history)
            + "</div>"
            + self._query_bar(view.video)
            + "</main>"
            + f'<section aria-label="{_esc(t["notifications"])}" tabindex="-1">'
            + '<ol data-sonner-toaster="true" dir="ltr"></ol></section>'
            + (self._banner() if self.options.banner else "")
        )
        return self._document("Imagine - Grok", body, self._script())

    def _tile(self, video: VideoView | None) -> str:
        t = self.t
        videos = ""
        if video is not None:
            videos = (
                f'<video id="sd-video" src="{_esc(video.url)}" '
                f'data-video-id="{_esc(video.video_id)}" '
                f'data-video-post-id="{_esc(video.video_post_id)}" '
                f'data-resolution="{_esc(video.resolution)}" autoplay muted loop playsinline>'
                "</video>"
            )
            if video.hd_url:
                videos += (
                    f'<video id="hd-video" src="{_esc(video.hd_url)}" autoplay muted loop '
                    "playsinline></video>"
                )
        hd_hidden = "" if video is not None and video.hd_url else " hidden"
        return (
            f'<div class="video-tile" data-state="{"done" if video else "empty"}" '
            f'aria-label="{_esc(t["video_tile"])}">{videos}'
            f'<span class="hd-badge"{hd_hidden}>HD</span>'
            f'<span class="upscaling animate-pulse" hidden>{_esc(t["upscaling"])}</span>'
            '<div class="generating-overlay" hidden>'
            f'<span class="animate-pulse">{_esc(t["generating"])}</span>'
            f'<button type="button" class="cancel-video">{_esc(t["cancel_video"])}</button></div>'
            "</div>"
        )

    def _history(self, history: tuple[VideoView, ...]) -> str:
        thumbs = "".join(
            f'<button type="button" class="thumb" data-video-id="{_esc(v.video_id)}">'
            f'<img alt="{_esc(numbered(self.t["thumbnail"], i))}" src="{_esc(v.thumbnail_url)}">'
            "</button>"
            for i, v in enumerate(history, start=1)
        )
        return f'<div class="history-strip">{thumbs}</div>'

    def _item(self, role: str, setting: str, value: str, label: str, checked: bool) -> str:
        tag = "button" if role == "radio" else "div"
        kind = ' type="button"' if tag == "button" else ' tabindex="-1"'
        return (
            f'<{tag}{kind} role="{role}" aria-checked="{"true" if checked else "false"}" '
            f'data-setting="{setting}" data-value="{_esc(value)}">{_esc(label)}</{tag}>'
        )

    def _group(self, role: str, item_role: str, setting: str, items: list[tuple[str, str]]) -> str:
        label = {"length": "video_length", "resolution": "resolution", "mode": "mode"}[setting]
        inner = "".join(
            self._item(item_role, setting, value, text, i == 0)
            for i, (value, text) in enumerate(items)
        )
        return f'<div role="{role}" aria-label="{_esc(self.t[label])}">{inner}</div>'

    def _settings_groups(self) -> dict[str, list[tuple[str, str]]]:
        return {
            "length": [(str(s), f"{s}s") for s in VIDEO_LENGTHS_S],
            "resolution": [(r, r) for r in RESOLUTIONS],
            "mode": [(m, self.t[f"mode_{m}"]) for m in _MODES],
        }

    def _query_bar(self, video: VideoView | None) -> str:
        t = self.t
        groups = self._settings_groups()
        radiogroups = self.options.options_ui is OptionsUi.RADIOGROUP
        in_menu = ["mode"] if radiogroups else ["length", "resolution", "mode"]
        menu = '<div role="separator"></div>'.join(
            self._group("group", "menuitemradio", name, groups[name]) for name in in_menu
        )
        settings = ""
        if radiogroups:
            popover = "".join(
                self._group("radiogroup", "radio", name, groups[name])
                for name in ("length", "resolution")
            )
            settings = (
                '<button type="button" id="model-select-trigger" aria-haspopup="menu" '
                f'aria-expanded="false" aria-label="{_esc(t["settings"])}">{icons.SETTINGS}'
                f'<span class="settings-summary">{VIDEO_LENGTHS_S[0]}s · {RESOLUTIONS[0]}</span>'
                '</button><div role="menu" id="settings-menu" '
                f'aria-labelledby="model-select-trigger" hidden>{popover}</div>'
            )
        has_video = video is not None
        hidden = "" if has_video else " hidden"
        upscalable = video is not None and video.resolution == "480p" and not video.hd_url
        upscale_off = "" if upscalable else " disabled"
        generate_label = t["redo"] if has_video else t["make_video"]
        return (
            '<div class="query-bar">'
            '<div class="tiptap ProseMirror" contenteditable="true" role="textbox" '
            f'data-placeholder="{_esc(t["prompt_placeholder"])}"><p></p></div>'
            '<div class="query-actions">'
            f"{settings}"
            '<button type="button" id="video-options-trigger" aria-haspopup="menu" '
            f'aria-expanded="false" aria-label="{_esc(t["video_options"])}">{icons.SLIDERS}'
            "</button>"
            f'<div role="menu" id="video-options-menu" hidden>{menu}</div>'
            '<button type="button" id="download-button" '
            f'aria-label="{_esc(t["download"])}"{hidden}>{icons.DOWNLOAD}</button>'
            '<button type="button" id="more-options-trigger" aria-haspopup="menu" '
            f'aria-expanded="false" aria-label="{_esc(t["more_options"])}"{hidden}>{icons.MORE}'
            '</button><div role="menu" id="more-menu" hidden>'
            f'<button type="button" role="menuitem" id="upscale-item"{upscale_off}>'
            f'{_esc(t["upscale_video"])}</button>'
            f'<button type="button" role="menuitem" id="delete-item">{_esc(t["delete"])}</button>'
            "</div>"
            f'<button type="button" class="generate" aria-label="{_esc(generate_label)}">'
            f"{icons.ARROW_UP}</button>"
            "</div></div>"
        )

    def _banner(self) -> str:
        t = self.t
        return (
            '<div class="absolute inset-0 z-[9999] flex items-center justify-center bg-black/80" '
            'data-announcement="">'
            f'<div class="announcement-card"><h2>{_esc(t["banner_title"])}</h2>'
            f'<p>{_esc(t["banner_text"])}</p>'
            f'<button type="button" aria-label="{_esc(t["close"])}">{icons.CLOSE}</button>'
            "</div></div>"
        )

    def _script(self) -> str:
        config = {
            "texts": {key: self.t[key] for key in _SCRIPT_TEXTS},
            "navigate": self.options.navigate_to_video_post,
            "choicePath": CHOICE_PATH,
            # The page reads the stream it is served, whatever its shape (`--stream-format`).
            "renamedKeys": ({new: old for old, new in RENAMED_KEYS.items()}
                            if self.options.stream_format is StreamFormat.RENAMED else {}),
            "eyeOff": icons.EYE_OFF,
            "defaults": {
                "length": VIDEO_LENGTHS_S[0],
                "resolution": RESOLUTIONS[0],
                "mode": _MODES[0],
            },
        }
        data = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        return (
            f'<script type="application/json" id="sim-config">{data}</script>'
            f"<script>{template('editor_text.js')}{template('choice2026.js')}"
            f"{template('post2026.js')}</script>"
        )
