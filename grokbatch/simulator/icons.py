"""Inline SVG icons of the 2026 layout (its buttons are icon-only, like the real site's)."""

from __future__ import annotations


def _svg(paths: str, icon: str) -> str:
    return (
        f'<svg data-icon="{icon}" viewBox="0 0 24 24" width="20" height="20" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        f'aria-hidden="true">{paths}</svg>'
    )


ARROW_UP = _svg('<path d="M12 19V5"/><path d="m5 12 7-7 7 7"/>', "arrow-up")
SLIDERS = _svg(
    '<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/>'
    '<circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>',
    "sliders",
)
SETTINGS = _svg(
    '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3'
    'M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"/>',
    "settings",
)
MORE = _svg(
    '<circle cx="5" cy="12" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/>',
    "more",
)
DOWNLOAD = _svg('<path d="M12 3v12"/><path d="m7 10 5 5 5-5"/><path d="M5 21h14"/>', "download")
CLOSE = _svg('<path d="M18 6 6 18"/><path d="m6 6 12 12"/>', "x")
EYE_OFF = _svg(
    '<path d="M9.9 4.2A9 9 0 0 1 12 4c7 0 10 8 10 8a13 13 0 0 1-1.7 2.7"/>'
    '<path d="M6.6 6.6A13 13 0 0 0 2 12s3 8 10 8a9 9 0 0 0 5.4-1.6"/><path d="m2 2 20 20"/>',
    "eye-off",
)
