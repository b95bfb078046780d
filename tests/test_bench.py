"""Smoke test of the benchmark: every section runs on its --quick sizes. Not a timing test."""

from __future__ import annotations

import pytest

from flows import bench

SECTIONS = ["classify", "requests", "pacing", "throughput", "memory", "prefect", "suite"]


def test_every_section_is_registered_and_tested():
    assert list(bench.BENCHMARKS) == SECTIONS


@pytest.fixture
def prefect_server(prefect_env, monkeypatch):
    """The session's Prefect test server stands in for the benchmark's `prefect server start`."""
    monkeypatch.setattr(bench, "_prefect", dict(prefect_env))


@pytest.mark.parametrize("name", SECTIONS)
def test_section_runs_on_quick_sizes(name, request):
    if name in ("memory", "prefect"):
        request.getfixturevalue("prefect_server")

    figures = bench.BENCHMARKS[name](True)

    assert figures
    assert all(f.ok is not None for f in figures if f.target)
    for figure in figures:
        line = str(figure)
        assert line.startswith(f"{figure.name}: {figure.measured}")
        if figure.ok is not None:
            assert line.endswith(("OK", "MISS"))


def test_max_in_one_second():
    assert bench.max_in_one_second([]) == 0
    assert bench.max_in_one_second([0.0, 0.35, 0.7, 1.05, 1.4]) == 3
    assert bench.max_in_one_second([0.0, 0.1, 0.2, 0.3, 5.0]) == 4


def test_unknown_section_is_refused(capsys):
    assert bench.main(["nope"]) == 2
    assert "unknown benchmark nope" in capsys.readouterr().err
