"""What the page tells us about a generation, watched from inside the page.

Two sources, checked together every `_POLL_MS` by one `page.wait_for_function`:

- the network: the site streams generation state as JSON lines
  (`streamingVideoGenerationResponse` with `progress`, `moderated`, `videoUrl`). An init
  script wraps `fetch`, reads a copy of that stream, and keeps the latest state in
  `window.__grokbatch`. This sees progress, moderation and errors without depending on
  markup.
- the DOM, as the fallback: a new `<video>` whose metadata loaded, a progress percentage,
  and the failure messages of `selectors.py` (their `text=/…/` regexes and plain CSS parts),
  never counting text typed into the prompt editor.

Waiting in the page instead of through a series of Playwright locator waits notices the end
of a generation within one poll, where locator waits back off to half a second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from grokbatch.selectors import Selectors

# How often the in-page check runs while waiting: the latency floor per video.
_POLL_MS = 50
# Requests whose response is the generation stream.
STREAM_URL_PATTERN = r"/rest/app-chat/conversations/new"

_TEXT_RE = re.compile(r"^text=/(?P<re>.*)/(?P<flags>[a-z]*)$", re.S)
_TEXT_MATCHES = re.compile(
    r':text-matches\("(?P<re>(?:[^"\\]|\\.)*)"(?:,\s*"(?P<flags>[a-z]*)")?\)'
)

_HOOK_JS = """
(() => {
  if (window.__grokbatch) return;
  const state = window.__grokbatch = { generation: 0, progress: null, outcome: null,
                                       videoUrl: null };
  const pattern = new RegExp(%(pattern)s);
  const report = (p) => { try { window.__grokbatchProgress && window.__grokbatchProgress(p); }
                          catch (e) {} };
  const find = (obj) => {
    if (!obj || typeof obj !== 'object') return null;
    if (obj.streamingVideoGenerationResponse) return obj.streamingVideoGenerationResponse;
    for (const value of Object.values(obj)) { const f = find(value); if (f) return f; }
    return null;
  };
  const handle = (line) => {
    let obj; try { obj = JSON.parse(line); } catch (e) { return; }
    if (obj && obj.error) { state.outcome = 'GENERATION_ERROR'; return; }
    const gen = find(obj);
    if (!gen) return;
    if (gen.moderated) { state.outcome = 'CONTENT_MODERATED'; return; }
    if (typeof gen.progress === 'number') { state.progress = gen.progress; report(gen.progress); }
    if (gen.videoUrl) state.videoUrl = gen.videoUrl;
  };
  const watch = async (response) => {
    if (response.status === 429) { state.outcome = 'RATE_LIMIT'; return; }
    if (response.status === 401 || response.status === 403) {
      state.outcome = 'AUTH_REQUIRED'; return; }
    if (!response.ok || !response.body) { state.outcome = 'GENERATION_ERROR'; return; }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\\n')) >= 0) {
          handle(buffer.slice(0, cut)); buffer = buffer.slice(cut + 1);
        }
      }
      if (buffer.trim()) handle(buffer);
    } catch (e) {
      if (!state.outcome && !state.videoUrl) state.outcome = 'NETWORK_ERROR';
    }
  };
  const original = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    const promise = original.apply(this, arguments);
    if (!pattern.test(url)) return promise;
    state.generation += 1;
    Object.assign(state, { progress: null, outcome: null, videoUrl: null });
    return promise.then((response) => {
      try { watch(response.clone()); } catch (e) {}
      return response;
    }, (error) => { state.outcome = 'NETWORK_ERROR'; throw error; });
  };
})();
"""

# Returns false while nothing decisive happened, else {kind, outcome?, src?}.
_CHECK_JS = """
(arg) => {
  const state = window.__grokbatch || {};
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const inEditor = (e) => !!(e.closest && e.closest('[contenteditable="true"], textarea'));
  let videos;
  try { videos = document.querySelectorAll(arg.videoCss); }
  catch (e) { videos = document.querySelectorAll('video[src]'); }
  for (const v of arg.snapshot ? [] : videos) {
    const src = v.getAttribute('src');
    if (src && !arg.old.includes(src) && v.readyState >= 1 && v.duration > 0) {
      // A finished video loops forever: pause every one, or N browsers spend their CPU
      // decoding video nobody watches.
      for (const other of videos) { try { other.pause(); } catch (e) {} }
      return { kind: 'video', src: v.src };
    }
  }
  const fresh = arg.sinceGeneration === null || state.generation > arg.sinceGeneration;
  if (!arg.snapshot && state.outcome && fresh) {
    return { kind: 'failure', outcome: state.outcome, source: 'stream' };
  }
  // The page's text is the fallback for what the stream did not say. While this
  // generation's stream is being read, scan it every tenth poll only: ten browsers on two
  // cores should not spend their CPU walking DOMs.
  const streaming = fresh && state.generation !== undefined && state.generation > 0;
  const tick = (window.__grokbatchTick = (window.__grokbatchTick || 0) + 1);
  if (!arg.snapshot && streaming && tick % 10 !== 0) {
    return arg.wantProgress && state.progress !== null && state.progress !== undefined
      ? { kind: 'progress', source: 'stream' } : false;
  }
  const texts = [];
  const walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && !inEditor(el) && visible(el)) texts.push([el, n.nodeValue]);
  }
  const matches = (probe) => {
    let els = null;
    if (probe.css) {
      try { els = [...document.querySelectorAll(probe.css)]; } catch (e) { return false; }
      els = els.filter((e) => visible(e) && !inEditor(e));
      if (!probe.re) return els.length > 0;
    }
    const re = new RegExp(probe.re, probe.flags || '');
    if (els) return els.some((e) => re.test(e.innerText || ''));
    return texts.some(([, t]) => re.test(t));
  };
  if (arg.snapshot) {
    const failure = arg.failures.find(matches);
    const generation = state.generation === undefined ? null : state.generation;
    return { kind: 'snapshot', generation,
             srcs: [...videos].map((v) => v.getAttribute('src')).filter(Boolean),
             failure: failure ? failure.outcome : null };
  }
  for (const probe of arg.failures) {
    if (matches(probe)) return { kind: 'failure', outcome: probe.outcome, source: 'page' };
  }
  if (arg.wantProgress) {
    if (state.progress !== null && state.progress !== undefined && fresh) {
      return { kind: 'progress', source: 'stream' };
    }
    if (arg.progress && matches(arg.progress)) return { kind: 'progress', source: 'page' };
  }
  return false;
}
"""


def _split_alternatives(selector: str) -> list[str]:
    """Split a selector list on the commas that are outside quotes and brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in selector:
        if quote:
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


def probes(selector: str) -> list[dict[str, str]]:
    """Every alternative of a selector that the page itself can evaluate."""
    if selector.strip().startswith("text="):
        found = probe(selector)
        return [found] if found else []
    return [found for part in _split_alternatives(selector) if (found := probe(part))]


def probe(selector: str) -> dict[str, str] | None:
    """One selector as an in-page probe (CSS and/or a text regex), or None if it has no
    form the page itself can evaluate (role=, :has-text, …)."""
    text = _TEXT_RE.match(selector.strip())
    if text:
        return {"re": text.group("re"), "flags": text.group("flags").replace("g", "")}
    matches = _TEXT_MATCHES.search(selector)
    if matches:
        css = (selector[: matches.start()] + selector[matches.end():]).strip() or "*"
        if ":" in css.replace(":not(", ""):
            return None
        pattern = json.loads(f'"{matches.group("re")}"')
        return {"css": css, "re": pattern, "flags": matches.group("flags") or ""}
    if "text=" in selector or ":has-text" in selector or selector.startswith("role="):
        return None
    return {"css": selector}


class PageWatch:
    """Installs the stream hook on a page and waits for decisive moments of a generation."""

    def __init__(self, page: Page, selectors: Selectors,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.page = page
        self.failures: list[dict[str, str]] = []
        for outcome, selector in selectors.failure_signs():
            self.failures += [{**found, "outcome": outcome.value} for found in probes(selector)]
        progress = probes(selectors.progress)
        self.progress = progress[0] if progress else None
        self.video_css = selectors.video
        if on_progress is not None:
            page.expose_function("__grokbatchProgress", lambda p: on_progress(int(p)))
        page.add_init_script(_HOOK_JS % {"pattern": json.dumps(STREAM_URL_PATTERN)})

    def _arg(self, **extra: Any) -> dict[str, Any]:
        return {"videoCss": self.video_css, "failures": self.failures,
                "progress": self.progress, "snapshot": False, "old": [],
                "wantProgress": False, "sinceGeneration": None, **extra}

    def snapshot(self) -> dict[str, Any]:
        """In one round trip: the videos on the page, a failure message if one shows, and
        how many generation streams this page load has seen (`generation`)."""
        result: dict[str, Any] = self.page.evaluate(_CHECK_JS, self._arg(snapshot=True))
        return result

    def wait(self, *, old_srcs: list[str], want_progress: bool, since_generation: int | None,
             timeout_ms: float) -> dict[str, Any]:
        """Wait until a new playable video, a failure, or (if wanted) progress shows."""
        handle = self.page.wait_for_function(
            _CHECK_JS,
            arg=self._arg(old=old_srcs, wantProgress=want_progress,
                          sinceGeneration=since_generation),
            polling=_POLL_MS,
            timeout=timeout_ms,
        )
        result: dict[str, Any] = handle.json_value()
        return result
