"""Live progress: a rich display on a terminal, plain periodic lines elsewhere (cron).

On a terminal: an overall bar (completed / failed / remaining, rate, ETA) and one line per
worker (starting, generating, downloading, idle, stopped). Not on a terminal: every item
is already logged by its worker, and a summary line is logged every 30 s.
"""

from __future__ import annotations

import sys
import time

from loguru import logger
from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

# Without a terminal, how often a summary line is logged.
_PLAIN_SUMMARY_EVERY_S = 30.0


class Progress:
    """What the runner knows about the run, shown as it changes."""

    def __init__(self, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.live_mode = enabled and self.console.is_terminal and sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.failed = 0
        self.states: dict[str, str] = {}
        self._live: Live | None = None
        self._bar: RichProgress | None = None
        self._task = TaskID(0)
        self._last_plain = time.monotonic()
        self._started = time.monotonic()

    def start(self, total: int, done: int, failed: int) -> None:
        """Begin showing a run of `total` items of which some are already finished."""
        self.total, self.done, self.failed = total, done, failed
        self._started = time.monotonic()
        if not self.live_mode:
            return
        self._bar = RichProgress(
            TextColumn("[bold]videos"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._task = self._bar.add_task("videos", total=total, completed=done + failed,
                                        failed=failed)
        self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                          transient=True)
        self._live.start()

    def _render(self) -> Group:
        table = Table.grid(padding=(0, 2))
        for worker, state in sorted(self.states.items(), key=lambda kv: int(kv[0].split("-")[-1])):
            table.add_row(worker, state)
        assert self._bar is not None
        return Group(self._bar, table)

    def worker_state(
        self, worker: str, state: str, item: object = None, percent: object = None
    ) -> None:
        """A worker changed what it is doing (or how far its video is)."""
        text = f"{state} #{item}" if item is not None else state
        self.states[worker] = f"{text} {percent}%" if percent is not None else text

    def item_done(self, status: str) -> None:
        """A try at an item ended, leaving it in `status` (an ItemStatus value): one that
        goes back to the queue is still to be made."""
        if status == "COMPLETED":
            self.done += 1
        elif status == "FAILED":
            self.failed += 1

    def refresh(self) -> None:
        """Redraw (terminal) or log a summary line if it is time (no terminal)."""
        if self._live is not None and self._bar is not None:
            self._bar.update(self._task, completed=self.done + self.failed, failed=self.failed)
            self._live.update(self._render())
            return
        if time.monotonic() - self._last_plain >= _PLAIN_SUMMARY_EVERY_S:
            self._last_plain = time.monotonic()
            remaining = max(0, self.total - self.done - self.failed)
            logger.info("progress: {} completed, {} failed, {} remaining",
                        self.done, self.failed, remaining)

    def stop(self) -> None:
        """Stop the live display."""
        if self._live is not None:
            self._live.stop()
            self._live = None
