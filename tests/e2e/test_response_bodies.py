"""A worker's page keeps no response bodies in its renderer (grokbatch/driver_preload.js).

Playwright turns on DevTools' network buffers for every page it drives: the renderer keeps
a copy of each response body (up to 200 MB) so that `Response.body()` can give it. The
drivers grokbatch starts tell each page to keep none. What a client can read back shows
it: through a plain Playwright driver, `body()` gives the bytes of a response the page
fetched; through a worker's own driver or the run's shared driver, it has nothing to give.
Each client is a process of its own, as a worker is, on real Chromium and the simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grokbatch import drivers
from grokbatch.drivers import SharedDrivers

pytestmark = pytest.mark.e2e

# Bound on one client process; only catches hangs.
_CLIENT_TIMEOUT_S = 120

# argv: driver socket ("-": a driver of its own), Chromium, profile, page URL, the URL the
# page fetches, and "grokbatch" (a worker's driver settings) or "plain".
_CLIENT = textwrap.dedent("""
    import sys
    from grokbatch.browser import browser_env, launch_args, tune_driver
    from grokbatch.drivers import open_playwright

    socket, chromium, profile, page_url, fetched, settings = sys.argv[1:7]
    if settings == "grokbatch":
        tune_driver()
    with open_playwright(None if socket == "-" else socket, "client") as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=launch_args(True),
            env=browser_env(), timeout=60_000)
        page = context.pages[0]
        page.goto(page_url, timeout=60_000)
        with page.expect_response(fetched, timeout=60_000) as response:
            size = page.evaluate("url => fetch(url).then(r => r.text()).then(t => t.length)",
                                 fetched)
        try:
            body = response.value.body()
        except Exception as exc:
            print(f"fetched {size}, body not kept: {type(exc).__name__}")
        else:
            print(f"fetched {size}, body kept: {len(body)}")
        context.close()
""")


def _client(tmp_path: Path, chromium: str, sim, *, socket: str | None,
            settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    return subprocess.run(
        [sys.executable, "-c", _CLIENT, socket or "-", chromium, str(tmp_path / "profile"),
         sim.post_url(), f"{sim.url}/__sim/stats", settings],
        capture_output=True, text=True, env=env, timeout=_CLIENT_TIMEOUT_S, check=False)


def _said(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_plain_playwright_driver_keeps_the_body_of_what_the_page_fetched(
        grokbatch_home, simulator, chromium_path, tmp_path):
    sim = simulator("--auto-login")
    said = _said(_client(tmp_path, chromium_path, sim, socket=None, settings="plain"))
    fetched, kept = said.removeprefix("fetched ").split(", body kept: ")
    assert int(fetched) > 0 and int(kept) == int(fetched)


def test_a_workers_own_driver_keeps_no_body(grokbatch_home, simulator, chromium_path,
                                            tmp_path):
    sim = simulator("--auto-login")
    done = _client(tmp_path, chromium_path, sim, socket=None, settings="grokbatch")
    assert ", body not kept: " in _said(done)
    assert "Playwright driver: its own" in done.stderr


def test_the_shared_driver_keeps_no_body(grokbatch_home, simulator, chromium_path, tmp_path):
    sim = simulator("--auto-login")
    shared = SharedDrivers.start(1)
    try:
        shared.wait_ready()
        socket = shared.socket_for(0)
        assert socket is not None
        done = _client(tmp_path, chromium_path, sim, socket=socket, settings="grokbatch")
    finally:
        shared.stop()
    assert ", body not kept: " in _said(done)
    assert "Playwright driver: shared" in done.stderr


def test_every_driver_is_started_with_the_preload():
    assert drivers.DRIVER_PRELOAD.is_file()
    env = drivers.driver_env({"NODE_OPTIONS": "--trace-warnings"})
    assert env["NODE_OPTIONS"] == f"--trace-warnings {drivers.DRIVER_NODE_OPTIONS}"
    assert f'--require "{drivers.DRIVER_PRELOAD}"' in env["NODE_OPTIONS"]


def test_node_reads_the_preload_path_whole_with_spaces_and_quotes_in_it(tmp_path):
    node, _ = drivers._node_and_core()
    preload = tmp_path / 'a "quoted" dir' / "pre load.js"
    preload.parent.mkdir()
    preload.write_text("console.log('preloaded ' + __filename);\n")
    env = {**os.environ, "NODE_OPTIONS": f"--require {drivers._quoted(preload)}"}
    done = subprocess.run([node, "-e", ""], capture_output=True, text=True, timeout=60,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"preloaded {preload}"
