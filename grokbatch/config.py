"""Run settings: defaults < JSON config file < command-line flags, validated into RunConfig.

Config files use camelCase keys, the same as the original Node tool, so its files load
unchanged. Unknown keys are an error that names the key.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import SplitResult, urlsplit

from grokbatch.browser import check_browser_path, no_display
from grokbatch.errors import ConfigError, UsageError
from grokbatch.logs import PROMPT_ENV
from grokbatch.paths import validate_name

COUNT_RANGE = (1, 1000)
PARALLEL_RANGE = (1, 100)
MAX_ATTEMPTS_RANGE = (1, 20)
# A generated clip is a few MB; the cap only stops a runaway response.
MAX_VIDEO_MB_RANGE = (1, 10_000)

# The original tool's defaults (its config.js), in seconds.
DEFAULT_COUNT = 10
DEFAULT_PARALLEL = 10
DEFAULT_VIDEO_TIMEOUT_S = 60.0
DEFAULT_PAGE_LOAD_TIMEOUT_S = 30.0
DEFAULT_ELEMENT_TIMEOUT_S = 10.0
DEFAULT_SHUTDOWN_GRACE_S = 60.0
# The site allows roughly 100 videos per account per few hours: 2 h before a rerun.
DEFAULT_COOLDOWN_S = 2 * 3600.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CHOICE = "first"

# Which video to keep when the site asks "which video do you prefer?".
CHOICES = ("first", "second", "skip")
# The resolutions the site's video menu offers; None keeps the site's default.
RESOLUTIONS = ("480p", "720p")

# Bounds of every seconds setting, by field: (name in messages, highest, whether 0 is
# allowed). Beyond these a value is a typo (an hour-long video, a month-long cooldown), and
# NaN or infinity would make every deadline meaningless.
_SECONDS_LIMITS: dict[str, tuple[str, float, bool]] = {
    "timeout_s": ("timeout", 3600.0, False),
    "page_load_timeout_s": ("pageLoadTimeout", 600.0, False),
    "element_timeout_s": ("elementTimeout", 600.0, False),
    "shutdown_grace_s": ("shutdownGrace", 3600.0, True),
    "cooldown_s": ("cooldown", 7 * 86400.0, True),
}

# The original tool wrote timeouts in milliseconds (60000). A plain number in a config
# file is seconds while it is within the key's limit (1200 is 20 minutes); one of 1000 or
# more beyond that limit can only be the original tool's milliseconds.
_MILLISECONDS_THRESHOLD = 1000

GROK_HOSTS = frozenset({"grok.com", "www.grok.com"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_POST_PATH = re.compile(r"/imagine/post/[A-Za-z0-9-]{1,128}/?")  # fullmatch
_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # fullmatch: seconds
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")  # 90s, 1h 30m, 500ms
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_VIDEO_DURATION = re.compile(r"\d{1,3}s|max")  # fullmatch: `$` would accept "max\n"


@dataclass(frozen=True)
class RunConfig:
    """Everything one `run start` needs, validated."""

    account: str
    permalink: str
    prompt: str | None = None
    prompts_file: Path | None = None
    count: int = DEFAULT_COUNT
    parallel: int = DEFAULT_PARALLEL
    job_name: str | None = None
    headed: bool = False
    timeout_s: float = DEFAULT_VIDEO_TIMEOUT_S
    page_load_timeout_s: float = DEFAULT_PAGE_LOAD_TIMEOUT_S
    element_timeout_s: float = DEFAULT_ELEMENT_TIMEOUT_S
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S
    auto_download: bool = True
    auto_upscale: bool = False
    auto_delete: bool = False
    keep_profiles: bool = False
    browser_path: str | None = None
    headless_shell: bool = False
    shared_driver: bool = True
    selectors: Path | None = None
    cooldown_s: float = DEFAULT_COOLDOWN_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_video_mb: int = 200
    video_duration: str | None = None
    choice: str = DEFAULT_CHOICE
    resolution: str | None = None
    force: bool = False
    count_given: bool = field(default=False, compare=False)


# camelCase config key -> RunConfig field
CONFIG_KEYS: dict[str, str] = {
    "account": "account",
    "permalink": "permalink",
    "prompt": "prompt",
    "promptsFile": "prompts_file",
    "count": "count",
    "batchSize": "count",
    "parallel": "parallel",
    "jobName": "job_name",
    "headed": "headed",
    "timeout": "timeout_s",
    "pageLoadTimeout": "page_load_timeout_s",
    "elementTimeout": "element_timeout_s",
    "shutdownGrace": "shutdown_grace_s",
    "autoDownload": "auto_download",
    "autoUpscale": "auto_upscale",
    "autoDelete": "auto_delete",
    "keepProfiles": "keep_profiles",
    "browserPath": "browser_path",
    "headlessShell": "headless_shell",
    "sharedDriver": "shared_driver",
    "selectors": "selectors",
    "cooldown": "cooldown_s",
    "maxAttempts": "max_attempts",
    "maxVideoMb": "max_video_mb",
    "videoDuration": "video_duration",
    "choice": "choice",
    "resolution": "resolution",
}

_BOOL_FIELDS = {"headed", "auto_download", "auto_upscale", "auto_delete", "keep_profiles",
                "headless_shell", "shared_driver"}
_INT_FIELDS = {"count", "parallel", "max_attempts", "max_video_mb"}
_SECONDS_FIELDS = {"timeout_s", "page_load_timeout_s", "element_timeout_s", "shutdown_grace_s",
                   "cooldown_s"}
_PATH_FIELDS = {"prompts_file", "selectors"}
_STR_FIELDS = {"account", "permalink", "prompt", "job_name", "browser_path", "video_duration",
               "choice", "resolution"}


def parse_duration(value: str | float | int, what: str = "duration") -> float:
    """Seconds from `90`, `"90s"`, `"15m"`, `"2h"`, `"1h30m"`, `"1d"` or `"0"` (units in
    either case)."""
    wrong = f"{what} must be a duration like 90s, 15m, 2h or 1h30m, not {value!r}"
    if isinstance(value, bool):
        raise ConfigError(wrong)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif text and _DURATION_PART.sub("", text) == "":
            seconds = sum(float(number) * _DURATION_UNITS[unit]
                          for number, unit in _DURATION_PART.findall(text))
        else:
            raise ConfigError(wrong)
    if not math.isfinite(seconds):
        raise ConfigError(f"{what} must be a finite duration, not {value!r}")
    if seconds < 0:
        raise ConfigError(f"{what} must not be negative")
    return seconds


def check_seconds(name: str, value: float, highest: float, *, zero_ok: bool) -> float:
    """Return `value` if it is a finite number of seconds within bounds, else UsageError."""
    low_ok = value >= 0 if zero_ok else value > 0
    if not (math.isfinite(value) and low_ok and value <= highest):
        bounds = (f"from 0 to {highest:g}" if zero_ok
                  else f"positive and at most {highest:g}")
        raise UsageError(f"{name} must be {bounds} seconds, got {value!r}")
    return value


def split_http_url(url: str, what: str) -> SplitResult:
    """`url` split into parts, if it is an http(s) URL with a host and a valid port."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UsageError(f"{what} must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number 0-65535
    except ValueError as exc:  # also a bad IPv6 literal such as http://[::1/x
        raise UsageError(f"{what} {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} must be an http(s) URL, got {url!r}")
    if port == 0:
        raise UsageError(f"{what} {url!r} has port 0; use a port from 1 to 65535")
    return parts


def validate_permalink(url: str) -> str:
    """Return `url` if it is a Grok Imagine post permalink (or the simulator's)."""
    parts = split_http_url(url.strip(), "permalink")
    host = (parts.hostname or "").lower()
    if host not in GROK_HOSTS and host not in LOOPBACK_HOSTS:
        raise UsageError(
            f"permalink host {host!r} is not grok.com (or a loopback simulator address)"
        )
    if not _POST_PATH.fullmatch(parts.path):
        raise UsageError(
            "permalink must look like https://grok.com/imagine/post/<id>, "
            f"got path {parts.path!r}"
        )
    return url.strip()


def _coerce(field_name: str, key: str, value: Any) -> Any:
    """Turn one config-file value into the field's type, or raise ConfigError naming `key`."""
    if value is None:
        return None
    if field_name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true or false")
        return value
    if field_name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} must be a whole number")
        return value
    if field_name in _SECONDS_LIMITS and isinstance(value, float) and not math.isfinite(value):
        # JSON as Python reads it allows NaN and Infinity; say which key and what is allowed.
        _, highest, zero_ok = _SECONDS_LIMITS[field_name]
        check_seconds(f"config key {key!r}", value, highest, zero_ok=zero_ok)
    if field_name in _SECONDS_FIELDS:
        seconds = parse_duration(value, f"config key {key!r}")
        highest = _SECONDS_LIMITS[field_name][1]
        if isinstance(value, int | float) and seconds > highest and (
                seconds >= _MILLISECONDS_THRESHOLD):
            seconds /= 1000.0
        return seconds
    if field_name in _PATH_FIELDS:
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} must be a path")
        return Path(value).expanduser()
    if field_name in _STR_FIELDS and not isinstance(value, str):
        raise ConfigError(f"config key {key!r} must be a string")
    return value


class _KeyTwice(Exception):
    """A JSON object gives one key twice (JSON would keep the last without a word)."""


def _no_key_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _KeyTwice(key)
    return dict(pairs)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a JSON config file into RunConfig field names; reject unknown keys by name."""
    text = _read_text(path, "config file")
    try:
        raw = json.loads(text, object_pairs_hook=_no_key_twice)
    except _KeyTwice as exc:
        raise ConfigError(f"config file {path} gives {exc.args[0]!r} twice: keep one") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply to be a config") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    values: dict[str, Any] = {}
    given_as: dict[str, str] = {}  # field -> the key that gave it (a field has aliases)
    for key, value in raw.items():
        if key not in CONFIG_KEYS:
            raise ConfigError(
                f"unknown config key {key!r} in {path}; known keys: {', '.join(CONFIG_KEYS)}"
            )
        field_name = CONFIG_KEYS[key]
        if field_name in given_as:
            raise ConfigError(f"config file {path} gives {key!r} and {given_as[field_name]!r}, "
                              "two names for one setting: keep one")
        given_as[field_name] = key
        values[field_name] = _coerce(field_name, key, value)
    # A file named in a config file is relative to that file, not to where grokbatch runs.
    for field_name in ("prompts_file", "selectors"):
        if values.get(field_name) is not None and not values[field_name].is_absolute():
            values[field_name] = Path(path).parent / values[field_name]
    browser = values.get("browser_path")
    if browser and not Path(browser).expanduser().is_absolute():
        values["browser_path"] = str(Path(path).parent / browser)
    return values


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high}, got {value}")


def validate(config: RunConfig) -> RunConfig:
    """Check every rule that spans fields or values; return the config unchanged."""
    if not config.account:
        raise UsageError("no account given: use --account ALIAS (see `grokbatch accounts list`)")
    validate_name(config.account, "account alias")
    if not config.permalink:
        raise UsageError("no permalink given: use --permalink https://grok.com/imagine/post/<id>")
    validate_permalink(config.permalink)
    if config.prompt is not None and config.prompts_file is not None:
        raise UsageError("use either --prompt or --prompts-file, not both")
    if config.prompt is not None and not config.prompt.strip():
        raise UsageError(f"the prompt is empty: give one, or give none (no --prompt, no "
                         f"\"prompt\" in the config file, {PROMPT_ENV} unset) to let Grok "
                         "choose")
    if config.prompt is not None and not _is_text(config.prompt):
        raise UsageError("the prompt is not valid text (bytes that are not UTF-8, or half a "
                         "character): give it as UTF-8, for example in a --prompt-file")
    _check_range("count", config.count, COUNT_RANGE)
    _check_range("parallel", config.parallel, PARALLEL_RANGE)
    _check_range("maxAttempts", config.max_attempts, MAX_ATTEMPTS_RANGE)
    _check_range("maxVideoMb", config.max_video_mb, MAX_VIDEO_MB_RANGE)
    if config.job_name is not None:
        validate_name(config.job_name, "job name")
    for field_name, (name, highest, zero_ok) in _SECONDS_LIMITS.items():
        check_seconds(name, getattr(config, field_name), highest, zero_ok=zero_ok)
    if config.video_duration is not None and not _VIDEO_DURATION.fullmatch(
        config.video_duration
    ):
        raise UsageError(
            f"videoDuration must be like 6s, 10s or max, got {config.video_duration!r}"
        )
    if config.choice not in CHOICES:
        raise UsageError(f"choice must be one of {', '.join(CHOICES)}; got {config.choice!r}")
    if config.resolution is not None and config.resolution not in RESOLUTIONS:
        raise UsageError(
            f"resolution must be one of {', '.join(RESOLUTIONS)}; got {config.resolution!r}"
        )
    if config.browser_path is not None:
        check_browser_path(config.browser_path)
    if config.headless_shell and config.headed:
        raise UsageError("--headless-shell (headlessShell) runs the browsers without windows: "
                         "it cannot go with --headed (headed)")
    if config.headed and (reason := no_display()):
        raise UsageError(f"--headed (headed): {reason}; run without it")
    if config.auto_upscale and config.resolution == "720p":
        raise UsageError("--upscale (autoUpscale) asks the site for HD from a 480p video: "
                         "it cannot go with --resolution 720p (resolution)")
    if config.auto_delete and not config.auto_download:
        raise UsageError("--delete (autoDelete) needs --download (autoDownload): a video is "
                         "deleted only once saved")
    return config


def read_prompt_file(path: Path) -> str:
    """The prompt held by a text file: all of it (UTF-8), trailing line breaks stripped."""
    return _non_empty_prompt(_read_text(path, "prompt file"), f"prompt file {path}")


def _read_text(path: Path, what: str) -> str:
    """A UTF-8 text file's content (without the byte-order mark some editors write), or
    ConfigError naming `what` and the cause."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {what} {path}: it is not UTF-8 text") from None


def read_prompt_stream(stream: TextIO) -> str:
    """The prompt from standard input (`--prompt -`), trailing line breaks stripped."""
    try:
        text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the prompt from standard input: {exc}") from None
    return _non_empty_prompt(text, "the prompt on standard input")


def _is_text(text: str) -> bool:
    """Whether `text` can be written as UTF-8 (a lone surrogate, such as a command line's
    non-UTF-8 bytes or half a JSON escape, cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _non_empty_prompt(text: str, source: str) -> str:
    prompt = text.rstrip("\r\n")
    if not prompt.strip():
        raise ConfigError(f"{source} is empty")
    return prompt


def _prompt_from_flags(flags: dict[str, Any], stdin: TextIO | None) -> str | None:
    """--prompt TEXT, --prompt - (stdin) or --prompt-file PATH, as prompt text (or None)."""
    prompt_file = flags.get("prompt_file")
    if prompt_file is not None:
        if flags.get("prompt") is not None:
            raise UsageError("use either --prompt or --prompt-file, not both")
        if flags.get("prompts_file") is not None:
            raise UsageError("use either --prompt-file or --prompts-file, not both")
        return read_prompt_file(prompt_file)
    if flags.get("prompt") == "-":
        return read_prompt_stream(stdin or sys.stdin)
    prompt: str | None = flags.get("prompt")
    return prompt


def build_run_config(config_file: Path | None, flags: dict[str, Any], *,
                     stdin: TextIO | None = None) -> RunConfig:
    """Merge defaults < config file < flags (None = flag not given) into a RunConfig.

    The prompt comes from --prompt, --prompt - (stdin) or --prompt-file, else the config
    file's prompt or promptsFile, else the GROKBATCH_PROMPT environment variable.
    """
    flags = {**flags, "prompt": _prompt_from_flags(flags, stdin)}
    flags.pop("prompt_file", None)
    values: dict[str, Any] = read_config_file(config_file) if config_file else {}
    for name, value in flags.items():
        if value is not None:
            values[name] = value
    values = {k: v for k, v in values.items() if v is not None}
    # --prompt on the command line replaces a promptsFile from the config, and vice versa.
    if flags.get("prompt") is not None and flags.get("prompts_file") is None:
        values.pop("prompts_file", None)
    if flags.get("prompts_file") is not None and flags.get("prompt") is None:
        values.pop("prompt", None)
    if "prompt" not in values and "prompts_file" not in values and PROMPT_ENV in os.environ:
        values["prompt"] = os.environ[PROMPT_ENV]  # set but empty is refused, as --prompt ""
    values["count_given"] = "count" in values
    values.setdefault("account", "")
    values["permalink"] = str(values.get("permalink", "")).strip()
    return validate(RunConfig(**values))
