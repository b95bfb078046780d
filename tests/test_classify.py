"""Tests for the study-design classifier (flows/classify.py) and its evaluation (flows/evaluate.py).

The dev set is tests/fixtures/dev.jsonl (111 hand-labelled kratom papers, copied from
shared/corpus). The hard cases below are short snippets written for these tests, in the
style of real abstracts, so that the rules are checked on text they were not tuned on.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from flows.classify import CLASSIFIER_VERSION, classify
from flows.designs import LABELS
from flows.evaluate import Miss, classify_jsonl, evaluate, format_evaluation, read_labelled

DEV_SET = Path(__file__).parent / "fixtures" / "dev.jsonl"


@pytest.fixture(scope="module")
def dev_rows() -> list[dict]:
    return read_labelled(DEV_SET)


@pytest.fixture(scope="module")
def dev_evaluation(dev_rows):
    return evaluate(dev_rows)


# Targets on the dev set


def test_dev_accuracy_does_not_fall_below_what_was_reached(dev_evaluation):
    assert dev_evaluation.n == 111
    assert dev_evaluation.accuracy >= 0.99


def test_dev_macro_f1_over_labels_with_two_examples(dev_evaluation):
    assert dev_evaluation.macro_f1 >= 0.85
    assert "other" not in dev_evaluation.macro_labels  # one example only
    assert len(dev_evaluation.macro_labels) == 11


@pytest.mark.parametrize("label", ["systematic_review", "rct"])
def test_dev_recall_is_complete_for_reviews_and_trials(dev_evaluation, label):
    assert dev_evaluation.label_score(label).recall == 1.0


def test_dev_depression_relevance_f1(dev_evaluation):
    assert dev_evaluation.depression.f1 >= 0.9


# Hard cases

HARD_CASES = [
    pytest.param(
        "Kratom for opioid use disorder: a narrative review",
        "This review summarizes the evidence on kratom as an opioid substitute. Several "
        "randomized controlled trials of buprenorphine are discussed for comparison, and a "
        "double-blind trial of kratom is planned.",
        [],
        "narrative_review",
        id="review mentioning randomized trials",
    ),
    pytest.param(
        "Kratom in clinical practice",
        "We review the pharmacology and toxicity of kratom for clinicians. No randomized "
        "controlled trials were found, and most evidence comes from surveys and case reports.",
        [],
        "narrative_review",
        id="no randomized trials were found",
    ),
    pytest.param(
        "Kratom use and liver injury: a systematic review",
        "We searched PubMed, Embase and Scopus from inception to March 2023 following PRISMA "
        "guidelines. Thirty-six case reports were included.",
        [],
        "systematic_review",
        id="systematic review of case reports",
    ),
    pytest.param(
        "Kratom pharmacology: an overview",
        "A PubMed search was performed to identify relevant articles. This review summarizes "
        "kratom pharmacology and toxicology.",
        ["Review"],
        "narrative_review",
        id="database search without stated criteria",
    ),
    pytest.param(
        "Kratom and liver injury",
        "We searched PubMed and Embase to May 2024. Studies meeting predefined inclusion "
        "criteria were included. This review summarizes 30 cases.",
        ["Review"],
        "systematic_review",
        id="database search with stated criteria",
    ),
    pytest.param(
        "A case report of kratom psychosis",
        "Methods: PubMed was searched for kratom AND psychosis. Results: A 29-year-old man "
        "presented with psychosis after taking kratom.",
        [],
        "case_report",
        id="case report with a literature search",
    ),
    pytest.param(
        "Mitragynine versus placebo for pain",
        "",
        ["Randomized Controlled Trial", "Journal Article"],
        "rct",
        id="RCT publication type, empty abstract",
    ),
    pytest.param(
        "Effects of mitragynine on pain tolerance",
        "Twenty healthy volunteers were randomly assigned to mitragynine 10 mg or placebo in a "
        "double-blind crossover design.",
        [],
        "rct",
        id="randomised crossover",
    ),
    pytest.param(
        "Pharmacokinetics of kratom tea in healthy volunteers",
        "In an open-label study, ten healthy volunteers drank a standardised kratom tea and "
        "plasma mitragynine was measured over 24 h.",
        [],
        "non_randomised_trial",
        id="open-label dosing in people",
    ),
    pytest.param(
        "Kratom use and opioid overdose: a retrospective cohort study",
        "Using electronic health records, we followed 1,200 veterans who used kratom for up to "
        "five years. Cox proportional hazards models estimated the hazard of overdose.",
        [],
        "cohort",
        id="cohort",
    ),
    pytest.param(
        "Kratom exposure and seizures",
        "We compared 80 patients admitted with seizures with 160 matched controls without "
        "seizures in a case-control design.",
        [],
        "case_control",
        id="case-control",
    ),
    pytest.param(
        "Reasons for kratom use among US adults",
        "An anonymous online survey was completed by 2,500 adults who used kratom. Respondents "
        "reported using kratom for pain and anxiety.",
        [],
        "cross_sectional",
        id="online survey",
    ),
    pytest.param(
        "Kratom exposures reported to European poison centres",
        "We analysed all kratom exposures reported to 12 poison centres between 2014 and 2022. "
        "A total of 512 exposures were included.",
        [],
        "cross_sectional",
        id="poison-centre series",
    ),
    pytest.param(
        "What do Reddit users say about kratom withdrawal?",
        "We collected 3,400 posts from the r/kratom subreddit and counted how often each "
        "withdrawal symptom was mentioned per year.",
        [],
        "qualitative",
        id="Reddit posts, even when counted",
    ),
    pytest.param(
        "Kratom in recovery",
        "We conducted semi-structured interviews with 24 people in recovery and analysed them "
        "thematically.",
        [],
        "qualitative",
        id="interviews",
    ),
    pytest.param(
        "Kratom-induced hepatotoxicity",
        "A 28-year-old man presented to the emergency department with jaundice after six weeks "
        "of daily kratom use. He recovered after stopping kratom.",
        [],
        "case_report",
        id="case report without the words",
    ),
    pytest.param(
        "Kratom-associated seizure",
        "We report a 30-year-old man who had a seizure after taking kratom with modafinil.",
        ["Letter"],
        "case_report",
        id="case reported in a letter",
    ),
    pytest.param(
        "Mitragynine at opioid receptors in mice",
        "Receptor binding assays in HEK293 cells showed mu-opioid affinity (Ki 0.2 µM). Male "
        "C57BL/6 mice were then treated with mitragynine (10 mg/kg, i.p.) in the hot-plate test.",
        [],
        "animal",
        id="animal study with receptor binding",
    ),
    pytest.param(
        "Mitragynine inhibits CYP2D6",
        "Human liver microsomes were incubated with mitragynine; it inhibited CYP2D6 with an "
        "IC50 of 0.5 µM. Molecular docking suggested binding at the active site.",
        [],
        "in_vitro",
        id="enzyme assay",
    ),
    pytest.param(
        "Kratom for chronic pain: protocol for a randomised controlled trial",
        "We will recruit 200 adults who will be randomised to kratom or placebo. The primary "
        "outcome will be pain intensity at 12 weeks.",
        [],
        "other",
        id="trial protocol without results",
    ),
    pytest.param(
        "Editorial: the kratom conundrum",
        "Kratom has polarised researchers and regulators.",
        [],
        "opinion",
        id="editorial",
    ),
    pytest.param(
        "Kratom regulation should follow the evidence",
        "In this commentary we argue that scheduling kratom would harm people who use it.",
        [],
        "opinion",
        id="commentary",
    ),
    pytest.param("Re: Kratom and liver injury", "", ["Letter", "Comment"], "opinion", id="letter"),
    pytest.param(
        "<i>Mitragyna speciosa</i> extract and memory in <i>Drosophila</i>",
        "Flies were fed <i>M. speciosa</i> extract for 10 days and tested in an olfactory "
        "learning paradigm.",
        [],
        "animal",
        id="title with <i> markup",
    ),
    pytest.param("Kratom and mitragynine", "", [], "other", id="bare title, nothing to go on"),
]


@pytest.mark.parametrize(("title", "abstract", "publication_types", "design"), HARD_CASES)
def test_hard_cases(title, abstract, publication_types, design):
    assert classify(title, abstract, publication_types).design == design


NEGATION_CASES = [
    pytest.param(
        "Kratom use in a national sample",
        "Unlike previous surveys, we conducted a nationally representative cross-sectional "
        "survey of 5,000 adults.",
        "cross_sectional",
        id="previous work, then this paper's own design",
    ),
    pytest.param(
        "Kratom use among clinic patients",
        "Participants who could not attend were excluded from this cross-sectional analysis.",
        "cross_sectional",
        id="a negation in another clause",
    ),
    pytest.param(
        "Kratom pharmacology",
        "Future randomized controlled trials should test kratom for opioid withdrawal. Here we "
        "summarize the current evidence.",
        "narrative_review",
        id="trials wished for",
    ),
    pytest.param(
        "Mitragynine and hERG",
        "No in vivo experiments were performed. Mitragynine inhibited hERG currents in HEK293 "
        "cells (IC50 1.6 µM).",
        "in_vitro",
        id="in vivo denied",
    ),
    pytest.param(
        "Mitragynine in mice",
        "We previously showed opioid effects in vitro. Here, mice were treated with mitragynine "
        "(10 mg/kg, i.p.).",
        "animal",
        id="earlier in vitro work",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "design"), NEGATION_CASES)
def test_negation_is_scoped_to_its_clause(title, abstract, design):
    assert classify(title, abstract).design == design


MORE_DESIGNS = [
    pytest.param(
        "Kratom in VigiBase: a disproportionality analysis",
        "We analysed individual case safety reports in VigiBase from 2010 to 2023.",
        "cross_sectional",
        id="pharmacovigilance database",
    ),
    pytest.param(
        "Mitragynine positivity in urine drug testing",
        "We analysed 250,000 urine specimens submitted for drug testing; the positivity rate "
        "was 0.8%.",
        "cross_sectional",
        id="laboratory testing data",
    ),
    pytest.param(
        "Development and validation of a kratom dependence scale",
        "Regular users (n = 350) completed the scale. Exploratory factor analysis yielded two "
        "factors and Cronbach's alpha was 0.91.",
        "cross_sectional",
        id="scale validation",
    ),
    pytest.param(
        "Long-term buprenorphine treatment for kratom use disorder: a case series",
        "Twenty-eight patients were inducted on buprenorphine. Six were lost to follow-up; of "
        "the rest, 82% had negative urine tests at 4, 8, and 12 weeks of treatment.",
        "cohort",
        id="a large 'case series' followed over time",
    ),
    pytest.param(
        "Tapering kratom with a structured protocol: an open-label feasibility study",
        "Twenty participants followed a 6-week taper and were assessed weekly.",
        "non_randomised_trial",
        id="a dosing protocol is not a study protocol",
    ),
    pytest.param(
        "Kratom: friend or foe?",
        "In this issue, Smith and colleagues report a large survey of kratom users.",
        "opinion",
        id="editorial on a paper in the issue",
    ),
    pytest.param(
        "Chloroplast genome of Mitragyna speciosa",
        "We sequenced and assembled the chloroplast genome from Illumina reads.",
        "in_vitro",
        id="laboratory sequencing",
    ),
    pytest.param(
        "Effects of fertilizer on growth and alkaloid content of kratom",
        "Sixty kratom trees were vegetatively propagated and given four fertilizer rates.",
        "other",
        id="plant growth experiment",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "design"), MORE_DESIGNS)
def test_more_designs(title, abstract, design):
    assert classify(title, abstract).design == design


DEPRESSION_CASES = [
    pytest.param(
        "Respiratory effects of 7-hydroxymitragynine in rats",
        "7-hydroxymitragynine produced dose-dependent respiratory depression and CNS "
        "depression, reversed by naloxone.",
        False,
        id="respiratory and CNS depression",
    ),
    pytest.param(
        "Kratom use among college students",
        "Students completed an online questionnaire including the PHQ-9. Kratom users had more "
        "depressive symptoms than non-users.",
        True,
        id="depressive symptoms",
    ),
    pytest.param(
        "Anhedonia during mitragynine withdrawal in rats",
        "Rats withdrawn from mitragynine showed reduced sucrose preference.",
        True,
        id="anhedonia",
    ),
    pytest.param(
        "Experiences of kratom users",
        "Interviewees described improved mood and less anxiety after taking kratom.",
        True,
        id="mood alongside anxiety",
    ),
    pytest.param(
        "Antidepressant-like effects of speciogynine in the forced swim test",
        "Speciogynine reduced immobility in rats.",
        True,
        id="antidepressant effects",
    ),
    pytest.param(
        "Mitragynine and pain in mice",
        "Kratom is used to self-treat pain, anxiety and depression. We tested mitragynine in "
        "the hot-plate test in mice.",
        False,
        id="depression only as a listed use",
    ),
    pytest.param(
        "Kratom withdrawal in a woman with a history of depression",
        "A 36-year-old woman with a history of depression presented with withdrawal.",
        False,
        id="depression only as past history",
    ),
    pytest.param(
        "Mitragynine and locomotion in zebrafish larvae",
        "Mitragynine caused depression of locomotor activity.",
        False,
        id="depression of locomotor activity",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "relevant"), DEPRESSION_CASES)
def test_depression_relevance(title, abstract, relevant):
    assert classify(title, abstract).depression_relevant is relevant


# Evidence and confidence


def _without_markup(text: str) -> str:
    return " ".join(re.sub(r"<[^<>]+>", "", text).split())


def _is_quoted_from(phrase: str, record: dict) -> bool:
    title, abstract = record["title"], record.get("abstract") or ""
    terms = [*record.get("publication_types", ()), *record.get("mesh_terms", ())]
    if phrase in title or phrase in abstract or phrase in terms:
        return True
    # A phrase that spans inline markup is quoted from the markup-free text.
    has_markup = "<" in title or "<" in abstract
    return has_markup and (phrase in _without_markup(title) or phrase in _without_markup(abstract))


def _hard_case_records() -> list[dict]:
    return [
        {"title": p.values[0], "abstract": p.values[1], "publication_types": p.values[2]}
        for p in HARD_CASES
    ]


def test_evidence_is_quoted_from_the_record(dev_rows):
    for record in dev_rows + _hard_case_records():
        result = classify(
            record["title"],
            record.get("abstract") or "",
            record.get("publication_types", ()),
            record.get("mesh_terms", ()),
        )
        for phrase in result.evidence:
            assert _is_quoted_from(phrase, record), (record["title"], phrase)


def test_every_decided_label_has_evidence(dev_rows):
    for record in dev_rows:
        result = classify(
            record["title"], record["abstract"], record["publication_types"], record["mesh_terms"]
        )
        assert result.evidence, record["title"]


def test_first_evidence_phrase_is_the_deciding_one():
    result = classify("Mitragynine versus placebo", "", ["Randomized Controlled Trial"])
    assert result.design == "rct"
    assert result.evidence[0] == "Randomized Controlled Trial"
    result = classify(
        "Kratom-induced hepatotoxicity",
        "Kratom is a herbal supplement. A 52-year-old man was seen for jaundice.",
    )
    assert result.design == "case_report"
    assert "52-year-old man" in result.evidence[0]


def test_markup_is_ignored_but_quoted_text_keeps_its_case():
    result = classify("Toxicity of kratom in <i>Caenorhabditis elegans</i>")
    assert result.design == "animal"
    assert result.evidence == ("Toxicity of kratom in Caenorhabditis elegans",)


def test_depression_phrase_comes_last_in_the_evidence():
    result = classify(
        "Kratom use among college students",
        "Students completed an online questionnaire. Kratom users had more depressive symptoms.",
    )
    assert result.design == "cross_sectional"
    assert result.depression_relevant
    assert "depressive symptoms" in result.evidence[-1]


def test_confidence_is_between_zero_and_one(dev_rows):
    for record in dev_rows:
        result = classify(
            record["title"], record["abstract"], record["publication_types"], record["mesh_terms"]
        )
        assert 0.0 <= result.confidence <= 1.0


def test_confidence_is_lower_for_a_bare_title_than_for_a_clear_abstract():
    title = "Kratom-induced liver injury: a case report"
    bare = classify(title)
    clear = classify(
        title,
        "We report a 45-year-old woman who presented with jaundice after daily kratom use. "
        "Liver biopsy showed cholestatic injury.",
        ["Case Reports"],
    )
    assert bare.design == clear.design == "case_report"
    assert bare.confidence < clear.confidence


def test_weak_cues_give_low_confidence():
    assert classify("Kratom and mitragynine").confidence <= 0.1


def test_classification_is_a_frozen_value():
    result = classify("Kratom and mitragynine")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.design = "rct"  # type: ignore[misc]
    assert isinstance(CLASSIFIER_VERSION, str) and CLASSIFIER_VERSION
    assert result.design in LABELS


# The cue index


def test_cue_index_finds_what_a_full_scan_finds(dev_rows):
    """The start-key index must never hide a cue match that a plain regex scan would find."""
    from flows import classify as c

    separators = set(c._WORD_SEPARATORS) | {" "}
    for index in (c._TITLE_INDEX, c._ABSTRACT_INDEX):
        patterns = {
            (compiled.index, regex.pattern): (regex, before)
            for candidates in index.table.values()
            for compiled, regex, before in candidates
        }
        for record in dev_rows + _hard_case_records():
            for raw in (record["title"], record["abstract"]):
                low = c._Text(raw).low
                starts = [
                    m.start()
                    for m in re.finditer(r"\b\w", low)
                    if m.start() == 0 or low[m.start() - 1] in separators
                ]
                full = {
                    (key[0], pos, match.end())
                    for key, (regex, before) in patterns.items()
                    for pos in starts
                    if (match := regex.match(low, pos))
                    and (before is None or before.search(low, max(0, pos - 60), pos))
                }
                indexed = {(cue.index, s, e) for cue, s, e in c._cue_matches(low, index, set())}
                assert indexed == full, raw[:80]


# classify_jsonl


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
    errors = err.getvalue().splitlines()
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4", "line 5", "line 6"]
    assert errors[0].startswith("line 2: not valid JSON: ")
    assert errors[1:] == [
        "line 4: not a JSON object",
        "line 5: no title",
        "line 6: mesh_terms must be a list of strings",
    ]
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
    }
    assert written[1]["design"] == "case_report"
    assert "extra" not in written[1]


def test_classify_jsonl_on_clean_input_reports_nothing():
    out, err = io.StringIO(), io.StringIO()
    assert classify_jsonl([_line(title="Kratom in rats"), "\n"], out, err) == 0
    assert err.getvalue() == ""
    assert len(out.getvalue().splitlines()) == 1


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
    assert len(dev_rows) == 111
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
