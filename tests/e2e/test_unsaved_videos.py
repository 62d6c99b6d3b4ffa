"""A video the site made is never made again because grokbatch could not save it.

Saving is made to fail in a way that also fails for root: `videos` is a regular file, so
nothing can be created under it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import grokbatch.simulator
from tests.e2e.clihelpers import manifest, run_cli, start_args, statuses

pytestmark = pytest.mark.e2e

ASSETS = Path(grokbatch.simulator.__file__).parent / "assets"


def test_unwritable_videos_dir_keeps_urls_and_rerun_saves_without_generating(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    run_dir = home / "runs" / "job"
    run_dir.mkdir(parents=True)
    blocker = run_dir / "videos"
    blocker.write_text("not a directory")
    args = start_args(sim.post_url(), count=2, parallel=2)

    first = run_cli(home, *args)
    assert first.code == 1, first.stderr
    assert sim.stats()["generationsStarted"] == 2
    doc = manifest(home)
    for item in doc["items"]:
        assert item["videoUrl"]
        assert item["errorKind"] == "DOWNLOAD_ERROR"
        assert item.get("video") is None
    urls = [item["videoUrl"] for item in doc["items"]]

    # A rerun while saving still fails downloads again and generates nothing.
    second = run_cli(home, *args)
    assert second.code == 1, second.stderr
    assert sim.stats()["generationsStarted"] == 2
    doc = manifest(home)
    assert [item["videoUrl"] for item in doc["items"]] == urls
    assert [item["errorKind"] for item in doc["items"]] == ["DOWNLOAD_ERROR"] * 2

    blocker.unlink()
    third = run_cli(home, *args)
    assert third.code == 0, third.stderr
    assert sim.stats()["generationsStarted"] == 2
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 2
    expected = hashlib.sha256((ASSETS / "generated_video.mp4").read_bytes()).hexdigest()
    for item in doc["items"]:
        path = run_dir / item["video"]["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item["video"]["sha256"] == expected
        assert item["errorKind"] is None
    assert [item["videoUrl"] for item in doc["items"]] == urls
