"""Process trees as Linux's /proc shows them: who is whose child, what each costs in memory
(PSS) and CPU, what kind of process it is, and how to end a whole tree.

Shared by the benchmark's samplers and scripts/measure_flags.py. Elsewhere than Linux the
tables are empty and the figures zero.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import NamedTuple

# Seconds per clock tick, the unit of CPU times in /proc/<pid>/stat.
_TICK_S = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
# Pause between the two rounds of kill_tree (a child may be forked in between).
_KILL_ROUND_S = 0.1


class ProcStat(NamedTuple):
    """One process's line of /proc/<pid>/stat, the fields the benchmark reads."""

    ppid: int
    pgid: int
    sid: int
    cpu_s: float  # its own user + system time
    reaped_cpu_s: float  # that of the children it waited for


def proc_table() -> dict[int, ProcStat]:
    """pid -> ProcStat for every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()  # the name may hold spaces and ')'
        with contextlib.suppress(ValueError, IndexError):
            table[int(entry)] = ProcStat(
                ppid=int(fields[1]), pgid=int(fields[2]), sid=int(fields[3]),
                cpu_s=(int(fields[11]) + int(fields[12])) * _TICK_S,
                reaped_cpu_s=(int(fields[13]) + int(fields[14])) * _TICK_S)
    return table


def children_of(table: dict[int, ProcStat]) -> dict[int, list[int]]:
    """ppid -> its children's pids."""
    children: dict[int, list[int]] = {}
    for pid, stat in table.items():
        children.setdefault(stat.ppid, []).append(pid)
    return children


def descendants(pid: int, table: dict[int, ProcStat] | None = None,
                skip: set[int] | frozenset[int] = frozenset()) -> set[int]:
    """Every live descendant of `pid` (not `pid` itself), not going below those in `skip`."""
    children = children_of(table if table is not None else proc_table())
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child not in skip:
                found.add(child)
                todo.append(child)
    return found


def tree_pids(root_pid: int) -> list[int]:
    """A process and all its descendants."""
    return [root_pid, *descendants(root_pid)]


def cmdline(pid: int) -> str:
    """A process's command line, arguments joined by spaces ("" if it is gone)."""
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


def pss_mb(pids: list[int]) -> float:
    """PSS of these processes, in MB."""
    return sum(pss_kb(pid) for pid in pids) / 1024


def cpu_s(pids: list[int]) -> float:
    """CPU-seconds these processes (and the children they reaped) have used."""
    table = proc_table()
    return sum(table[pid].cpu_s + table[pid].reaped_cpu_s for pid in pids if pid in table)


def is_worker(cmd: str) -> bool:
    """Whether a command line is a process spawned by multiprocessing (a worker of a
    grokbatch that spawned its workers)."""
    return "spawn_main" in cmd or "--multiprocessing-fork" in cmd


def is_fork_server(cmd: str) -> bool:
    """Whether a command line is multiprocessing's fork server (it forks grokbatch's
    workers; a forked worker shows the same command line)."""
    return "multiprocessing.forkserver import main" in cmd


def fork_servers(runner_pid: int, table: dict[int, ProcStat]) -> list[int]:
    """The runner's fork server (a list: none while it starts, or with spawned workers)."""
    return [pid for pid, stat in table.items()
            if stat.ppid == runner_pid and is_fork_server(cmdline(pid))]


def worker_pids(runner_pid: int, table: dict[int, ProcStat]) -> list[int]:
    """The runner's workers: the children of its fork server, or the children it spawned."""
    servers = set(fork_servers(runner_pid, table))
    return [pid for pid, stat in table.items()
            if stat.ppid in servers or (stat.ppid == runner_pid and is_worker(cmdline(pid)))]


def is_shared_driver(cmd: str) -> bool:
    """Whether a command line is a run's shared Playwright driver (grokbatch/drivers.py)."""
    return "shared_driver.js" in cmd


def shared_drivers(runner_pid: int, table: dict[int, ProcStat]) -> list[int]:
    """The runner's shared Playwright drivers (none with --own-drivers)."""
    return [pid for pid, stat in table.items()
            if stat.ppid == runner_pid and is_shared_driver(cmdline(pid))]


def process_name(pid: int) -> str:
    """A process's name as `ps` shows it (a grokbatch worker names itself by its id)."""
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def profile_worker(cmd: str) -> str | None:
    """The worker whose profile copy a browser's command line names (`worker-3`), if any."""
    for arg in cmd.split(" "):
        if arg.startswith("--user-data-dir="):
            name = os.path.basename(arg.split("=", 1)[1].rstrip("/"))
            return name if name.startswith("worker-") else None
    return None


def worker_trees(runner_pid: int, table: dict[int, ProcStat]) -> dict[int, set[int]]:
    """Each of the runner's workers with the processes it is responsible for: itself, its
    descendants (its own driver and browser, if it started a driver), the sessions they
    opened (Chromium runs in its own), and the session of each browser a shared driver
    launched for it (known by its profile copy, named after the worker)."""
    workers = worker_pids(runner_pid, table)
    runner_sid = table[runner_pid].sid if runner_pid in table else -1
    by_name = {process_name(pid): pid for pid in workers}
    children = children_of(table)
    shared: dict[int, set[int]] = {}  # worker -> sessions of its browsers under shared drivers
    for driver in shared_drivers(runner_pid, table):
        for child in children.get(driver, []):
            owner = by_name.get(profile_worker(cmdline(child)) or "")
            if owner is not None:
                shared.setdefault(owner, set()).add(table[child].sid)
    trees: dict[int, set[int]] = {}
    for root in workers:
        tree = descendants(root, table, skip=set(workers)) | {root}
        sessions = {table[p].sid for p in tree if p in table and p != root}
        sessions |= shared.get(root, set())
        sessions.discard(runner_sid)
        tree |= {p for p, stat in table.items() if stat.sid in sessions}
        trees[root] = tree
    return trees


def cpu_kind(cmd: str) -> str | None:
    """driver, browser or None (something else), from a command line."""
    exe = cmd.split(" ", 1)[0]
    if "node" in os.path.basename(exe) or ("playwright" in cmd and "run-driver" in cmd):
        return "driver"
    if "chrom" in os.path.basename(exe) or "--type=" in cmd:
        return "browser"
    return None


def process_kind(cmd: str) -> str:
    """What a process in a worker's tree is, from its command line, in detail."""
    if "--type=" in cmd:
        kind = cmd.split("--type=", 1)[1].split()[0]
        if kind == "utility" and "--utility-sub-type=" in cmd:
            kind += ":" + cmd.split("--utility-sub-type=", 1)[1].split()[0].rsplit(".", 1)[-1]
        return f"chromium {kind}"
    if is_shared_driver(cmd):
        return "shared playwright driver (node)"
    if "node" in cmd.split(" ", 1)[0] or ("playwright" in cmd and "run-driver" in cmd):
        return "playwright driver (node)"
    if "chrom" in cmd.split(" ", 1)[0]:
        return "chromium browser"
    if is_fork_server(cmd):
        return "fork server (python)"
    return "other: " + os.path.basename(cmd.split(" ", 1)[0])[:40]


def pss_by_kind(tree: set[int], worker: int | None = None) -> dict[str, int]:
    """PSS (KB) of the processes in `tree` by `process_kind`; `worker`, the worker's own
    process, is "worker (python)"."""
    kinds: dict[str, int] = {}
    for pid in tree:
        kind = "worker (python)" if pid == worker else process_kind(cmdline(pid))
        kinds[kind] = kinds.get(kind, 0) + pss_kb(pid)
    return kinds


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant (snapshotted first, twice against races)."""
    for _ in range(2):
        for victim in descendants(pid) | {pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, signal.SIGKILL)
        time.sleep(_KILL_ROUND_S)
