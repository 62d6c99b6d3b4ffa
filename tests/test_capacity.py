"""grokbatch.run.capacity: how many workers the available memory holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from grokbatch.run import capacity

PER = capacity.WORKER_MEMORY_MB


def test_workers_that_fit_never_exceed_what_was_asked_nor_drop_below_one() -> None:
    assert capacity.workers_that_fit(10, None) == 10  # unknown memory: no cap
    assert capacity.workers_that_fit(10, 100 * PER) == 10
    assert capacity.workers_that_fit(10, 3 * PER + PER // 2) == 3
    assert capacity.workers_that_fit(10, PER - 1) == 1
    assert capacity.workers_that_fit(10, 0) == 1


def test_a_replacement_starts_only_if_one_more_fits_but_a_lone_one_always_may() -> None:
    assert capacity.room_for_another(3, PER)
    assert not capacity.room_for_another(3, PER - 1)
    assert capacity.room_for_another(0, 0)
    assert capacity.room_for_another(5, None)


def test_available_memory_is_read_from_meminfo(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.delenv(capacity.MEMORY_AVAILABLE_ENV, raising=False)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8000000 kB\nMemFree:  100 kB\nMemAvailable:  2048000 kB\n")
    monkeypatch.setattr(capacity, "_MEMINFO", meminfo)
    assert capacity.available_memory_mb() == 2000
    meminfo.write_text("MemTotal:  8000000 kB\n")
    assert capacity.available_memory_mb() is None
    monkeypatch.setattr(capacity, "_MEMINFO", tmp_path / "absent")
    assert capacity.available_memory_mb() is None


def test_injected_available_memory_wins_over_meminfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(capacity.MEMORY_AVAILABLE_ENV, "700")
    assert capacity.available_memory_mb() == 700
    monkeypatch.setenv(capacity.MEMORY_AVAILABLE_ENV, "lots")
    assert capacity.available_memory_mb() is None


def test_the_quota_budget_keeps_only_as_many_workers_busy_plus_those_fetching() -> None:
    from grokbatch.run.capacity import workers_within_budget

    # One to make; one made and only to be fetched; one started by a try that died, only
    # to be looked for; one done.
    started = {"videoPostIds": ["p"], "startedAt": "2026-12-02T05:00:00+00:00"}
    items = [{"status": "PENDING"}, {"status": "PENDING", "downloadOnly": True, "videoUrl": "u"},
             {"status": "PENDING", "generation": started},
             {"status": "COMPLETED", "downloadOnly": True, "videoUrl": "v"}]
    assert workers_within_budget(5, {"items": items}) == 5  # no budget known: no limit
    assert workers_within_budget(5, {"items": items, "generationBudget": 2}) == 4
    assert workers_within_budget(5, {"items": items, "generationBudget": 0}) == 2
    assert workers_within_budget(2, {"items": items, "generationBudget": 9}) == 2


def test_a_headless_shell_worker_is_counted_lighter_than_a_full_chromium_one() -> None:
    shell = capacity.worker_memory_mb(headless_shell=True)
    assert shell == capacity.HEADLESS_SHELL_WORKER_MEMORY_MB < capacity.worker_memory_mb(False)
    assert capacity.workers_that_fit(10, 3 * shell, shell) == 3


def test_a_worker_with_a_driver_of_its_own_is_counted_heavier_than_one_sharing() -> None:
    for shell in (False, True):
        sharing = capacity.worker_memory_mb(shell)
        own = capacity.worker_memory_mb(shell, own_driver=True)
        assert own == sharing + capacity.OWN_DRIVER_MEMORY_MB > sharing
