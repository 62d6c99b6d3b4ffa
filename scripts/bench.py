"""Benchmark grokbatch against the floor (ceil(B/N) * T) and against a naive baseline.

    .venv/bin/python scripts/bench.py                  # the full benchmark (make bench)
    .venv/bin/python scripts/bench.py --quick          # smoke run, about 2 minutes
    .venv/bin/python scripts/bench.py --only manifest,profile

Parts (each can be skipped or selected with --only):
  runs      grokbatch `run start` against a fresh simulator subprocess per worker count N
  memory    PSS of each worker's process tree (worker + Playwright driver + Chromium),
            sampled in steady state during one of the runs
  profile   copy_profile() of a synthetic ~500 MB Chromium-like profile vs shutil.copytree
  manifest  claim/update latency with 20 and 100 contending processes on 1,000 items
  baseline  scripts/naive_baseline.py: one browser, click, sleep 1 s, poll every 2 s
  startup   the issue's scenarios (N=1 B=5 T=3, N=5 B=20 T=3, N=10 B=100 T=5), each with
            the whole tree sampled: peak PSS / N, efficiency, first claims, and the
            start-up timeline (per phase: when, how long, CPU of Python/driver/browser)
  longrun   N=10 workers x 100 videos each of 1 s: each worker's memory at its 10th and
            its 100th video (see scripts/bench_startup.py)

Everything talks to 127.0.0.1 only. Every subprocess has a timeout and is killed (with its
whole process tree) on the way out; every temp dir is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's grokbatch, as the runs (cwd=ROOT) use
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_startup  # noqa: E402 - the sibling module, found through the line above

PY = sys.executable
MB = 1 << 20
PARTS = ("runs", "memory", "startup", "longrun", "profile", "manifest", "baseline")

# Targets: (key, description). Values are checked in evaluate_targets().
TARGETS = {
    "efficiency_n10": "efficiency >= 0.90 at N=10",
    "overhead_n1": "median per-video overhead <= 0.3 s at N=1",
    "first_claim_n10": "start -> first claim <= 5 s at N=10",
    "memory": "per-worker memory <= 200 MB PSS (max over workers)",
    "profile_copy": "profile copy <= 25 MB and <= 1 s",
    "manifest_p99": "manifest p99 (claim and update) <= 20 ms with 20 processes",
}

# The issue's start-up scenarios: name -> (workers N, videos B, seconds per video T), and
# the toy sizes --quick uses instead (same names, so the report reads the same).
STARTUP_SCENARIOS = {"n1": (1, 5, 3.0), "n5": (5, 20, 3.0), "n10": (10, 100, 5.0)}
QUICK_STARTUP_SCENARIOS = {"n1": (1, 2, 0.5), "n5": (2, 4, 0.5), "n10": (3, 6, 0.5)}
# Long run: (workers, videos per worker, the early video compared with the last, T).
LONG_RUN = (10, 100, 10, 1.0)
QUICK_LONG_RUN = (2, 4, 2, 0.3)
# Extra videos in the long run, so that every worker reaches its last counted video.
_LONG_RUN_SLACK_PER_WORKER = 5
# The long run's simulator shows grok.com's 2026 page, whose history strip grows with every
# video (the classic page keeps one video): what a long run's page really does.
_LONG_RUN_SIM_ARGS = ("--layout", "2026", "--stream-format", "captured")
# Sampling: CPU often during start-up only, PSS once a second (every 2 s in the long run).
_STARTUP_SAMPLING = {"cpu_every_s": 0.25, "cpu_for_s": 45.0, "pss_every_s": 1.0}
_LONG_RUN_SAMPLING = {"cpu_every_s": 1.0, "cpu_for_s": 0.0, "pss_every_s": 2.0}
# The issue's goals for the startup and longrun figures.
GOALS = {"memN5MB": 220.0, "memN10MB": 190.0, "memN1MB": 400.0, "effN5": 0.65,
         "lastClaimN5S": 6.0, "allClaimedN10S": 8.0, "effN10": 0.85, "growth": 1.10}
_SIM_START_TIMEOUT_S = 30.0
# Extra environment for every `grokbatch run start` (--env).
RUN_ENV: dict[str, str] = {}
_ACCOUNT_ADD_TIMEOUT_S = 120.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)


# =================================================================== pure helpers
def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return percentile(values, 50)


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: None as n/a, floats rounded."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; cells go through fmt()."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [
        "| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(headers)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(row)) + " |"
              for row in cells]
    return "\n".join(lines)


def parse_iso(value: str | None) -> datetime | None:
    """A manifest timestamp as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _write_random(path: Path, size: int, file_size: int) -> int:
    """Fill `path` (a directory) with random files of at most `file_size` bytes."""
    path.mkdir(parents=True, exist_ok=True)
    written = 0
    n = 0
    while written < size:
        chunk = min(file_size, size - written)
        (path / f"{n:06d}").write_bytes(os.urandom(chunk))
        written += chunk
        n += 1
    return written


def _write_file(path: Path, size: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return size


# Non-cache profile state, as shares of `state_mb`: (path, share, copied by copy_profile?)
_STATE_PARTS = (
    ("Default/Local Storage/leveldb", 0.08, True),
    ("Default/IndexedDB/https_grok.com_0.indexeddb.leveldb", 0.08, True),
    ("Default/Session Storage", 0.04, True),
    ("Default/Sessions", 0.04, True),
    ("Default/Web Data", 0.04, True),
    ("Default/Login Data", 0.02, True),
    ("Default/Shortcuts", 0.02, True),
    ("Default/History", 0.50, False),
    ("Default/Favicons", 0.14, False),
    ("Default/Top Sites", 0.02, False),
    ("Default/Visited Links", 0.02, False),
)
# Caches and crash dumps, as shares of `cache_mb`.
_CACHE_PARTS = (
    ("Default/Cache/Cache_Data", 0.40),
    ("Default/Code Cache/js", 0.20),
    ("Default/Service Worker/CacheStorage", 0.20),
    ("Default/GPUCache", 0.05),
    ("GrShaderCache", 0.05),
    ("Default/blob_storage", 0.05),
    ("Crashpad/completed", 0.05),
)


def build_synthetic_profile(
    root: Path, *, state_mb: float = 50, cache_mb: float = 450, file_size: int = MB
) -> dict[str, int]:
    """Write a Chromium-like user-data dir at `root`; return its byte counts by kind.

    `sessionBytes` is what a signed-in session needs (cookies, local storage, IndexedDB,
    preferences, ...), `otherStateBytes` history/favicons/top sites (not needed for a
    session), `cacheBytes` caches and crash dumps. Directories end in files of random
    bytes; leveldb-style parts are a directory of files, the sqlite-style ones one file.
    """
    root.mkdir(parents=True, exist_ok=True)
    sizes = {"sessionBytes": 0, "otherStateBytes": 0, "cacheBytes": 0}
    default = root / "Default"
    default.mkdir(exist_ok=True)
    cookies = default / "Cookies"
    with contextlib.closing(sqlite3.connect(cookies)) as db:
        db.execute("CREATE TABLE cookies (host_key TEXT, name TEXT, value TEXT, "
                   "encrypted_value BLOB, path TEXT, expires_utc INTEGER)")
        db.executemany("INSERT INTO cookies VALUES (?, ?, ?, ?, ?, ?)",
                       [(".grok.com", f"c{i}", "", os.urandom(64), "/", 0) for i in range(50)])
        db.commit()
    prefs = json.dumps({"profile": {"name": "bench", "exit_type": "Normal"},
                        "intl": {"accept_languages": "en-US,en"}}).encode()
    (default / "Preferences").write_bytes(prefs)
    (root / "Local State").write_bytes(json.dumps({"browser": {"enabled_labs": []}}).encode())
    sizes["sessionBytes"] += cookies.stat().st_size + len(prefs)
    sizes["sessionBytes"] += (root / "Local State").stat().st_size
    with contextlib.suppress(OSError):  # a stale lock, as a crashed Chromium leaves behind
        os.symlink("bench-host-12345", root / "SingletonLock")
    for rel, share, copied in _STATE_PARTS:
        size = max(1, int(state_mb * MB * share))
        path = root / rel
        if rel.endswith("leveldb") or rel.endswith(("Session Storage", "Sessions")):
            written = _write_random(path, size, file_size)
        else:
            written = _write_file(path, size)
        sizes["sessionBytes" if copied else "otherStateBytes"] += written
    for rel, share in _CACHE_PARTS:
        sizes["cacheBytes"] += _write_random(root / rel, max(1, int(cache_mb * MB * share)),
                                             file_size)
    sizes["totalBytes"] = sum(sizes.values())
    return sizes


def item_timings(doc: dict[str, Any], gen_s: float, spawn_utc: datetime) -> dict[str, Any]:
    """Per-video overhead and start-to-first-claim from a finished run's manifest."""
    durations = []
    gen = []
    starts = []
    workers = set()
    for item in doc.get("items", []):
        started = parse_iso(item.get("startedAt"))
        if started is not None:
            starts.append(started)
        if item.get("status") != "COMPLETED":
            continue
        done = parse_iso(item.get("completedAt"))
        if started is not None and done is not None:
            durations.append((done - started).total_seconds())
        if item.get("generationSeconds") is not None:
            gen.append(float(item["generationSeconds"]))
        workers.add(item.get("workerId"))
    overheads = [d - gen_s for d in durations]
    first_claim = (min(starts) - spawn_utc).total_seconds() if starts else None
    return {
        "completedItems": len(durations),
        "workersSeen": len(workers),
        "medianItemSeconds": median(durations),
        "medianOverheadS": median(overheads),
        "p90OverheadS": percentile(overheads, 90),
        "maxOverheadS": max(overheads) if overheads else None,
        "medianGenerationSeconds": median(gen),
        "startToFirstClaimS": first_claim,
    }


# =================================================================== processes
def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, pgid, sid) for every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        with contextlib.suppress(ValueError, IndexError):
            table[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def descendants(pid: int, table: dict[int, tuple[int, int, int]] | None = None) -> set[int]:
    """Every live descendant of `pid` (not `pid` itself)."""
    table = table if table is not None else _proc_table()
    children: dict[int, list[int]] = {}
    for child, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pss_kb(pid: int) -> int:
    """Pss of one process in kB (0 if it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant (snapshotted first, twice against races)."""
    for _ in range(2):
        victims = descendants(pid) | {pid}
        for victim in victims:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, signal.SIGKILL)
        time.sleep(0.1)


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
        path = self.stderr_path if which == "stderr" else self.stdout_path
        try:
            return path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def close(self, grace_s: float = 0.0) -> None:
        if self.proc.poll() is None and grace_s > 0:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace_s)
        kill_tree(self.proc.pid)  # also reaps anything it left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._out.close()
        self._err.close()


class Simulator:
    """`grokbatch simulator serve` as a subprocess (so it never shares our GIL)."""

    def __init__(self, workdir: Path, gen_s: float, extra: Sequence[str] = ()) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.spawned = Spawned(
            [PY, "-m", "grokbatch", "simulator", "serve", "--host", "127.0.0.1", "--port", "0",
             "--auto-login", "--generation-seconds", str(gen_s), *extra],
            env=env, workdir=workdir, name="simulator",
        )
        deadline = time.monotonic() + _SIM_START_TIMEOUT_S
        self.url = ""
        while time.monotonic() < deadline:
            line = self.spawned.stdout_path.read_text(errors="replace").splitlines()
            if line and line[0].startswith("listening on http://"):
                self.url = line[0].split()[-1]
                break
            if self.spawned.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.url.startswith(("http://127.0.0.1:", "http://localhost:")):
            err = self.spawned.text()
            self.spawned.close()
            raise RuntimeError(f"simulator did not start on loopback: {err}")

    def stats(self) -> dict[str, Any]:
        with _NO_PROXY.open(self.url + "/__sim/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        self.spawned.close(grace_s=5.0)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def grokbatch_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, GROKBATCH_HOME=str(home), PYTHONUNBUFFERED="1")
    env.pop("GROKBATCH_DEBUG", None)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env


def add_account(home: Path, sim: Simulator, workdir: Path) -> None:
    """`grokbatch accounts add bench` on the simulator, headless."""
    spawned = Spawned([PY, "-m", "grokbatch", "accounts", "add", "bench", "--url",
                       sim.url + "/imagine", "--headless", "--timeout", "60"],
                      env=grokbatch_env(home), workdir=workdir, name="accounts-add")
    try:
        code = spawned.wait(_ACCOUNT_ADD_TIMEOUT_S)
        if code != 0:
            raise RuntimeError(f"accounts add exited {code}: {spawned.text()}")
    finally:
        spawned.close()


# =================================================================== memory
def worker_trees(runner_pid: int) -> dict[int, set[int]]:
    """The runner's worker processes, each with its whole tree (driver, Chromium)."""
    table = _proc_table()
    trees: dict[int, set[int]] = {}
    for child, (ppid, _, _) in table.items():
        if ppid != runner_pid:
            continue
        cmd = _cmdline(child)
        if "spawn_main" not in cmd and "--multiprocessing-fork" not in cmd:
            continue  # e.g. the resource tracker
        tree = descendants(child, table) | {child}
        # Chromium may detach helpers into their own session: take those too.
        sessions = {table[p][2] for p in tree if p in table and p != child}
        sessions.discard(table[runner_pid][2] if runner_pid in table else -1)
        tree |= {p for p, (_, _, sid) in table.items() if sid in sessions}
        trees[child] = tree
    return trees


def process_kind(pid: int) -> str:
    """What a process in a worker's tree is, from its command line."""
    cmd = _cmdline(pid)
    if "--type=" in cmd:
        kind = cmd.split("--type=", 1)[1].split()[0]
        if kind == "utility" and "--utility-sub-type=" in cmd:
            kind += ":" + cmd.split("--utility-sub-type=", 1)[1].split()[0].rsplit(".", 1)[-1]
        return f"chromium {kind}"
    if "node" in cmd.split(" ", 1)[0] or ("playwright" in cmd and "run-driver" in cmd):
        return "playwright driver (node)"
    if "chrom" in cmd.split(" ", 1)[0]:
        return "chromium browser"
    return "other: " + os.path.basename(cmd.split(" ", 1)[0])[:40]


class MemorySampler(threading.Thread):
    """Samples per-worker PSS once the run's manifest shows `after` completed items."""

    def __init__(self, runner_pid: int, manifest_path: Path, after: int, samples: int = 3):
        super().__init__(name="memory-sampler", daemon=True)
        self.runner_pid = runner_pid
        self.manifest_path = manifest_path
        self.after = after
        self.samples_wanted = samples
        self.finished = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.error: str | None = None

    def _completed(self) -> int:
        try:
            doc = json.loads(self.manifest_path.read_bytes())
        except (OSError, ValueError):
            return 0
        return sum(1 for i in doc.get("items", []) if i.get("status") == "COMPLETED")

    def run(self) -> None:
        try:
            while not self.finished.wait(0.2):
                if self._completed() >= self.after:
                    break
            while not self.finished.is_set() and len(self.samples) < self.samples_wanted:
                trees = worker_trees(self.runner_pid)
                if trees:
                    workers = {}
                    for pid, tree in trees.items():
                        kinds: dict[str, int] = {}
                        for member in tree:
                            kind = "worker (python)" if member == pid else process_kind(member)
                            kinds[kind] = kinds.get(kind, 0) + pss_kb(member)
                        workers[str(pid)] = {"pssKb": sum(kinds.values()),
                                             "processes": len(tree), "byKindKb": kinds}
                    self.samples.append({"t": time.monotonic(),
                                         "runnerPssKb": pss_kb(self.runner_pid),
                                         "workers": workers})
                self.finished.wait(1.0)
        except Exception as exc:  # report, never take the bench down
            self.error = f"{type(exc).__name__}: {exc}"

    def summary(self) -> dict[str, Any]:
        per_worker: dict[str, list[int]] = {}
        procs: list[int] = []
        for sample in self.samples:
            for pid, row in sample["workers"].items():
                per_worker.setdefault(pid, []).append(row["pssKb"])
                procs.append(row["processes"])
        mb = [statistics.median(v) / 1024 for v in per_worker.values()]
        kinds: dict[str, list[int]] = {}
        for sample in self.samples:
            for row in sample["workers"].values():
                for kind, kb in row["byKindKb"].items():
                    kinds.setdefault(kind, []).append(kb)
        return {
            "samples": len(self.samples),
            "workers": len(per_worker),
            "processesPerWorker": median(procs),
            "perWorkerMedianMB": median(mb),
            "perWorkerMaxMB": max(mb) if mb else None,
            "totalWorkersMB": sum(mb) if mb else None,
            "runnerMB": (median([s["runnerPssKb"] for s in self.samples]) or 0) / 1024
            if self.samples else None,
            "byKindMedianMB": {k: (median(v) or 0) / 1024 for k, v in sorted(kinds.items())},
            "error": self.error,
            "raw": self.samples,
        }


# =================================================================== grokbatch runs
def bench_run(n: int, videos: int, gen_s: float, *, download: bool, sample_memory: bool,
              sample_tree: dict[str, float] | None = None, memory_at: Sequence[int] = (),
              env_extra: dict[str, str] | None = None, sim_args: Sequence[str] = (),
              ) -> dict[str, Any]:
    """One `grokbatch run start` with N workers against a fresh simulator and home.

    `sample_tree` (RunSampler options) also samples the whole process tree: the row gets
    the peak PSS, the start-up timeline and, for each k in `memory_at`, each worker's
    memory around its k-th video.
    """
    row: dict[str, Any] = {"workers": n, "videos": videos, "T": gen_s, "download": download,
                           "load1Before": os.getloadavg()[0]}
    with temp_dir(f"bench-run-n{n}-") as tmp:
        home = tmp / "home"
        home.mkdir()
        sim = Simulator(tmp, gen_s, sim_args)
        run = None
        sampler = None
        tree: bench_startup.RunSampler | None = None
        try:
            add_account(home, sim, tmp)
            profile = home / "accounts" / "bench" / "profile"
            row["accountProfileBytes"] = _tree_bytes(profile)
            args = [PY, "-m", "grokbatch", "run", "start", "--account", "bench",
                    "--permalink", sim.url + "/imagine/post/bench1",
                    "--prompt", "benchmark prompt", "--count", str(videos),
                    "--parallel", str(n), "--job-name", "bench",
                    "--download" if download else "--no-download", "--timeout", "120"]
            budget = math.ceil(videos / n) * (gen_s + 30) + 180
            run = Spawned(args, env={**grokbatch_env(home), **RUN_ENV, **(env_extra or {})},
                          workdir=tmp, name="run")
            if sample_tree is not None:
                tree = bench_startup.RunSampler(run.pid, **sample_tree)
                tree.start()
            manifest_path = home / "runs" / "bench" / "manifest.json"
            if sample_memory:
                sampler = MemorySampler(run.pid, manifest_path,
                                        after=3 if videos >= 3 * n else 1)
                sampler.start()
            code = run.wait(budget)
            wall = (run.end_mono or time.monotonic()) - run.spawn_mono
            if sampler is not None:
                sampler.finished.set()
                sampler.join(10)
            if tree is not None:
                tree.finished.set()
                tree.join(10)
            stats = sim.stats()
            doc = json.loads(manifest_path.read_bytes()) if manifest_path.exists() else {}
            ideal = math.ceil(videos / n) * gen_s
            row.update({
                "exitCode": code,
                "wallS": wall,
                "idealS": ideal,
                "efficiency": ideal / wall if wall > 0 else None,
                "simGenerationsCompleted": stats.get("generationsCompleted"),
                "simGenerationsStarted": stats.get("generationsStarted"),
                "simMaxConcurrent": stats.get("maxConcurrent"),
                "ok": code == 0 and stats.get("generationsCompleted") == videos,
                **item_timings(doc, gen_s, run.spawn_utc),
            })
            if sampler is not None:
                row["memory"] = sampler.summary()
            if tree is not None:
                row.update(tree_figures(tree, home / "runs" / "bench" / "timeline.json", doc,
                                        run.spawn_utc.timestamp(), n, memory_at))
            if code != 0:
                row["stderrTail"] = run.text(tail=3000)
            row["load1After"] = os.getloadavg()[0]
        finally:
            if sampler is not None:
                sampler.finished.set()
            if tree is not None:
                tree.finished.set()
            if run is not None:
                run.close(grace_s=10.0)
            sim.close()
    return row


def tree_figures(tree: bench_startup.RunSampler, timeline_path: Path, doc: dict[str, Any],
                 t0: float, n: int, memory_at: Sequence[int]) -> dict[str, Any]:
    """Peak memory, first claims, the start-up timeline and memory by video count, from a
    finished run's sampler, timeline.json and manifest."""
    out: dict[str, Any] = {"treePeakMB": tree.peak_total_mb(), "samplerError": tree.error,
                           "pssSamples": len(tree.pss), "cpuSamples": len(tree.cpu)}
    out["peakPerWorkerMB"] = out["treePeakMB"] / n if out["treePeakMB"] else None
    try:
        timeline = json.loads(timeline_path.read_bytes())
    except (OSError, ValueError):
        out["timelineError"] = f"no readable {timeline_path.name}"
        return out
    workers = timeline.get("workers", {})
    pids = {w: row["pid"] for w, row in workers.items() if row.get("pid")}
    series = {str(pid): tree.cpu_series(pid) for pid in pids.values()}
    out["timeline"] = bench_startup.phase_table(timeline, series, t0)
    out.update(bench_startup.runner_phases(timeline, tree.cpu_series(tree.run_pid), t0))
    claims = bench_startup.first_claims(timeline, t0)
    out["firstClaimS"] = claims[0] if claims else None
    out["lastFirstClaimS"] = claims[-1] if claims else None
    out["workersClaimed"] = len(claims)
    if memory_at:
        done: dict[str, list[float]] = {}
        for item in doc.get("items", []):
            at = parse_iso(item.get("completedAt"))
            if item.get("status") == "COMPLETED" and at is not None:
                done.setdefault(str(item.get("workerId")), []).append(at.timestamp())
        out["memoryAtVideo"] = {str(k): bench_startup.memory_at_videos(tree.pss, done, pids, k)
                                for k in memory_at}
        first, last = (out["memoryAtVideo"][str(k)] for k in (memory_at[0], memory_at[-1]))
        growth = [last[w] / first[w] for w in last if w in first and first[w] > 0]
        out["memoryGrowthMax"] = max(growth) if growth else None
        out["memoryGrowthMedian"] = median(growth)
    return out


def bench_startup_part(scenarios: dict[str, tuple[int, int, float]], repeat: int,
                       save: Any) -> dict[str, Any]:
    """Each start-up scenario `repeat` times, whole tree sampled; rows by scenario name."""
    out: dict[str, Any] = {"scenarios": {name: [] for name in scenarios}}
    for rep in range(repeat):
        for name, (n, videos, gen_s) in scenarios.items():
            log(f"startup {name} ({rep + 1}/{repeat}): N={n}, B={videos}, T={gen_s}")
            try:
                row = bench_run(n, videos, gen_s, download=False, sample_memory=False,
                                sample_tree=_STARTUP_SAMPLING)
            except Exception as exc:
                log(f"startup {name} failed: {exc!r}")
                row = {"workers": n, "videos": videos, "T": gen_s, "error": repr(exc)}
            out["scenarios"][name].append(row)
            save()
            log(f"  -> wall {fmt(row.get('wallS'))} s, efficiency {fmt(row.get('efficiency'))},"
                f" first claims {fmt(row.get('firstClaimS'))}..{fmt(row.get('lastFirstClaimS'))}"
                f" s, peak {fmt(row.get('treePeakMB'), 0)} MB")
    return out


def bench_long_run(workers: int, per_worker: int, early: int, gen_s: float, repeat: int,
                   save: Any) -> list[dict[str, Any]]:
    """N workers with about `per_worker` videos each: memory at the early and last video."""
    rows = []
    videos = workers * (per_worker + _LONG_RUN_SLACK_PER_WORKER)
    for rep in range(repeat):
        log(f"long run ({rep + 1}/{repeat}): N={workers}, B={videos}, T={gen_s}")
        try:
            sampling = dict(_LONG_RUN_SAMPLING)
            if videos < 100:  # a toy run (--quick) ends before a 2 s sampler sees much
                sampling["pss_every_s"] = 0.5
            row = bench_run(workers, videos, gen_s, download=False, sample_memory=False,
                            sample_tree=sampling, memory_at=(early, per_worker),
                            sim_args=_LONG_RUN_SIM_ARGS)
        except Exception as exc:
            log(f"long run failed: {exc!r}")
            row = {"workers": workers, "videos": videos, "T": gen_s, "error": repr(exc)}
        row.update(early=early, late=per_worker)
        rows.append(row)
        save()
        log(f"  -> wall {fmt(row.get('wallS'))} s, memory growth max "
            f"{fmt(row.get('memoryGrowthMax'), 3)}")
    return rows


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# =================================================================== profile copy
def bench_profile(state_mb: float, cache_mb: float, reps: int) -> dict[str, Any]:
    from grokbatch.profiles import copy_profile

    with temp_dir("bench-profile-") as tmp:
        src = tmp / "src"
        t0 = time.monotonic()
        sizes = build_synthetic_profile(src, state_mb=state_mb, cache_mb=cache_mb)
        build_s = time.monotonic() - t0
        smart: list[float] = []
        naive: list[float] = []
        stats = None
        for rep in range(reps):
            dst = tmp / f"copy-{rep}"
            t0 = time.perf_counter()
            stats = copy_profile(src, dst)
            smart.append(time.perf_counter() - t0)
            shutil.rmtree(dst)
        for rep in range(reps):
            dst = tmp / f"full-{rep}"
            t0 = time.perf_counter()
            shutil.copytree(src, dst, symlinks=True)
            naive.append(time.perf_counter() - t0)
            shutil.rmtree(dst)
    assert stats is not None
    return {
        "profile": {k: v for k, v in sizes.items()},
        "buildSeconds": build_s,
        "copyProfileBytes": stats.bytes,
        "copyProfileFiles": stats.files,
        "copyProfileSeconds": median(smart),
        "copyProfileAllSeconds": smart,
        "copytreeBytes": sizes["totalBytes"],
        "copytreeSeconds": median(naive),
        "copytreeAllSeconds": naive,
        "reps": reps,
    }


# =================================================================== manifest latency
def manifest_worker(path: str, wid: str, ready: Any, go: Any, results: Any,
                    think_s: float = 0.0, max_items: int = 0) -> None:
    """One contending process: claim, then complete, until the queue is empty.

    With `think_s`, it sleeps about that long (jittered) before each claim and each
    update, as a worker busy generating would; `max_items` > 0 stops it after that many.
    """
    import random

    from grokbatch.manifest import ItemStatus, Manifest

    manifest = Manifest(Path(path))
    ready.put(wid)
    go.wait(120)
    claims: list[float] = []
    updates: list[float] = []
    begin = time.monotonic()
    try:
        while not max_items or len(updates) < max_items:
            if think_s:
                time.sleep(think_s * random.uniform(0.5, 1.5))
            t0 = time.perf_counter()
            item = manifest.claim_next_item(wid)
            t1 = time.perf_counter()
            if item is None:
                break
            claims.append(t1 - t0)
            if think_s:
                time.sleep(think_s * random.uniform(0.5, 1.5))
                t1 = time.perf_counter()
            manifest.update_item(item["index"], wid, status=ItemStatus.COMPLETED)
            updates.append(time.perf_counter() - t1)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    results.put({"wid": wid, "claims": claims, "updates": updates, "begin": begin,
                 "end": time.monotonic(), "error": error})


def _latency_summary(claims: list[float], updates: list[float]) -> dict[str, Any]:
    ms = 1000.0
    return {
        "claimP50Ms": (median(claims) or 0) * ms if claims else None,
        "claimP99Ms": (percentile(claims, 99) or 0) * ms if claims else None,
        "claimMaxMs": max(claims) * ms if claims else None,
        "updateP50Ms": (median(updates) or 0) * ms if updates else None,
        "updateP99Ms": (percentile(updates, 99) or 0) * ms if updates else None,
        "updateMaxMs": max(updates) * ms if updates else None,
    }


def bench_manifest_contended(procs: int, items: int, think_s: float = 0.0,
                             max_items: int = 0) -> dict[str, Any]:
    from grokbatch.manifest import Manifest

    ctx = multiprocessing.get_context("spawn")
    with temp_dir(f"bench-manifest-{procs}-") as tmp:
        path = tmp / "manifest.json"
        Manifest.create(path, job_name="bench", account_alias="bench",
                        permalink="http://127.0.0.1/imagine/post/x", count=items, prompt="p")
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        workers = [ctx.Process(target=manifest_worker, args=(str(path), f"w{i}", ready, go,
                                                              results, think_s, max_items),
                               daemon=True)
                   for i in range(procs)]
        rows: list[dict[str, Any]] = []
        try:
            for w in workers:
                w.start()
            for _ in range(procs):
                ready.get(timeout=180)
            go.set()
            deadline = time.monotonic() + 600
            while len(rows) < procs:
                rows.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
            for w in workers:
                w.join(10)
            final = json.loads(path.read_bytes())
        finally:
            for w in workers:
                if w.is_alive():
                    w.kill()
                    w.join(5)
            for q in (ready, results):
                q.close()
                q.cancel_join_thread()
    claims = [c for r in rows for c in r["claims"]]
    updates = [u for r in rows for u in r["updates"]]
    span = max(r["end"] for r in rows) - min(r["begin"] for r in rows)
    return {
        "processes": procs,
        "items": items,
        "thinkSeconds": think_s,
        "completed": final.get("completedCount"),
        "errors": [r["error"] for r in rows if r["error"]],
        "spanSeconds": span,
        "opsPerSecond": (len(claims) + len(updates)) / span if span > 0 else None,
        "itemsPerSecond": len(updates) / span if span > 0 else None,
        **_latency_summary(claims, updates),
    }


def bench_manifest_uncontended(items: int, reps: int = 30) -> dict[str, Any]:
    from grokbatch.manifest import ItemStatus, Manifest

    with temp_dir("bench-manifest-1-") as tmp:
        manifest = Manifest.create(tmp / "manifest.json", job_name="bench",
                                   account_alias="bench",
                                   permalink="http://127.0.0.1/imagine/post/x", count=items,
                                   prompt="p")
        claims, updates = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            item = manifest.claim_next_item("solo")
            t1 = time.perf_counter()
            assert item is not None
            manifest.update_item(item["index"], "solo", status=ItemStatus.COMPLETED)
            claims.append(t1 - t0)
            updates.append(time.perf_counter() - t1)
        size = (tmp / "manifest.json").stat().st_size
    return {"processes": 1, "items": items, "reps": reps, "manifestBytes": size,
            **_latency_summary(claims, updates)}


# =================================================================== baseline
def bench_baseline(videos: int, gen_s: float) -> dict[str, Any]:
    with temp_dir("bench-baseline-") as tmp:
        home = tmp / "home"
        home.mkdir()
        sim = Simulator(tmp, gen_s)
        spawned = None
        try:
            add_account(home, sim, tmp)
            spawned = Spawned(
                [PY, str(ROOT / "scripts" / "naive_baseline.py"), "--permalink",
                 sim.url + "/imagine/post/bench1", "--profile",
                 str(home / "accounts" / "bench" / "profile"), "--count", str(videos),
                 "--prompt", "benchmark prompt"],
                env=grokbatch_env(home), workdir=tmp, name="baseline",
            )
            code = spawned.wait(videos * (gen_s + 15) + 120)
            out = spawned.text("stdout", tail=1_000_000)
            if code not in (0, 1) or not out.strip():
                raise RuntimeError(f"baseline exited {code}: {spawned.text()}")
            result: dict[str, Any] = json.loads(out)
            result["simGenerationsCompleted"] = sim.stats().get("generationsCompleted")
        finally:
            if spawned is not None:
                spawned.close()
            sim.close()
    per = result["perVideoSeconds"]
    result["meanPerVideoS"] = statistics.fmean(per) if per else None
    result["medianPerVideoS"] = median(per)
    result["medianOverheadS"] = (median(per) or 0) - gen_s if per else None
    result["p90OverheadS"] = (percentile(per, 90) or 0) - gen_s if per else None
    return result


# =================================================================== machine
def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError, ValueError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        info["memTotalMB"] = int(meminfo[0].split()[1]) // 1024
    code = ("from playwright.sync_api import sync_playwright\n"
            "from grokbatch.browser import find_browser\n"
            "import playwright\n"
            "with sync_playwright() as p:\n"
            "    c = find_browser(p)\n"
            "    print(c.executable_path or c.channel)\n")
    with contextlib.suppress(Exception):
        exe = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60,
                             check=True).stdout.strip()
        info["browser"] = exe
        if exe and os.path.isfile(exe):
            info["browserVersion"] = subprocess.run(
                [exe, "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip() or None
    if os.path.isfile("/usr/bin/chromium"):
        with contextlib.suppress(Exception):
            info["systemChromium"] = subprocess.run(
                ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
    with contextlib.suppress(Exception):
        from importlib.metadata import version
        info["playwright"] = version("playwright")
    return info


# =================================================================== targets and report
def _row(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    for row in results.get("runs", []):
        if row.get("workers") == n and not row.get("download") and "wallS" in row:
            return row  # type: ignore[no-any-return]
    return None


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/MISS (or n/a when not measured) for every target."""
    out = []

    def add(key: str, value: Any, ok: bool | None, note: str = "") -> None:
        verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
        out.append({"target": TARGETS[key], "key": key, "measured": value, "verdict": verdict,
                    "note": note})

    n10, n1 = _row(results, 10), _row(results, 1)
    eff = n10.get("efficiency") if n10 else None
    add("efficiency_n10", eff, None if eff is None else eff >= 0.90,
        "" if n10 else "N=10 not run")
    ovh = n1.get("medianOverheadS") if n1 else None
    add("overhead_n1", ovh, None if ovh is None else ovh <= 0.3, "" if n1 else "N=1 not run")
    fc = n10.get("startToFirstClaimS") if n10 else None
    add("first_claim_n10", fc, None if fc is None else fc <= 5.0, "" if n10 else "N=10 not run")
    mem = results.get("memory") or {}
    peak = mem.get("perWorkerMaxMB")
    add("memory", peak, None if peak is None else peak <= 200,
        f"N={mem.get('workersN')}; median {fmt(mem.get('perWorkerMedianMB'), 1)} MB"
        if mem else "not measured")
    prof = results.get("profile") or {}
    if prof:
        mb, secs = prof["copyProfileBytes"] / MB, prof["copyProfileSeconds"]
        add("profile_copy", f"{mb:.1f} MB in {secs:.3f} s", mb <= 25 and secs <= 1.0)
    else:
        add("profile_copy", None, None, "not measured")
    m20 = next((m for m in results.get("manifest", {}).get("contended", [])
                if m["processes"] == 20), None)
    if m20 and m20.get("claimP99Ms") is not None:
        worst = max(m20["claimP99Ms"], m20["updateP99Ms"])
        paced = results["manifest"].get("paced") or {}
        note = "tight loop"
        if paced.get("claimP99Ms") is not None:
            note += (f"; paced: claim {paced['claimP99Ms']:.1f} / update "
                     f"{paced['updateP99Ms']:.1f} ms")
        add("manifest_p99", f"claim {m20['claimP99Ms']:.1f} / update {m20['updateP99Ms']:.1f} ms",
            worst <= 20.0, note)
    else:
        add("manifest_p99", None, None, "not measured")
    if results.get("startup") or results.get("longrun"):
        for fig in issue_figures(results):
            out.append({"target": f"{fig['figure']}: {fig['goal']}", "key": "issue",
                        "measured": fig["measured"],
                        "verdict": "n/a" if fig["ok"] is None else "PASS" if fig["ok"] else "MISS",
                        "note": "the issue's table"})
    return out


def spread(values: Sequence[float], digits: int = 2, unit: str = "") -> str:
    """`median (min-max)` of repeated measurements, or the one value; n/a for none."""
    if not values:
        return "n/a"
    mid = fmt(float(median(values) or 0), digits) + unit
    if len(values) == 1:
        return mid
    return f"{mid} ({fmt(float(min(values)), digits)}-{fmt(float(max(values)), digits)})"


def issue_figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's table (our column), from the startup and longrun parts: one row per
    figure with its label, measured text, median value, goal and verdict (None: n/a)."""
    scenarios = results.get("startup", {}).get("scenarios", {})
    rows: list[dict[str, Any]] = []

    def values(name: str, key: str) -> list[float]:
        return [float(r[key]) for r in scenarios.get(name, []) if r.get(key) is not None]

    def shape(name: str) -> tuple[Any, Any, Any]:
        runs = scenarios.get(name) or [{}]
        return runs[0].get("workers", "?"), runs[0].get("videos", "?"), runs[0].get("T", "?")

    def add(figure: str, vals: list[float], goal_text: str, ok: Any, digits: int = 2,
            unit: str = "", extra: str = "") -> None:
        mid = median(vals)
        rows.append({"figure": figure, "measured": spread(vals, digits, unit) + extra,
                     "value": mid, "goal": goal_text,
                     "ok": None if mid is None else bool(ok(mid))})

    n5, b5, t5 = shape("n5")
    n10, b10, t10 = shape("n10")
    add(f"memory per worker (peak PSS / N), N={n5}", values("n5", "peakPerWorkerMB"),
        f"≤ {GOALS['memN5MB']:.0f} MB", lambda v: v <= GOALS["memN5MB"], 0, " MB")
    add(f"memory per worker, N={n10}", values("n10", "peakPerWorkerMB"),
        f"≤ {GOALS['memN10MB']:.0f} MB", lambda v: v <= GOALS["memN10MB"], 0, " MB")
    add("memory, N=1 (whole tree)", values("n1", "treePeakMB"),
        f"≤ {GOALS['memN1MB']:.0f} MB", lambda v: v <= GOALS["memN1MB"], 0, " MB")
    ideal5 = scenarios.get("n5", [{}])[0].get("idealS") if scenarios.get("n5") else None
    add(f"{n5} workers, {b5} videos of {t5:g} s, whole command (ideal {fmt(ideal5, 0)} s)"
        if isinstance(t5, float) else "N=5 run", values("n5", "efficiency"),
        f"≥ {GOALS['effN5']}", lambda v: v >= GOALS["effN5"],
        extra=f" (wall {spread(values('n5', 'wallS'), 1)} s)")
    add(f"last of {n5} workers' first claim", values("n5", "lastFirstClaimS"),
        f"≤ {GOALS['lastClaimN5S']:.0f} s", lambda v: v <= GOALS["lastClaimN5S"], 1, " s")
    last10 = values("n10", "lastFirstClaimS")
    first10 = values("n10", "firstClaimS")
    rows.append({"figure": f"first video started, N={n10}",
                 "measured": f"{spread(first10, 1, ' s')} (all {n10} by "
                             f"{spread(last10, 1, ' s')})",
                 "value": median(last10), "goal": f"all {n10} by {GOALS['allClaimedN10S']:.0f} s",
                 "ok": None if not last10 else (median(last10) or 0) <= GOALS["allClaimedN10S"]})
    add(f"N={n10}, {b10} videos of {t10:g} s" if isinstance(t10, float) else "N=10 run",
        values("n10", "efficiency"), f"≥ {GOALS['effN10']}", lambda v: v >= GOALS["effN10"],
        extra=f" (wall {spread(values('n10', 'wallS'), 1)} s)")
    long_rows = results.get("longrun") or []
    if long_rows:
        lr = long_rows[0]
        growth = [float(r["memoryGrowthMax"]) for r in long_rows
                  if r.get("memoryGrowthMax") is not None]
        late_mb = [v for r in long_rows
                   for v in (r.get("memoryAtVideo") or {}).get(str(r.get("late")), {}).values()]
        add(f"{lr.get('workers')} workers x {lr.get('late')} videos of {lr.get('T')} s: a "
            f"worker's memory at its video {lr.get('late')} / at its video {lr.get('early')} "
            "(max over workers)", growth, f"≤ {GOALS['growth']:.2f}",
            lambda v: v <= GOALS["growth"], 3,
            extra=f" (at video {lr.get('late')}: {spread(late_mb, 0, ' MB')} per worker)")
    return rows


def merged_timeline(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One start-up timeline from repeated runs: each field the median over the runs."""
    by_phase: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    for run in runs:
        for row in run.get("timeline") or []:
            if row["phase"] not in by_phase:
                order.append(row["phase"])
            by_phase.setdefault(row["phase"], []).append(row)
    merged = []
    for phase in order:
        rows = by_phase[phase]
        out: dict[str, Any] = {"phase": phase}
        for key in rows[0]:
            if key == "phase":
                continue
            vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
            out[key] = median(vals) if vals else None
            if key == "workers" and out[key] is not None:
                out[key] = round(out[key])
        merged.append(out)
    return merged


def render_timeline(name: str, runs: Sequence[dict[str, Any]]) -> list[str]:
    """The start-up timeline of one scenario as report lines."""
    rows = merged_timeline(runs)
    if not rows:
        return []
    first = runs[0]
    parts = ["", f"### Start-up timeline, {name}: N={first.get('workers')}, "
             f"B={first.get('videos')}, T={first.get('T')} s (median over {len(runs)} run(s))",
             ""]
    pre = [r for r in runs if r.get("preflightS") is not None]
    if pre:
        def med(key: str) -> Any:
            return median([r[key] for r in pre if r.get(key) is not None])
        parts.append(f"pre-run check: t={fmt(med('preflightStartS'))}-{fmt(med('preflightEndS'))}"
                     f" s ({fmt(med('preflightS'))} s), CPU {fmt(med('preflightCpuS'))} s "
                     f"(runner {fmt(med('preflightCpuPythonS'))}, driver "
                     f"{fmt(med('preflightCpuDriverS'))}, browser "
                     f"{fmt(med('preflightCpuBrowserS'))}); workers started at t="
                     f"{fmt(med('workersStartS'))} s")
        parts.append("")
    looked = [r["verdictS"] for r in runs if r.get("verdictS") is not None]
    if looked:
        parts.append(f"no browser of its own for the pre-run check: the first worker whose page "
                     f"loaded looked at it; the runner had its word at t={fmt(median(looked))} s")
        parts.append("")
    parts.append(render_table(
        ["phase (reached)", "workers", "t median s", "t max s", "phase s", "CPU python s",
         "CPU driver s", "CPU browser s", "CPU total s"],
        [[r["phase"], r.get("workers"), r.get("tMedianS"), r.get("tMaxS"),
          r.get("phaseMedianS"), r.get("cpuPythonS"), r.get("cpuDriverS"),
          r.get("cpuBrowserS"), r.get("cpuS")] for r in rows]))
    parts.append("\nt: seconds from the command's start to the mark; phase: from the "
                 "worker's previous mark to this one; CPU: what that phase cost the worker's "
                 "Python (exact), its driver and its browser (sampled every 0.25 s); medians "
                 "over workers.")
    return parts


def _count_errors(errors: Sequence[str]) -> str:
    """Distinct error messages with their counts, for one table cell."""
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return "; ".join(f"{n} x {e}" for e, n in counts.items()) or "-"


def render_report(results: dict[str, Any]) -> str:
    parts = ["# grokbatch benchmark", ""]
    cfg = results["config"]
    parts.append(f"B={cfg['videos']} videos, T={cfg['generationSeconds']} s per generation, "
                 f"N in {cfg['workers']}; started {results['startedAt']}"
                 + (" (--quick)" if cfg.get("quick") else ""))
    runs = results.get("runs", [])
    if runs:
        parts += ["", "## grokbatch runs (simulator subprocess, headless Chromium)", ""]
        rows = []
        for r in runs:
            rows.append([
                r["workers"], r["videos"], r["T"], r.get("wallS"), r.get("idealS"),
                r.get("efficiency"), r.get("medianOverheadS"), r.get("p90OverheadS"),
                r.get("startToFirstClaimS"),
                ("ok" if r.get("ok") else f"FAILED exit {r.get('exitCode')}") +
                (" +download" if r.get("download") else ""),
                f"{r.get('load1Before', 0):.1f}",
            ])
        parts.append(render_table(
            ["workers", "videos", "T s", "wall s", "ideal s", "efficiency",
             "median overhead s", "p90 overhead s", "start→first claim s", "check",
             "load1"], rows))
        parts.append("")
        parts.append("overhead = (completedAt - startedAt) - T per item; ideal = ceil(B/N)*T; "
                     "check = exit 0 and simulator generationsCompleted == B. "
                     "simulator maxConcurrent per run: "
                     + ", ".join(f"N={r['workers']}: {r.get('simMaxConcurrent')}" for r in runs))
        for r in runs:
            if r.get("error") or r.get("stderrTail"):
                parts.append(f"\nN={r['workers']} problem: {r.get('error') or ''}\n"
                             f"```\n{(r.get('stderrTail') or '')[-1500:]}\n```")
    mem = results.get("memory")
    if mem:
        parts += ["", f"## Per-worker memory (PSS, N={mem.get('workersN')}, steady state)", ""]
        parts.append(render_table(
            ["workers sampled", "samples", "processes/worker", "median MB/worker",
             "max MB/worker", "all workers MB", "runner MB"],
            [[mem.get("workers"), mem.get("samples"), mem.get("processesPerWorker"),
              mem.get("perWorkerMedianMB"), mem.get("perWorkerMaxMB"),
              mem.get("totalWorkersMB"), mem.get("runnerMB")]]))
        by_kind = mem.get("byKindMedianMB") or {}
        if by_kind:
            parts.append("\nper worker, by process kind (median MB): " + ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])
                if v >= 0.5))
        parts.append("\nworker tree = the spawned worker process + all its descendants "
                     "(Playwright node driver, Chromium browser, zygotes, renderers, GPU/"
                     "utility); PSS from /proc/<pid>/smaps_rollup.")
        if mem.get("error"):
            parts.append(f"sampler error: {mem['error']}")
    prof = results.get("profile")
    if prof:
        p = prof["profile"]
        parts += ["", "## Profile copy (synthetic Chromium-like profile)", ""]
        parts.append(
            f"profile: {p['totalBytes'] / MB:.0f} MB = session-bearing "
            f"{p['sessionBytes'] / MB:.1f} MB (cookies, local storage, IndexedDB, session "
            f"storage, web data, ...) + history/favicons/top sites "
            f"{p['otherStateBytes'] / MB:.1f} MB + caches/crash dumps "
            f"{p['cacheBytes'] / MB:.0f} MB")
        parts.append("")
        parts.append(render_table(
            ["method", "MB copied", "files", f"seconds (median of {prof['reps']})"],
            [["grokbatch copy_profile", prof["copyProfileBytes"] / MB, prof["copyProfileFiles"],
              prof["copyProfileSeconds"]],
             ["shutil.copytree (naive)", prof["copytreeBytes"] / MB, "all",
              prof["copytreeSeconds"]]]))
        real = [r.get("accountProfileBytes") for r in runs if r.get("accountProfileBytes")]
        if real:
            parts.append(f"\n(a real profile after `accounts add` on the simulator: "
                         f"{real[0] / MB:.1f} MB)")
    man = results.get("manifest")
    if man:
        parts += ["", f"## Manifest latency ({man.get('items')} items, spawn processes, "
                  "fsync on every write)", ""]
        rows = []
        for m in [man.get("uncontended"), *man.get("contended", []), man.get("paced")]:
            if not m:
                continue
            label = m["processes"]
            if m.get("thinkSeconds"):
                label = f"{label} paced ({m['thinkSeconds']:g} s think)"
            rows.append([label, m.get("claimP50Ms"), m.get("claimP99Ms"),
                         m.get("updateP50Ms"), m.get("updateP99Ms"),
                         m.get("opsPerSecond"), m.get("spanSeconds"),
                         m.get("completed", "-"), _count_errors(m.get("errors", []))])
        parts.append(render_table(
            ["processes", "claim p50 ms", "claim p99 ms", "update p50 ms", "update p99 ms",
             "ops/s", "span s", "completed", "errors"], rows))
        if man.get("uncontended"):
            parts.append(f"\nprocesses=1: one process, {man['uncontended']['reps']} claim+update "
                         f"pairs on a fresh manifest of "
                         f"{man['uncontended']['manifestBytes'] / 1024:.0f} KB. Other rows: "
                         "every process claims and completes in a tight loop until the queue "
                         "is empty (saturation: latency ~ queue length x lock hold time)"
                         + ("; paced: each process sleeps ~think s before every operation, "
                            "10 items each (closer to real workers)." if man.get("paced")
                            else "."))
    base = results.get("baseline")
    if base:
        parts += ["", "## Naive baseline (one browser, click, sleep 1 s, poll every 2 s)", ""]
        if base.get("error"):
            parts.append(f"baseline failed: {base['error']}")
        else:
            rows = [["naive baseline", base["videos"], base.get("completed"),
                     base.get("wallS_measured"), base.get("meanPerVideoS"),
                     base.get("medianOverheadS"), base.get("p90OverheadS"),
                     base.get("projectedWallS")]]
            n1 = _row(results, 1)
            if n1:
                rows.append(["grokbatch N=1", n1["videos"], n1.get("completedItems"),
                             n1.get("wallS"), n1["wallS"] / n1["videos"],
                             n1.get("medianOverheadS"), n1.get("p90OverheadS"), n1.get("wallS")])
            parts.append(render_table(
                ["tool", "videos run", "completed", "wall s (measured)", "s/video",
                 "median overhead s", "p90 overhead s", f"wall s for B={cfg['videos']}"],
                rows))
            if base["videos"] != cfg["videos"]:
                parts.append(f"\nThe baseline ran {base['videos']} videos, not B="
                             f"{cfg['videos']} (--baseline-videos); its wall time for B is "
                             "PROJECTED: startup + B * mean seconds per video.")
            if base.get("speedupN1") is not None:
                parts.append(f"Speed-up of grokbatch N=1 over the baseline at B={cfg['videos']}:"
                             f" {base['speedupN1']:.2f}x")
            if base.get("speedupBest") is not None:
                parts.append(f"Speed-up of grokbatch's best run (N={base['bestN']}) over the "
                             f"baseline: {base['speedupBest']:.2f}x")
    mach = results.get("machine", {})
    parts += ["", "## Machine", ""]
    parts.append(render_table(
        ["nproc", "mem MB", "load avg before", "load avg after", "browser", "python",
         "playwright"],
        [[mach.get("nproc"), mach.get("memTotalMB"),
          " / ".join(f"{x:.2f}" for x in results.get("loadBefore", [])),
          " / ".join(f"{x:.2f}" for x in results.get("loadAfter", [])),
          mach.get("browserVersion") or mach.get("browser"), mach.get("python"),
          mach.get("playwright")]]))
    if mach.get("systemChromium"):
        parts.append(f"\n(system: {mach['systemChromium']}; grokbatch drives "
                     f"{mach.get('browser')})")
    if results.get("startup") or results.get("longrun"):
        parts += ["", "## The issue's figures", ""]
        parts.append(render_table(["figure", "grokbatch", "goal", "verdict"],
                                  [[r["figure"], r["measured"], r["goal"],
                                    "n/a" if r["ok"] is None else "PASS" if r["ok"] else "MISS"]
                                   for r in issue_figures(results)]))
        parts.append("\nmemory: peak PSS of the whole `run start` tree (runner, pre-run check, "
                     "workers, drivers, browsers) sampled once a second, divided by N; first "
                     "claim: from the command's start; efficiency: ideal ceil(B/N)*T over the "
                     "whole command's wall time.")
        for name, runs in (results.get("startup") or {}).get("scenarios", {}).items():
            parts += render_timeline(name, [r for r in runs if r.get("timeline")])
    parts += ["", "## Targets", ""]
    parts.append(render_table(
        ["target", "measured", "verdict", "note"],
        [[t["target"], t["measured"], t["verdict"], t["note"]] for t in results["targets"]]))
    parts.append(f"\nTotal bench time {results.get('benchSeconds', 0):.0f} s.")
    return "\n".join(parts)


# =================================================================== main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark grokbatch against the simulator, the floor and a naive baseline.",
        epilog="Parts: " + ", ".join(PARTS) + ". Only loopback traffic.",
    )
    parser.add_argument("--workers", default="1,5,10,20",
                        help="comma-separated worker counts N (default 1,5,10,20)")
    parser.add_argument("--videos", type=int, default=100, help="videos per run B (100)")
    parser.add_argument("--generation-seconds", type=float, default=5.0,
                        help="simulated generation time T in seconds (5)")
    parser.add_argument("--baseline-videos", type=int, default=20,
                        help="videos for the naive baseline (20; projected to B)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N in {1,4}, B=8, T=1, small profile, 20/40 processes")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-manifest", action="store_true")
    parser.add_argument("--only", default=None,
                        help="comma-separated parts to run: " + ",".join(PARTS))
    parser.add_argument("--with-download", action="store_true",
                        help="also run N=10 (or the largest N <= 10) with downloads on")
    parser.add_argument("--manifest-processes", default="20,100",
                        help="contending process counts for the manifest part (20,100)")
    parser.add_argument("--manifest-items", type=int, default=1000)
    parser.add_argument("--manifest-think", type=float, default=1.0,
                        help="also run the first process count paced: ~S s between "
                             "operations, 10 items each, as busy workers would (0: skip)")
    parser.add_argument("--profile-cache-mb", type=float, default=450)
    parser.add_argument("--profile-state-mb", type=float, default=50)
    parser.add_argument("--profile-reps", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(STARTUP_SCENARIOS),
                        help="start-up scenarios to run (n1,n5,n10)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each start-up scenario and of the long run (1)")
    parser.add_argument("--long-run", default=None, metavar="N,PER,EARLY,T",
                        help="long run: workers, videos per worker, the early video, T "
                             "(10,100,10,1)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the grokbatch runs (repeatable)")
    parser.add_argument("--out", default="bench.json", help="JSON results (bench.json)")
    args = parser.parse_args(argv)
    if any("=" not in e for e in args.env):
        parser.error("--env takes NAME=VALUE")
    RUN_ENV.update(e.split("=", 1) for e in args.env)
    table = QUICK_STARTUP_SCENARIOS if args.quick else STARTUP_SCENARIOS
    wanted = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    if set(wanted) - set(table):
        parser.error(f"--scenarios: known are {', '.join(table)}")
    args.startup_scenarios = {name: table[name] for name in wanted}
    long_run = QUICK_LONG_RUN if args.quick else LONG_RUN
    if args.long_run:
        try:
            n, per, early, gen = args.long_run.split(",")
            long_run = (int(n), int(per), int(early), float(gen))
        except ValueError:
            parser.error("--long-run takes N,PER,EARLY,T")
        if not 1 <= long_run[2] < long_run[1]:
            parser.error("--long-run: EARLY must be at least 1 and below PER")
    args.long_run_shape = long_run
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.quick:
        args.workers = "1,4"
        args.videos = 8
        args.generation_seconds = 1.0
        args.baseline_videos = min(args.baseline_videos, 4)
        args.profile_cache_mb = min(args.profile_cache_mb, 90)
        args.profile_state_mb = min(args.profile_state_mb, 10)
        args.manifest_processes = "20,40"
        args.manifest_items = min(args.manifest_items, 300)
        args.manifest_think = min(args.manifest_think, 0.3)
    try:
        args.worker_counts = sorted({int(x) for x in args.workers.split(",") if x.strip()})
        args.manifest_counts = [int(x) for x in args.manifest_processes.split(",") if x.strip()]
    except ValueError:
        parser.error("--workers and --manifest-processes take comma-separated integers")
    if not args.worker_counts or min(args.worker_counts) < 1 or max(args.worker_counts) > 100:
        parser.error("--workers must be between 1 and 100")
    parts = set(PARTS)
    if args.only:
        parts = {p.strip() for p in args.only.split(",") if p.strip()}
        unknown = parts - set(PARTS)
        if unknown:
            parser.error(f"unknown part(s) {sorted(unknown)}; known: {', '.join(PARTS)}")
    if args.skip_baseline:
        parts.discard("baseline")
    if args.skip_manifest:
        parts.discard("manifest")
    args.parts = parts
    return args


def _memory_n(worker_counts: list[int]) -> int | None:
    if 5 in worker_counts:
        return 5
    small = [n for n in worker_counts if n <= 10]
    return max(small) if small else None


def _save(results: dict[str, Any], out: str) -> None:
    """Write what was measured so far (again at the end, with the report)."""
    with contextlib.suppress(OSError):
        Path(out).write_text(json.dumps(results, indent=2, default=str) + "\n")


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: subprocesses and temp dirs go


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    results: dict[str, Any] = {
        "startedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"workers": args.worker_counts, "videos": args.videos, "env": RUN_ENV,
                   "generationSeconds": args.generation_seconds,
                   "baselineVideos": args.baseline_videos, "quick": args.quick,
                   "parts": sorted(args.parts)},
        "loadBefore": list(os.getloadavg()),
    }
    signal.signal(signal.SIGTERM, _on_sigterm)
    log(f"parts: {', '.join(sorted(args.parts))}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results["machine"] = machine_info()
    try:
        if "profile" in args.parts:
            log(f"profile copy: building a {args.profile_state_mb + args.profile_cache_mb:.0f} MB"
                " synthetic profile")
            results["profile"] = bench_profile(args.profile_state_mb, args.profile_cache_mb,
                                               args.profile_reps)
            _save(results, args.out)
        if "manifest" in args.parts:
            results["manifest"] = {"items": args.manifest_items, "contended": []}
            log("manifest: uncontended")
            results["manifest"]["uncontended"] = bench_manifest_uncontended(args.manifest_items)
            for procs in args.manifest_counts:
                log(f"manifest: {procs} processes on {args.manifest_items} items")
                try:
                    results["manifest"]["contended"].append(
                        bench_manifest_contended(procs, args.manifest_items))
                except Exception as exc:
                    log(f"manifest with {procs} processes failed: {exc!r}")
                    results["manifest"]["contended"].append(
                        {"processes": procs, "errors": [repr(exc)], "claimP99Ms": None})
            if args.manifest_think > 0:
                procs = args.manifest_counts[0]
                log(f"manifest: {procs} paced processes (think {args.manifest_think} s)")
                try:
                    results["manifest"]["paced"] = bench_manifest_contended(
                        procs, args.manifest_items, args.manifest_think, max_items=10)
                except Exception as exc:
                    log(f"paced manifest run failed: {exc!r}")
            _save(results, args.out)
        if "runs" in args.parts or "memory" in args.parts:
            mem_n = _memory_n(args.worker_counts) if "memory" in args.parts else None
            counts = args.worker_counts if "runs" in args.parts else [mem_n] if mem_n else []
            results["runs"] = []
            plan = [(n, False) for n in counts]
            if args.with_download and "runs" in args.parts:
                dl = 10 if 10 in counts else _memory_n(counts)
                if dl:
                    plan.append((dl, True))
            for n, download in plan:
                log(f"grokbatch run: N={n}, B={args.videos}, T={args.generation_seconds}"
                    + (" with downloads" if download else ""))
                sample = n == mem_n and not download
                try:
                    row = bench_run(n, args.videos, args.generation_seconds,
                                    download=download, sample_memory=sample)
                except Exception as exc:
                    log(f"N={n} failed: {exc!r}")
                    row = {"workers": n, "videos": args.videos, "T": args.generation_seconds,
                           "download": download, "error": repr(exc)}
                results["runs"].append(row)
                _save(results, args.out)
                if sample and "memory" in row:
                    results["memory"] = {**row["memory"], "workersN": n}
                log(f"  -> wall {fmt(row.get('wallS'))} s, efficiency "
                    f"{fmt(row.get('efficiency'))}, exit {row.get('exitCode')}")
        if "startup" in args.parts:
            results["startup"] = bench_startup_part(args.startup_scenarios, args.repeat,
                                                    lambda: _save(results, args.out))
        if "longrun" in args.parts:
            results["longrun"] = bench_long_run(*args.long_run_shape, args.repeat,
                                                lambda: _save(results, args.out))
        if "baseline" in args.parts:
            log(f"naive baseline: {args.baseline_videos} videos, T={args.generation_seconds}")
            try:
                base = bench_baseline(args.baseline_videos, args.generation_seconds)
                base["wallS_measured"] = base["wallSeconds"]
                if base.get("meanPerVideoS") is not None:
                    base["projectedWallS"] = (base["startupSeconds"]
                                              + args.videos * base["meanPerVideoS"])
                    n1 = _row(results, 1)
                    if n1 and n1.get("wallS"):
                        base["speedupN1"] = base["projectedWallS"] / n1["wallS"]
                    done = [r for r in results.get("runs", []) if r.get("ok")]
                    if done:
                        best = min(done, key=lambda r: r["wallS"])
                        base["bestN"] = best["workers"]
                        base["speedupBest"] = base["projectedWallS"] / best["wallS"]
            except Exception as exc:
                log(f"baseline failed: {exc!r}")
                base = {"error": repr(exc), "videos": args.baseline_videos}
            results["baseline"] = base
    except KeyboardInterrupt:
        log("interrupted: writing what was measured so far")
        results["interrupted"] = True
    results["loadAfter"] = list(os.getloadavg())
    results["benchSeconds"] = time.monotonic() - started
    results["targets"] = evaluate_targets(results)
    report = render_report(results)
    results["report"] = report
    print(report)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"results written to {args.out}")
    return 130 if results.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
