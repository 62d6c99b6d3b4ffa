"""report.py: the HTML report shows what the manifest holds, whatever step it reached."""

from __future__ import annotations

from typing import Any

from grokbatch.manifest import ItemStatus, Manifest, RunStatus
from grokbatch.report import render_report


def _job(folder: Any, count: int) -> Manifest:
    return Manifest.create(folder / "manifest.json", job_name="job", account_alias="acct",
                           permalink="https://grok.com/imagine/post/abc", count=count,
                           prompt="p")


def test_an_hd_copy_asked_for_or_made_but_not_saved_gets_no_link_and_breaks_nothing(
        tmp_path: Any) -> None:
    manifest = _job(tmp_path, count=3)
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


def test_videos_made_but_not_saved_and_why_the_run_stopped_are_in_the_report(
        tmp_path: Any) -> None:
    # It read "2 completed of 2" and "No videos downloaded yet", with nothing saying that
    # the videos were made, where they are, or that a rerun fetches them.
    manifest = _job(tmp_path, count=2)
    for index in range(2):
        assert manifest.claim_next_item("worker-0") is not None
        manifest.update_item(index, "worker-0", status=ItemStatus.COMPLETED,
                             video_url=f"https://assets.grok.com/{index}.mp4",
                             error_kind="DOWNLOAD_ERROR", error="HTTP 500")
    manifest.set_status(RunStatus.FAILED, "2 video(s) made but not saved (in full): rerun "
                        "to fetch them")
    html = render_report(manifest.snapshot())
    assert "made but not saved in full (DOWNLOAD_ERROR): 2; a rerun fetches them" in html
    assert "2 video(s) made but not saved (in full): rerun to fetch them" in html
    assert html.count(">on the site</a>") == 2
    assert 'href="https://assets.grok.com/1.mp4"' in html
    assert 'title="HTTP 500">DOWNLOAD_ERROR' in html
