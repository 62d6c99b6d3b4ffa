"""Starting what the benchmark measures: grokbatch commands as subprocesses of their own,
in a temporary home, with every wait bounded and every process tree ended on the way out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from grokbatch.simulator.process import SimulatorProcess

from .proctree import kill_tree

# This checkout: the runs start here, so that `python -m grokbatch` is its grokbatch.
ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
# Signing the bench account in on the simulator takes one browser start.
_ACCOUNT_ADD_TIMEOUT_S = 120.0
# How long close() waits for a killed process to be reaped.
_REAP_TIMEOUT_S = 5.0


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh temporary directory, removed with everything in it on the way out."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def bench_site(prefix: str, gen_s: float, sim_args: tuple[str, ...] = ()
               ) -> Iterator[tuple[Path, Path, SimulatorProcess]]:
    """What one measurement runs in: a fresh temporary directory, an empty grokbatch home
    in it, and a simulator of `gen_s`-second generations (`start_simulator`); yields
    (directory, home, simulator), all gone on the way out."""
    with temp_dir(prefix) as tmp:
        home = tmp / "home"
        home.mkdir()
        sim = start_simulator(gen_s, sim_args)
        try:
            yield tmp, home, sim
        finally:
            sim.stop()


def grokbatch_env(home: Path) -> dict[str, str]:
    """The environment of a grokbatch command: this home, no debug, no proxy."""
    env = dict(os.environ, GROKBATCH_HOME=str(home), PYTHONUNBUFFERED="1")
    env.pop("GROKBATCH_DEBUG", None)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env


class Spawned:
    """A subprocess in its own session, output to files, killed with its tree on close."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None,
                 workdir: Path, name: str) -> None:
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in close()
        self._err = open(self.stderr_path, "wb")  # noqa: SIM115
        self.spawn_utc = datetime.now(timezone.utc)
        self.spawn_mono = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=self._err, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=ROOT)
        self.end_mono: float | None = None

    @property
    def pid(self) -> int:
        """The subprocess's pid."""
        return self.proc.pid

    def wait(self, timeout: float) -> int:
        """Wait for exit; on timeout kill the tree and raise TimeoutError."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise TimeoutError(f"{self.name} did not finish within {timeout:.0f} s") from None
        self.end_mono = time.monotonic()
        return code

    def text(self, which: str = "stderr", tail: int = 2000) -> str:
        """The end of its stdout or stderr."""
        path = self.stderr_path if which == "stderr" else self.stdout_path
        try:
            return path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def close(self, grace_s: float = 0.0) -> None:
        """SIGTERM and `grace_s` to exit (if any), then SIGKILL to the whole tree."""
        if self.proc.poll() is None and grace_s > 0:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace_s)
        kill_tree(self.proc.pid)  # also reaps anything it left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=_REAP_TIMEOUT_S)
        self._out.close()
        self._err.close()


def add_account(home: Path, sim_url: str, workdir: Path) -> None:
    """`grokbatch accounts add bench` on the simulator at `sim_url`, headless."""
    spawned = Spawned([PY, "-m", "grokbatch", "accounts", "add", "bench", "--url",
                       sim_url + "/imagine", "--headless", "--timeout", "60"],
                      env=grokbatch_env(home), workdir=workdir, name="accounts-add")
    try:
        code = spawned.wait(_ACCOUNT_ADD_TIMEOUT_S)
        if code != 0:
            raise RuntimeError(f"accounts add exited {code}: {spawned.text()}")
    finally:
        spawned.close()


def start_simulator(gen_s: float, extra: tuple[str, ...] = ()) -> SimulatorProcess:
    """The simulator a bench run talks to, in a subprocess (so it never shares our GIL):
    sign-in on first visit, generations of `gen_s` seconds, plus `extra` serve options."""
    return SimulatorProcess("--auto-login", "--generation-seconds", str(gen_s), *extra)
