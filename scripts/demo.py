"""`make demo`: a whole grokbatch session against the local simulator, start to finish.

Starts the simulator on a free loopback port with the 2026 page and the stream as captured
from the real site, signs a demo account in (headless, the simulator signs it in by itself),
makes 12 videos with 4 workers, and prints the summary and the job's status. Everything
lives under ./demo-home, made fresh each time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from grokbatch.simulator.lifecycle import start_simulator
from grokbatch.simulator.scenario import Layout, SimulatorOptions, StreamFormat

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "demo-home"
JOB = "demo"


def grokbatch(*args: str, env: dict[str, str]) -> int:
    """Run the real console script, showing its output; return its exit code."""
    print(f"\n$ grokbatch {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "grokbatch", *args], env=env,
                          check=False, timeout=900).returncode


def main() -> int:
    shutil.rmtree(HOME, ignore_errors=True)
    env = {**os.environ, "GROKBATCH_HOME": str(HOME)}
    sim = start_simulator(
        SimulatorOptions(
            auto_login=True,
            generation_seconds=3.0,
            layout=Layout.Y2026,
            stream_format=StreamFormat.CAPTURED,
        )
    )
    try:
        print(f"simulator: {sim.url}")
        code = grokbatch("accounts", "add", "demo", "--url", f"{sim.url}/imagine",
                         "--headless", "--timeout", "30", env=env)
        if code:
            return code
        code = grokbatch("run", "start", "--account", "demo",
                         "--permalink", f"{sim.url}/imagine/post/demo-image",
                         "--prompt", "slow camera pan across the scene",
                         "--count", "12", "--parallel", "4", "--job-name", JOB, env=env)
        grokbatch("run", "status", JOB, env=env)
        with urllib.request.urlopen(f"{sim.url}/__sim/stats", timeout=10) as response:
            stats = json.load(response)
        print(f"\nsimulator: {stats['generationsCompleted']} videos generated")
    finally:
        sim.stop()
    report = HOME / "runs" / JOB / "report.html"
    print(f"\nvideos: {HOME / 'runs' / JOB / 'videos'}")
    if report.exists():
        print(f"report: {report}")
    return code


if __name__ == "__main__":
    sys.exit(main())
