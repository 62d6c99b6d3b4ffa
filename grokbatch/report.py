"""report.html: a self-contained, offline page with the job's videos and the fate of each item.

Videos are linked by relative paths (`videos/…`), so the page works wherever the run
directory is copied. No prompt text appears unless asked for with `--include-prompts`.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from grokbatch.clock import parse_iso
from grokbatch.files import write_atomically
from grokbatch.manifest import Item, ManifestDocument, not_saved_in_full
from grokbatch.paths import RunFiles

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;background:#111;color:#eee}
h1{font-size:1.4rem}table{border-collapse:collapse;margin:1rem 0}
td,th{padding:.25rem .75rem;border-bottom:1px solid #333;text-align:left}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:1rem}
figure{margin:0;background:#1c1c1c;padding:.5rem;border-radius:6px}
video{width:100%;border-radius:4px;background:#000}figcaption{font-size:.85rem;color:#aaa}
.COMPLETED{color:#6c6}.FAILED{color:#e66}.PENDING{color:#aaa}.RATE_LIMITED{color:#ec6}
"""


def _seconds(item: Item) -> str:
    if item.get("generationSeconds") is not None:
        return f"{item['generationSeconds']:.1f} s"
    start, end = parse_iso(item.get("startedAt")), parse_iso(item.get("completedAt"))
    if start and end:
        return f"{(end - start).total_seconds():.1f} s"
    return ""


def render_report(doc: ManifestDocument, *, include_prompts: bool = False) -> str:
    """The report page for the manifest `doc`."""
    esc = html.escape
    items = doc["items"]
    counts = Counter(item["status"] for item in items)
    kinds = Counter(item.get("errorKind") for item in items if item["status"] == "FAILED")
    prompts: list[str] = (
        [row["prompt"] for row in doc["prompts"]] if "prompts" in doc
        else [doc.get("prompt") or ""]
    )
    figures = []
    for item in items:
        video = item.get("video")
        if not video:
            if item["status"] == "COMPLETED" and item.get("videoUrl"):  # made, not saved
                figures.append(f'<figure><figcaption>#{item["index"]} · not saved here: '
                               f'<a href="{esc(str(item["videoUrl"]))}">on the site</a>'
                               "</figcaption></figure>")
            continue
        caption = f"#{item['index']} · {_seconds(item)}"
        if include_prompts:
            caption += f" · {esc(prompts[item.get('promptIndex') or 0])}"
        hd = item.get("hdVideo")
        hd_link = f' · <a href="{esc(hd["path"])}">HD</a>' if hd and hd.get("path") else ""
        figures.append(
            f'<figure><video controls preload="metadata" src="{esc(video["path"])}"></video>'
            f"<figcaption>{caption}{hd_link}</figcaption></figure>"
        )
    rows = []
    for item in items:
        prompt_cell = ""
        if include_prompts:
            prompt_cell = f"<td>{esc(prompts[item.get('promptIndex') or 0])}</td>"
        elif "prompts" in doc:
            prompt_cell = f"<td>prompt #{(item.get('promptIndex') or 0) + 1}</td>"
        rows.append(
            f"<tr><td>{item['index']}</td><td class=\"{esc(item['status'])}\">"
            f"{esc(item['status'])}</td><td>{item.get('attempts', 0)}</td>"
            f"<td title=\"{esc(item.get('error') or '')}\">{esc(item.get('errorKind') or '')}"
            f"</td><td>{esc(_seconds(item))}</td>"
            f"<td>{esc(item.get('workerId') or '')}</td>{prompt_cell}</tr>"
        )
    prompt_head = "<th>prompt</th>" if include_prompts or "prompts" in doc else ""
    summary = ", ".join(f"{n} {esc(s.lower())}" for s, n in sorted(counts.items()))
    kind_list = "".join(f"<li>{esc(str(k))}: {n}</li>" for k, n in sorted(kinds.items()))
    unsaved = not_saved_in_full(doc, download=False)
    if unsaved:
        kind_list += (f"<li>made but not saved in full (DOWNLOAD_ERROR): {unsaved}; a rerun "
                      "fetches them</li>")
    why = doc.get("stopReason")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>grokbatch · {esc(doc['jobName'])}</title><style>{_STYLE}</style></head>
<body>
<h1>{esc(doc['jobName'])} — {esc(doc['status'])}</h1>
<p>{summary} of {len(items)} · updated {esc(str(doc.get('updatedAt', '')))}</p>
{f'<p>{esc(str(why))}</p>' if why else ''}
{f'<ul>{kind_list}</ul>' if kind_list else ''}
<section class="gallery">{''.join(figures) or '<p>No videos made yet.</p>'}</section>
<h2>Items</h2>
<table><thead><tr><th>#</th><th>status</th><th>tries</th><th>error</th><th>time</th>
<th>worker</th>{prompt_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>
</body></html>
"""


def write_html_report(doc: ManifestDocument, run_dir: Path, *,
                      include_prompts: bool = False) -> Path:
    """Write `<run_dir>/report.html` (0600) atomically and return its path."""
    target = RunFiles(run_dir).report
    write_atomically(target, render_report(doc, include_prompts=include_prompts).encode())
    return target
