"""Simulator options and the deterministic scenario logic.

Which generation gets which outcome depends only on the options, the global order in which
generations start and (for rate limits) how many generations a session has started. Nothing
here touches the network, so it is unit-tested without a browser.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

# Progress is streamed in 5% steps: 21 lines from 0% to 100%.
PROGRESS_STEP_PERCENT = 5
# Failures and stalls happen somewhere in this band so the page always shows some progress
# first and never looks finished.
FAILURE_PERCENT_MIN = 10
FAILURE_PERCENT_MAX = 90
# Video lengths the "Video Options" menu offers, in seconds; the first is the default.
VIDEO_LENGTHS_S = (6, 10)


class EditorKind(str, enum.Enum):
    """Which prompt editor the post page renders."""

    TEXTAREA = "textarea"
    CONTENTEDITABLE = "contenteditable"


class Outcome(str, enum.Enum):
    """How a started generation ends."""

    COMPLETED = "completed"
    MODERATED = "moderated"
    NETWORK_ERROR = "network_error"
    GENERATION_ERROR = "generation_error"
    STALL = "stall"


@dataclass(frozen=True)
class SimulatorOptions:
    """Everything that configures one simulator instance (all scenarios off by default)."""

    host: str = "127.0.0.1"
    port: int = 0
    generation_seconds: float = 3.0
    rate_limit_after: int | None = None
    moderate_every: int | None = None
    network_error_every: int | None = None
    generation_error_every: int | None = None
    stall_every: int | None = None
    download_error_every: int | None = None
    banner: bool = False
    editor: EditorKind = EditorKind.TEXTAREA
    expire_sessions: bool = False
    auto_login: bool = False
    seed: int = 0
    verbose: bool = False

    def __post_init__(self) -> None:
        """Reject values that would make the scenario meaningless."""
        if self.generation_seconds < 0:
            raise ValueError("generation_seconds must be >= 0")
        for name in (
            "rate_limit_after",
            "moderate_every",
            "network_error_every",
            "generation_error_every",
            "stall_every",
            "download_error_every",
        ):
            value = getattr(self, name)
            if value is None:
                continue
            minimum = 0 if name == "rate_limit_after" else 1
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}")


@dataclass(frozen=True)
class GenerationPlan:
    """The fate of one generation: its outcome and the percent where a failure happens."""

    index: int
    outcome: Outcome
    stop_percent: int  # 100 for completed generations

    def progress_steps(self) -> list[int]:
        """Progress values streamed before the outcome line (ends at ``stop_percent``)."""
        steps = list(range(0, self.stop_percent, PROGRESS_STEP_PERCENT))
        steps.append(self.stop_percent)
        return steps


def _matches(index: int, every: int | None) -> bool:
    """True when ``index`` (1-based) is a multiple of ``every``."""
    return every is not None and index % every == 0


class Scenario:
    """Pure decision logic for one simulator instance."""

    def __init__(self, options: SimulatorOptions) -> None:
        """Keep the options; all decisions derive from them and the counters passed in."""
        self.options = options

    def outcome_for(self, index: int) -> Outcome:
        """Outcome of the ``index``-th generation started (1-based, global across sessions).

        Precedence when several rules match: moderate > network > generation error > stall.
        """
        opts = self.options
        if _matches(index, opts.moderate_every):
            return Outcome.MODERATED
        if _matches(index, opts.network_error_every):
            return Outcome.NETWORK_ERROR
        if _matches(index, opts.generation_error_every):
            return Outcome.GENERATION_ERROR
        if _matches(index, opts.stall_every):
            return Outcome.STALL
        return Outcome.COMPLETED

    def failure_percent(self, index: int) -> int:
        """Seeded percent at which a non-completing generation stops."""
        rng = random.Random(self.options.seed * 1_000_003 + index)
        return rng.randint(FAILURE_PERCENT_MIN, FAILURE_PERCENT_MAX)

    def plan(self, index: int) -> GenerationPlan:
        """Full plan for the ``index``-th generation."""
        outcome = self.outcome_for(index)
        stop = 100 if outcome is Outcome.COMPLETED else self.failure_percent(index)
        return GenerationPlan(index=index, outcome=outcome, stop_percent=stop)

    def is_rate_limited(self, started_in_session: int) -> bool:
        """True when a session that already started this many generations is refused."""
        limit = self.options.rate_limit_after
        return limit is not None and started_in_session >= limit

    def is_download_error(self, video_request_index: int) -> bool:
        """True when the ``video_request_index``-th counted video request must fail (500)."""
        return _matches(video_request_index, self.options.download_error_every)

    def step_interval_s(self) -> float:
        """Seconds between two progress lines of a full generation."""
        return self.options.generation_seconds * PROGRESS_STEP_PERCENT / 100

    def upscale_step_interval_s(self) -> float:
        """Seconds between progress lines of an upscale (half the generation time)."""
        return self.step_interval_s() / 2


def normalize_video_length(value: object) -> int:
    """Map a client-sent ``videoLength`` to a supported length, defaulting to the first."""
    try:
        length = int(str(value))
    except ValueError:
        return VIDEO_LENGTHS_S[0]
    return length if length in VIDEO_LENGTHS_S else VIDEO_LENGTHS_S[0]
