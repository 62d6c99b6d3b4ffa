"""A debug snapshot of a page, its HTML and a screenshot, with no prompt in either.

The prompt is in the editor, split over elements in a rich editor: the editor is emptied
first. A page may also show the prompt elsewhere (a video's own post, a history), or an
editor may not be the one the selectors name (a page changed since, an override file):
every text, attribute and form value of the page that holds a prompt, whole, one of its
lines or its start cut short (a title), is then changed to say `[prompt]` instead, in the
page itself, so the screenshot shows none either. The HTML is redacted once more as it is
written. The page is left changed: its next video loads it again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from grokbatch.logs import (
    REDACTED,
    first_line,
    redact,
    secret_pieces,
    short_secret_lines,
    short_secret_pieces,
)
from grokbatch.paths import make_private_dir, write_private_file

# A screenshot of a page that no longer answers is not worth a longer wait.
SCREENSHOT_TIMEOUT_MS = 5_000
# A directory of snapshots (a job's debug/, doctor/) keeps this many, the newest: a site
# that changed fails every try of every rerun, and each snapshot takes a megabyte or so.
KEEP_SNAPSHOTS = 100
_SNAPSHOT_SUFFIXES = (".html", ".png")

_EMPTY_EDITORS = (
    "els => els.forEach(e => { if (e.tagName === 'TEXTAREA') { e.value = '';"
    " e.textContent = ''; } else { e.replaceChildren(); } })"
)
# A prompt the page shows cut short (a title made of its start, a list of past videos) is
# hidden from its first CUT_HEAD_CHARS characters on, as far as the text goes on as it does.
CUT_HEAD_CHARS = 20
# Each piece matches with its spaces as any run of white space (a page may write a space
# as a non-breaking one, or a line break as a space); a short one (`words`) only where it
# stands as a whole word, and a short line of one (`lines`) only where it is a whole text.
_HIDE_PIECES = r"""([pieces, words, lines, mark, headChars]) => {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const spaced = (p) => p.trim().split(/[\s\u00a0]+/).map(escape).join('[\\s\\u00a0]+');
  const word = '[\\p{L}\\p{M}\\p{N}_]';
  const patterns = pieces.map((p) => new RegExp(spaced(p), 'g')).concat(words.map((w) =>
    new RegExp(`(?<!${word})${spaced(w)}(?!${word})`, 'gu')));
  const heads = pieces.map((p) => p.trim().split(/[\s\u00a0]+/).join(' '))
    .filter((whole) => whole.length > headChars).map((whole) => {
      const head = whole.slice(0, headChars).trimEnd();
      return [new RegExp(spaced(head), 'g'), whole, head.length];
    });
  const space = /[\s\u00a0]/;
  const cutShort = (text) => heads.reduce((t, [re, whole, start]) => {
    let out = '', last = 0, m;
    re.lastIndex = 0;
    while ((m = re.exec(t)) !== null) {
      let i = m.index + m[0].length, j = start;
      while (i < t.length && j < whole.length) {
        if (whole[j] === ' ' && space.test(t[i])) {
          while (i < t.length && space.test(t[i])) i++;
          j++;
        } else if (t[i] === whole[j]) {
          i++; j++;
        } else break;
      }
      out += t.slice(last, m.index) + mark;
      last = re.lastIndex = i;
    }
    return out + t.slice(last);
  }, text);
  const hide = (text) => lines.includes(text.trim()) ? mark
    : cutShort(patterns.reduce((t, re) => t.replace(re, mark), text));
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const hidden = hide(n.nodeValue);
    if (hidden !== n.nodeValue) n.nodeValue = hidden;
  }
  for (const el of document.querySelectorAll('*')) {
    for (const attr of Array.from(el.attributes)) {
      const hidden = hide(attr.value);
      if (hidden !== attr.value) el.setAttribute(attr.name, hidden);
    }
    if (typeof el.value === 'string' && el.value) {
      const hidden = hide(el.value);
      if (hidden !== el.value) el.value = hidden;
    }
  }
}"""


def save_snapshot(page: Page, stem: Path, editor_selector: str, *,
                  source: str = "page") -> None:
    """Save `<stem>.html` and `<stem>.png` of `page`, with no prompt in them (above).
    What cannot be saved is left out, and said at DEBUG level (`source` names who asks)."""
    make_private_dir(stem.parent)
    with contextlib.suppress(PlaywrightError):
        page.locator(editor_selector).evaluate_all(_EMPTY_EDITORS)
    pieces, words, lines = secret_pieces(), short_secret_pieces(), short_secret_lines()
    if pieces or words or lines:
        try:
            page.evaluate(_HIDE_PIECES, [pieces, words, lines, REDACTED, CUT_HEAD_CHARS])
        except PlaywrightError as exc:  # nothing is saved that may show a prompt
            logger.debug("{}: no debug snapshot, the page could not be cleared of the "
                         "prompt: {}", source, first_line(str(exc)))
            return
    try:
        write_private_file(stem.with_suffix(".html"), redact(page.content()).encode())
        write_private_file(stem.with_suffix(".png"),
                           page.screenshot(timeout=SCREENSHOT_TIMEOUT_MS))
    except PlaywrightError as exc:
        logger.debug("{}: debug snapshot incomplete: {}", source, first_line(str(exc)))
    finally:
        removed = prune_snapshots(stem.parent, KEEP_SNAPSHOTS)
        if removed:
            logger.debug("{}: {} older snapshot(s) removed from {}, keeping the newest {}",
                         source, removed, stem.parent, KEEP_SNAPSHOTS)


def prune_snapshots(directory: Path, keep: int) -> int:
    """Remove all but the `keep` newest snapshots (an HTML and a PNG of one stem) in
    `directory`; return how many were removed. Another process pruning at the same time,
    or a file gone meanwhile, is no error."""
    newest: dict[str, float] = {}
    try:
        for entry in os.scandir(directory):
            stem, suffix = os.path.splitext(entry.name)
            if suffix in _SNAPSHOT_SUFFIXES and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    newest[stem] = max(newest.get(stem, 0.0), entry.stat().st_mtime)
    except OSError:
        return 0
    old = sorted(newest, key=lambda s: (newest[s], s), reverse=True)[keep:]
    for stem in old:
        for suffix in _SNAPSHOT_SUFFIXES:
            with contextlib.suppress(OSError):
                (directory / (stem + suffix)).unlink()
    return len(old)
