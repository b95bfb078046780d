"""The commands other than `run` (which tests/test_pipeline.py covers), and their docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from flows.classify import CLASSIFIER_VERSION
from flows.cli import cli
from flows.store import Store
from tests.conftest import ROOT, run_cli
from tests.factories import paper

DEV = ROOT / "tests" / "fixtures" / "dev.jsonl"


def test_classify_reads_stdin_and_numbers_bad_lines(kw_env):
    lines = [
        json.dumps(
            {"pmid": "1", "title": "Kratom use: a case report", "abstract": "A 34-year-old man."}
        ),
        "{not json",
        json.dumps(
            {
                "pmid": "2",
                "title": "A randomized, placebo-controlled trial of mitragynine",
                "abstract": "Participants were randomly assigned to placebo or mitragynine.",
            }
        ),
    ]

    result = run_cli(["classify"], kw_env, input_text="\n".join(lines) + "\n")

    assert result.returncode == 1
    assert result.stderr.startswith("line 2: not valid JSON")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["pmid"], o["design"]) for o in out] == [("1", "case_report"), ("2", "rct")]
    assert set(out[0]) == {
        "pmid",
        "title",
        "abstract",
        "publication_types",
        "mesh_terms",
        "design",
        "depression_relevant",
        "evidence",
        "confidence",
        "depression_evidence",
        "depression_reason",
    }


def test_evaluate_prints_the_report(kw_env):
    result = CliRunner().invoke(cli, ["evaluate", str(DEV), "--misses"])

    assert result.exit_code == 0, result.output
    accuracy = float(re.search(r"design accuracy: ([0-9.]+)", result.stdout)[1])
    assert accuracy >= 0.92
    assert "confusion matrix" in result.stdout and "macro-F1" in result.stdout


def test_evaluate_bad_file_is_one_line(kw_env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"title": "x", "design": "meta", "depression_relevant": False}))

    missing = run_cli(["evaluate", str(tmp_path / "nope.jsonl")], kw_env)
    wrong = run_cli(["evaluate", str(bad)], kw_env)

    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert wrong.returncode == 1
    assert wrong.stderr.strip().endswith(
        "line 1: unknown design label 'meta' (expected one of "
        "systematic_review, rct, non_randomised_trial, cohort, "
        "case_control, cross_sectional, qualitative, case_report, "
        "narrative_review, animal, in_vitro, opinion, other)"
    )


def test_reclassify_brings_old_labels_up_to_date(kw_env):
    old = paper(
        "1",
        title="A randomized controlled trial of kratom",
        abstract=[],
        design="other",
        classifier_version="0.1",
    )
    current = paper("2", classifier_version=CLASSIFIER_VERSION)
    with Store(kw_env["KRATOM_WATCH_DB"]) as store:
        store.upsert_papers([old, current])

    result = CliRunner().invoke(cli, ["reclassify"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"1 paper(s) reclassified to classifier {CLASSIFIER_VERSION}; 1 label(s) changed\n"
    )
    with Store(kw_env["KRATOM_WATCH_DB"]) as store:
        first, second = store.papers(["1", "2"])
    assert (first.design, first.classifier_version) == ("rct", CLASSIFIER_VERSION)
    assert second == current


def test_readme_documents_every_command_and_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"kratom-watch {name}" in readme, f"README does not show `kratom-watch {name}`"
    from flows.settings import KNOWN_VARIABLES

    for variable in KNOWN_VARIABLES:
        assert f"`{variable}`" in readme, f"README does not document {variable}"


def test_readme_starts_with_the_two_setup_commands():
    blocks = re.findall(r"```sh\n(.*?)```", Path(ROOT / "README.md").read_text(), re.S)
    assert "kratom-watch run" in blocks[0]
    assert "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci


def test_classify_on_a_file_that_is_no_json_lines_reports_a_few_lines_and_a_count(kw_env):
    result = run_cli(["classify", str(ROOT / "README.md")], kw_env)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 7  # five lines told, how many more, the count
    assert lines[5].startswith("... and ") and lines[5].endswith(" more bad lines")
    assert lines[6].endswith("lines were not records; 0 classified")
    assert "Traceback" not in result.stderr


def test_classify_on_a_binary_file_is_one_error_line(kw_env, tmp_path):
    picture = tmp_path / "chart.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))

    result = run_cli(["classify", str(picture)], kw_env)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: the input is not UTF-8 text")
    assert len(result.stderr.splitlines()) == 1
