"""Which browser a worker launches: the headless shell only when asked for, found where
Playwright, Debian or PATH keep it, with a message that says how to get one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from grokbatch import browser
from grokbatch.browser import find_browser, find_headless_shell
from grokbatch.errors import NoBrowserError


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def _playwright(chromium_path: Path | None) -> SimpleNamespace:
    """Enough of a Playwright object for find_browser: its Chromium's path."""
    return SimpleNamespace(chromium=SimpleNamespace(
        executable_path=str(chromium_path) if chromium_path else ""))


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No system browser at all: no Debian shell, an empty PATH, no GROKBATCH_BROWSER."""
    monkeypatch.setattr(browser, "_SHELL_LOCATIONS", (str(tmp_path / "no-such-shell"),))
    monkeypatch.setattr(browser, "_CHROME_LOCATIONS", ())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(browser.BROWSER_ENV, raising=False)
    return empty


def test_playwrights_headless_shell_beside_its_chromium_is_found(nowhere: Path,
                                                                 tmp_path: Path) -> None:
    browsers = tmp_path / "ms-playwright"
    chromium = _executable(browsers / "chromium-1200" / "chrome-linux64" / "chrome")
    shell = _executable(browsers / "chromium_headless_shell-1200"
                        / "chrome-headless-shell-linux64" / "chrome-headless-shell")
    assert find_headless_shell(str(chromium)).executable_path == str(shell)
    # Asked for, it is what find_browser picks; not asked for, Playwright's Chromium is.
    playwright = _playwright(chromium)
    assert find_browser(playwright, headless_shell=True).executable_path == str(shell)  # type: ignore[arg-type]
    assert find_browser(playwright).executable_path == str(chromium)  # type: ignore[arg-type]


def test_debians_shell_is_found_and_then_one_on_path(nowhere: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    debian = _executable(tmp_path / "usr-lib-chromium" / "chromium-headless-shell")
    monkeypatch.setattr(browser, "_SHELL_LOCATIONS", (str(debian),))
    assert find_headless_shell(None).executable_path == str(debian)
    monkeypatch.setattr(browser, "_SHELL_LOCATIONS", ())
    on_path = _executable(nowhere / "chromium-headless-shell")
    assert find_headless_shell(None).executable_path == str(on_path)


def test_no_headless_shell_says_how_to_get_one(nowhere: Path, tmp_path: Path) -> None:
    chromium = _executable(tmp_path / "ms-playwright" / "chromium-1200" / "chrome-linux64"
                           / "chrome")  # Playwright's Chromium without its shell
    with pytest.raises(NoBrowserError,
                       match=r"playwright install chromium-headless-shell.*--headless-shell"):
        find_browser(_playwright(chromium), headless_shell=True)  # type: ignore[arg-type]


def test_an_explicit_browser_path_wins_over_the_headless_shell(nowhere: Path,
                                                               tmp_path: Path) -> None:
    mine = _executable(tmp_path / "my-chrome")
    choice = find_browser(_playwright(None), str(mine), headless_shell=True)  # type: ignore[arg-type]
    assert choice.executable_path == str(mine)


def test_a_home_where_no_crash_dumps_directory_can_be_made_still_launches(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # `doctor` on a read-only home reports that the home is not writable: the look at the
    # page must not end first on the crash-dumps directory it cannot make.
    def read_only(path: Path) -> Path:
        raise browser.DiskError(f"cannot create directory {path}: Read-only file system")

    launched: list[dict[str, object]] = []

    def launch_persistent_context(user_data_dir: str, **options: object) -> str:
        launched.append(options)
        return "context"

    monkeypatch.setattr(browser.paths, "make_private_dir", read_only)
    playwright = SimpleNamespace(chromium=SimpleNamespace(
        launch_persistent_context=launch_persistent_context))
    context = browser.launch_persistent(playwright, tmp_path / "profile",  # type: ignore[arg-type]
                                        browser.BrowserChoice(executable_path="/bin/true"),
                                        headless=True, timeout_s=5)
    assert context == "context" and len(launched) == 1
