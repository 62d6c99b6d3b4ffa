"""Simulator options and the deterministic scenario logic.

Which generation gets which outcome depends only on the options, the global order in which
generations start and (for rate limits) how many generations a session has started. Nothing
here touches the network, so it is unit-tested without a browser.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from grokbatch.simulator.i18n import SUPPORTED_LANGS, is_language_tag

# Progress is streamed in 5% steps: 21 lines from 0% to 100%.
PROGRESS_STEP_PERCENT = 5
# Failures and stalls happen somewhere in this band so the page always shows some progress
# first and never looks finished.
FAILURE_PERCENT_MIN = 10
FAILURE_PERCENT_MAX = 90
# Video lengths the "Video Options" menu offers, in seconds; the first is the default.
VIDEO_LENGTHS_S = (6, 10)
# Resolutions the 2026 page offers; the first is the default (what free accounts get).
RESOLUTIONS = ("480p", "720p")
# Progress values seen in captured streams of the real site (real-site-notes.md).
CAPTURED_PROGRESS = (1, 5, 15, 24, 33, 44, 54, 63, 72, 95, 100)
# The quota window seen on the real site: 18 hours.
DEFAULT_QUOTA_WINDOW_S = 64800
# The largest TCP port number.
_MAX_PORT = 65535


# The longest generation a scenario may ask for: an hour (inf or NaN would never end).
_MAX_GENERATION_S = 3600.0
# The largest size the generated videos may be padded to (`video_mb`): real clips are a
# few MB; the server keeps one padded copy of each (SD and HD) in memory.
MAX_VIDEO_MB = 64.0
# One MB of `video_mb`.
VIDEO_MB_BYTES = 1024 * 1024


class EditorKind(str, enum.Enum):
    """Which prompt editor the post page renders."""

    TEXTAREA = "textarea"
    CONTENTEDITABLE = "contenteditable"


class Layout(str, enum.Enum):
    """Which generation of the site's markup the pages follow."""

    CLASSIC = "classic"
    Y2026 = "2026"


class StreamFormat(str, enum.Enum):
    """The shape of the generation stream."""

    SIMPLE = "simple"
    CAPTURED = "captured"
    # As the site might change it: the captured objects framed as server-sent events
    # (`data: {...}`), or with the fields grokbatch reads renamed.
    SSE = "sse"
    RENAMED = "renamed"


class OptionsUi(str, enum.Enum):
    """How the 2026 page lets the user pick video length and resolution."""

    MENU = "menu"
    RADIOGROUP = "radiogroup"


class QuotaInfo(str, enum.Enum):
    """How ``quota_info`` answers: as the real site does, or as it might after a change."""

    OK = "ok"  # the site's shape, with the session's quota
    MISSING = "missing"  # 404: the endpoint moved or went away
    ERROR = "error"  # 500 with a JSON error
    UNKNOWN = "unknown"  # 200, in a shape grokbatch does not know
    HANG = "hang"  # no answer: the connection is held open until the client gives up


class ScriptedOutcome(str, enum.Enum):
    """How a started generation ends, as the scenario scripts it (not grokbatch's Outcome)."""

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
    layout: Layout = Layout.CLASSIC
    stream_format: StreamFormat = StreamFormat.SIMPLE
    options_ui: OptionsUi = OptionsUi.MENU
    choice_every: int | None = None
    info_toast_every: int | None = None
    lang: str = "en"
    html_lang: str | None = None
    quota: int | None = None
    quota_window_s: int = DEFAULT_QUOTA_WINDOW_S
    quota_info: QuotaInfo = QuotaInfo.OK
    navigate_to_video_post: bool = False
    challenge: bool = False
    video_mb: float = 0.0  # pad each generated video to about this many MB (0: as shipped)
    upscale_seconds: float | None = None  # how long an upscale takes (None: half a generation)

    def __post_init__(self) -> None:
        """Reject values that would make the scenario meaningless (ValueError, one line)."""
        if not 0 <= self.port <= _MAX_PORT:
            raise ValueError(f"port must be between 0 and {_MAX_PORT}, not {self.port}")
        if not self.host.strip():
            raise ValueError("host must not be empty")
        if not 0 <= self.generation_seconds <= _MAX_GENERATION_S:  # also refuses NaN
            raise ValueError(f"generation_seconds must be between 0 and {_MAX_GENERATION_S:.0f}")
        if self.upscale_seconds is not None and not (
                0 <= self.upscale_seconds <= _MAX_GENERATION_S):  # also refuses NaN
            raise ValueError(f"upscale_seconds must be between 0 and {_MAX_GENERATION_S:.0f}")
        if not 0 <= self.video_mb <= MAX_VIDEO_MB:  # also refuses NaN
            raise ValueError(
                f"video_mb must be between 0 and {MAX_VIDEO_MB:.0f} (MB), not {self.video_mb:g}"
            )
        for name in (
            "rate_limit_after",
            "moderate_every",
            "network_error_every",
            "generation_error_every",
            "stall_every",
            "download_error_every",
            "choice_every",
            "info_toast_every",
            "quota",
        ):
            value = getattr(self, name)
            if value is None:
                continue
            minimum = 0 if name in ("rate_limit_after", "quota") else 1
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}")
        if self.quota_window_s < 1:
            raise ValueError("quota_window_s must be >= 1")
        self._check_language()
        self._check_layout_features()

    def _check_language(self) -> None:
        if self.lang not in SUPPORTED_LANGS:
            raise ValueError(
                f"lang {self.lang!r} is not supported; supported: {', '.join(SUPPORTED_LANGS)}"
            )
        if self.html_lang is not None and not is_language_tag(self.html_lang):
            raise ValueError(f"html_lang {self.html_lang!r} is not a language tag like 'de-AT'")

    def _check_layout_features(self) -> None:
        """Features that only the 2026 page has are refused with the classic layout."""
        if self.layout is Layout.Y2026:
            return
        if self.choice_every is not None:
            raise ValueError("choice_every needs layout 2026 (the classic page has no dialog)")
        if self.options_ui is not OptionsUi.MENU:
            raise ValueError("options_ui radiogroup needs layout 2026")
        if self.lang != "en":
            raise ValueError("lang other than 'en' needs layout 2026 (the classic page is English)")
        if self.stream_format in (StreamFormat.SSE, StreamFormat.RENAMED):
            raise ValueError(f"stream_format {self.stream_format.value} needs layout 2026 (the "
                             "classic page reads only the simple and captured streams)")

    @property
    def page_lang(self) -> str:
        """The ``<html lang>`` attribute: ``html_lang`` when given, else ``lang``."""
        return self.html_lang or self.lang

    @property
    def video_bytes(self) -> int:
        """The size each generated video is padded to (0: served as shipped)."""
        return round(self.video_mb * VIDEO_MB_BYTES)


@dataclass(frozen=True)
class GenerationPlan:
    """The fate of one generation: its outcome and the percent where a failure happens."""

    index: int
    outcome: ScriptedOutcome
    stop_percent: int  # 100 for completed generations
    side_by_side: bool = False  # two videos, then "Which video do you prefer?"
    info_toast: bool = False  # "720p limit reached": made in 480p, otherwise normal

    def progress_steps(self) -> list[int]:
        """Progress values streamed before the outcome line (ends at ``stop_percent``)."""
        steps = list(range(0, self.stop_percent, PROGRESS_STEP_PERCENT))
        steps.append(self.stop_percent)
        return steps

    def captured_steps(self) -> list[int]:
        """Progress values of the captured format.

        Completed and moderated generations reach 100 (on the real site a moderated video
        also reaches 100); the others stop at the last captured value below the failure.
        """
        if self.outcome in (ScriptedOutcome.COMPLETED, ScriptedOutcome.MODERATED):
            return list(CAPTURED_PROGRESS)
        return [p for p in CAPTURED_PROGRESS if p <= self.stop_percent]


def _matches(index: int, every: int | None) -> bool:
    """True when ``index`` (1-based) is a multiple of ``every``."""
    return every is not None and index % every == 0


class Scenario:
    """Pure decision logic for one simulator instance."""

    def __init__(self, options: SimulatorOptions) -> None:
        """Keep the options; all decisions derive from them and the counters passed in."""
        self.options = options

    def outcome_for(self, index: int) -> ScriptedOutcome:
        """How the ``index``-th generation started ends (1-based, global across sessions).

        Precedence when several rules match: moderate > network > generation error > stall.
        """
        opts = self.options
        if _matches(index, opts.moderate_every):
            return ScriptedOutcome.MODERATED
        if _matches(index, opts.network_error_every):
            return ScriptedOutcome.NETWORK_ERROR
        if _matches(index, opts.generation_error_every):
            return ScriptedOutcome.GENERATION_ERROR
        if _matches(index, opts.stall_every):
            return ScriptedOutcome.STALL
        return ScriptedOutcome.COMPLETED

    def failure_percent(self, index: int) -> int:
        """Seeded percent at which a non-completing generation stops."""
        rng = random.Random(self.options.seed * 1_000_003 + index)
        return rng.randint(FAILURE_PERCENT_MIN, FAILURE_PERCENT_MAX)

    def plan(self, index: int, good_ordinal: int | None = None) -> GenerationPlan:
        """Full plan for the ``index``-th generation.

        ``good_ordinal`` is how many completing generations started so far including this
        one (the caller counts them); every ``choice_every``-th of those makes two videos.
        """
        outcome = self.outcome_for(index)
        completed = outcome is ScriptedOutcome.COMPLETED
        stop = 100 if completed else self.failure_percent(index)
        side_by_side = (
            completed
            and good_ordinal is not None
            and _matches(good_ordinal, self.options.choice_every)
        )
        return GenerationPlan(
            index=index,
            outcome=outcome,
            stop_percent=stop,
            side_by_side=side_by_side,
            info_toast=_matches(index, self.options.info_toast_every),
        )

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

    def captured_interval_s(self) -> float:
        """Seconds between two progress objects of the captured format."""
        return self.options.generation_seconds / (len(CAPTURED_PROGRESS) - 1)

    def upscale_step_interval_s(self) -> float:
        """Seconds between progress lines of an upscale (`upscale_seconds`, by default half
        the generation time)."""
        if self.options.upscale_seconds is not None:
            return self.options.upscale_seconds * PROGRESS_STEP_PERCENT / 100
        return self.step_interval_s() / 2


def normalize_video_length(value: object) -> int:
    """Map a client-sent ``videoLength`` to a supported length, defaulting to the first."""
    try:
        length = int(str(value))
    except ValueError:
        return VIDEO_LENGTHS_S[0]
    return length if length in VIDEO_LENGTHS_S else VIDEO_LENGTHS_S[0]


def normalize_resolution(value: object) -> str:
    """Map a client-sent ``resolutionName`` to a supported one, defaulting to the first."""
    text = str(value).lower() if value is not None else ""
    return text if text in RESOLUTIONS else RESOLUTIONS[0]
