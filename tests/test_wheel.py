"""The wheel works installed: built from the checkout, installed into a fresh virtual
environment outside it, run from another folder against the local E-utilities server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.eutils_server import EutilsServer, corpus_records

pytestmark = pytest.mark.slow

SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)


def created(row: dict) -> date:
    return SINCE + timedelta(days=int(row["pmid"]) % 7)  # test dates: the corpus has none


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel, its dependencies seen from the test
    environment's site-packages (not the checkout: that is installed there as editable)."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(base / "dist"), str(ROOT)],
        check=True, capture_output=True, cwd=base,
    )  # fmt: skip
    (wheel,) = (base / "dist").glob("kratom_watch-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    # A path line, not a site dir: the test environment's editable-install hook (a .pth in
    # its site-packages) is not run, so `flows` can only come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    guard = base / "guard"
    guard.mkdir()
    shutil.copy(ROOT / "tests" / "netguard.py", guard / "netguard.py")
    return env_dir


def test_installed_wheel_runs_a_digest_from_another_folder(installed, prefect_env, tmp_path):
    python = installed / "bin" / "python"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KRATOM_WATCH", "NCBI"))},
        **prefect_env,
        "PYTHONPATH": str(installed.parent / "guard"),
        "NCBI_EMAIL": "tests@example.org",
        "KRATOM_WATCH_DB": str(tmp_path / "store.sqlite"),
        "KRATOM_WATCH_REPORTS": str(tmp_path / "reports"),
    }
    code = (
        "import netguard; netguard.install(); import flows; print(flows.__file__, flush=True); "
        "from flows.cli import main; main()"
    )
    with EutilsServer(corpus_records(created)) as server:
        env["KRATOM_WATCH_EUTILS_URL"] = server.base_url
        result = subprocess.run(
            [python, "-c", code, "run", "--since", str(SINCE), "--until", str(UNTIL)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    where, *paths = result.stdout.split()
    assert Path(where).is_relative_to(installed)  # the wheel's code, not the checkout's
    html = Path(paths[0]).read_text(encoding="utf-8")
    assert paths[0].endswith(".html") and "<h1" in html and "pubmed.ncbi.nlm.nih.gov" in html
    assert {Path(p).suffix for p in paths} >= {".html", ".txt", ".md", ".csv", ".ris", ".xml"}
    script = subprocess.run(
        [installed / "bin" / "kratom-watch", "--help"], env=env, capture_output=True, text=True
    )
    assert script.returncode == 0 and "evaluate" in script.stdout
