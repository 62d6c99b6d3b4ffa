"""grokbatch against a simulator faithful to today's grok.com: the 2026 layout, the captured
stream, the choice dialog, informational toasts, other UI languages, the quota, pages that
move, browser checks, and `doctor`. Real CLI, real Chromium, the simulator over HTTP."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest

from tests.e2e.clihelpers import (
    ALIAS,
    assert_prompt_absent,
    manifest,
    run_cli,
    start_args,
    statuses,
)

pytestmark = pytest.mark.e2e

SITE_2026 = ("--layout", "2026", "--stream-format", "captured", "--generation-seconds", "0.5")


def test_german_2026_site_with_choices_and_info_toasts_makes_each_video_once(home, simulator):
    sim = simulator(*SITE_2026, "--choice-every", "2", "--info-toast-every", "3",
                    "--lang", "de")
    result = run_cli(home, *start_args(sim.post_url(), count=12, parallel=3))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 12
    stats = sim.stats()
    assert stats["generationsStarted"] == 12
    assert stats["choicesShown"] == 6
    assert stats["choicesAnswered"] == 6
    assert stats["infoToastsShown"] == 4
    assert [item["attempts"] for item in doc["items"]] == [1] * 12
    assert Counter(item.get("choice") for item in doc["items"]) == {"first": 6, None: 6}
    assert len({item["videoUrl"] for item in doc["items"]}) == 12
    assert len(list((home / "runs" / "job" / "videos").glob("*.mp4"))) == 12
    assert "no generation stream seen" not in result.stderr
    assert_prompt_absent(home, result)


@pytest.mark.parametrize("lang", ["es", "fr", "pt", "ja", "zh-CN"])
def test_a_rate_limit_in_any_language_stops_the_run(home, simulator, lang):
    sim = simulator(*SITE_2026, "--lang", lang, "--rate-limit-after", "2")
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=2))
    assert result.code == 75, result.stderr
    doc = manifest(home)
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    assert Counter(statuses(doc)) == {"COMPLETED": 2, "PENDING": 2}
    assert sim.stats()["generationsCompleted"] == 2


@pytest.mark.parametrize(("choice", "kept"), [("second", 1), ("skip", 0)])
def test_the_choice_is_answered_as_asked_and_recorded(home, simulator, choice, kept):
    sim = simulator(*SITE_2026, "--choice-every", "1")
    result = run_cli(home, *start_args(sim.post_url(), "--choice", choice, count=2, parallel=1))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED"] * 2
    assert [item["choice"] for item in doc["items"]] == [choice] * 2
    stats = sim.stats()
    assert stats["generationsStarted"] == 2
    assert stats["choicesAnswered"] == 2
    assert stats["choicesSkipped"] == (2 if choice == "skip" else 0)
    del kept  # which of the two the site keeps is the site's; the choice is what we assert


def test_no_quota_left_exits_75_at_once_with_the_sites_own_cooldown(home, simulator):
    sim = simulator(*SITE_2026, "--quota", "0")
    result = run_cli(home, *start_args(sim.post_url(), count=3, parallel=2))
    assert result.code == 75, result.stderr
    stats = sim.stats()
    assert stats["generationsStarted"] == 0
    doc = manifest(home)
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    told = datetime.fromisoformat(stats["quotaNextAvailableAt"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(doc["cooldownUntil"]) == told
    assert doc["lastQuota"]["available"] is False
    calls = stats["quotaCalls"]

    rerun = run_cli(home, *start_args(sim.post_url(), count=3, parallel=2))
    assert rerun.code == 75
    assert "cooldown" in rerun.stderr
    assert sim.stats()["quotaCalls"] == calls  # no browser looked at the site again
    status = json.loads(run_cli(home, "run", "status", "job", "--json").stdout)
    assert status["quota"]["available"] is False
    assert datetime.fromisoformat(status["cooldownUntil"]) == told


def test_a_quota_smaller_than_the_batch_starts_only_what_it_allows(home, simulator):
    sim = simulator(*SITE_2026, "--quota", "3")
    result = run_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    assert result.code == 75, result.stderr
    doc = manifest(home)
    assert Counter(statuses(doc)) == {"COMPLETED": 3, "PENDING": 3}
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    stats = sim.stats()
    assert stats["generationsStarted"] == 3
    assert stats["rateLimitedAttempts"] == 0
    assert doc["generationBudget"] == 0

    # No 429 came, so no rate limit's cooldown holds back the rerun: it looks at the page
    # at once, finds the quota still spent, and stops with the site's own time for it.
    spent = run_cli(home, *start_args(sim.post_url(), count=6, parallel=2))
    assert spent.code == 75, spent.stderr
    assert "video quota is used up until" in spent.stderr
    assert sim.stats()["generationsStarted"] == 3

    # A new quota window: the rerun looks at the page again, whatever budget the last run
    # left in the manifest, and makes the rest.
    sim.reset()
    rerun = run_cli(home, *start_args(sim.post_url(), "--cooldown", "0", count=6, parallel=2))
    assert rerun.code == 0, rerun.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 6
    assert sim.stats()["generationsStarted"] == 3


def test_a_moderated_video_in_the_captured_stream_is_moderated_never_completed(home, simulator):
    sim = simulator(*SITE_2026, "--moderate-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=1))
    assert result.code == 1, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED", "FAILED"]
    moderated = doc["items"][1]
    assert moderated["errorKind"] == "CONTENT_MODERATED"
    assert moderated["attempts"] == 1  # never retried
    assert not moderated.get("videoUrl")
    assert sim.stats()["generationsStarted"] == 2


def test_after_the_page_moves_to_the_video_post_the_next_video_starts_from_the_image(
        home, simulator):
    sim = simulator(*SITE_2026, "--navigate-to-video-post")
    result = run_cli(home, *start_args(sim.post_url("abc123"), count=4, parallel=1))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 4
    assert sim.stats()["generationsByParentPost"] == {"abc123": 4}


def test_a_browser_check_page_stops_the_run_with_exit_3_and_says_how_to_pass_it(
        home, simulator):
    sim = simulator(*SITE_2026, "--challenge")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=2))
    assert result.code == 3, result.stderr
    assert f"grokbatch accounts add {ALIAS}" in result.stderr
    assert sim.stats()["generationsStarted"] == 0
    assert manifest(home)["status"] == "STOPPED_AUTH"
    debug = home / "runs" / "job" / "debug"
    assert {p.suffix for p in debug.glob("*_AUTH_REQUIRED_*")} == {".html", ".png"}


def test_adding_an_account_headless_behind_a_browser_check_says_so_at_once(
        tmp_path, simulator):
    # Before, it waited out its whole --timeout and then blamed the sign-in.
    home = tmp_path / "fresh-home"
    sim = simulator(*SITE_2026, "--challenge")
    result = run_cli(home, "accounts", "add", "checked", "--url", f"{sim.url}/imagine",
                     "--headless", "--timeout", "600")
    assert result.code == 3, result.stderr
    assert "browser check" in result.stderr and "without --headless" in result.stderr
    assert not (home / "accounts" / "checked").exists()


def test_a_language_without_words_is_a_usage_error_before_any_generation(home, simulator):
    sim = simulator(*SITE_2026, "--html-lang", "tlh")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=2))
    assert result.code == 2, result.stderr
    assert "'tlh'" in result.stderr and "--selectors" in result.stderr
    assert sim.stats()["generationsStarted"] == 0


def test_a_selector_playwright_cannot_read_is_a_usage_error_before_any_generation(
        home, simulator, tmp_path):
    # It failed every try as "page did not respond: ... Unexpected token", exit 1 and
    # "a rerun retries 2", at every rerun.
    sim = simulator(*SITE_2026)
    selectors = tmp_path / "selectors.json"
    selectors.write_text(json.dumps({"prompt_editor": "[[[", "video": "video[src]"}))
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(selectors),
                                       count=2, parallel=2))
    assert result.code == 2, result.stderr
    assert "'prompt_editor': Unexpected token" in result.stderr
    assert "'video'" not in result.stderr  # the other one is fine
    assert sim.stats()["generationsStarted"] == 0
    doc = manifest(home)  # ended as when a worker finds a setting the page cannot meet
    assert doc["status"] == "FAILED" and "Playwright cannot read" in doc["stopReason"]
    assert statuses(doc) == ["PENDING"] * 2  # no attempt spent: a corrected rerun makes them
    doctor = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url(),
                     "--selectors", str(selectors), "--json")
    assert doctor.code == 1, doctor.stderr
    assert any("'prompt_editor': Unexpected token" in problem
               for problem in json.loads(doctor.stdout)["problems"])
    assert_prompt_absent(home, result)


def test_words_for_a_new_language_from_a_selectors_file_make_it_work(home, simulator, tmp_path):
    sim = simulator(*SITE_2026, "--html-lang", "tlh")
    words = tmp_path / "words.json"
    words.write_text(json.dumps({"words": {"tlh": {"skip": ["Skip"]}}}))
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(words), count=2,
                                       parallel=1))
    assert result.code == 0, result.stderr
    assert sim.stats()["generationsCompleted"] == 2


@pytest.mark.parametrize("options_ui", ["menu", "radiogroup"])
@pytest.mark.parametrize(("asked", "counted"), [
    (("--resolution", "720p"), {"generationsByResolution": {"480p": 0, "720p": 2}}),
    # "max" is the longest length, never the last item: the 2026 options hold the mode
    # (Normal, Fun, Spicy) beside the lengths. A typed prompt makes the mode "custom".
    (("--video-duration", "max"), {"generationsByLength": {"10": 2},
                                   "generationsByMode": {"custom": 2}}),
], ids=["resolution", "longest-length"])
def test_an_option_is_chosen_in_whichever_options_ui_the_page_has(
        home, simulator, options_ui, asked, counted):
    sim = simulator(*SITE_2026, "--options-ui", options_ui)
    result = run_cli(home, *start_args(sim.post_url(), *asked, count=2, parallel=1))
    assert result.code == 0, result.stderr
    stats = sim.stats()
    assert {key: stats[key] for key in counted} == counted


@pytest.mark.parametrize(("layout", "asked", "said"), [
    (SITE_2026, ("--video-duration", "15s"), "offer no video length 15s (they offer 6s, 10s)"),
    (("--generation-seconds", "0.5"), ("--resolution", "720p"),
     "offer no resolution to choose from: leave out --resolution"),
])
def test_an_option_the_site_does_not_offer_stops_the_run_before_any_video_starts(
        home, simulator, layout, asked, said):
    sim = simulator(*layout)
    result = run_cli(home, *start_args(sim.post_url(), *asked, count=3, parallel=2))
    assert result.code == 2, result.stderr
    assert said in result.stderr
    assert sim.stats()["generationsStarted"] == 0
    doc = manifest(home)
    assert statuses(doc) == ["PENDING"] * 3
    assert [item["attempts"] for item in doc["items"]] == [0] * 3
    # Each worker stops by itself, releasing what it holds: none is killed mid-write.
    assert "abandoned" not in json.dumps(doc)
    run_dir = home / "runs" / "job"
    assert list(run_dir.glob(".*.tmp")) == []
    shots = {p.stem: {q.suffix for q in run_dir.glob(f"debug/{p.stem}.*")}
             for p in run_dir.glob("debug/*_STOPPED_*.html")}
    assert shots and all(kinds == {".html", ".png"} for kinds in shots.values())
    assert_prompt_absent(home, result)


def test_doctor_on_a_good_page_finds_every_selector(home, simulator):
    sim = simulator(*SITE_2026, "--lang", "ja")
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url(), "--json")
    assert result.code == 0, result.stdout + result.stderr
    assert "DEBUG" not in result.stderr  # no developer's log line without GROKBATCH_DEBUG
    report = json.loads(result.stdout)
    assert report["signedIn"] is True and report["ok"] is True
    assert report["language"] == "ja" and report["wordsLanguage"] == "ja"
    assert report["selectors"] and all(report["selectors"].values())
    assert report["generateControl"]
    assert report["quota"]["available"] is True
    assert report["browser"]["version"]
    assert report["home"]["writable"] is True
    assert report["sharedDriver"] == {"ok": True, "error": None}
    saved = [p for p in report["saved"] if p.endswith(".html")]
    assert saved and (home / "doctor").is_dir()
    assert sim.stats()["generationsStarted"] == 0


def test_doctor_looks_with_the_headless_shell_signed_in_on_the_same_profile(
        home, simulator, headless_shell):
    sim = simulator(*SITE_2026)
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url(),
                     "--headless-shell", "--json")
    assert result.code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    # The account's cookies, written by Chromium at sign-in, are read by the shell too.
    assert report["signedIn"] is True and report["ok"] is True
    assert report["browser"]["path"] == headless_shell
    assert report["browser"]["version"]  # the shell answers --version as Chromium does


def test_doctor_reports_a_wrong_selector_missing(home, simulator, tmp_path):
    sim = simulator(*SITE_2026)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"video_options_button": "button#no-such-options"}))
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url(),
                     "--selectors", str(wrong), "--json")
    assert result.code == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["selectors"]["video_options_button"] is False
    assert report["selectors"]["prompt_editor"] is True
    assert any("video_options_button" in p for p in report["problems"])


def test_doctor_signed_out_exits_3(home, simulator):
    sim = simulator(*SITE_2026, "--expire-sessions")
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url())
    assert result.code == 3, result.stdout + result.stderr
    assert "signed in   no" in result.stdout


def test_an_announcement_overlay_is_closed_by_its_close_control_in_any_language(home, simulator):
    sim = simulator(*SITE_2026, "--banner", "--lang", "fr")
    result = run_cli(home, *start_args(sim.post_url(), count=2, parallel=1))
    assert result.code == 0, result.stderr
    assert statuses(manifest(home)) == ["COMPLETED"] * 2


@pytest.mark.parametrize(
    "answer", ["missing", "error", "unknown", pytest.param("hang", marks=pytest.mark.slow)])
def test_a_quota_endpoint_that_fails_leaves_the_page_to_say_the_quota_is_spent(
        home, simulator, answer):
    # The site keeps its quota, but quota_info answers 404, 500, a shape never seen, or
    # nothing: the run goes on without a budget, and the site's own 429 stops it.
    sim = simulator(*SITE_2026, "--quota", "2", "--quota-info", answer)
    result = run_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    assert result.code == 75, result.stderr
    doc = manifest(home)
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    assert Counter(statuses(doc)) == {"COMPLETED": 2, "PENDING": 1}
    assert doc["generationBudget"] is None and doc.get("lastQuota") is None
    assert [item["attempts"] for item in doc["items"]] == [1, 1, 0]
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["rateLimitedAttempts"]) == (2, 1)
    assert stats["quotaCalls"] >= 2  # before the run, and to confirm the limit
    assert doc["rateLimitedAt"]
    why = {"missing": "HTTP 404", "error": "HTTP 500", "hang": "no answer within 10 s",
           "unknown": "an answer in a shape grokbatch does not know"}[answer]
    assert f"the site's video quota could not be read ({why})" in result.stderr
    assert_prompt_absent(home, result)


def test_doctor_says_why_the_quota_is_unknown(home, simulator):
    sim = simulator(*SITE_2026, "--quota-info", "missing")
    args = ("doctor", "--account", ALIAS, "--permalink", sim.post_url())
    report = json.loads(run_cli(home, *args, "--json").stdout)
    assert report["ok"] is True  # a run can go on: the site's own limit stops it
    assert (report["quota"], report["quotaUnknown"]) == (None, "HTTP 404")
    text = run_cli(home, *args)
    assert text.code == 0, text.stderr
    assert "quota       unknown (HTTP 404: a run stops on the site's own limit)" in text.stdout


def _stream_moved(tmp_path):
    """A selectors file naming a stream path the site does not use: as if the site moved
    its generation stream where grokbatch does not look, leaving it the page alone."""
    path = tmp_path / "stream-moved.json"
    path.write_text(json.dumps({"stream_url_pattern": "/rest/app-chat/v9/elsewhere"}))
    return path


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_with_the_stream_unseen_the_pages_limit_message_stops_the_run(
        home, simulator, tmp_path, lang):
    # A limit the site's quota does not show, said only by the page's error toast: the run
    # stops for a rerun; the items clicked against it spent no attempt.
    sim = simulator(*SITE_2026, "--lang", lang, "--rate-limit-after", "2")
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(_stream_moved(tmp_path)),
                                       count=4, parallel=1))
    assert result.code == 75, result.stderr
    doc = manifest(home)
    assert doc["status"] == "STOPPED_RATE_LIMIT"
    assert statuses(doc) == ["COMPLETED", "COMPLETED", "PENDING", "PENDING"]
    assert [item["attempts"] for item in doc["items"]] == [1, 1, 0, 0]
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["rateLimitedAttempts"]) == (2, 1)
    assert "the page says a limit is reached, though the site's quota says" in result.stderr


def test_with_the_stream_unseen_the_page_alone_tells_made_moderated_and_failed_videos(
        home, simulator, tmp_path):
    sim = simulator(*SITE_2026, "--lang", "de", "--moderate-every", "3",
                    "--generation-error-every", "4", "--choice-every", "2",
                    "--info-toast-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(_stream_moved(tmp_path)),
                                       count=4, parallel=1))
    assert result.code == 1, result.stderr  # the moderated video failed for good
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    assert [item["attempts"] for item in doc["items"]] == [1, 1, 1, 2]
    assert [h["errorKind"] for item in doc["items"] for h in item.get("history", [])] == [
        "CONTENT_MODERATED", "GENERATION_ERROR"]  # neither taken for a limit, nor a toast
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["choicesAnswered"], stats["infoToastsShown"]) == (
        5, 1, 2)
    assert [item.get("choice") for item in doc["items"]] == [None, "first", None, None]
    made = [item["videoUrl"] for item in doc["items"] if item["status"] == "COMPLETED"]
    assert len(set(made)) == 3
    unseen = "worker-0: no generation stream seen for video #0: the site may have moved it"
    assert result.stderr.count(unseen) == 1  # once, not for every video
    assert_prompt_absent(home, result)


def test_with_the_stream_unseen_limit_words_after_the_video_began_are_no_limit(
        home, simulator, tmp_path):
    # Words that say "limit" in an error toast of a video that had progressed: not a limit
    # (the quota cannot say otherwise here: it is unknown). The try failed; the next made it.
    selectors = tmp_path / "limit-words.json"
    selectors.write_text(json.dumps({
        "stream_url_pattern": "/rest/app-chat/v9/elsewhere",
        "words": {"en": {"rate_limit": ["went wrong"]}}}))  # "Something went wrong"
    # Slow enough that the page shows the percent the video reached before its error.
    sim = simulator(*SITE_2026, "--generation-seconds", "3", "--generation-error-every", "2",
                    "--quota-info", "missing")
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(selectors),
                                       count=2, parallel=1))
    assert result.code == 0, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED", "COMPLETED"]
    assert [h["errorKind"] for item in doc["items"] for h in item.get("history", [])] == [
        "GENERATION_ERROR"]
    assert (sim.stats()["generationsStarted"], sim.stats()["rateLimitedAttempts"]) == (3, 0)


def test_an_overlay_grokbatch_cannot_close_spends_no_attempt_and_is_named(
        home, simulator, tmp_path):
    # The site's announcement changed beyond the selectors: it covers the generate control.
    # Playwright never clicks it, so no video started and no attempt is spent; three such
    # tries in a row and the worker leaves the rest for a rerun, saying what covers it.
    selectors = tmp_path / "banner-moved.json"
    selectors.write_text(json.dumps({"banner": "#nobanner", "banner_dismiss": "#nobannerbtn"}))
    short_waits = tmp_path / "short-waits.json"
    short_waits.write_text(json.dumps({"elementTimeout": "2s"}))
    sim = simulator(*SITE_2026, "--banner")
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(selectors),
                                       "--config", str(short_waits), count=2, parallel=1))
    assert result.code == 1, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["PENDING", "PENDING"]
    assert [item["attempts"] for item in doc["items"]] == [0, 0]
    assert sim.stats()["generationsStarted"] == 0
    assert "3 tries in a row could not start a video" in result.stderr
    errors = {h["error"] for item in doc["items"] for h in item.get("history", [])}
    assert len(errors) == 1
    assert errors.pop().startswith("the generate control is covered by <div")
    assert "was not started (GENERATION_ERROR: the generate control is covered by" in (
        result.stderr)


def test_a_stream_framed_as_server_sent_events_is_read_as_before(home, simulator):
    sim = simulator(*SITE_2026, "--stream-format", "sse", "--moderate-every", "3",
                    "--choice-every", "2")
    result = run_cli(home, *start_args(sim.post_url(), count=3, parallel=1))
    assert result.code == 1, result.stderr  # the moderated one failed for good
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED", "COMPLETED", "FAILED"]
    assert doc["items"][2]["history"][0]["errorKind"] == "CONTENT_MODERATED"
    assert sim.stats()["generationsStarted"] == 3
    assert "generation stream" not in result.stderr  # none unseen, none not understood


def test_a_stream_in_words_grokbatch_lacks_leaves_the_page_to_tell_each_video(home, simulator):
    # The site renamed the fields grokbatch reads: each made video was taken for a stream
    # that ended without one, and made three times, none kept. The page shows it.
    sim = simulator(*SITE_2026, "--stream-format", "renamed", "--moderate-every", "3",
                    "--choice-every", "2", "--lang", "de")
    result = run_cli(home, *start_args(sim.post_url(), count=4, parallel=1))
    assert result.code == 1, result.stderr
    doc = manifest(home)
    assert statuses(doc) == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    assert [item["attempts"] for item in doc["items"]] == [1, 1, 1, 1]
    assert doc["items"][2]["history"][0]["errorKind"] == "CONTENT_MODERATED"  # its toast
    stats = sim.stats()
    assert (stats["generationsStarted"], stats["choicesShown"], stats["choicesAnswered"]) == (
        4, 1, 1)
    assert len({item["videoUrl"] for item in doc["items"] if item.get("videoUrl")}) == 3
    misread = "worker-0: the generation stream of video #0 said nothing grokbatch understands"
    assert result.stderr.count(misread) == 1
    assert_prompt_absent(home, result)


def test_with_the_stream_unseen_a_try_that_times_out_says_why_it_cannot_be_looked_for(
        home, simulator, tmp_path):
    sim = simulator(*SITE_2026, "--stall-every", "1")
    result = run_cli(home, *start_args(sim.post_url(), "--selectors", str(_stream_moved(tmp_path)),
                                       "--timeout", "3", "--max-attempts", "1",
                                       count=1, parallel=1))
    assert result.code == 1, result.stderr
    assert manifest(home)["items"][0]["history"][0]["errorKind"] == "TIMEOUT"
    assert "worker-0: no generation stream seen for video #0: the site may have moved it" in (
        result.stderr)


def test_doctor_closes_the_announcement_as_a_run_does_and_names_one_it_cannot_close(
        home, simulator, tmp_path):
    sim = simulator(*SITE_2026, "--banner")
    args = ("doctor", "--account", ALIAS, "--permalink", sim.post_url(), "--json")
    closed = json.loads(run_cli(home, *args).stdout)
    assert closed["ok"] is True, closed["problems"]
    assert closed["generateControlCoveredBy"] is None
    assert closed["generateControlLabel"] == "Make video"

    moved = tmp_path / "banner-moved.json"
    moved.write_text(json.dumps({"banner": "#nobanner", "banner_dismiss": "#nobannerbtn"}))
    result = run_cli(home, *args, "--selectors", str(moved))
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    covered = report["generateControlCoveredBy"]
    assert covered and covered.startswith("div.")
    assert report["problems"] == [
        f"the generate control is covered by {covered}: an overlay grokbatch does not close "
        "(the selectors banner, banner_dismiss; see the screenshot)"]
    assert sim.stats()["generationsStarted"] == 0


def test_doctor_says_a_generate_control_found_by_its_place_is_a_guess(home, simulator, tmp_path):
    # Neither its selector nor the page's words find the control: the button beside the
    # editor is taken. doctor shows its label and says it is a guess.
    guess = tmp_path / "control-renamed.json"
    guess.write_text(json.dumps({
        "make_video_button": "#none", "redo_button": "#none", "editor_submit_button": "#none",
        "words": {"en": {"make_video": ["zzz"], "redo": ["zzz"]}}}))
    sim = simulator(*SITE_2026)
    result = run_cli(home, "doctor", "--account", ALIAS, "--permalink", sim.post_url(),
                     "--selectors", str(guess))
    assert result.code == 0, result.stdout + result.stderr
    assert ("found (beside the editor, 'Make video'; a guess by its place: is that the "
            "control that makes a video?)") in result.stdout
