"""Finding a Chromium/Chrome to drive, and launching it with a persistent profile.

Discovery order: `--browser-path` / `GROKBATCH_BROWSER`, then
Playwright's own Chromium if installed, then an installed Google Chrome, then
`chromium`, `chromium-browser` or `google-chrome` on PATH.

With `--headless-shell` the workers run Chromium's headless shell instead (Playwright's,
next to its Chromium, or Debian's `chromium-headless-shell`): the old headless mode as a
browser of its own, with no browser UI behind the page. It needs much less memory, but the
site sees a different browser (the full version in its user agent, a HeadlessChrome brand in
its client hints, no plugins, no `window.chrome`), so it is never chosen unless asked for.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from grokbatch import drivers, paths
from grokbatch.errors import DiskError, NoBrowserError
from grokbatch.logs import PROMPT_ENV

if TYPE_CHECKING:  # config imports this module, and the runner config: no Playwright there
    from playwright.sync_api import BrowserContext, Playwright

BROWSER_ENV = "GROKBATCH_BROWSER"
# Chromium keeps its crash-report database (and any dump: page memory, so cookies and the
# prompt) in ~/.config/chromium/Crash Reports whatever the profile. This variable moves it
# (Debian's Chromium 1xx honours it, not --crash-dumps-dir; Chrome honours both).
CRASH_DUMPS_ENV = "BREAKPAD_DUMP_LOCATION"

_PATH_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium's headless shell: Debian's package (the /usr/bin name is a script that does not
# exec, which would leave one more process per worker), then names on PATH.
_SHELL_LOCATIONS = ("/usr/lib/chromium/chromium-headless-shell",)
_SHELL_PATH_NAMES = ("chromium-headless-shell", "chrome-headless-shell", "headless_shell")
# Playwright keeps its headless shell beside its Chromium of the same revision:
# <browsers>/chromium-<rev>/... and <browsers>/chromium_headless_shell-<rev>/<dir>/<this>.
_PLAYWRIGHT_SHELL_NAMES = ("chrome-headless-shell", "chrome-headless-shell.exe",
                           "headless_shell")
_CHROME_LOCATIONS = (
    "/opt/google/chrome/chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
)

# Flags every worker browser gets. Each one either keeps the browser from talking to
# anything but the site, or cuts memory a batch worker never needs; the memory figures are
# PSS saved per browser as `scripts/measure_flags.py` measured them (Chromium 156). Flags
# that measured worse (--no-zygote: +49 MB) or risk breaking the site (JS heap caps, one
# renderer process) are left out.
BASE_ARGS = (
    "--disable-background-networking",  # no update pings, no safe-browsing fetches
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    # No spare renderer kept warm for a second site (-18 MB); no translate, cast or hints.
    # No omnibox popup: headless Chromium keeps its WebUI loaded in a renderer of its own
    # (-49 MB, -0.19 CPU-s to start); it is browser UI, so the site sees no difference.
    # Chromium keeps only the last --disable-features (and --enable-features), so this list
    # replaces Playwright's: it repeats the entries of Playwright's that stop background
    # requests to Google at start-up (AI mode, search preconnect, network time, Lens,
    # accounts), which on a machine that cannot reach Google stalled a worker's first page
    # by seconds (last of 5 first claims 9.0 -> 5.1 s, medians of 3).
    "--disable-features=Translate,MediaRouter,OptimizationHints,SpareRendererForSitePerProcess,"
    "WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,"
    "AimEnabled,PreconnectToSearch,NetworkTimeServiceQuerying,LensOverlay",
    # No separate network process (-11 MB); no accounts list request at start-up.
    "--enable-features=NetworkServiceInProcess2,SkipListAccountsWithoutGaiaCookies",
    "--disable-extensions",  # (-11 MB)
    "--disable-dev-shm-usage",  # small /dev/shm in containers crashes renderers
)


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser to launch: an executable path, or a Playwright channel."""

    executable_path: str | None = None
    channel: str | None = None

    def describe(self) -> str:
        """A short description for the log."""
        return self.executable_path or f"channel {self.channel}"


def no_display() -> str | None:
    """Why a browser window cannot open here (None: it can, as far as one can tell):
    on Linux a window needs an X or Wayland display, which cron and ssh sessions lack."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display for a browser window (DISPLAY is not set, as under cron or ssh)"


def check_browser_path(value: str) -> Path:
    """The executable file named by --browser-path / GROKBATCH_BROWSER, or NoBrowserError."""
    path = Path(value).expanduser()
    where = f"browser {value} (from --browser-path, {BROWSER_ENV} or the config's browserPath)"
    if not path.exists():
        raise NoBrowserError(f"{where} does not exist")
    if not path.is_file():
        raise NoBrowserError(f"{where} is not a file")
    if not os.access(path, os.X_OK):
        raise NoBrowserError(f"{where} is not executable")
    return path


def find_browser(playwright: Playwright, explicit: str | None = None, *,
                 headless_shell: bool = False) -> BrowserChoice:
    """Pick the browser to launch, or raise NoBrowserError saying how to get one.

    An explicit path always wins; `headless_shell` asks for Chromium's headless shell.
    """
    explicit = explicit or os.environ.get(BROWSER_ENV)
    if explicit:
        return BrowserChoice(executable_path=str(check_browser_path(explicit)))
    if headless_shell:
        return find_headless_shell(playwright.chromium.executable_path)
    bundled = playwright.chromium.executable_path
    if bundled and Path(bundled).is_file():
        return BrowserChoice(executable_path=bundled)
    for location in _CHROME_LOCATIONS:
        if Path(location).is_file():
            return BrowserChoice(channel="chrome")
    found = _first_file(shutil.which(name) for name in _PATH_NAMES)
    if found:
        return BrowserChoice(executable_path=found)
    raise NoBrowserError(
        "no Chromium or Chrome found: run `python -m playwright install chromium`, "
        f"or install Chromium/Chrome and pass --browser-path (or set {BROWSER_ENV})"
    )


def find_headless_shell(playwright_chromium: str | None) -> BrowserChoice:
    """Chromium's headless shell: Playwright's (beside `playwright_chromium`, the path of
    Playwright's own Chromium), Debian's, or one on PATH; NoBrowserError if none."""
    found = _first_file(_playwright_shells(playwright_chromium), _SHELL_LOCATIONS,
                        (shutil.which(name) for name in _SHELL_PATH_NAMES))
    if found:
        return BrowserChoice(executable_path=found)
    raise NoBrowserError(
        "no Chromium headless shell found: run `python -m playwright install "
        "chromium-headless-shell` (Debian/Ubuntu: `apt-get install chromium-headless-shell`), "
        "or run without --headless-shell"
    )


def _playwright_shells(playwright_chromium: str | None) -> Iterator[Path]:
    """Playwright's headless shell that goes with its Chromium at `playwright_chromium`
    (<browsers>/chromium-<rev>/... beside <browsers>/chromium_headless_shell-<rev>/)."""
    for parent in Path(playwright_chromium or "").parents:
        if parent.name.startswith("chromium-"):
            revision = parent.name.removeprefix("chromium-")
            shell_dir = parent.parent / f"chromium_headless_shell-{revision}"
            for name in _PLAYWRIGHT_SHELL_NAMES:
                yield from sorted(shell_dir.glob(f"*/{name}"))
            return


def _first_file(*candidates: Iterable[str | Path | None]) -> str | None:
    """The first of `candidates` (groups of paths, in order) that is a file."""
    for candidate in itertools.chain(*candidates):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def launch_args(headless: bool) -> list[str]:
    """Command-line flags for a worker's browser."""
    args = [*BASE_ARGS, f"--crash-dumps-dir={paths.crash_dumps_dir()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with the sandbox
    if headless:
        # No GPU and no software GL fallback: the page needs neither (-24 MB).
        args += ["--disable-gpu", "--disable-software-rasterizer", "--mute-audio"]
    return args


def tune_driver() -> None:
    """Start this process's own Playwright drivers as the shared ones start
    (`drivers.driver_env`); the browsers they launch inherit none of it."""
    os.environ.update(drivers.driver_env(os.environ))


def browser_env() -> dict[str, str | float | bool]:
    """The environment a browser is launched with: ours without the driver's settings or
    a prompt (a crash dump holds the environment), crash dumps under our home."""
    env = {k: v for k, v in os.environ.items()
           if k not in drivers.DRIVER_ENV_KEYS and k != PROMPT_ENV}
    return {**env, CRASH_DUMPS_ENV: str(paths.crash_dumps_dir())}


def launch_persistent(
    playwright: Playwright,
    profile_dir: Path,
    choice: BrowserChoice,
    *,
    headless: bool,
    timeout_s: float,
) -> BrowserContext:
    """Launch a browser on `profile_dir`, bounded by `timeout_s`."""
    try:
        paths.make_private_dir(paths.crash_dumps_dir())
    except DiskError as exc:  # a home no one can write in (`doctor` says so): no dumps
        logger.debug("no crash-dumps directory: {}", exc)
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=choice.executable_path,
        channel=choice.channel,
        headless=headless,
        args=launch_args(headless),
        env=browser_env(),
        timeout=timeout_s * 1000,
        viewport={"width": 1280, "height": 800},
        accept_downloads=False,
        handle_sigint=False,  # the runner decides what a Ctrl-C means
        handle_sigterm=False,
        handle_sighup=False,
    )
