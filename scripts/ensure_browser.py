"""Make sure a Chromium that Playwright can drive is installed (used by `make setup`).

Order: an explicit GROKBATCH_BROWSER, Playwright's own Chromium (downloaded if the network
allows), a Chromium/Chrome already on PATH, and last, as root on Debian/Ubuntu,
`apt-get install -y chromium`. Chromium's headless shell (for `--headless-shell`, and the
tests of it) comes the same way: Playwright's, else Debian's `chromium-headless-shell`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

_INSTALL_TIMEOUT_S = 300
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def system_browser() -> str | None:
    """A Chromium/Chrome on PATH, if any."""
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_chromium_path() -> str:
    """Where Playwright's own Chromium is (or would be, once installed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        return p.chromium.executable_path


def playwright_browser() -> str | None:
    """Playwright's own Chromium, if installed."""
    path = playwright_chromium_path()
    return path if path and Path(path).is_file() else None


def run(cmd: list[str]) -> bool:
    """Run a command with a time bound; True if it succeeded."""
    try:
        return subprocess.run(cmd, timeout=_INSTALL_TIMEOUT_S, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def headless_shell(playwright_chromium: str) -> str | None:
    """Chromium's headless shell as `--headless-shell` would find it (beside Playwright's
    Chromium at `playwright_chromium`, installed or not), if installed."""
    from grokbatch.browser import find_headless_shell
    from grokbatch.errors import NoBrowserError

    try:
        return find_headless_shell(playwright_chromium).executable_path
    except NoBrowserError:
        return None


def apt_install(*packages: str) -> None:
    """As root on Debian/Ubuntu: apt-get install `packages` (bounded; failures are told by
    what is found afterwards)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        try:
            subprocess.run(cmd, env=env, timeout=_INSTALL_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return


def ensure_headless_shell() -> None:
    """Install Chromium's headless shell if it can be; without it only --headless-shell
    (and its tests) cannot run, so this never fails the set-up."""
    chromium = playwright_chromium_path()
    found = headless_shell(chromium)
    if found is None and run([sys.executable, "-m", "playwright", "install",
                              "chromium-headless-shell"]):
        found = headless_shell(chromium)
    if found is None:
        apt_install("chromium-headless-shell")
        found = headless_shell(chromium)
    print(f"headless shell: {found}" if found else
          "headless shell: none (only --headless-shell needs it: `python -m playwright "
          "install chromium-headless-shell` or `apt-get install chromium-headless-shell`)")


def main() -> int:
    code = ensure_browser()
    if code == 0:
        ensure_headless_shell()
    return code


def ensure_browser() -> int:
    """Make sure a Chromium/Chrome is installed; 0 if one is."""
    explicit = os.environ.get("GROKBATCH_BROWSER")
    if explicit and Path(explicit).is_file():
        print(f"browser: {explicit} (GROKBATCH_BROWSER)")
        return 0
    found = playwright_browser() or system_browser()
    if found:
        print(f"browser: {found}")
        return 0
    print("browser: trying `python -m playwright install chromium`")
    if run([sys.executable, "-m", "playwright", "install", "chromium"]) and playwright_browser():
        print(f"browser: {playwright_browser()}")
        return 0
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("browser: Playwright could not download Chromium; installing Debian's chromium")
        apt_install("chromium", "chromium-headless-shell")
        if system_browser():
            print(f"browser: {system_browser()}")
            return 0
    print(
        "browser: none found. Install one: `python -m playwright install chromium`, or your "
        "system's Chromium/Chrome (then set GROKBATCH_BROWSER if it is not on PATH)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
