"""drivers.py: how many shared Playwright drivers a run starts: one for every
WORKERS_PER_DRIVER workers, and no more than the machine has cores (a driver is one
Node.js thread)."""

from __future__ import annotations

import pytest

from grokbatch.drivers import WORKERS_PER_DRIVER, drivers_for


@pytest.mark.parametrize(("workers", "cores", "drivers"), [
    (0, 8, 0),
    (1, 8, 1),
    (WORKERS_PER_DRIVER, 8, 1),
    (WORKERS_PER_DRIVER + 1, 8, 2),
    (86, 16, 9),
    (86, 2, 2),  # 43 workers a driver: two threads are all two cores run at once
    (86, 1, 1),
    (5, 0, 1),  # a machine that cannot say how many cores it has: at least one
])
def test_one_driver_for_every_ten_workers_and_no_more_than_the_cores(
        workers: int, cores: int, drivers: int) -> None:
    assert drivers_for(workers, cores) == drivers
