"""Playwright drivers: how each is started, and the run's shared drivers.

Playwright's Python API talks to a driver, a Node.js process that drives the browsers.
`sync_playwright()` starts one per process; a worker that started its own would carry
about 55 MB more (its driver, less its share of a shared one) and spend 0.2 CPU-s more
starting it. A run instead starts shared drivers (`shared_driver.js`): one for every
`WORKERS_PER_DRIVER` workers, no more than the machine has cores (`drivers_for`). Each
worker reaches its driver through a Unix socket (`open_playwright`). A driver serves each
worker as `cli.js run-driver` serves its one client: one connection, its own browsers,
closed when the worker goes.

The shared driver runs in a session of its own (a Ctrl-C on the terminal is the runner's
to answer) and exits when its stdin ends: when the runner closes it, or when the runner is
gone. Exiting kills the browsers it launched, and removes its socket and the socket's
directory: a 0700 directory of its own, for whoever reaches the socket drives the
account's browsers. It is made in the run's own temporary directory (`scratch.py`), which
goes with the run; the next run removes one that a killed run left.

A driver that does not start (a Playwright whose internals moved, say) costs the run
nothing but the memory: its workers start their own drivers, as `--own-drivers` asks.

This module loads no Playwright: the runner imports it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from grokbatch import paths
from grokbatch.errors import DiskError
from grokbatch.logs import first_line
from grokbatch.processes import kill_now

if TYPE_CHECKING:  # the runner imports this module: no Playwright there
    from playwright.sync_api import Playwright

# Workers one shared driver serves (more when the cores run short, `drivers_for`): a driver
# is one Node.js thread. Serving 10, it spends 0.9 CPU-s starting their browsers, and keeps
# up after (bench startup, N=10: 100 videos at efficiency 0.88, against 0.85 with a driver
# each).
WORKERS_PER_DRIVER = 10
# Loaded into every Playwright driver: the pages it drives keep no response bodies in their
# renderers (see the script).
DRIVER_PRELOAD = Path(__file__).with_name("driver_preload.js")


def drivers_for(workers: int, cores: int | None = None) -> int:
    """How many shared drivers `workers` workers get: one for every `WORKERS_PER_DRIVER`,
    at most one per core (default: this machine's).

    A driver is one Node.js thread: more drivers than cores do not run at once, and each
    costs about 120 MB and 0.3 CPU-s to start, before any worker does (the runner waits
    for them). On 2 cores, 86 workers making 172 videos of 30 s with 2 drivers instead of
    9 (`scripts/bench.py --only runs --workers 100 --videos 172 --generation-seconds 30
    --skip-baseline`, four runs each, in turn): the first claim 2.6-3.2 s after the start
    instead of 4.0-5.5, the whole run 154-165 s instead of 158-176.
    """
    cores = max(1, cores if cores is not None else os.cpu_count() or 1)
    return min(-(-workers // WORKERS_PER_DRIVER), cores)


def _quoted(path: Path) -> str:
    """`path` as one word of NODE_OPTIONS, which node splits at spaces outside quotes."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


# Node options for every Playwright driver: the preload above, and a young generation of
# 1 MB instead of node's default 16 MB: -25 MB PSS per driver, no slower (bench startup,
# medians of 2). Node refuses most other V8 flags here; old-space limits saved nothing.
DRIVER_NODE_OPTIONS = f"--require {_quoted(DRIVER_PRELOAD)} --max-semi-space-size=1"
# Node keeps the code it compiled from Playwright's scripts here and reuses it at the next
# start: -0.08 CPU-s per driver start (0.27 -> 0.19 CPU-s, bench startup, N=10).
NODE_COMPILE_CACHE_ENV = "NODE_COMPILE_CACHE"
DRIVER_ENV_KEYS = ("NODE_OPTIONS", NODE_COMPILE_CACHE_ENV)

# How long a worker may take to connect to its shared driver.
_CONNECT_TIMEOUT_S = 10.0
# How long a shared driver may take to listen (it takes about 0.3 s).
_READY_TIMEOUT_S = 15.0
# How long a shared driver may take to exit once told (it closes its browsers first).
_STOP_TIMEOUT_S = 10.0
# The prefix of a shared driver's socket directory, and the age past which one whose
# driver does not answer is a leftover of a driver that was killed (a driver listens
# within a second of making its directory).
_SOCKET_DIR_PREFIX = "grokbatch-driver-"
_SOCKET_NAME = "driver.sock"
_STALE_SOCKET_DIR_S = 10.0
_SCRIPT = Path(__file__).with_name("shared_driver.js")


def driver_env(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the settings of a Playwright driver: `DRIVER_NODE_OPTIONS` added to
    any NODE_OPTIONS of the user's, a compile cache under our home unless one is set."""
    env = dict(environ)
    options = env.get("NODE_OPTIONS", "")
    if DRIVER_NODE_OPTIONS not in options:
        options = f"{options} {DRIVER_NODE_OPTIONS}".strip()
    env["NODE_OPTIONS"] = options
    if NODE_COMPILE_CACHE_ENV not in env:
        # A cache: without it a driver starts a moment slower. Not logged: a worker calls
        # this before its log goes to the runner.
        with contextlib.suppress(DiskError):
            env[NODE_COMPILE_CACHE_ENV] = str(paths.make_private_dir(
                paths.node_compile_cache_dir()))
    return env


def _node_and_core() -> tuple[str, Path]:
    """Playwright's Node.js and its playwright-core package, found as Playwright finds
    them, without importing Playwright."""
    spec = importlib.util.find_spec("playwright")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("Playwright is not installed")
    driver = Path(next(iter(spec.submodule_search_locations))) / "driver"
    node = os.environ.get("PLAYWRIGHT_NODEJS_PATH") or str(driver / "node")
    return node, driver / "package"


def _socket_base() -> Path:
    """Where shared drivers' socket directories go when the run has no temporary directory
    of its own: the user's runtime directory if there is one, else the temporary directory."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime if runtime and os.access(runtime, os.W_OK) else tempfile.gettempdir())


def remove_stale_socket_dirs() -> None:
    """Remove the socket directories of shared drivers that were killed (a driver removes
    its own when it exits): ours, older than `_STALE_SOCKET_DIR_S`, no driver answering."""
    for directory in _socket_base().glob(f"{_SOCKET_DIR_PREFIX}*"):
        with contextlib.suppress(OSError):
            info = directory.lstat()
            if (not directory.is_dir() or directory.is_symlink() or info.st_uid != os.getuid()
                    or time.time() - info.st_mtime < _STALE_SOCKET_DIR_S):
                continue
            if not driver_listens(str(directory / _SOCKET_NAME)):
                shutil.rmtree(directory, ignore_errors=True)


class SharedDriver:
    """One shared driver process and its socket."""

    def __init__(self, temp_dir: Path | None = None) -> None:
        """Start the driver, with `temp_dir` (if given) its TMPDIR, its browsers' and where
        its socket goes; it listens about 0.3 s later (`wait_ready`)."""
        node, core = _node_and_core()
        env = driver_env(os.environ)
        self.directory = Path(tempfile.mkdtemp(prefix=_SOCKET_DIR_PREFIX,
                                               dir=temp_dir or _socket_base()))  # 0700
        self.socket = self.directory / _SOCKET_NAME
        self.ready = False
        if len(os.fsencode(self.socket)) > paths.MAX_SOCKET_PATH:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise OSError(f"socket path too long for a Unix socket: {self.socket}")
        if temp_dir is not None:
            env["TMPDIR"] = str(temp_dir)
        try:
            self.process = subprocess.Popen(
                [node, str(_SCRIPT), str(core), str(self.socket)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                start_new_session=True,
            )
        except OSError:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def wait_ready(self, deadline: float) -> bool:
        """Wait until the driver listens, until monotonic `deadline`; False if it did not."""
        stdout = self.process.stdout
        assert stdout is not None
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                return False
            line = stdout.readline()
            if not line:  # it exited
                return False
            self.ready = line.strip() == b"listening"
        return True

    def alive(self) -> bool:
        return self.ready and self.process.poll() is None

    def stop(self) -> None:
        """Tell the driver to exit (it closes its browsers), bounded; then kill it."""
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            kill_now(self.process.pid, group=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(_STOP_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class SharedDrivers:
    """A run's shared drivers (`drivers_for`; none: each worker starts its own driver)."""

    def __init__(self, drivers: list[SharedDriver] | None = None) -> None:
        self.drivers = drivers or []
        self._reported_dead: set[int] = set()

    @classmethod
    def start(cls, workers: int, temp_dir: Path | None = None,
              cores: int | None = None) -> SharedDrivers:
        """Start the drivers `workers` workers need (`drivers_for`), without waiting for
        them; `temp_dir` is their temporary directory, if given (the run's, `scratch.py`)."""
        remove_stale_socket_dirs()
        drivers: list[SharedDriver] = []
        try:
            for _ in range(drivers_for(workers, cores)):
                drivers.append(SharedDriver(temp_dir))
        except OSError as exc:
            logger.warning("the shared Playwright driver did not start ({}); each worker "
                           "starts its own", exc)
            for driver in drivers:
                driver.stop()
            return cls()
        return cls(drivers)

    def wait_ready(self) -> None:
        """Wait until every driver listens (bounded); drop those that do not."""
        deadline = time.monotonic() + _READY_TIMEOUT_S
        failed = [d for d in self.drivers if not d.wait_ready(deadline)]
        if failed:
            logger.warning("{} of {} shared Playwright driver(s) did not start; their "
                           "workers start their own", len(failed), len(self.drivers))
        for driver in failed:
            driver.stop()
        self.drivers = [d for d in self.drivers if d not in failed]

    def socket_for(self, worker_number: int) -> str | None:
        """The socket of the driver that serves worker `worker_number`; None: a driver of
        its own (no shared driver, or its driver has exited)."""
        live = [d for d in self.drivers if d.alive()]
        return str(live[worker_number % len(live)].socket) if live else None

    def report_exited(self) -> None:
        """Say once of each shared driver that exited during the run (its workers' browsers
        went with it; they start their own drivers if they start again)."""
        for number, driver in enumerate(self.drivers):
            code = driver.process.poll()
            if code is not None and number not in self._reported_dead:
                self._reported_dead.add(number)
                logger.warning("shared Playwright driver {} exited (code {}); the browsers "
                               "of its workers went with it", number, code)

    def stop(self) -> None:
        for driver in self.drivers:
            driver.stop()
        self.drivers = []


def check_shared_driver() -> str | None:
    """Start a shared driver and talk to it as a worker would (no browser): None if that
    works, else why not (a run's workers would then start their own drivers)."""
    try:
        driver = SharedDriver()
    except OSError as exc:
        return f"it did not start: {exc}"
    try:
        if not driver.wait_ready(time.monotonic() + _READY_TIMEOUT_S):
            return f"it did not start (exit code {driver.process.poll()})"
        try:
            playwright = _connect(str(driver.socket))
        except Exception as exc:
            return f"it does not answer: {type(exc).__name__}: {first_line(str(exc))}"
        try:
            playwright.chromium.name  # noqa: B018  (a round trip through the driver's objects)
        finally:
            playwright.stop()
        return None
    finally:
        driver.stop()


# ------------------------------------------------------------------ a worker's side
def driver_listens(driver_socket: str) -> bool:
    """Whether a shared driver still listens on `driver_socket` (a socket file stays
    behind a driver that was killed)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(_CONNECT_TIMEOUT_S)
        try:
            probe.connect(driver_socket)
        except OSError:
            return False
    return True


@contextlib.contextmanager
def open_playwright(driver_socket: str | None, who: str) -> Iterator[Playwright]:
    """Playwright through the shared driver at `driver_socket`; through a driver of this
    process's own if it is None or the shared driver does not answer. `who` (a worker id)
    is named in the log line that says which."""
    from playwright.sync_api import sync_playwright

    if driver_socket is not None:
        try:
            playwright = _connect(driver_socket)
        except Exception as exc:
            logger.warning("{}: the shared Playwright driver does not answer ({}); starting "
                           "one of its own", who, type(exc).__name__)
        else:
            logger.debug("{}: Playwright driver: shared", who)
            try:
                yield playwright
            finally:
                playwright.stop()
            return
    with sync_playwright() as playwright:
        logger.debug("{}: Playwright driver: its own", who)
        yield playwright


def _connect(driver_socket: str) -> Playwright:
    """Start Playwright's client on the shared driver's socket instead of a driver of its
    own: the client is the same, only its transport reads and writes the socket."""
    import asyncio
    import functools

    from playwright._impl import out_of_process
    from playwright._impl.transport import PipeTransport
    from playwright.sync_api import sync_playwright

    class _Socket:
        """The socket's two ends where PipeTransport reads and writes a driver's pipes."""

        def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.stdout, self.stdin = reader, writer

        async def communicate(self) -> None:  # a driver of our own would be waited for here
            return None

    class SocketTransport(PipeTransport):
        def __init__(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
            super().__init__(loop)
            self._path = path

        async def connect(self) -> None:
            self._stopped_future: asyncio.Future[Any] = asyncio.Future()
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self._path, limit=32768), _CONNECT_TIMEOUT_S)
            self._proc = _Socket(reader, writer)  # type: ignore[assignment]
            self._output = writer

    # Playwright makes its transport by this name when it starts a client (private, as is
    # PipeTransport; tests/e2e/test_shared_driver.py checks both with the installed version).
    original = out_of_process.PipeTransport
    out_of_process.PipeTransport = functools.partial(  # type: ignore[misc,assignment]
        SocketTransport, path=driver_socket)
    try:
        return sync_playwright().start()
    finally:
        out_of_process.PipeTransport = original  # type: ignore[misc]
