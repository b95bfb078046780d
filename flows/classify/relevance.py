"""Depression relevance: whether a paper is about, or reports data on, depression or mood.

Per docs/study-designs.md it counts depression, depressive symptoms, low mood,
anhedonia, antidepressant(-like) effects or treatment, suicidality, and mental-health
outcomes that include mood (psychological distress, internalising disorders, serious mental
illness, mood alongside anxiety). It does not count respiratory or CNS depression, one
withdrawal symptom among others, a comorbidity in a patient's history, or depression named
only as a reason people use kratom in background sentences. Those exclusions are also the
reasons the digest shows when depression words occur but the paper is not relevant.

Rules rather than a model: dev has about 20 relevant papers, too few to learn from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from flows.classify.rules import mesh_descriptor
from flows.classify.text import FirstWords, Text, matches

# Why a paper whose text mentions depression is still not depression-relevant: the one table.
REASONS: dict[str, str] = {
    "physiological": "respiratory or CNS depression only",
    "withdrawal": "depression only as a withdrawal symptom",
    "history": "depression only as a comorbidity in a patient's history",
    "background": "depression only in background on why people use kratom",
    "passing": "depression mentioned only in passing",
}

DEPRESSION_MESH = frozenset(
    {
        "depression",
        "depressive disorder",
        "depressive disorder, major",
        "depressive disorder, treatment-resistant",
        "antidepressive agents",
        "anhedonia",
        "mood disorders",
        "dysthymic disorder",
        "suicide",
        "suicidal ideation",
        "suicide, attempted",
        "psychological distress",
    }
)

# Words of depression, mood and suicidality. "depressant" (CNS depressant) is not one.
_MENTION_RE = re.compile(
    r"\b(?:anti-?)?depress(?:ion|ions|ive|ed|ant-like|ants?)?\b(?<!\bdepressant)(?<!\bdepressants)|"
    r"\bantidepressive\b|\banhedoni\w*|\bdysthymi\w*|\blow\s+mood\b|\bmood\s+disorders?\b|"
    r"\bforced-?\s?swim(?:ming)?\s+test|\btail-?\s?suspension\s+test|\bphq-?\s?(?:9|8|2)?\b|"
    r"\bces-d\b|\bmadrs\b|\bhamd\b|\bhads\b|\bdass(?:-21)?\b|\bbeck\s+depression|"
    r"\bsuicid\w*|\bpsychological\s+distress\b|\binternali[sz]ing\b|"
    r"\bserious\s+mental\s+illness\b|\bkessler\b|\bk-?(?:6|10)\b"
)
# The words a mention can begin with (text.FirstWords): the regex is tried only there.
_MENTION_FIRST = FirstWords.parse(
    "anti antidepress antidepression antidepressions antidepressive antidepressed "
    "antidepressant antidepressants depress depression depressions depressive depressed "
    "depressant depressants anhedoni* dysthymi* low mood forced forcedswim forcedswimming "
    "tail tailsuspension phq phq0 ces madrs hamd hads dass beck suicid* psychological "
    "internalising internalizing serious kessler k k0 k00"
)
_MOOD_RE = re.compile(r"\bmoods?\b")
_MOOD_FIRST = FirstWords.parse("mood moods")
_ANXIETY_RE = re.compile(r"\banxi\w*")
_MOOD_DRUG_RE = re.compile(r"[\s-]*stabili[sz]")  # "mood stabilizers", "mood-stabilising"

# "respiratory depression", "CNS and respiratory depression", "depressed respiration".
_PHYSIOLOGICAL_BEFORE_RE = re.compile(
    r"(?:respirat\w*|ventilat\w*|\bcns|central\s+nervous\s+system|cardi\w*|myocardial|"
    r"circulatory|bone\s+marrow|st-?\s?segment|spreading|synaptic|long-term|neuronal|cortical|"
    r"medullary|breathing|immune|marrow)\W+(?:\w+\W+){0,3}$"
)
_PHYSIOLOGICAL_AFTER_RE = re.compile(
    r"\s+(?:of\s+)?(?:the\s+)?(?:respirat\w*|breathing|ventilation|consciousness|reflexes|"
    r"heart|cardiac|cns)|"
    # "depression of locomotor activity" is physiology; of mood, or of people, it is not
    # ("symptoms of depression of people with dementia").
    r"\s+of\s+(?!mood|(?:the\s+|these\s+|our\s+)?(?:[\w-]+\s+){0,2}?(?:people|persons?|"
    r"patients?|participants?|those|subjects|individuals|women|men|mothers|fathers|parents|"
    r"children|adolescents|youths?|students|adults|elderly|caregivers|residents|users|"
    r"veterans|workers|respondents)\b)"
)
_HISTORY_BEFORE_RE = re.compile(
    r"\b(?:histor(?:y|ies)\s+(?:of|(?:(?:was|is)\s+)?(?:significant|notable|remarkable|"
    r"positive)\s+for|includ\w*)|prior|previous|past\s+(?:psychiatric\s+)?history)\s+"
    r"(?:[\w-]+,?\s+){0,6}$"
)
# A withdrawal symptom: an item of a list that "withdrawal (symptoms)" leads, or of what
# happens during withdrawal. "Kratom is used for pain, depression and opioid withdrawal"
# names uses, not symptoms.
_WITHDRAWAL_RE = re.compile(r"\bwithdrawal\b|\babstinence\s+symptoms\b")
_DURING_WITHDRAWAL_RE = re.compile(r"\b(?:during|upon|on|after|in)\s+(?:\w+\s+)?withdrawal\b")
# A mention among examples in parentheses: "other causes (e.g., homicide, suicide ...)".
_EXAMPLES = ("e.g", "eg,", "eg ", "i.e", "such as", "for example")
_MENTAL_HEALTH_RE = re.compile(
    r"\b(?:depress|suicid|anxi|mood|psych|mental|bipolar|schizo|ptsd|stress|anhedon|dysthym)"
)
# Depression named only as one of the uses people make of kratom, in background sentences.
_BACKGROUND_USE_RE = re.compile(
    r"\b(?:used|use|uses|using|usage|popular\w*|marketed|marketing|market|traditional(?:ly)?|"
    r"anecdotal(?:ly)?|consumed|consume|touted|sold|interest|reportedly|purported(?:ly)?|"
    r"self-treat\w*|self-medicat\w*|self-manag\w*|remed(?:y|ies)|alleviate|relieve|treat)\b"
)
# ...in a sentence that names the plant or its products (or refers to them: "it is sold as
# ..."): "antidepressants are used to treat depression" in a psychiatry paper is no such use.
# The whole sentence (Text.sentence_at), not the clause the other tests read: "...; for
# self-treating pain, mood disorders ..." names kratom before the semicolon.
_SUBSTANCE_RE = re.compile(
    r"kratom|mitragyn|speciosa|ketum|kakuam|\bbiak|\bits?\b|product|plant|lea(?:f|ves)\b|"
    r"botanical|herb|alkaloid"
)
# ...unless the sentence reports this paper's subjects or findings.
_OWN_FINDING_RE = re.compile(
    r"%|\bp(?:\s+values?)?\s*[<=>]|\b(?:we|our|patients?|participants|respondents|his|her|he|"
    r"she|themes|findings|showed|associated|scores?|measured|assessed|scales?|outcomes?)\b"
)


@dataclass(frozen=True)
class Relevance:
    relevant: bool
    evidence: str  # the exact phrase that made it relevant, "" when not
    reason: str  # a REASONS value when depression words occur but do not count, else ""


@dataclass(frozen=True)
class _Mention:
    text: Text
    start: int
    end: int
    in_title: bool
    exclusion: str  # a REASONS key, "" for a mention that counts


def _spans(text: Text) -> Iterator[tuple[int, int]]:
    low = text.low
    for m in matches(_MENTION_RE, _MENTION_FIRST, text):
        yield m.span()
    for m in matches(_MOOD_RE, _MOOD_FIRST, text):
        # Mood counts alongside anxiety ("mood and anxiety symptoms"), or as what this paper
        # measured or found ("improvements in mood (p < 0.05)"); not as a use of kratom named
        # in passing ("to improve mood") nor in "mood stabilizers".
        if (
            not low.startswith("mood disorder", m.start())
            and not low.startswith("low mood", max(0, m.start() - 4))
            and not _MOOD_DRUG_RE.match(low, m.end())
        ):
            sentence = low[slice(*_sentence(low, m.start()))]
            if _ANXIETY_RE.search(sentence) or _OWN_FINDING_RE.search(sentence):
                yield m.span()


def _sentence(low: str, pos: int) -> tuple[int, int]:
    start = max(low.rfind(". ", 0, pos), low.rfind("; ", 0, pos))
    end = min((i for i in (low.find(". ", pos), low.find("; ", pos)) if i != -1), default=-1)
    return start + 2 if start != -1 else 0, end if end != -1 else len(low)


def _exclusion(text: Text, start: int, end: int, in_title: bool) -> str:
    low = text.low
    if _PHYSIOLOGICAL_BEFORE_RE.search(low, max(0, start - 50), start):
        return "physiological"
    if _PHYSIOLOGICAL_AFTER_RE.match(low, end) and low[start:end].startswith("depress"):
        return "physiological"
    s, e = _sentence(low, start)
    if _HISTORY_BEFORE_RE.search(low, max(s, start - 80), start):
        return "history"
    if in_title:
        return ""
    sentence = low[s:e]
    # One of a list of withdrawal symptoms, whether or not the sentence reports findings.
    if _in_a_list(low, start, end) and (
        _WITHDRAWAL_RE.search(low, s, start) or _DURING_WITHDRAWAL_RE.search(low, end, e)
    ):
        return "withdrawal"
    if (
        _BACKGROUND_USE_RE.search(sentence)
        and not _OWN_FINDING_RE.search(sentence)
        and _SUBSTANCE_RE.search(low, *text.sentence_at(start))
    ):
        return "background"
    if _among_examples(low, s, start, end) and not _OWN_FINDING_RE.search(sentence):
        return "passing"
    return ""


def _among_examples(low: str, sentence_start: int, start: int, end: int) -> bool:
    """Whether the mention is the one mental-health item among examples in parentheses:
    "other causes (e.g., homicide, suicide and various diseases)"."""
    opening = low.rfind("(", sentence_start, start)
    if opening == -1 or ")" in low[opening:start]:
        return False
    if not low[opening + 1 : opening + 12].lstrip().startswith(_EXAMPLES):
        return False
    closing = low.find(")", end)
    examples = low[opening : closing if closing != -1 else len(low)]
    return len(_MENTAL_HEALTH_RE.findall(examples)) <= 1


def _in_a_list(low: str, start: int, end: int) -> bool:
    """Whether the mention is one item of a list: "anxiety, depression, insomnia"."""
    return "," in low[max(0, start - 25) : start] or "," in low[end : end + 25]


def _mentions(title: Text, abstract: Text) -> Iterator[_Mention]:
    for text, in_title in ((title, True), (abstract, False)):
        for start, end in _spans(text):
            yield _Mention(text, start, end, in_title, _exclusion(text, start, end, in_title))


# A mention that counts is worth 1, a passing one a quarter: four passing mentions make a
# paper about depression, one clear mention does.
_PASSING = 0.25


def depression_relevance(title: Text, abstract: Text, mesh_terms: Sequence[str] = ()) -> Relevance:
    """Whether the paper is about depression or mood, the phrase that says so, or why not."""
    for term in mesh_terms:
        if mesh_descriptor(term) in DEPRESSION_MESH:
            return Relevance(True, term, "")
    mentions = []
    deciding = None
    for mention in _mentions(title, abstract):
        if not mention.exclusion:
            deciding = mention  # the first mention that counts decides; the rest do not matter
            break
        mentions.append(mention)
    passing = [m for m in mentions if m.exclusion in ("background", "passing")]
    if deciding is None and len(passing) * _PASSING >= 1.0:
        deciding = passing[0]
    if deciding is not None:
        if deciding.in_title:
            phrase = deciding.text.quote(0, len(deciding.text.clean))
        else:
            phrase = deciding.text.clause(deciding.start, deciding.end)
        return Relevance(True, phrase, "")
    if not mentions:
        return Relevance(False, "", "")
    reason = Counter(m.exclusion for m in mentions).most_common(1)[0][0]
    return Relevance(False, "", REASONS[reason])
