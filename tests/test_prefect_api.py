"""A newcomer's Prefect mistakes get one line: no server where PREFECT_API_URL points, and a
schedule served without a server (it would never fire)."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import run_cli


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the test uses it


@pytest.mark.parametrize("command", [["run", "--no-email"], ["serve"]])
def test_prefect_api_url_with_no_server_behind_it_is_one_line(kw_env, closed_port, command):
    url = f"http://127.0.0.1:{closed_port}/api"

    result = run_cli(command, {**kw_env, "PREFECT_API_URL": url}, timeout=60)

    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: no Prefect server answers at PREFECT_API_URL={url}")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_serve_without_a_prefect_server_refuses_rather_than_never_firing(kw_env):
    result = run_cli(["serve"], {**kw_env, "PREFECT_API_URL": ""}, timeout=60)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: schedules need a running Prefect server")
    assert len(result.stderr.splitlines()) == 1
