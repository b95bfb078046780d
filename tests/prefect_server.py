"""A throwaway `prefect server start`, as a user runs one beside the flow.

The test session shares one among its xdist workers (tests/conftest.py) and the benchmarks
run their flows against one. It runs in a temporary PREFECT_HOME (its own SQLite database)
on a free loopback port, and registers no block types (kratom-watch uses none; 1.5 s of CPU).
Starting it does not wait, so other work can go on while the server migrates its database
(10 to 20 s); `wait_until_ready` waits for its health check.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


class LocalPrefectServer:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="kratom-watch-prefect-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api"
        # What a client needs to use this server (and no telemetry from it or the server).
        self.env = {
            "PREFECT_API_URL": self.url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
            "DO_NOT_TRACK": "1",
        }
        self.server_only = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        server_env.update({k: v for k, v in self.env.items() if k != "PREFECT_API_URL"})
        server_env.update(self.server_only)
        command = [sys.executable, "-m", "prefect", "server", "start", "--no-ui"]
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(port)],
                env=server_env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Wait for the server to answer its health check (RuntimeError if it does not)."""
        wait_for(self.url, timeout, self)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def wait_for(url: str, timeout: float = 120, server: LocalPrefectServer | None = None) -> None:
    """Wait until the Prefect API at `url` answers its health check (RuntimeError if it does
    not in time, or if `server`, when given, exits first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server is not None and server.process.poll() is not None:
            raise RuntimeError(
                f"prefect server exited ({server.process.returncode}); see {server.log}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"prefect server at {url} did not answer in {timeout:.0f} s")
        time.sleep(0.25)
