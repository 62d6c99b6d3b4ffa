"""report.py: the HTML report shows what the manifest holds, whatever step it reached."""

from __future__ import annotations

from typing import Any

from grokbatch.manifest import Manifest
from grokbatch.report import render_report


def test_an_hd_copy_asked_for_or_made_but_not_saved_gets_no_link_and_breaks_nothing(
        tmp_path: Any) -> None:
    manifest = Manifest.create(tmp_path / "manifest.json", job_name="job",
                               account_alias="acct",
                               permalink="https://grok.com/imagine/post/abc", count=3,
                               prompt="p")
    video = {"path": "videos/{}.mp4", "bytes": 5, "sha256": "-"}
    hd_records: list[Any] = [{"askedAt": "2026-12-02T07:00:00+00:00"},
                             {"url": "https://assets.grok.com/x_hd.mp4"},
                             {"url": "https://assets.grok.com/y_hd.mp4",
                              "path": "videos/2-hd.mp4", "bytes": 5, "sha256": "-"}]
    for index, hd in enumerate(hd_records):
        assert manifest.claim_next_item("worker-0") is not None
        manifest.update_item(index, "worker-0", video_url=f"https://assets.grok.com/{index}",
                             video={**video, "path": video["path"].format(index)},  # type: ignore[typeddict-item]
                             hd_video=hd)
    html = render_report(manifest.snapshot())
    assert html.count('">HD</a>') == 1
    assert 'href="videos/2-hd.mp4"' in html
