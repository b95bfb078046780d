"""A throwaway `prefect server start` for the benchmark, as a user runs one beside the flow.

It runs in a temporary PREFECT_HOME (its own SQLite database) on a free loopback port.
Starting it does not wait, so the benchmark can do other work while the server migrates its
database (10 to 20 s); `wait_until_ready` waits for its health check.
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
        self.home = Path(tempfile.mkdtemp(prefix="kratom-bench-prefect-"))
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
        server_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        server_env.update({k: v for k, v in self.env.items() if k != "PREFECT_API_URL"})
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
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"prefect server exited ({self.process.returncode}); see {self.log}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"prefect server did not start in {timeout:.0f} s; see {self.log}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)
