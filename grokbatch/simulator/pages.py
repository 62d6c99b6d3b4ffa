"""HTML pages of the simulator, modelled on grok.com's Imagine UI (the classic layout).

The DOM here is a contract: grokbatch's automation selectors are written against it (see
the simulator section of the design doc), so change it only together with the selectors.
The 2026 layout lives in ``layout2026``; both implement ``PageSet``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol
from urllib.parse import quote

from grokbatch.simulator.scenario import RESOLUTIONS, VIDEO_LENGTHS_S, EditorKind, SimulatorOptions
from grokbatch.simulator.urls import video_url

__all__ = ["ClassicPages", "PageSet", "PostView", "VideoView", "video_url"]

PROMPT_LABEL = "Make a video"
PROMPT_PLACEHOLDER = "Type to customize video..."


@cache
def template(name: str) -> str:
    """Text of a file shipped in ``grokbatch/simulator/templates``."""
    return (resources.files("grokbatch.simulator") / "templates" / name).read_text("utf-8")


_template = template


@dataclass(frozen=True)
class VideoView:
    """What the post page needs to show a remembered video."""

    video_id: str
    url: str
    hd_url: str | None
    thumbnail_url: str = ""
    video_post_id: str = ""
    resolution: str = RESOLUTIONS[0]


@dataclass(frozen=True)
class PostView:
    """Everything a post page shows: its image, its current video and its history."""

    post_id: str
    image_post_id: str
    video: VideoView | None
    history: tuple[VideoView, ...] = ()


class PageSet(Protocol):
    """The pages of one layout."""

    def signed_out(self, next_path: str) -> str:
        """A gated page: no app shell, only a Sign in control."""

    def sign_in(self, next_path: str) -> str:
        """The sign-in page."""

    def home(self) -> str:
        """The signed-in home page."""

    def gallery(self) -> str:
        """``/imagine``."""

    def profile(self) -> str:
        """``/profile``."""

    def not_found(self) -> str:
        """A 404 page."""

    def post(self, view: PostView) -> str:
        """``/imagine/post/<id>``."""


def render_challenge(lang: str = "en") -> str:
    """A browser-check page like Cloudflare's (served with 403 and ``cf-mitigated``)."""
    body = (
        '<main class="gate" id="challenge-stage"><h1>Checking your browser before accessing '
        "grok.com</h1><p>Checking your browser. This process is automatic.</p>"
        '<div id="cf-please-wait">Please wait...</div>'
        '<noscript>Please enable JavaScript and cookies to continue.</noscript></main>'
    )
    return _document("Just a moment...", body, lang=lang)


def _document(title: str, body: str, script: str = "", lang: str = "en") -> str:
    script_tag = f"<script>{script}</script>" if script else ""
    return (
        f'<!doctype html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_template('style.css')}</style></head>"
        f"<body>{body}{script_tag}</body></html>\n"
    )


def _app_shell() -> str:
    return (
        '<nav aria-label="Sidebar" data-testid="app-shell">'
        '<a href="/">Home</a><a href="/imagine">Imagine</a><a href="/profile">Profile</a>'
        "</nav>"
    )


def render_signed_out(next_path: str) -> str:
    """A gated page: no app shell, only a Sign in control."""
    href = "/sign-in?next=" + quote(next_path, safe="/")
    body = (
        '<main class="gate"><h1>Grok Imagine</h1><p>Create videos from your images.</p>'
        f'<a href="{html.escape(href)}" role="button">Sign in</a></main>'
    )
    return _document("Grok", body)


def render_sign_in(next_path: str) -> str:
    """The sign-in page: one button that posts back to ``/sign-in``."""
    body = (
        '<main class="gate"><h1>Sign in to Grok</h1>'
        '<form method="post" action="/sign-in">'
        f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
        '<button type="submit">Sign in</button></form></main>'
    )
    return _document("Sign in - Grok", body)


def render_home() -> str:
    """The signed-in home page."""
    body = _app_shell() + "<main><h1>Grok</h1><p>What do you want to know?</p></main>"
    return _document("Grok", body)


def render_gallery() -> str:
    """``/imagine``: the signed-in gallery."""
    body = _app_shell() + "<main><h1>Imagine</h1><p>Your generated images and videos.</p></main>"
    return _document("Imagine - Grok", body)


def render_profile() -> str:
    """``/profile``: a signed-in placeholder page."""
    body = _app_shell() + "<main><h1>Profile</h1></main>"
    return _document("Profile - Grok", body)


def render_not_found() -> str:
    """A 404 page."""
    return _document("Not found", "<main><h1>Page not found</h1></main>")


def _editor(kind: EditorKind) -> str:
    if kind is EditorKind.CONTENTEDITABLE:
        return (
            '<div class="tiptap ProseMirror" contenteditable="true" role="textbox" '
            f'aria-label="{PROMPT_LABEL}" data-placeholder="{PROMPT_PLACEHOLDER}"><p></p></div>'
        )
    return f'<textarea aria-label="{PROMPT_LABEL}" placeholder="{PROMPT_PLACEHOLDER}"></textarea>'


def _length_menu() -> str:
    items = "".join(
        f'<button type="button" role="menuitemradio" data-length="{s}" '
        f'aria-checked="{"true" if i == 0 else "false"}">{s}s</button>'
        for i, s in enumerate(VIDEO_LENGTHS_S)
    )
    return (
        '<button type="button" aria-label="Video Options" aria-haspopup="menu" '
        f'aria-expanded="false" data-length="{VIDEO_LENGTHS_S[0]}">&#9881;</button>'
        f'<div role="menu" id="length-menu" hidden>{items}</div>'
    )


def _video_tag(test_id: str, src: str, video_id: str | None = None) -> str:
    id_attr = f' data-video-id="{html.escape(video_id)}"' if video_id else ""
    return (
        f'<video data-testid="{test_id}" src="{html.escape(src)}"{id_attr} '
        "autoplay muted loop playsinline></video>"
    )


def _video_area(video: VideoView | None) -> str:
    videos = ""
    if video is not None:
        videos = _video_tag("generated-video", video.url, video.video_id)
        if video.hd_url:
            videos += _video_tag("hd-video", video.hd_url)
    more_hidden = "" if video is not None else " hidden"
    upscale_disabled = " disabled" if video is not None and video.hd_url else ""
    return (
        f'<section data-testid="video-area">{videos}'
        '<button type="button" aria-label="More options" aria-haspopup="menu" '
        f'aria-expanded="false"{more_hidden}>&#8943;</button>'
        '<div role="menu" id="more-menu" hidden>'
        f'<button type="button" role="menuitem" id="upscale-item"{upscale_disabled}>'
        "Upscale video</button>"
        '<button type="button" role="menuitem" id="delete-item">Delete video</button></div>'
        '<div data-testid="upscale-progress" role="status" hidden></div></section>'
    )


def _banner() -> str:
    return (
        '<div role="dialog" aria-label="Announcement" data-testid="announcement">'
        "<h2>Introducing Grok Imagine 1.0</h2><p>Longer videos, sharper motion.</p>"
        '<button type="button" aria-label="Close">Got it</button></div>'
    )


def render_post(
    post_id: str,
    editor: EditorKind,
    banner: bool,
    video: VideoView | None,
    navigate: bool = False,
    lang: str = "en",
    image_post_id: str | None = None,
) -> str:
    """``/imagine/post/<id>``: image, prompt editor, generate button, progress and video.

    With ``navigate`` the page moves to the new video's own post URL after each video.
    """
    label = "Redo" if video is not None else "Make video"
    image_id = html.escape(image_post_id or post_id)
    navigate_attr = ' data-navigate="true"' if navigate else ""
    body = (
        _app_shell()
        + f'<main id="post" data-post-id="{html.escape(post_id)}"{navigate_attr}>'
        + f'<img alt="Generated image" src="/assets/post/{image_id}/image.png">'
        + '<form id="generate-form">'
        + _editor(editor)
        + '<div class="controls">'
        + _length_menu()
        + f'<button type="submit" aria-label="{label}">{label}</button></div></form>'
        + '<div data-testid="generation-progress" role="status" hidden></div>'
        + '<div id="messages"></div>'
        + _video_area(video)
        + "</main>"
        + (_banner() if banner else "")
    )
    script = _template("editor_text.js") + _template("post.js")
    return _document("Imagine - Grok", body, script, lang)


class ClassicPages:
    """The pages as grokbatch's current selectors know them (English only)."""

    def __init__(self, options: SimulatorOptions) -> None:
        """Keep the options that shape the pages."""
        self.options = options

    def signed_out(self, next_path: str) -> str:
        """A gated page: no app shell, only a Sign in control."""
        return _with_lang(render_signed_out(next_path), self.options.page_lang)

    def sign_in(self, next_path: str) -> str:
        """The sign-in page."""
        return _with_lang(render_sign_in(next_path), self.options.page_lang)

    def home(self) -> str:
        """The signed-in home page."""
        return _with_lang(render_home(), self.options.page_lang)

    def gallery(self) -> str:
        """``/imagine``."""
        return _with_lang(render_gallery(), self.options.page_lang)

    def profile(self) -> str:
        """``/profile``."""
        return _with_lang(render_profile(), self.options.page_lang)

    def not_found(self) -> str:
        """A 404 page."""
        return _with_lang(render_not_found(), self.options.page_lang)

    def post(self, view: PostView) -> str:
        """``/imagine/post/<id>``."""
        opts = self.options
        return render_post(
            view.post_id,
            opts.editor,
            opts.banner,
            view.video,
            navigate=opts.navigate_to_video_post,
            lang=opts.page_lang,
            image_post_id=view.image_post_id,
        )


def _with_lang(document: str, lang: str) -> str:
    """Set the ``<html lang>`` of a page rendered in English."""
    return document.replace('<html lang="en">', f'<html lang="{html.escape(lang)}">', 1)
