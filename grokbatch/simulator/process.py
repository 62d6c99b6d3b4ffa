"""A simulator in a process of its own, and a client for its HTTP endpoints.

``SimulatorProcess("--auto-login", "--generation-seconds", "1")`` starts
``python -m grokbatch simulator serve --host 127.0.0.1 --port 0 ...`` and returns once the
simulator has printed its ``listening on`` line; ``stop()`` ends it. The end-to-end tests
and the benchmark use it: a simulator in a subprocess never shares the caller's GIL, which
`start_simulator` (in-process, in lifecycle.py) does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from grokbatch.simulator.state import SESSION_COOKIE, new_session_id

# Bound on how long the simulator may take to print its listening line.
_START_TIMEOUT_S = 30.0
# How often the start waits for that line to appear.
_START_POLL_S = 0.05
# Bound on how long the simulator may take to exit after SIGTERM before it is killed.
_STOP_TIMEOUT_S = 10.0
# Bound on one request to the simulator's own endpoints.
_REQUEST_TIMEOUT_S = 10.0
# Bound on one whole generation over HTTP (the simulator streams it for seconds).
_GENERATION_TIMEOUT_S = 60.0
# The simulator of this very checkout: its parent directory goes first on the child's path,
# whichever grokbatch the interpreter would otherwise find from the caller's directory.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# Loopback only: a proxy from the environment must never see these requests.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SimulatorProcess:
    """A running ``grokbatch simulator serve`` subprocess and helpers to talk to it."""

    def __init__(self, *args: str, start_timeout_s: float = _START_TIMEOUT_S) -> None:
        """Start the subprocess (in a session of its own) with these `serve` options and
        wait, at most `start_timeout_s`, for its ``listening on`` line."""
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        path = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH"))
                               if p)
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grokbatch", "simulator", "serve",
             "--host", "127.0.0.1", "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr, env=env,
            start_new_session=True,
        )
        try:
            self.url = self._wait_for_url(start_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_for_url(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._stdout.seek(0)
            first = self._stdout.readline().decode(errors="replace")
            if first.endswith("\n"):
                if not first.startswith("listening on http://127.0.0.1:"):
                    raise RuntimeError(f"unexpected first line {first!r}: {self.stderr_tail()}")
                return first.split()[-1]
            if self.process.poll() is not None:
                raise RuntimeError(f"simulator exited {self.process.returncode}: "
                                   f"{self.stderr_tail()}")
            time.sleep(_START_POLL_S)
        raise RuntimeError(f"simulator did not start within {timeout_s:.0f} s: "
                           f"{self.stderr_tail()}")

    @property
    def pid(self) -> int:
        """The simulator's process id."""
        return self.process.pid

    def stderr_tail(self, chars: int = 2000) -> str:
        """The end of what the simulator wrote to stderr."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM to its process group, then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=_STOP_TIMEOUT_S)
        self._stdout.close()
        self._stderr.close()

    def post_url(self, post_id: str = "abc123") -> str:
        """URL of an image post page."""
        return f"{self.url}/imagine/post/{post_id}"

    def stats(self) -> dict[str, Any]:
        """``GET /__sim/stats``."""
        with _NO_PROXY.open(f"{self.url}/__sim/stats", timeout=_REQUEST_TIMEOUT_S) as resp:
            return dict(json.load(resp))

    def videos(self) -> list[dict[str, Any]]:
        """``GET /__sim/videos``: every video the site has now."""
        with _NO_PROXY.open(f"{self.url}/__sim/videos", timeout=_REQUEST_TIMEOUT_S) as resp:
            return list(json.load(resp)["videos"])

    def reset(self) -> dict[str, Any]:
        """``POST /__sim/reset``; returns the fresh stats."""
        req = urllib.request.Request(f"{self.url}/__sim/reset", data=b"", method="POST")
        with _NO_PROXY.open(req, timeout=_REQUEST_TIMEOUT_S) as resp:
            return dict(json.load(resp))

    @staticmethod
    def new_session() -> str:
        """A well-formed session cookie value (sessions are validated statelessly)."""
        return new_session_id()

    def _json_post(self, path: str, payload: dict[str, Any], session: str
                   ) -> urllib.request.Request:
        """A JSON POST to `path` with the session's cookie, as the page's JS sends one."""
        return urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Cookie": f"{SESSION_COOKIE}={session}"},
            method="POST",
        )

    @staticmethod
    def _last_streamed_line(request: urllib.request.Request) -> dict[str, Any]:
        """Send `request` and read its NDJSON stream to the end; the last line."""
        with _NO_PROXY.open(request, timeout=_GENERATION_TIMEOUT_S) as resp:
            lines = [json.loads(line) for line in resp if line.strip()]
        return dict(lines[-1])

    def generation_request(
        self, session: str, post_id: str = "abc123", video_length: int = 6
    ) -> urllib.request.Request:
        """The POST that starts a generation, as the page's JS sends it."""
        return self._json_post(
            "/rest/app-chat/conversations/new",
            {"postId": post_id, "prompt": "test", "videoLength": video_length}, session)

    def generate(self, session: str, post_id: str = "abc123") -> dict[str, Any]:
        """Run one generation over HTTP and return its last streamed line."""
        return self._last_streamed_line(self.generation_request(session, post_id))

    def upscale(self, session: str, video_id: str) -> dict[str, Any]:
        """Upscale one of the session's videos over HTTP (as the page's menu does) and return
        the last streamed line, which names the HD video."""
        return self._last_streamed_line(
            self._json_post("/rest/media/video/upscale", {"videoId": video_id}, session))

    def quota_info(self, session: str, timeout_s: float = _REQUEST_TIMEOUT_S
                   ) -> tuple[int, Any]:
        """``POST /rest/media/imagine/quota_info`` as the page sends it: (HTTP status, the
        JSON body or None). No answer within `timeout_s` raises TimeoutError."""
        request = self._json_post("/rest/media/imagine/quota_info", {}, session)
        try:
            with _NO_PROXY.open(request, timeout=timeout_s) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.load(exc)
