"""The classifier on hand-written cases: designs, negation, evidence, confidence.

The cases are short snippets written for these tests, in the style of real abstracts, so
the classifier is checked on text it was neither trained nor tuned on.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from flows.classify import classify
from flows.designs import LABELS

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
        "Kratom tea for chronic pain: an open-label pilot study",
        "Twelve adults drank kratom tea daily for four weeks. A randomized controlled trial "
        "would help determine whether the benefit is real.",
        "non_randomised_trial",
        id="a trial that would help",
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
        "An exercise programme for students who use kratom",
        "The students were randomly divided into two groups: a training group of 24 and a "
        "control group of 22.",
        "rct",
        id="people randomly divided into arms",
    ),
    pytest.param(
        "Kratom tea or usual care for chronic pain",
        "Forty adults with chronic pain took part. They were randomized to either kratom tea "
        "or usual care for eight weeks; pain scores fell in both groups.",
        "rct",
        id="randomized to either arm",
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


def test_mendelian_randomisation_is_no_trial():
    from flows.classify.features import read_record

    record = read_record(
        "Genetic liability to opioid use disorder and kratom use",
        "We applied two-sample Mendelian randomization to genome-wide association data.",
    )
    assert "rct" not in record.scores


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
    assert result.design in LABELS


# Spellings the first words of the cue and mention patterns must cover, beyond dev's.
FIRST_WORD_SPELLINGS = [
    "A meta-analysis and a metaanalysis; non-randomised, nonrandomized and non randomized.",
    "HEK-293 and HEK293T cells; 10 µg/kg and 5 μg/kg; β-arrestin2 and beta-arrestin.",
    "GTPγS binding; PC-12 and PC12 cells; an open-label, openlabel single-arm trial.",
    "Antidepressant-like, anti-depressive and antidepressive effects; PHQ-9, PHQ9, K10, K-6.",
    "Suicidality, suicidal ideation, anhedonic rats; a 52-year-old man; 1,200 participants.",
    "Semi-structured and semistructured interviews; cross-sectional and crosssectional.",
]


def _patterns():
    """Every regex the classifier tries only at its first words, with those words."""
    from flows.classify import relevance, rules
    from flows.classify.cues import CUES

    for cue in CUES:
        for pattern in cue.patterns:
            yield pattern.regex, pattern.first, pattern.needs
    yield relevance._MENTION_RE, relevance._MENTION_FIRST, None
    yield relevance._MOOD_RE, relevance._MOOD_FIRST, None
    yield rules._LARGE_SERIES_RE, rules._LARGE_SERIES_FIRST, None


def test_first_words_never_hide_a_match(dev_rows):
    """A regex is tried only where one of its first words starts, and only when one of its
    `needs` words occurs: it must find exactly what a scan of the whole text finds."""
    from flows.classify.text import Text, matches

    raws = [r[k] or "" for r in dev_rows + _hard_case_records() for k in ("title", "abstract")]
    for raw in raws + FIRST_WORD_SPELLINGS:
        text = Text(raw)
        for regex, first, needs in _patterns():
            found = [m.span() for m in regex.finditer(text.low)]
            assert [m.span() for m in matches(regex, first, text)] == found, regex.pattern
            if found and needs is not None:
                assert _occur_in(needs, text), (regex.pattern, raw[:80])


def _occur_in(words, text) -> bool:
    """Whether one of a FirstWords' words, prefixes or literals occurs in the text."""
    return (
        not words.words.isdisjoint(text.word_set)
        or any(" " + p in text.tokens for p in words.prefixes)
        or any(lit in text.low for lit in words.literals)
    )


def test_first_word_spellings_are_found():
    """The spellings above do reach the patterns they are for (the test is not vacuous)."""
    from flows.classify.text import Text

    text = Text(" ".join(FIRST_WORD_SPELLINGS))
    hits = {regex.pattern for regex, first, _ in _patterns() if regex.search(text.low)}
    assert len(hits) >= 15


def test_sentence_ends_are_found_where_a_full_scan_finds_them(dev_rows):
    """Sentence ends are tried only after a stop or before a heading: nothing is missed."""
    from flows.classify.text import _SENTENCE_END_RE, Text, _sentence_ends

    tricky = [
        "BACKGROUND: Kratom is used. METHODS: We surveyed adults. Results: 12% used it.",
        'It rose (p < 0.05). "Quoted" next. [1] Then 5 more. Done? Yes! 2020 was next.',
        "Aims  and\tscope:\nwe asked. Objective: none e.g. here.",
    ]
    raws = [r[k] or "" for r in dev_rows for k in ("title", "abstract")] + tricky
    for raw in raws:
        clean = Text(raw).clean
        found = [m.span() for m in _sentence_ends(clean)]
        assert found == [m.span() for m in _SENTENCE_END_RE.finditer(clean)], raw[:80]


def test_less_than_and_greater_than_signs_are_text_not_markup():
    abstract = "We conducted a cross-sectional survey (p < 0.05 for all) of adults aged > 65 years."
    result = classify("Kratom use and pain", abstract)
    assert result.design == "cross_sectional"
    assert result.evidence[0] == abstract.rstrip(".") or result.evidence[0] == abstract
