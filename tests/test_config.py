"""config.py: defaults < config file < flags, the original tool's keys, and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grokbatch import config as cfg
from grokbatch.config import (
    DEFAULT_COOLDOWN_S,
    DEFAULT_COUNT,
    DEFAULT_PARALLEL,
    DEFAULT_VIDEO_TIMEOUT_S,
    build_run_config,
    parse_duration,
    read_config_file,
    validate_permalink,
)
from grokbatch.errors import ConfigError, GrokBatchError, UsageError

PERMALINK = "http://127.0.0.1:9/imagine/post/abc123"
BASE = {"account": "acct", "permalink": PERMALINK}


@pytest.fixture
def with_display(monkeypatch: pytest.MonkeyPatch) -> None:
    """A display for a headed browser, as a desktop session has (`browser.no_display`)."""
    monkeypatch.setenv("DISPLAY", ":99")


def write_config(tmp_path: Path, doc: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def no_flags(**given: Any) -> dict[str, Any]:
    """A flags dict as the CLI passes it: every flag None unless given."""
    flags: dict[str, Any] = {
        name: None
        for name in (
            "account", "permalink", "prompt", "prompts_file", "count", "parallel",
            "job_name", "headed", "timeout_s", "auto_download", "keep_profiles",
            "browser_path", "selectors", "cooldown_s", "max_attempts", "force",
            "choice", "resolution", "prompt_file", "headless_shell", "shared_driver",
        )
    }
    flags.update(given)
    return flags


# --------------------------------------------------------------------------- precedence
def test_defaults_apply_when_neither_file_nor_flag_sets_a_key() -> None:
    config = build_run_config(None, no_flags(**BASE))
    assert config.count == DEFAULT_COUNT == 10
    assert config.parallel == DEFAULT_PARALLEL == 10
    assert config.timeout_s == DEFAULT_VIDEO_TIMEOUT_S == 60.0
    assert config.headed is False
    assert config.auto_download is True
    assert config.keep_profiles is False
    assert config.cooldown_s == DEFAULT_COOLDOWN_S
    assert config.count_given is False


def test_config_file_beats_defaults_for_several_keys(tmp_path: Path, with_display: None) -> None:
    path = write_config(
        tmp_path,
        {**BASE, "count": 7, "parallel": 3, "headed": True, "timeout": 90,
         "autoDownload": False, "cooldown": "15m", "jobName": "from-file"},
    )
    config = build_run_config(path, no_flags())
    assert (config.count, config.parallel, config.headed) == (7, 3, True)
    assert config.timeout_s == 90.0
    assert config.auto_download is False
    assert config.cooldown_s == 900.0
    assert config.job_name == "from-file"
    assert config.count_given is True


def test_flags_beat_config_file_for_several_keys(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {**BASE, "count": 7, "parallel": 3, "headed": True, "timeout": 90,
         "autoDownload": False, "jobName": "from-file", "cooldown": "15m"},
    )
    config = build_run_config(
        path,
        no_flags(count=20, parallel=5, headed=False, timeout_s=30.0, auto_download=True,
                 job_name="from-flag", cooldown_s=0.0, account="other"),
    )
    assert (config.count, config.parallel, config.headed) == (20, 5, False)
    assert config.timeout_s == 30.0
    assert config.auto_download is True
    assert config.job_name == "from-flag"
    assert config.cooldown_s == 0.0
    assert config.account == "other"


def test_prompt_flag_replaces_prompts_file_from_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**BASE, "promptsFile": "prompts.csv"})
    config = build_run_config(path, no_flags(prompt="a cat"))
    assert config.prompt == "a cat"
    assert config.prompts_file is None


def test_prompts_file_in_config_is_relative_to_the_config_file(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write_config(sub, {**BASE, "promptsFile": "prompts.csv"})
    config = build_run_config(path, no_flags())
    assert config.prompts_file == sub / "prompts.csv"


def test_every_file_a_config_file_names_is_relative_to_it(tmp_path: Path) -> None:
    # The selectors file and the browser were relative to where grokbatch ran.
    sub = tmp_path / "conf"
    sub.mkdir()
    values = read_config_file(write_config(sub, {"selectors": "sel.json",
                                                 "browserPath": "bin/chrome"}))
    assert values["selectors"] == sub / "sel.json"
    assert values["browser_path"] == str(sub / "bin" / "chrome")
    absolute = read_config_file(write_config(sub, {"selectors": str(tmp_path / "s.json"),
                                                   "browserPath": "/usr/bin/chromium"}))
    assert absolute["selectors"] == tmp_path / "s.json"
    assert absolute["browser_path"] == "/usr/bin/chromium"


# --------------------------------------------------------------------------- Node tool keys
def test_original_node_tool_config_loads_unchanged(tmp_path: Path, with_display: None) -> None:
    node_config = {
        "account": "acct",
        "permalink": "https://grok.com/imagine/post/0b7f3c1e-1234-4abc-9def-000000000001",
        "prompt": "make it move",
        "batchSize": 25,
        "parallel": 4,
        "jobName": "node-job",
        "headed": True,
        "timeout": 60000,
        "autoDownload": False,
    }
    config = build_run_config(write_config(tmp_path, node_config), no_flags())
    assert config.count == 25  # batchSize is the old name of count
    assert config.parallel == 4
    assert config.job_name == "node-job"
    assert config.headed is True
    assert config.timeout_s == 60.0  # 60000 ms, not 60000 s
    assert config.auto_download is False
    assert config.prompt == "make it move"


@pytest.mark.parametrize(
    ("key", "raw", "seconds"),
    [("timeout", 60000, 60.0), ("timeout", 120000, 120.0), ("timeout", 90, 90.0),
     ("timeout", "90s", 90.0), ("timeout", "2m", 120.0),
     # Within the key's limit a number is seconds, however large: 20 minutes, not 1.2 s.
     ("timeout", 1200, 1200.0), ("timeout", 3600, 3600.0), ("shutdownGrace", 1800, 1800.0),
     # Beyond it, only the original tool's milliseconds make sense.
     ("timeout", 3601, 3.601), ("pageLoadTimeout", 5000, 5.0), ("elementTimeout", 1000, 1.0),
     ("pageLoadTimeout", 600, 600.0), ("timeout", "1200000ms", 1200.0),
     # The cooldown too: the original tool's 2 hours (it was refused as out of range).
     ("cooldown", 7200000, 7200.0), ("cooldown", 7200, 7200.0), ("cooldown", 604800, 604800.0)],
)
def test_a_timeout_number_is_seconds_up_to_its_limit_and_milliseconds_beyond(
    tmp_path: Path, key: str, raw: Any, seconds: float
) -> None:
    values = read_config_file(write_config(tmp_path, {key: raw}))
    assert values[cfg.CONFIG_KEYS[key]] == pytest.approx(seconds)


def test_every_documented_config_key_is_accepted(tmp_path: Path) -> None:
    documented = [
        "account", "permalink", "prompt", "promptsFile", "count", "batchSize", "parallel",
        "jobName", "headed", "timeout", "autoDownload", "autoUpscale", "autoDelete",
        "keepProfiles", "browserPath", "headlessShell", "selectors", "cooldown",
    ]
    assert set(documented) <= set(cfg.CONFIG_KEYS)


# --------------------------------------------------------------------------- bad files
def test_unknown_config_key_is_rejected_naming_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**BASE, "batchSzie": 3})
    with pytest.raises(ConfigError, match="batchSzie") as info:
        build_run_config(path, no_flags())
    assert info.value.exit_code == 2


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_run_config(tmp_path / "nope.json", no_flags())


def test_config_that_is_not_utf8_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe{\x00")
    with pytest.raises(ConfigError, match="cannot read"):
        build_run_config(path, no_flags())


def test_config_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    """The unreadable-file path, reachable even as root."""
    with pytest.raises(ConfigError, match="cannot read"):
        build_run_config(tmp_path, no_flags())


def test_invalid_json_config_is_a_config_error_with_line(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"account": "acct",\n  "count": }', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid JSON \(line 2"):
        build_run_config(path, no_flags())


def test_config_that_is_not_an_object_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JSON object"):
        build_run_config(write_config(tmp_path, [1, 2]), no_flags())


@pytest.mark.parametrize(
    ("key", "value"),
    [("count", "10"), ("count", True), ("count", 1.5), ("headed", "yes"), ("parallel", "x"),
     ("account", 3), ("promptsFile", 3), ("timeout", "soon"), ("cooldown", "-5")],
)
def test_wrong_typed_config_value_is_rejected_naming_the_key(
    tmp_path: Path, key: str, value: Any
) -> None:
    with pytest.raises(ConfigError, match=key):
        read_config_file(write_config(tmp_path, {key: value}))


# --------------------------------------------------------------------------- bad values
@pytest.mark.parametrize(("field", "value"), [("count", 0), ("count", 1001), ("count", -1),
                                              ("parallel", 0), ("parallel", 101)])
def test_count_and_parallel_out_of_range_are_usage_errors(field: str, value: int) -> None:
    with pytest.raises(UsageError, match=rf"{field} must be between"):
        build_run_config(None, no_flags(**BASE, **{field: value}))


@pytest.mark.parametrize(("field", "value"), [("count", 1), ("count", 1000), ("parallel", 1),
                                              ("parallel", 100)])
def test_count_and_parallel_at_their_limits_are_accepted(field: str, value: int) -> None:
    config = build_run_config(None, no_flags(**BASE, **{field: value}))
    assert getattr(config, field) == value


def test_count_out_of_range_from_config_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="count must be between 1 and 1000, got 1001"):
        build_run_config(write_config(tmp_path, {**BASE, "batchSize": 1001}), no_flags())


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/imagine/post/abc",  # another host
        "https://grok.com/imagine",  # no /imagine/post/<id>
        "https://grok.com/imagine/post/",  # empty id
        "https://grok.com/imagine/post/abc/extra",
        "ftp://grok.com/imagine/post/abc",
        "grok.com/imagine/post/abc",  # no scheme
        "https://grok.com.evil.example/imagine/post/abc",
        "https://evilgrok.com/imagine/post/abc",
        "",
    ],
)
def test_bad_permalinks_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match="permalink"):
        build_run_config(None, no_flags(account="acct", permalink=url))


@pytest.mark.parametrize(
    "url",
    [
        "https://grok.com/imagine/post/abc123",
        "https://www.grok.com/imagine/post/0b7f3c1e-1234-4abc-9def-000000000001",
        "http://127.0.0.1:8123/imagine/post/abc",
        "http://localhost:8123/imagine/post/abc/",
        "http://[::1]:8123/imagine/post/abc",
    ],
)
def test_grok_and_loopback_permalinks_are_accepted(url: str) -> None:
    assert validate_permalink(url) == url


@pytest.mark.parametrize("alias", ["../evil", "a/b", "", ".hidden", "-dash", "x" * 65])
def test_unsafe_account_aliases_are_refused(alias: str) -> None:
    with pytest.raises(UsageError):
        build_run_config(None, no_flags(account=alias, permalink=PERMALINK))


@pytest.mark.parametrize("job", ["../evil", "a/b", ".x"])
def test_unsafe_job_names_are_refused(job: str) -> None:
    with pytest.raises(UsageError, match="job name"):
        build_run_config(None, no_flags(**BASE, job_name=job))


def test_prompt_and_prompts_file_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="either --prompt or --prompts-file"):
        build_run_config(None, no_flags(**BASE, prompt="x", prompts_file=tmp_path / "p.csv"))


def test_missing_account_and_permalink_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no account"):
        build_run_config(None, no_flags(permalink=PERMALINK))
    with pytest.raises(UsageError, match="no permalink"):
        build_run_config(None, no_flags(account="acct"))


def test_auto_delete_without_download_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**BASE, "autoDelete": True, "autoDownload": False})
    with pytest.raises(UsageError, match=r"--delete \(autoDelete\) needs --download"):
        build_run_config(path, no_flags())


def test_a_config_that_gives_one_setting_under_two_names_is_refused(tmp_path: Path) -> None:
    # Before, the later of the two won in silence: 3 videos made where "count" said 2.
    path = write_config(tmp_path, {**BASE, "count": 2, "batchSize": 3})
    with pytest.raises(ConfigError, match="'batchSize' and 'count', two names for one setting"):
        build_run_config(path, no_flags())


@pytest.mark.parametrize("source", ["flag", "file", "environment"])
def test_an_empty_prompt_is_refused_as_an_empty_prompt_file_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    # A cron template whose variable was unset would otherwise run with no prompt at all.
    if source == "environment":
        monkeypatch.setenv(cfg.PROMPT_ENV, "")
    path = write_config(tmp_path, {**BASE, "prompt": " "}) if source == "file" else None
    flags = no_flags(prompt="") if source == "flag" else no_flags()
    with pytest.raises(UsageError, match="the prompt is empty") as info:
        build_run_config(path, {**flags, **({} if path else BASE)})
    assert info.value.exit_code == 2


def test_zero_timeout_is_refused() -> None:
    with pytest.raises(UsageError, match="timeout must be positive and at most 3600"):
        build_run_config(None, no_flags(**BASE, timeout_s=0.0))


# --------------------------------------------------------------------------- durations
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0),
     ("0", 0.0), ("1.5h", 5400.0), (" 15m ", 900.0), ("500ms", 0.5), (90, 90.0), (0, 0.0),
     (2.5, 2.5), ("1h30m", 5400.0), ("1h 30m", 5400.0), ("2H", 7200.0), ("1m30s", 90.0)],
)
def test_parse_duration_accepts_plain_seconds_and_units(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "15x", "m15", "-5", "1h30", "15 minutes", "--1",
                                  "h", True, -1])
def test_parse_duration_rejects_bad_values(text: Any) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text, "--cooldown")


# --------------------------------------------------------------------------- choice, resolution
def test_choice_and_resolution_default_to_first_and_the_sites_default() -> None:
    config = build_run_config(None, no_flags(**BASE))
    assert config.choice == "first"
    assert config.resolution is None


@pytest.mark.parametrize(("key", "value"), [("choice", "second"), ("choice", "skip"),
                                            ("resolution", "480p"), ("resolution", "720p")])
def test_choice_and_resolution_are_read_from_the_config_file(tmp_path: Path, key: str,
                                                             value: str) -> None:
    config = build_run_config(write_config(tmp_path, {**BASE, key: value}), no_flags())
    assert getattr(config, key) == value


@pytest.mark.parametrize(("key", "value"), [("choice", "third"), ("choice", "First"),
                                            ("choice", "first\n"), ("resolution", "1080p"),
                                            ("resolution", "")])
def test_unknown_choice_or_resolution_is_refused_naming_it(tmp_path: Path, key: str,
                                                           value: str) -> None:
    with pytest.raises(UsageError, match=key):
        build_run_config(write_config(tmp_path, {**BASE, key: value}), no_flags())


# --------------------------------------------------------------------------- seconds bounds
_SECONDS_KEYS = ["timeout", "pageLoadTimeout", "elementTimeout", "shutdownGrace", "cooldown"]


@pytest.mark.parametrize("key", _SECONDS_KEYS)
@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_a_config_file_are_refused_naming_the_key_and_bounds(
    tmp_path: Path, key: str, text: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(f'{{"account": "acct", "permalink": "{PERMALINK}", "{key}": {text}}}')
    with pytest.raises(GrokBatchError, match=rf"{key}.* seconds") as info:
        build_run_config(path, no_flags())
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timeout_s", float("nan"), "timeout must be positive and at most 3600 seconds"),
        ("timeout_s", float("inf"), "timeout must be positive and at most 3600 seconds"),
        ("timeout_s", float("-inf"), "timeout must be positive and at most 3600 seconds"),
        ("timeout_s", 1e308, "timeout must be positive and at most 3600 seconds"),
        ("timeout_s", 3601.0, "timeout must be positive and at most 3600 seconds"),
        ("page_load_timeout_s", 601.0, "pageLoadTimeout must be positive and at most 600"),
        ("element_timeout_s", float("nan"), "elementTimeout must be positive and at most 600"),
        ("shutdown_grace_s", 3601.0, "shutdownGrace must be from 0 to 3600 seconds"),
        ("cooldown_s", 8 * 86400.0, "cooldown must be from 0 to 604800 seconds"),
        ("cooldown_s", float("inf"), "cooldown must be from 0 to 604800 seconds"),
    ],
)
def test_seconds_settings_outside_their_bounds_are_refused(field: str, value: float,
                                                           message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_run_config(None, no_flags(**BASE, **{field: value}))


@pytest.mark.parametrize(("key", "value"), [("timeout", 3600), ("pageLoadTimeout", 600),
                                            ("shutdownGrace", 0), ("cooldown", "7d")])
def test_seconds_settings_at_their_bounds_are_accepted(tmp_path: Path, key: str,
                                                       value: Any) -> None:
    build_run_config(write_config(tmp_path, {**BASE, key: value}), no_flags())


def test_a_duration_too_long_to_be_a_number_is_refused() -> None:
    with pytest.raises(ConfigError, match="finite"):
        parse_duration("9" * 400 + "d", "--cooldown")


def test_deeply_nested_config_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match=r"deep\.json is nested too deeply"):
        build_run_config(path, no_flags())


# --------------------------------------------------------------------------- browser path
def test_browser_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GrokBatchError, match="does not exist") as info:
        build_run_config(None, no_flags(**BASE, browser_path=str(tmp_path / "nope")))
    assert info.value.exit_code == 2


def test_browser_path_that_is_not_executable_or_is_a_directory_is_refused(
    tmp_path: Path
) -> None:
    plain = tmp_path / "chrome"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    with pytest.raises(GrokBatchError, match="is not executable"):
        build_run_config(None, no_flags(**BASE, browser_path=str(plain)))
    with pytest.raises(GrokBatchError, match="is not a file"):
        build_run_config(None, no_flags(**BASE, browser_path=str(tmp_path)))


def test_the_headless_shell_is_off_unless_asked_for_and_never_goes_with_windows(
    tmp_path: Path
) -> None:
    assert build_run_config(None, no_flags(**BASE)).headless_shell is False
    from_file = build_run_config(write_config(tmp_path, {**BASE, "headlessShell": True}),
                                 no_flags())
    assert from_file.headless_shell is True
    assert build_run_config(None, no_flags(**BASE, headless_shell=True)).headless_shell
    with pytest.raises(UsageError, match=r"headlessShell.*--headed"):
        build_run_config(None, no_flags(**BASE, headless_shell=True, headed=True))


def test_workers_share_drivers_unless_the_file_or_the_flag_says_own(tmp_path: Path) -> None:
    assert build_run_config(None, no_flags(**BASE)).shared_driver is True
    own = write_config(tmp_path, {**BASE, "sharedDriver": False})
    assert build_run_config(own, no_flags()).shared_driver is False
    assert build_run_config(own, no_flags(shared_driver=True)).shared_driver is True
    assert build_run_config(None, no_flags(**BASE, shared_driver=False)).shared_driver is False
    with pytest.raises(ConfigError, match="sharedDriver"):
        build_run_config(write_config(tmp_path, {**BASE, "sharedDriver": "no"}), no_flags())


def test_executable_browser_path_is_accepted(tmp_path: Path) -> None:
    browser = tmp_path / "chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    config = build_run_config(None, no_flags(**BASE, browser_path=str(browser)))
    assert config.browser_path == str(browser)


# --------------------------------------------------------------------------- URLs and names
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/imagine/post/x",  # port out of range
        "http://127.0.0.1:abc/imagine/post/x",  # port not a number
        "http://127.0.0.1:0/imagine/post/x",
        "http://[::1/imagine/post/x",  # bad IPv6 literal
        "https://grok.com/imagine/post/ab\ncd",  # urlsplit drops the newline silently
        "https://grok.com/imagine/post/a c",
    ],
)
def test_permalinks_with_a_bad_port_host_or_control_character_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match="permalink"):
        build_run_config(None, no_flags(account="acct", permalink=url))


def test_permalink_is_kept_without_surrounding_whitespace() -> None:
    url = "https://grok.com/imagine/post/abc"
    config = build_run_config(None, no_flags(account="acct", permalink=f"  {url}\n"))
    assert config.permalink == url


@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "a" * 64 + "\n"])
def test_names_with_a_trailing_newline_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="job name"):
        build_run_config(None, no_flags(**BASE, job_name=name))
    with pytest.raises(UsageError, match="account alias"):
        build_run_config(None, no_flags(account=name, permalink=PERMALINK))


def test_video_duration_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(UsageError, match="videoDuration"):
        build_run_config(None, {**no_flags(**BASE), "video_duration": "max\n"})


# --------------------------------------------------------------------------- prompt sources
def test_prompt_file_is_the_prompt_without_its_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text("two lines\nof prompt\n", encoding="utf-8")
    config = build_run_config(None, {**no_flags(**BASE), "prompt_file": path})
    assert config.prompt == "two lines\nof prompt"


@pytest.mark.parametrize("content", ["", "\n", "  \n\n"])
def test_empty_prompt_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"prompt\.txt is empty"):
        build_run_config(None, {**no_flags(**BASE), "prompt_file": path})


def test_prompt_file_with_prompt_or_prompts_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text("a prompt", encoding="utf-8")
    with pytest.raises(UsageError, match="--prompt or --prompt-file"):
        build_run_config(None, {**no_flags(**BASE, prompt="x"), "prompt_file": path})
    with pytest.raises(UsageError, match="--prompt-file or --prompts-file"):
        build_run_config(None, {**no_flags(**BASE, prompts_file=tmp_path / "p.csv"),
                                "prompt_file": path})


def test_prompt_dash_reads_the_prompt_from_stdin() -> None:
    import io

    config = build_run_config(None, no_flags(**BASE, prompt="-"),
                              stdin=io.StringIO("from stdin\n"))
    assert config.prompt == "from stdin"
    with pytest.raises(ConfigError, match="standard input is empty"):
        build_run_config(None, no_flags(**BASE, prompt="-"), stdin=io.StringIO(""))


def test_prompt_environment_variable_is_used_only_when_nothing_else_gives_a_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROKBATCH_PROMPT", "from env")
    assert build_run_config(None, no_flags(**BASE)).prompt == "from env"
    assert build_run_config(None, no_flags(**BASE, prompt="flag")).prompt == "flag"
    with_prompt = write_config(tmp_path, {**BASE, "prompt": "file"})
    assert build_run_config(with_prompt, no_flags()).prompt == "file"
    with_csv = write_config(tmp_path, {**BASE, "promptsFile": "p.csv"}, name="csv.json")
    config = build_run_config(with_csv, no_flags())
    assert config.prompt is None and config.prompts_file == tmp_path / "p.csv"


def test_max_video_mb_is_read_from_a_config_file_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"account": "a", "permalink": "https://grok.com/imagine/post/x",'
                    ' "maxVideoMb": 50}')
    assert cfg.build_run_config(path, {}).max_video_mb == 50
    path.write_text('{"account": "a", "permalink": "https://grok.com/imagine/post/x",'
                    ' "maxVideoMb": 0}')
    with pytest.raises(UsageError):
        cfg.build_run_config(path, {})


def test_headed_without_a_display_is_refused_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(cfg.sys, "platform", "linux")
    with pytest.raises(UsageError, match="DISPLAY is not set"):
        build_run_config(None, no_flags(**BASE, headed=True))


def test_upscale_with_720p_is_refused_as_the_site_upscales_only_480p(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="480p"):
        build_run_config(None, no_flags(**BASE, auto_upscale=True, resolution="720p"))
    assert build_run_config(None, no_flags(**BASE, auto_upscale=True, resolution="480p"))


def test_a_config_file_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"parallel": 3}).encode())
    assert read_config_file(path)["parallel"] == 3


@pytest.mark.parametrize("prompt", ["half \ud83e a character", "latin-1 caf\udce9"])
def test_a_prompt_that_is_not_valid_text_is_a_usage_error(tmp_path: Path, prompt: str) -> None:
    # It got as far as the manifest: "internal error: TypeError: str is not valid UTF-8".
    path = write_config(tmp_path, {**BASE, "prompt": prompt})
    with pytest.raises(UsageError, match="the prompt is not valid text"):
        build_run_config(path, no_flags())


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path: Path) -> None:
    # JSON kept the last one without a word.
    path = tmp_path / "twice.json"
    path.write_text('{"count": 5, "parallel": 2, "count": 50}', encoding="utf-8")
    with pytest.raises(ConfigError, match="gives 'count' twice: keep one"):
        read_config_file(path)
