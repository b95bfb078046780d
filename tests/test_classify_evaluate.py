"""flows/evaluate.py: plain evaluation, cross-validation folds and report, bulk classification."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from flows.classify import classify
from flows.classify.train import Example, read_examples
from flows.cli import cli
from flows.designs import LABELS
from flows.errors import KratomWatchError
from flows.evaluate import (
    Miss,
    Prediction,
    classify_jsonl,
    cv_folds,
    cv_report,
    evaluate,
    format_cv,
    format_cv_misses,
    format_evaluation,
    paper_groups,
    read_labelled,
    with_relevance_labels,
)
from tests.eutils_server import CORPUS

DEV_SET = CORPUS


def _line(**record) -> str:
    return json.dumps(record)


def test_classify_jsonl_writes_good_lines_in_order_and_numbers_bad_ones():
    lines = [
        _line(
            pmid="1",
            title="Mitragynine versus placebo",
            publication_types=["Randomized Controlled Trial"],
        ),
        "{not json",
        "",
        "[1, 2]",
        _line(pmid="5", abstract="no title here"),
        _line(pmid="6", title="Kratom in rats", mesh_terms="Rats"),
        _line(pmid="7", title="Kratom-induced liver injury: a case report", extra="ignored"),
    ]
    out, err = io.StringIO(), io.StringIO()
    bad = classify_jsonl(lines, out, err)

    assert bad == 4
    *errors, summary = err.getvalue().splitlines()
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4", "line 5", "line 6"]
    assert errors[0].startswith("line 2: not valid JSON: ")
    assert errors[1:] == [
        "line 4: not a JSON object",
        "line 5: no title",
        "line 6: mesh_terms must be a list of strings",
    ]
    assert summary == "4 of 6 lines were not records; 2 classified"
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [w["pmid"] for w in written] == ["1", "7"]
    expected = classify("Mitragynine versus placebo", "", ["Randomized Controlled Trial"])
    assert written[0] == {
        "pmid": "1",
        "title": "Mitragynine versus placebo",
        "abstract": "",
        "publication_types": ["Randomized Controlled Trial"],
        "mesh_terms": [],
        "design": "rct",
        "depression_relevant": False,
        "evidence": list(expected.evidence),
        "confidence": round(expected.confidence, 3),
        "depression_evidence": "",
        "depression_reason": "",
    }
    assert written[1]["design"] == "case_report"
    assert "extra" not in written[1]


def test_classify_jsonl_on_clean_input_reports_nothing():
    out, err = io.StringIO(), io.StringIO()
    assert classify_jsonl([_line(title="Kratom in rats"), "\n"], out, err) == 0
    assert err.getvalue() == ""
    assert len(out.getvalue().splitlines()) == 1


def test_classify_jsonl_labels_a_file_longer_than_a_batch_in_order(dev_rows):
    rows = dev_rows * 2  # 322 records: two batches of the classifier
    lines = [
        _line(pmid=str(n), title=r["title"], abstract=r.get("abstract")) for n, r in enumerate(rows)
    ]
    lines.insert(200, "{broken")
    out, err = io.StringIO(), io.StringIO()
    assert classify_jsonl(lines, out, err) == 1
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [w["pmid"] for w in written] == [str(n) for n in range(len(rows))]
    for w, r in zip(written[::40], rows[::40], strict=True):
        assert w["design"] == classify(r["title"], r.get("abstract") or "").design


# evaluate

TINY_SET = [
    {
        "id": "t1",
        "title": "Mitragynine versus placebo",
        "publication_types": ["Randomized Controlled Trial"],
        "design": "rct",
        "depression_relevant": False,
    },
    {
        "id": "t2",
        "title": "Worsening depressive symptoms after stopping kratom: a case report",
        "abstract": "We report a 45-year-old woman with depressive symptoms.",
        "design": "case_report",
        "depression_relevant": True,
    },
    {
        "id": "t3",
        "title": "Kratom-induced hepatotoxicity: a case report",
        "abstract": "A 28-year-old man presented with jaundice.",
        "design": "case_report",
        "depression_relevant": False,
    },
    {
        # Labelled animal, but the text describes an enzyme assay: a known design miss.
        "id": "t4",
        "title": "Mitragynine inhibits CYP2D6",
        "abstract": "Human liver microsomes were incubated with mitragynine (IC50 0.5 µM).",
        "design": "animal",
        "depression_relevant": False,
    },
    {
        # Labelled depression-relevant, but the text does not say so: a known relevance miss.
        "pmid": "5",
        "title": "Reasons for kratom use",
        "abstract": "An anonymous online survey was completed by 2,500 adults.",
        "design": "cross_sectional",
        "depression_relevant": True,
    },
]


def test_evaluate_on_a_tiny_set():
    ev = evaluate(TINY_SET)

    assert ev.n == 5
    assert ev.accuracy == 0.8
    assert ev.macro_labels == ("case_report",)
    assert ev.macro_f1 == 1.0
    in_vitro = ev.label_score("in_vitro")
    assert (in_vitro.precision, in_vitro.recall, in_vitro.support, in_vitro.predicted) == (
        0.0,
        0.0,
        0,
        1,
    )
    animal = ev.label_score("animal")
    assert (animal.precision, animal.recall, animal.f1, animal.support) == (0.0, 0.0, 0.0, 1)
    assert (ev.depression.precision, ev.depression.recall) == (1.0, 0.5)
    assert ev.depression.f1 == pytest.approx(2 / 3)
    expected_confusion = {
        ("rct", "rct"): 1,
        ("case_report", "case_report"): 2,
        ("animal", "in_vitro"): 1,
        ("cross_sectional", "cross_sectional"): 1,
    }
    assert ev.labels == LABELS
    assert {
        (ev.labels[i], ev.labels[j]): n
        for i, row in enumerate(ev.confusion)
        for j, n in enumerate(row)
        if n
    } == expected_confusion
    assert [(m.id, m.expected, m.got) for m in ev.misses] == [("t4", "animal", "in_vitro")]
    assert ev.misses[0].evidence
    assert ev.depression_misses == (Miss("5", "True", "False", ev.depression_misses[0].evidence),)


def test_format_evaluation_says_what_the_macro_f1_covers():
    ev = evaluate(TINY_SET)
    report = format_evaluation(ev)
    assert "design accuracy: 0.800" in report
    assert "macro-F1: 1.000 (over the 1 labels with at least 2 examples)" in report
    assert "(not in macro-F1)" in report
    assert "t4" not in report
    with_misses = format_evaluation(ev, misses=True)
    assert "t4: expected animal, got in_vitro" in with_misses
    assert "5: expected True, got False" in with_misses


# read_labelled


def test_read_labelled_reads_the_dev_set(dev_rows):
    assert len(dev_rows) == 161
    assert all(row["design"] in LABELS for row in dev_rows)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [
                '{"title": "a", "design": "rct", "depression_relevant": false}',
                '{"title": "b", "design": "trial", "depression_relevant": false}',
            ],
            r"line 2: unknown design label 'trial'",
        ),
        (['{"title": "a", "design": "rct"}'], r"line 1: missing field depression_relevant"),
        (["", "not json"], r"line 2: not valid JSON"),
        (
            ['{"title": "a", "design": "rct", "depression_relevant": "yes"}'],
            r"line 1: depression_relevant must be true or false",
        ),
    ],
)
def test_read_labelled_names_the_bad_line(tmp_path, lines, message):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_labelled(path)


# Cross-validation


def _example(id_: str, title: str, label: str = "animal", source: str = "dev") -> Example:
    return Example(id=id_, source=source, allowed=(label,), title=title)


def test_the_same_paper_is_one_group_by_pmid_doi_or_title():
    examples = [
        _example("123", "Kratom in rats"),
        _example("123", "Kratom in rats (corrected)", source="external"),
        _example("doi:10.1/x", "A survey"),
        _example("10.1/X", "A survey, again", source="external"),
        _example("local:a", "Kratom:  a REVIEW"),
        _example("local:b", "kratom - a review"),
        _example("local:c", "Something else"),
    ]
    groups = paper_groups(examples)
    assert groups[0] == groups[1]
    assert groups[2] == groups[3]
    assert groups[4] == groups[5]
    assert len(set(groups)) == 4


def test_folds_keep_a_paper_whole_and_spread_each_label():
    examples = [_example(str(i), f"paper {i}", "animal" if i % 2 else "rct") for i in range(20)]
    examples.append(_example("0", "paper 0 again", "rct", source="external"))
    folds = cv_folds(examples, 5)
    assert folds[0] == folds[-1]
    for label in ("animal", "rct"):
        per_fold = [sum(1 for e, f in zip(examples[:20], folds, strict=False)
                        if f == k and e.allowed == (label,)) for k in range(5)]  # fmt: skip
        assert per_fold == [2] * 5
    assert folds == cv_folds(examples, 5)


def _prediction(source, allowed, design, confidence=0.9, group="", dep=(None, False)):
    return Prediction("x", source, allowed, group, design, confidence, *dep)


def test_cv_report_counts_group_labels_as_groups():
    group = ("non_randomised_trial", "cohort", "case_control", "cross_sectional", "qualitative")
    predictions = [
        _prediction("dev", ("rct",), "rct", dep=(True, True)),
        _prediction("dev", ("animal",), "in_vitro", 0.5, dep=(False, True)),
        _prediction("external", ("rct",), "rct"),
        _prediction("external", group, "cohort", group="human_non_rct"),
        _prediction("external", group, "rct", group="human_non_rct"),
        _prediction("external", ("cohort", "opinion"), "opinion", group="remaining"),
    ]
    report = cv_report(predictions, 5)
    dev, external = report.source("dev"), report.source("external")
    assert (dev.n, dev.accuracy.value) == (2, 0.5)
    assert (external.n, external.accuracy.value) == (3, pytest.approx(2 / 3))
    rct = external.label("rct")
    assert (rct.support, rct.predicted, rct.recall.value, rct.precision.value) == (1, 2, 1.0, 0.5)
    assert external.label("cohort") is None  # right for its group, not a cohort label
    assert external.group_recall.value == 0.5
    assert external.remaining_consistent.value == 1.0
    assert dev.high_confidence == (1, 1.0)
    assert report.depression.precision.value == 0.5
    assert report.depression.recall.value == 1.0
    text = format_cv(report)
    assert "design accuracy: 0.500 [" in text
    assert "human_non_rct papers labelled inside the group: 0.500" in text


def test_external_relevance_labels_are_reported_apart_from_dev(tmp_path):
    examples = [
        Example("1", "dev", ("rct",), "t", depression_relevant=True),
        Example("1", "external", ("rct",), "t"),  # the same id in the other source
        Example("2", "external", ("rct",), "t"),
        Example("3", "external", ("rct",), "t"),
    ]
    labels = tmp_path / "labels.jsonl"
    rows = [{"pmid": "1", "depression_relevant": False}, {"pmid": 2, "depression_relevant": True}]
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))

    assert with_relevance_labels(examples, labels) == 2
    assert [e.depression_relevant for e in examples] == [True, False, True, None]

    predictions = [
        _prediction("dev", ("rct",), "rct", dep=(True, True)),
        _prediction("external", ("rct",), "rct", dep=(False, True)),
        _prediction("external", ("rct",), "rct", dep=(True, True)),
        _prediction("external", ("rct",), "rct"),  # not labelled: not counted
    ]
    report = cv_report(predictions, 5)
    assert (report.depression.support, report.depression.precision.value) == (1, 1.0)
    external = report.depression_external
    assert (external.support, external.predicted, external.precision.value) == (1, 2, 0.5)
    assert "depression relevance (the external abstracts we labelled blind" in format_cv(report)


def test_a_bad_relevance_labels_file_is_one_error(tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"pmid": "1"}\n')
    with pytest.raises(KratomWatchError, match="cannot read the relevance labels"):
        with_relevance_labels([], labels)


def test_cv_misses_list_missed_and_wrong_trials_with_their_evidence():
    group = ("non_randomised_trial", "cohort", "case_control", "cross_sectional", "qualitative")
    missed = Prediction("11", "external", ("rct",), "", "other", 0.97, None, False, ("protocol",))
    wrong = Prediction("12", "external", group, "human_non_rct", "rct", 0.8, None, False)
    remaining = Prediction(
        "13", "external", ("cohort", "opinion"), "remaining", "rct", 0.6, None, False
    )
    text = format_cv_misses([missed, wrong, remaining, _prediction("dev", ("rct",), "rct")])
    assert (
        "rct papers labelled otherwise: 1\n  external 11: got other (0.970)\n      - protocol"
        in text
    )
    assert "papers labelled rct wrongly: 1\n  external 12: expected human_non_rct (0.800)" in text
    assert "(no evidence)" in text
    assert "systematic_review papers labelled otherwise: 0" in text


def test_evaluate_cv_without_the_external_file_says_so(tmp_path, monkeypatch):
    small = tmp_path / "dev.jsonl"
    small.write_text("".join(DEV_SET.read_text(encoding="utf-8").splitlines(True)[:40]))
    monkeypatch.chdir(tmp_path)  # no ../shared here, as in CI
    result = CliRunner().invoke(cli, ["evaluate", str(small), "--cv", "2"])
    assert result.exit_code == 0, result.output
    assert "external file absent: dev papers only" in result.output
    assert "== dev: 40 papers with a known answer ==" in result.output
    assert "== external" not in result.output


def test_evaluate_cv_with_a_missing_external_file_is_one_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["evaluate", str(DEV_SET), "--cv", "2", "--external", str(tmp_path / "nope.jsonl")]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"
    ]


def test_read_examples_keeps_coarse_labels_as_groups(tmp_path):
    path = tmp_path / "external.jsonl"
    rows = [
        {"pmid": "1", "title": "a", "abstract": "", "design": "rct", "design_group": "rct"},
        {
            "pmid": "2",
            "title": "b",
            "abstract": "",
            "design": None,
            "design_group": "human_non_rct",
        },
        {"pmid": "3", "title": "c", "abstract": "", "design": None, "design_group": "remaining"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = read_examples(path, "external")
    assert [e.allowed for e in examples][0] == ("rct",)
    assert "rct" not in examples[1].allowed and "cohort" in examples[1].allowed
    assert "systematic_review" not in examples[2].allowed and "opinion" in examples[2].allowed
    assert [e.group for e in examples] == ["", "human_non_rct", "remaining"]
