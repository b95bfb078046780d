"""Depression relevance (flows/classify/relevance.py) on cases drawn from its definition.

docs/study-designs.md: relevant when the paper is about, or reports data on, depression,
depressive symptoms, low mood, anhedonia, antidepressant(-like) effects, suicidality, or
mental-health outcomes that include mood; not when depression is respiratory or CNS
depression, one withdrawal symptom among others, a comorbidity in a patient's history, or
only a reason people use kratom named in background sentences.
"""

from __future__ import annotations

import pytest

from flows.classify import classify
from flows.classify.relevance import REASONS

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
    pytest.param(
        "Group music sessions for people with dementia who use kratom",
        "Outcomes included the symptoms of anxiety and depression of people with dementia. "
        "The symptoms of depression of those in the intervention group fell.",
        True,
        id="depression of people is not physiology",
    ),
    pytest.param(
        "Sexual violence among patients with substance use disorders, kratom included",
        "Victims differed from non-victims across a variety of domains, including more "
        "psychiatric symptoms and suicide attempts, and a higher use of services.",
        True,
        id="a finding in a sentence that says use, about no substance",
    ),
    pytest.param(
        "Kratom in the United States",
        "Kratom is marketed online to relieve pain, anxiety and depression. We describe its "
        "chemistry.",
        False,
        id="depression as a use the plant is marketed for",
    ),
    pytest.param(
        "Acute effects of kratom tea in regular users",
        "Mood was assessed with the Profile of Mood States before and 2 h after each dose.",
        True,
        id="mood measured as an outcome",
    ),
    pytest.param(
        "Sleep training for children who take kratom",
        "Children in the intervention group reported improvements in mood (F values < 2.99, "
        "P values < 0.05).",
        True,
        id="mood as a finding, with P values",
    ),
    pytest.param(
        "Kratom and lithium: a case report",
        "A patient with bipolar disorder on mood stabilizers took kratom daily for two years.",
        False,
        id="mood stabilizers are drugs, not an outcome",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "relevant"), DEPRESSION_CASES)
def test_depression_relevance(title, abstract, relevant):
    assert classify(title, abstract).depression_relevant is relevant


# Cases for the updated definition, each with the phrase or the reason the digest shows.
RELEVANT = [
    pytest.param(
        "Kratom use and mental health among US adults",
        "Participants completed an online survey. Depressive symptoms were measured with the "
        "PHQ-9 and anxiety with the GAD-7.",
        "PHQ-9",
        id="PHQ-9 outcome",
    ),
    pytest.param(
        "Kratom use and suicidal ideation in a national sample",
        "We analysed survey data from 40,000 adults. Kratom use was associated with past-year "
        "suicidal ideation (aOR 1.9).",
        "suicidal ideation",
        id="suicidality",
    ),
    pytest.param(
        "Kratom and psychological distress",
        "Serious psychological distress (K6 score of 13 or more) was more common among people "
        "who used kratom.",
        "psychological distress",
        id="psychological distress outcome",
    ),
    pytest.param(
        "Why adults use kratom",
        "Respondents used kratom for pain (60%), anxiety or depression (22%), and to relieve "
        "opioid withdrawal (15%).",
        "anxiety or depression (22%)",
        id="a reason for use that the survey reports, beside withdrawal",
    ),
    pytest.param(
        "What kratom users say",
        "Themes that emerged suggest that kratom may help with mood elevation, anxiety "
        "reduction, and opioid withdrawal management.",
        "mood elevation",
        id="mood with anxiety as a theme, withdrawal named after it",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "phrase"), RELEVANT)
def test_mood_outcomes_and_suicidality_make_a_paper_relevant(title, abstract, phrase):
    result = classify(title, abstract)
    assert result.depression_relevant
    assert phrase.lower() in result.depression_evidence.lower()
    assert result.depression_evidence in title or result.depression_evidence in abstract
    assert result.evidence[-1] == result.depression_evidence
    assert result.depression_reason == ""


NOT_RELEVANT = [
    pytest.param(
        "Respiratory safety of mitragynine in rats",
        "Unlike morphine, mitragynine did not produce respiratory depression at analgesic doses.",
        REASONS["physiological"],
        id="respiratory depression",
    ),
    pytest.param(
        "Kratom withdrawal syndrome in a young man",
        "A 25-year-old man was admitted with withdrawal symptoms including restlessness, "
        "insomnia, depression, diarrhoea and muscle aches after stopping daily kratom use.",
        REASONS["withdrawal"],
        id="withdrawal symptom list",
    ),
    pytest.param(
        "Stopping kratom",
        "Patients reported insomnia, irritability, depression and cravings during withdrawal.",
        REASONS["withdrawal"],
        id="symptoms during withdrawal",
    ),
    pytest.param(
        "Kratom-associated seizure",
        "A 30-year-old man whose medical history was significant for alcohol use and "
        "depression presented after a seizure.",
        REASONS["history"],
        id="history significant for",
    ),
    pytest.param(
        "Deaths after kratom use",
        "Most deaths were ascribed to other drugs or other causes (e.g., homicide, suicide "
        "and heart disease).",
        REASONS["passing"],
        id="one of unrelated examples",
    ),
    pytest.param(
        "Kratom-associated liver injury",
        "A 41-year-old woman with a history of depression and hypertension presented with "
        "jaundice after six weeks of kratom use.",
        REASONS["history"],
        id="comorbidity in the history",
    ),
    pytest.param(
        "Mitragynine pharmacokinetics in dogs",
        "Kratom is used to self-treat pain, anxiety and depression. Beagle dogs were given "
        "mitragynine orally and plasma concentrations were measured.",
        REASONS["background"],
        id="background reasons for use",
    ),
]


@pytest.mark.parametrize(("title", "abstract", "reason"), NOT_RELEVANT)
def test_depression_words_that_do_not_count_say_why(title, abstract, reason):
    result = classify(title, abstract)
    assert not result.depression_relevant
    assert result.depression_evidence == ""
    assert result.depression_reason == reason


def test_no_depression_words_no_reason():
    result = classify("Mitragynine in mice", "Mice were treated with mitragynine (10 mg/kg).")
    assert (result.depression_relevant, result.depression_evidence, result.depression_reason) == (
        False,
        "",
        "",
    )


def test_reasons_are_short_phrases_for_the_digest():
    assert all(0 < len(reason) <= 60 for reason in REASONS.values())
