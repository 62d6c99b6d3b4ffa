"""What people keep: downloaded and verified files, upscale/delete/duration through the
site's menus, prompts files, `run status`/`run list`, and the HTML report."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

import grokbatch.simulator
from tests.e2e.clihelpers import (
    ALIAS,
    SECRET_PROMPT,
    assert_prompt_absent,
    manifest,
    run_cli,
    start_args,
    statuses,
)

pytestmark = pytest.mark.e2e

ASSETS = Path(grokbatch.simulator.__file__).parent / "assets"



def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_downloads_are_verified_files_matching_the_served_video(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    result = run_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    assert result.code == 0, result.stderr
    expected = _sha256(ASSETS / "generated_video.mp4")
    run_dir = home / "runs" / "job"
    for item in manifest(home)["items"]:
        video = item["video"]
        path = run_dir / video["path"]
        assert path.name == f"job-{item['index']:03d}.mp4"
        assert path.read_bytes()[4:8] == b"ftyp"
        assert video["sha256"] == _sha256(path) == expected
        assert video["bytes"] == path.stat().st_size
    assert not list((run_dir / "videos").glob(".*"))  # no temp files left


def test_failed_downloads_are_retried(home, simulator):
    sim = simulator("--generation-seconds", "0.3", "--download-error-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=1))
    assert result.code == 0, result.stderr
    assert all(item["video"] for item in manifest(home)["items"])
    assert sim.stats()["downloadErrors"] >= 2


def test_missing_file_is_fetched_again_on_rerun_without_generating(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    args = start_args(sim.post_url(), count=3, parallel=1)
    assert run_cli(home, *args).code == 0
    victim = home / "runs" / "job" / "videos" / "job-001.mp4"
    victim.unlink()
    started = sim.stats()["generationsStarted"]
    result = run_cli(home, *args)
    assert result.code == 0, result.stderr
    assert victim.is_file()
    assert sim.stats()["generationsStarted"] == started
    assert statuses(manifest(home)) == ["COMPLETED"] * 3


def test_upscale_delete_and_duration_go_through_the_site_menus(home, simulator):
    sim = simulator("--generation-seconds", "0.3")
    result = run_cli(home, *start_args(sim.post_url(), "--upscale", "--delete",
                                       "--video-duration", "10s", count=2, parallel=1))
    assert result.code == 0, result.stderr
    run_dir = home / "runs" / "job"
    for item in manifest(home)["items"]:
        assert (run_dir / item["video"]["path"]).is_file()
        hd = item["hdVideo"]
        assert (run_dir / hd["path"]).name == f"job-{item['index']:03d}-hd.mp4"
        assert _sha256(run_dir / hd["path"]) == _sha256(ASSETS / "generated_video_hd.mp4")
        assert item["deleted"] is True
    stats = sim.stats()
    assert stats["upscales"] == 2
    assert stats["deletes"] == 2
    assert stats["generationsByLength"].get("10") == 2


def test_prompts_file_rows_become_items_and_are_never_logged(home, simulator, tmp_path):
    sim = simulator("--generation-seconds", "0.3")
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(f"prompt,count\n{SECRET_PROMPT},1\nsecond-secret-prompt-x,2\n"
                       "third-secret-prompt-y,\n")
    args = ["run", "start", "--account", ALIAS, "--permalink", sim.post_url(),
            "--prompts-file", str(prompts), "--count", "1", "--parallel", "2",
            "--job-name", "job"]
    result = run_cli(home, *args)
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert [i["promptIndex"] for i in doc["items"]] == [0, 1, 1, 2]
    assert statuses(doc) == ["COMPLETED"] * 4
    assert_prompt_absent(home, result)
    log = (home / "runs" / "job" / "run.log").read_text()
    for text in ("second-secret-prompt-x", "third-secret-prompt-y"):
        assert text not in result.stderr + result.stdout + log
    assert "prompt #2" in log


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("text,count\nhello,1\n", "no 'prompt' column"),
        ("prompt,count\nfine,1\n ,1\n", "row 3"),
        ("prompt,count\nfine,zero\n", "row 2"),
    ],
)
def test_bad_prompts_file_exits_2_naming_the_row(home, tmp_path, content, expected):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(content)
    result = run_cli(home, "run", "start", "--account", ALIAS, "--permalink",
                     "http://127.0.0.1:9/imagine/post/abc", "--prompts-file", str(prompts))
    assert result.code == 2
    assert expected in result.stderr
    assert "fine" not in result.stderr
    assert not (home / "runs").exists() or not list((home / "runs").iterdir())


def test_status_and_list_json_match_the_manifest(home, simulator):
    sim = simulator("--generation-seconds", "0.3", "--moderate-every", "2")
    assert run_cli(home, *start_args(sim.post_url(), count=4, parallel=1)).code == 1
    doc = manifest(home)
    status = json.loads(run_cli(home, "run", "status", "job", "--json").stdout)
    assert status["status"] == doc["status"]
    assert status["counts"] == dict(Counter(statuses(doc))) | {
        s: 0 for s in ("PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "RATE_LIMITED")
        if s not in statuses(doc)}
    assert status["failedByKind"] == {"CONTENT_MODERATED": 2}
    assert [i["status"] for i in status["items"]] == statuses(doc)
    assert SECRET_PROMPT not in json.dumps(status)
    listing = json.loads(run_cli(home, "run", "list", "--json").stdout)
    assert [(r["jobName"], r["completedCount"], r["failedCount"]) for r in listing] == [
        ("job", 2, 2)]
    text = run_cli(home, "run", "status", "job", "--items")
    assert text.code == 0 and "CONTENT_MODERATED" in text.stdout


def test_report_gallery_videos_play_in_chromium(home, simulator, browser):
    sim = simulator("--generation-seconds", "0.3")
    assert run_cli(home, *start_args(sim.post_url(), count=3, parallel=1)).code == 0
    report = home / "runs" / "job" / "report.html"
    assert report.is_file()  # written at the end of every run
    result = run_cli(home, "run", "report", "job")
    assert result.code == 0
    assert SECRET_PROMPT not in report.read_text()
    page = browser.new_page()
    try:
        page.goto(report.as_uri())
        assert page.locator("video").count() == 3
        page.wait_for_function(
            "() => [...document.querySelectorAll('video')]"
            ".every(v => v.readyState >= 1 && v.duration > 0)",
            timeout=30_000,
        )
    finally:
        page.close()
    with_prompts = run_cli(home, "run", "report", "job", "--include-prompts")
    assert with_prompts.code == 0
    assert SECRET_PROMPT in report.read_text()


def test_videos_and_debug_snapshots_are_private_to_the_user(home, simulator):
    """videos/ and debug/ are 0700 and every file in them 0600 (they show what you made)."""
    sim = simulator("--generation-seconds", "0.3", "--moderate-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=1))
    assert result.code == 1, result.stderr  # one video made, one moderated
    run_dir = home / "runs" / "job"
    for name in ("videos", "debug"):
        folder = run_dir / name
        assert folder.stat().st_mode & 0o777 == 0o700, name
        files = list(folder.iterdir())
        assert files, name
        for path in files:
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert {p.suffix for p in (run_dir / "debug").iterdir()} == {".png", ".html"}


def test_doctor_snapshots_are_private_to_the_user(home, simulator):
    sim = simulator()
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url())
    assert result.code == 0, result.stdout + result.stderr
    folder = home / "doctor"
    assert folder.stat().st_mode & 0o777 == 0o700
    files = list(folder.iterdir())
    assert {p.suffix for p in files} == {".png", ".html"}
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path
