"""When a job stopped on a rate limit may run again (`run.status.cooldown_until`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from grokbatch.run.status import cooldown_until

LIMITED = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _stopped(**fields: Any) -> Any:
    return {"status": "STOPPED_RATE_LIMIT", "rateLimitedAt": LIMITED.isoformat(),
            "settings": {"cooldownSeconds": 7200}, **fields}


def test_the_site_s_own_time_at_the_stop_wins() -> None:
    told = LIMITED + 5 * HOUR
    assert cooldown_until(_stopped(cooldownUntil=told.isoformat())) == told


def test_without_it_the_cooldown_setting_runs_from_the_limit() -> None:
    assert cooldown_until(_stopped(cooldownUntil=None)) == LIMITED + 2 * HOUR
    assert cooldown_until(_stopped(cooldownUntil=None), cooldown_s=600) == (
        LIMITED + timedelta(seconds=600))


def test_a_time_the_site_told_before_this_stop_does_not_cut_its_cooldown_short() -> None:
    # An earlier run stopped on the quota until a time now past; this one met a 429 and
    # the site said no time: the rate limit's cooldown holds.
    stale = LIMITED - 3 * HOUR
    assert cooldown_until(_stopped(cooldownUntil=stale.isoformat())) == LIMITED + 2 * HOUR


def test_a_job_that_did_not_stop_on_a_limit_has_no_cooldown() -> None:
    assert cooldown_until({"status": "COMPLETED", "cooldownUntil": None}) is None


def test_an_older_file_without_settings_shows_the_cooldown_a_rerun_keeps_to() -> None:
    # It showed the moment of the limit (a cooldown of 0) while `run start` refused for
    # the default two hours.
    older = {"status": "STOPPED_RATE_LIMIT", "rateLimitedAt": LIMITED.isoformat()}
    assert cooldown_until(older) == LIMITED + 2 * HOUR


def test_status_shows_the_cooldown_in_local_time_as_run_start_does() -> None:
    from grokbatch.clock import local_time
    from grokbatch.run.status import format_status

    until = LIMITED + 2 * HOUR
    report = {"jobName": "j", "status": "STOPPED_RATE_LIMIT", "batchSize": 1,
              "counts": {"COMPLETED": 0, "FAILED": 0, "PENDING": 1, "IN_PROGRESS": 0},
              "failedByKind": {}, "rateLimitedAt": LIMITED.isoformat(),
              "cooldownUntil": until.isoformat()}
    assert f"cooldown  until {local_time(until)}, with the last run's --cooldown" in (
        format_status(report))
    report["cooldownBySite"] = True  # the site's quota said when (it was labelled --cooldown)
    assert f"cooldown  until {local_time(until)}, as the site's quota said" in (
        format_status(report))
    assert f"stopped   {local_time(LIMITED)}" in format_status(report)


def test_status_does_not_show_a_quota_the_last_run_spent_as_still_left() -> None:
    # It read "why: the quota allows no more videos now" above "quota 2 left".
    from grokbatch.clock import local_time
    from grokbatch.run.status import format_status

    report = {"jobName": "j", "status": "STOPPED_RATE_LIMIT", "batchSize": 3,
              "counts": {"COMPLETED": 2, "FAILED": 0, "PENDING": 1, "IN_PROGRESS": 0},
              "failedByKind": {}, "rateLimitedAt": None, "cooldownUntil": None,
              "quota": {"available": True, "remainingQueries": 2, "nextAvailableAt": None,
                        "checkedAt": "2026-12-02T10:00:00+00:00"},
              "quotaSpent": True}
    text = format_status(report)
    checked = local_time(datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    assert ("quota     none left after the last run's videos (2 left when it looked, at "
            f"{checked})") in text
    report["quotaSpent"] = False
    assert f"quota     2 left (checked {checked})" in format_status(report)
