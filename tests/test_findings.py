"""The finding sentence and the study size (flows/findings.py), as a reader would check them.

The labelled examples are tests/fixtures/findings.jsonl: 160 dev papers read
by hand, each with the study size it states (n and what was counted, or null)
and a distinctive part of the sentence that states its finding (a list when
several sentences state it equally well; null when the abstract reports none).
"split" says how far each label can be trusted as a measure:
- "tune": the rules were written and adjusted while looking at these;
- "heldout": labelled with the first 114, before any code, and not looked at
  until the rules were done; their first run found four misses, which were then
  fixed (docs/findings.md gives the first-run figure);
- "blind": labelled after that, and run once before one more round of fixes.
The abstracts come from tests/fixtures/dev.jsonl and reach the extractions as
the pipeline would give them: PubMed XML from the local E-utilities server's
writer, read by flows.parse.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from flows.findings import (
    CUES,
    ELLIPSIS,
    MAX_CHARS,
    PEOPLE_UNITS,
    UNITS,
    StudySize,
    _Sentence,
    abstract_parts,
    finding,
    sentence_spans,
    sentences,
    study_size,
)
from flows.markup import plain_text
from flows.models import AbstractSection, Paper
from flows.parse import read_papers
from tests.eutils_server import article_xml, pubmed_set
from tests.factories import FIRST_PMID

FIXTURES = Path(__file__).parent / "fixtures"
CLAIM_DESIGNS = {"narrative_review", "opinion", "other"}


@dataclass(frozen=True)
class Labelled:
    paper: Paper
    design: str
    n: list[int]  # acceptable counts; [] when the abstract states none
    unit: str | None
    finding: list[str]  # acceptable substrings; [] when it reports no finding
    split: str


def _rows() -> dict[str, dict]:
    with (FIXTURES / "dev.jsonl").open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines) if row.get("abstract")}


def _papers(rows: list[dict]) -> dict[str, Paper]:
    """The rows as PubMed XML and back, as the pipeline reads them (ids without a PMID get one)."""
    served = [{**row, "pmid": str(FIRST_PMID + i)} for i, row in enumerate(rows)]
    body = pubmed_set(article_xml(row, date(2026, 11, 2)) for row in served)
    papers = read_papers(body)
    return {row["id"]: paper for row, paper in zip(rows, papers, strict=True)}


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def dev_papers() -> dict[str, tuple[Paper, str]]:
    rows = _rows()
    papers = _papers(list(rows.values()))
    return {key: (papers[key], row["design"]) for key, row in rows.items()}


@pytest.fixture(scope="module")
def labelled(dev_papers) -> list[Labelled]:
    with (FIXTURES / "findings.jsonl").open(encoding="utf-8") as lines:
        labels = [json.loads(line) for line in lines if line.strip()]
    present = [label for label in labels if label["id"] in dev_papers]
    # dev.jsonl may lag behind the labels (it grew from 111 to 161 papers): the
    # figures are over the labelled papers it holds, and there must be enough.
    assert len(present) >= 60, f"only {len(present)} labelled papers in dev.jsonl"
    if len(present) < len(labels):
        missing = len(labels) - len(present)
        warnings.warn(
            f"{missing} labelled papers are not in tests/fixtures/dev.jsonl", stacklevel=1
        )
    return [
        Labelled(
            paper=dev_papers[label["id"]][0],
            design=dev_papers[label["id"]][1],
            n=_as_list(label["n"]),
            unit=label["unit"],
            finding=_as_list(label["finding"]),
            split=label["split"],
        )
        for label in present
    ]


def _group(unit: str | None) -> str | None:
    return "people" if unit in PEOPLE_UNITS else unit


def size_accuracy(examples: list[Labelled]) -> tuple[int, int]:
    """Right n, counting the same kind of thing, among papers that state a size."""
    stating = [e for e in examples if e.n]
    right = 0
    for e in stating:
        size = study_size(e.paper.abstract_text, e.design)
        right += size is not None and size.n in e.n and _group(size.unit) == _group(e.unit)
    return right, len(stating)


def finding_accuracy(examples: list[Labelled]) -> tuple[int, int]:
    """The finding contains a labelled phrase, among papers that report one."""
    reporting = [e for e in examples if e.finding]
    right = sum(
        any(phrase in finding(e.paper.abstract, e.design) for phrase in e.finding)
        for e in reporting
    )
    return right, len(reporting)


def _split(labelled: list[Labelled], split: str) -> list[Labelled]:
    return [e for e in labelled if e.split == split]


# ---- accuracy on the labelled dev papers


# (what, which papers, how many at least). No "blind" paper states a study size.
@pytest.mark.parametrize(
    "accuracy, split, at_least",
    [
        pytest.param(size_accuracy, "tune", 40, id="size-tune"),
        pytest.param(size_accuracy, "heldout", 10, id="size-heldout"),
        pytest.param(finding_accuracy, "tune", 60, id="finding-tune"),
        pytest.param(finding_accuracy, "heldout", 15, id="finding-heldout"),
        pytest.param(finding_accuracy, "blind", 30, id="finding-blind"),
    ],
)
def test_nine_in_ten_labelled_papers_get_their_size_and_finding_right(
    labelled, accuracy, split, at_least
):
    right, total = accuracy(_split(labelled, split))
    assert total >= at_least
    assert right / total >= 0.90, f"{right}/{total}"


def test_no_finding_is_invented_for_abstracts_that_report_none(labelled):
    # Cut abstracts that stop before any result, and aims without results: the
    # digest shows nothing rather than their background or methods.
    silent = [e for e in labelled if not e.finding and e.design not in CLAIM_DESIGNS]
    assert len(silent) >= 5
    shown = {e.paper.pmid: finding(e.paper.abstract, e.design) for e in silent}
    assert [text for text in shown.values() if text] == []


def test_no_study_size_is_invented_for_papers_that_state_none(labelled):
    silent = [e for e in labelled if not e.n]
    invented = {
        e.paper.title_text[:60]: study_size(e.paper.abstract_text, e.design) for e in silent
    }
    wrong = {title: size for title, size in invented.items() if size is not None}
    assert len(wrong) <= 0.05 * len(silent), wrong


# ---- properties over every dev paper


def test_every_finding_is_quoted_from_one_section_of_the_abstract(dev_papers):
    for paper, design in dev_papers.values():
        text = finding(paper.abstract, design)
        exact = text.removesuffix(" " + ELLIPSIS)
        assert any(exact in plain_text(s.text) for s in paper.abstract), (paper.pmid, text)


def test_findings_are_short_enough_to_read_under_a_title(dev_papers):
    for paper, design in dev_papers.values():
        text = finding(paper.abstract, design)
        assert len(text) <= MAX_CHARS + 80, (paper.pmid, text)
        assert len(sentences(text.removesuffix(" " + ELLIPSIS))) <= 2, (paper.pmid, text)


def test_findings_end_at_a_sentence_end_or_say_they_were_cut(dev_papers):
    for paper, design in dev_papers.values():
        text = finding(paper.abstract, design)
        if text and not text.endswith((".", "!", "?", ")", ELLIPSIS)):
            # Only a cut abstract's last conclusion may stop mid-sentence: where it stops.
            assert paper.abstract_text.endswith(text), (paper.pmid, text)


def test_study_size_phrase_is_quoted_from_the_abstract_and_holds_the_count(dev_papers):
    for paper, design in dev_papers.values():
        size = study_size(paper.abstract_text, design)
        if size:
            assert size.phrase in paper.abstract_text
            assert size.unit in UNITS
            assert size.n >= 1


def test_cue_trigger_words_never_hide_a_match(dev_papers):
    # The trigger words only save time: on every dev sentence a cue answers what
    # its full pattern answers.
    for paper, _ in dev_papers.values():
        text = paper.abstract_text
        for start, end in sentence_spans(text):
            s = _Sentence(0, start, end, text[start:end])
            for name, cue in CUES.items():
                assert cue(s) == bool(cue.pattern.search(s.low)), (name, s.text)


def test_both_extractions_take_well_under_a_millisecond_a_paper(dev_papers):
    papers = list(dev_papers.values())
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for paper, design in papers:
            finding(paper.abstract, design)
            study_size(paper.abstract_text, design)
        best = min(best, (time.process_time() - started) / len(papers))
    # 0.2 ms is the budget on a quiet machine; the suite shares two cores, so the
    # test only catches a regression of several times (a pattern that backtracks).
    assert best < 0.6e-3, f"{best * 1e6:.0f} us a paper"


def test_a_hostile_abstract_is_read_in_linear_time():
    started = time.process_time()
    for text in (
        "1 2 3 4 5 6 7 8 9 " * 5_000,
        "A total of " * 5_000,
        "(" * 20_000 + "12 patients" + ")" * 20_000,
        "Results: " * 5_000,
        "we found that " * 5_000,
        "a. b. c. d. " * 10_000,
    ):
        finding(text)
        finding(text, "narrative_review")
        study_size(text)
    assert time.process_time() - started < 5


# ---- sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "As Smith et al. reported, kratom is used widely. It is legal.",
            ["As Smith et al. reported, kratom is used widely.", "It is legal."],
        ),
        (
            "Stimulants (e.g. caffeine) were excluded. Doses were low.",
            ["Stimulants (e.g. caffeine) were excluded.", "Doses were low."],
        ),
        (
            "Users were younger (32.1 vs. 35.9 years). Most were male.",
            ["Users were younger (32.1 vs. 35.9 years).", "Most were male."],
        ),
        (
            "Rats received 2.5 mg/kg i.p. daily. Pain fell.",
            ["Rats received 2.5 mg/kg i.p. daily.", "Pain fell."],
        ),
        (
            "The difference was significant, p < 0.05. Withdrawal was mild.",
            ["The difference was significant, p < 0.05.", "Withdrawal was mild."],
        ),
        (
            "Kratom is sold in the U.S. without a prescription. Use is rising.",
            ["Kratom is sold in the U.S. without a prescription.", "Use is rising."],
        ),
        (
            "Kratom is popular in the U.S. Kratom use is rising.",
            ["Kratom is popular in the U.S. Kratom use is rising."],  # an initialism wins
        ),
        (
            "Leaves of M. speciosa were tested. 20% of samples were adulterated.",
            ["Leaves of M. speciosa were tested.", "20% of samples were adulterated."],
        ),
        (
            "It relieves pain (Mitragyna speciosa Korth.) in users.Pharmacologically, it acts.",
            [
                "It relieves pain (Mitragyna speciosa Korth.) in users.",
                "Pharmacologically, it acts.",
            ],
        ),
        ("Results\nMost users were men.", ["Results", "Most users were men."]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
    ],
)
def test_sentences_end_where_a_reader_sees_them_end(text, expected):
    assert sentences(text) == expected


# ---- study size


@pytest.mark.parametrize(
    "text, design, n, unit, phrase",
    [
        (
            "Methods: A total of 4,945 respondents completed the survey.",
            "cross_sectional",
            4945,
            "respondents",
            "A total of 4,945 respondents",
        ),
        (
            "Healthy volunteers (n = 12) took kratom tea.",
            "non_randomised_trial",
            12,
            None,
            "n = 12",
        ),
        ("Data came from three villages (N=1,118).", "cohort", 1118, None, "N=1,118"),
        (
            "We searched five databases. 27 studies were included.",
            "systematic_review",
            27,
            "studies",
            "27 studies",
        ),
        (
            "Twenty-four male rats were given mitragynine 10 mg/kg.",
            "animal",
            24,
            "animals",
            "Twenty-four male rats",
        ),
        (
            "Withdrawal is common. We describe a 45-year-old man who used kratom daily.",
            "case_report",
            1,
            "patients",
            "a 45-year-old man",
        ),
        ("We recruited 12 healthy volunteers.", "rct", 12, "participants", "12 healthy volunteers"),
        (
            "Participants: A total of 59 714 respondents aged 18 years or older.",
            "cross_sectional",
            59714,
            "respondents",
            "A total of 59 714 respondents",
        ),
        (
            "Nine-hundred-twenty-eight cases were included (760 from NPDS and 168 from RPC).",
            "cross_sectional",
            928,
            "cases",
            "Nine-hundred-twenty-eight cases",
        ),
        ("Ninety-nine regular users were interviewed.", "qualitative", 99, "participants", None),
        (
            "We analysed 1,200 Reddit posts about kratom withdrawal.",
            "qualitative",
            1200,
            "posts",
            "1,200 Reddit posts",
        ),
        (
            "A survey of kratom users (2867 current users and 157 former users) ran in 2017.",
            "cross_sectional",
            3024,
            "respondents",
            None,
        ),
        (
            "Twenty-four cases from 2160 autopsy cases were positive for mitragynine.",
            "cross_sectional",
            24,
            "cases",
            None,
        ),
        (
            "We recontacted 289 users. The sample (N=129) was majority female.",
            "cross_sectional",
            129,
            None,
            None,
        ),
    ],
)
def test_study_size_reads_the_papers_own_sample(text, design, n, unit, phrase):
    size = study_size(text, design)
    assert size is not None
    assert size.n == n
    if unit:
        assert size.unit == unit
    if phrase:
        assert size.phrase == phrase


@pytest.mark.parametrize(
    "text, design",
    [
        ("Kratom is used by 1.7 million Americans each year.", ""),
        ("An estimated 10 to 16 million people use kratom in the United States.", ""),
        ("Rats received 5, 10 and 30 mg/kg mitragynine for 14 days.", "animal"),
        ("Between 2011 and 2017 calls to poison centres rose by 52%.", "cross_sectional"),
        ("Participants aged 18-60 years reported 45% less pain (p < 0.05).", ""),
        ("Mitragynine had a pKa of 8.11 and a logP of 1.73.", "in_vitro"),
        ("We analysed 80 samples of kratom powder and 12 commercial products.", "in_vitro"),
        ("Only three case reports of kratom liver injury have been published.", "case_report"),
        (
            "Weighted to represent the adult US population (n = 252 063 800), use was rare.",
            "cross_sectional",
        ),
        ("In two separate studies, mitragynine reduced immobility.", "animal"),
    ],
)
def test_study_size_ignores_numbers_that_are_not_the_sample(text, design):
    assert study_size(text, design) is None


def test_subgroups_and_arms_do_not_replace_the_whole_sample():
    text = (
        "A total of 215 subjects were recruited. The prevalence of ketum users was 49.3% "
        "(n = 106). Seventeen participants (0.6%) sought treatment; 20 of the 28 smokers quit."
    )
    assert study_size(text, "cross_sectional").n == 215


def test_study_size_reads_like_the_digest_shows_it():
    assert str(StudySize(4945, "respondents", "4,945 respondents")) == "4,945 respondents"
    assert str(StudySize(1, "patients", "a 45-year-old man")) == "1 patient"


# ---- the finding


STRUCTURED = [
    AbstractSection("BACKGROUND", "Kratom use has increased substantially over the past decade."),
    AbstractSection("METHODS", "A total of 331 users were surveyed in three prisons."),
    AbstractSection(
        "RESULTS",
        "All were male (n=331) and the mean age was 32.9 years. Kratom was used to reduce "
        "heroin use by 61% of respondents. Withdrawal pain was mild in 43%.",
    ),
    AbstractSection(
        "CONCLUSIONS",
        "Kratom was commonly used to cut down on heroin. Further research is needed. "
        "Copyright © 2024 Elsevier Inc. All rights reserved.",
    ),
]


def test_a_structured_abstract_gives_its_conclusion():
    assert finding(STRUCTURED, "cross_sectional") == (
        "Kratom was commonly used to cut down on heroin."
    )


def test_without_a_conclusion_the_first_result_that_is_not_the_sample_is_shown():
    assert finding(STRUCTURED[:3], "cross_sectional") == (
        "Kratom was used to reduce heroin use by 61% of respondents. "
        "Withdrawal pain was mild in 43%."
    )


def test_headings_inside_unlabelled_text_are_read_as_headings():
    text = (
        "OBJECTIVE This review aims to map the evidence. METHODS Five databases were "
        "searched. RESULTS Six papers were found. CONCLUSIONS Kratom may worsen psychosis "
        "in people with psychiatric conditions."
    )
    roles = [part.role for part in abstract_parts(text)]
    assert roles == ["aim", "methods", "results", "conclusion"]
    assert finding(text, "systematic_review") == (
        "Kratom may worsen psychosis in people with psychiatric conditions."
    )


@pytest.mark.parametrize(
    "abstract, design, expected",
    [
        (
            "Kratom use has increased substantially over the past decade. We surveyed 4,945 "
            "people who use kratom. Most were middle-aged. For all conditions, people reported "
            "decreased depressive and anxious moods after starting kratom. More research is "
            "warranted.",
            "cross_sectional",
            "For all conditions, people reported decreased depressive and anxious moods after "
            "starting kratom.",
        ),
        (
            "Kratom is a plant. We tested kratom in mice. Mice receiving kratom swam longer. "
            "In conclusion, kratom had antidepressant-like effects in mice.",
            "animal",
            "In conclusion, kratom had antidepressant-like effects in mice.",
        ),
        (
            "Kratom is an opioid-like herb. Its use is rising. We report a 36-year-old woman "
            "with liver injury after kratom. Enzymes normalised after stopping. We advise "
            "clinicians to ask about kratom.",
            "case_report",
            "Enzymes normalised after stopping. We advise clinicians to ask about kratom.",
        ),
    ],
)
def test_an_unstructured_abstract_gives_its_result_not_its_background(abstract, design, expected):
    assert finding(abstract, design) == expected


def test_an_abstract_of_background_only_gives_nothing():
    text = (
        "Kratom is a Southeast Asian plant whose leaves are sold online. The leaves contain "
        "mitragynine, which has stimulant and opioid-like effects."
    )
    assert finding(text, "in_vitro") == ""


@pytest.mark.parametrize(
    "abstract, design, expected",
    [
        (
            "Kratom use has grown in the United States. Its pharmacology is complex. This review "
            "summarizes what is known about kratom and mood. Evidence is limited.",
            "narrative_review",
            "This review summarizes what is known about kratom and mood.",
        ),
        (
            "Several states have banned kratom. We argue that scheduling kratom would push users "
            "back to opioids.",
            "opinion",
            "We argue that scheduling kratom would push users back to opioids.",
        ),
    ],
)
def test_a_review_or_opinion_gives_its_aim_or_claim(abstract, design, expected):
    assert finding(abstract, design) == expected


def test_an_over_long_sentence_is_cut_at_a_clause_and_says_so():
    clauses = ", ".join(
        f"kratom use was associated with outcome {i} (OR = 1.{i})" for i in range(20)
    )
    text = f"We surveyed 500 adults. In conclusion, {clauses}."
    quoted = finding(text, "cross_sectional")
    assert quoted.endswith(" " + ELLIPSIS)
    assert text.find(quoted.removesuffix(" " + ELLIPSIS)) > 0
    assert len(quoted) <= MAX_CHARS + 2


def test_inline_markup_is_dropped_and_entities_decoded():
    sections = [
        AbstractSection("RESULTS", "<i>Mitragyna speciosa</i> extract &lt; 10 mg/kg was safe."),
        AbstractSection("CONCLUSIONS", "<i>M. speciosa</i> was safe at low doses in rats."),
    ]
    assert finding(sections, "animal") == "M. speciosa was safe at low doses in rats."


def test_no_abstract_gives_no_finding_and_no_size():
    assert finding([], "rct") == ""
    assert study_size("", "rct") is None
