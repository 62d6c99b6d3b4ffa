"""Debug snapshots of a real page: a directory keeps only the newest ones."""

from __future__ import annotations

import os

import pytest

from grokbatch.site import snapshot

pytestmark = pytest.mark.e2e


def test_each_snapshot_saved_leaves_only_the_newest_in_its_directory(
        browser_page, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "KEEP_SNAPSHOTS", 2)
    browser_page.set_content("<main><textarea>draft</textarea><p>a failure</p></main>")
    debug = tmp_path / "debug"
    for n in range(3):
        snapshot.save_snapshot(browser_page, debug / f"worker-0_GENERATION_ERROR_{n}",
                               "textarea")
        for path in debug.iterdir():  # the order the disk's clock gives, made explicit
            stamp = 1_700_000_000 + 10 * int(path.stem[-1])
            os.utime(path, (stamp, stamp))
    assert sorted(p.name for p in debug.iterdir()) == [
        "worker-0_GENERATION_ERROR_1.html", "worker-0_GENERATION_ERROR_1.png",
        "worker-0_GENERATION_ERROR_2.html", "worker-0_GENERATION_ERROR_2.png"]
    assert "a failure" in (debug / "worker-0_GENERATION_ERROR_2.html").read_text()
