"""What a paper found, and how many it studied: two extractions from its abstract.

`finding(abstract, design)` quotes the sentence(s) that state what this paper
found or concluded; `study_size(text, design)` reads how many participants,
respondents, patients, cases, animals, included studies or posts it counted.
Both are plain functions of the abstract (and the design label, which changes
what counts): no store, no digest, no network. docs/findings.md says how they
decide and how often they are right on the hand-labelled dev papers.

A finding is always quoted, never rewritten: it is an exact substring of the
plain text of one abstract section (a single over-long sentence is cut at a
clause boundary and ends in "…"; the text before it is still exact), so a
reader can trust it as the authors' words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from flows.markup import plain_text
from flows.models import AbstractSection

MAX_CHARS = 350  # about two sentences: what fits under a title in the digest
_HARD_CHARS = 420  # one sentence longer than this is cut at a clause boundary
ELLIPSIS = "…"

# Designs whose abstract states an aim or a claim rather than results of its own.
CLAIM_DESIGNS = frozenset({"narrative_review", "opinion", "other"})


# ---- sentences

# Words whose final period does not end a sentence. Initialisms made of single
# letters (U.S., e.g., i.p.) and single capitals (M. speciosa) are caught by
# _INITIALS instead of being listed.
_ABBREVIATIONS = frozenset(
    "al. vs. dr. drs. prof. mr. mrs. ms. st. fig. figs. no. nos. approx. ca. cf. "
    "korth. havil. sp. spp. var. subsp. inc. ltd. co. jr. eq. ref. vol. pp. "
    "mol. wt. resp. min. max. ed. eds. et.".split()
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")
# A sentence ends at . ! or ? (closing quotes or brackets may follow) before
# whitespace and a capital, a digit or an opening bracket; at a period glued to
# the next capitalised word ("medicine.Pharmacologically"); or at a line break.
_BOUNDARY = re.compile(
    r"[.!?][\"'”’)\]]*(?=\s+[\"“‘(\[]?[A-Z0-9\u0391-\u03a9])"
    r"|(?<=[a-z]{3}\.)(?=[A-Z][a-z])"
    r"|[ \t]*\n\s*"
)
_TOKEN_START = re.compile(r"\S+$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of plain text; text[start:end] has no outer spaces."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end() if match.group().strip() else match.start()
        if text[match.start()] == "." and _is_abbreviation(text, match.start()):
            continue
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _is_abbreviation(text: str, period: int) -> bool:
    token = _TOKEN_START.search(text, max(0, period - 24), period + 1)
    if token is None:
        return False
    word = token.group().lstrip("([{\"'“‘")
    return word.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(word) is not None


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


# ---- sections and the headings hidden inside unlabelled text

_HEADWORDS = (
    r"background(?: and (?:aims?|objectives?|purpose))?|introduction|context|rationale|"
    r"importance|objectives?|aims?(?: of the study)?|purpose(?: of (?:the )?review)?|"
    r"hypothesis|methods?|materials and methods|design(?:, setting,? and participants)?|"
    r"setting|participants|measurements|data sources|review methods|exposures?|"
    r"main outcomes? and measures?|results?|findings|key findings|recent findings|"
    r"case (?:report|presentation|description|summary)|discussion|"
    r"conclusions?(?: and (?:relevance|implications|impact))?|summary|interpretation|"
    r"implications|significance|research update"
)
# A heading is a few words and a colon at the start of the text, after a
# sentence or on a new line; a known heading alone on its line; or a known
# heading in capitals (or one capitalised word) run into the sentence it heads:
# "OBJECTIVE This review aims ...", "Results Overall, mitragynine ...".
_HEADING = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=\n))[ \t]*"
    r"(?:(?P<colon>[A-Z][A-Za-z]+(?:[ /-](?:[A-Za-z]+|&)){0,4}):(?=\s)"
    rf"|(?P<line>(?i:(?:{_HEADWORDS})(?:[ \t]*[/&][ \t]*[A-Za-z]+){{0,2}}))[ \t]*:?[ \t]*(?=\n)"
    r"|(?P<caps>BACKGROUND|INTRODUCTION|OBJECTIVES?|AIMS?|PURPOSE|METHODS?|DESIGN|"
    r"RESULTS?|FINDINGS|DISCUSSION|CONCLUSIONS?|SUMMARY)(?=[ \t]+[A-Z][a-z])"
    r"|(?P<word>Background|Rationale|Introduction|Objectives?|Aims?|Methods|Results|"
    r"Discussion|Conclusions?|Summary)(?=[ \t]+(?:[A-Z][a-z]|A |An )))",
    re.M,
)

CONCLUSION, RESULTS, DISCUSSION, CASE, METHODS, AIM, BACKGROUND, BODY = (
    "conclusion",
    "results",
    "discussion",
    "case",
    "methods",
    "aim",
    "background",
    "body",
)
# Parts that can hold what the paper found.
_REPORTING = frozenset({CONCLUSION, RESULTS, DISCUSSION, CASE})


def section_role(label: str) -> str:
    """What a section heading announces: conclusion, results, discussion, case, methods, ..."""
    low = label.lower()
    if not low:
        return BODY
    if "conclu" in low or "summary" in low or "interpretation" in low or "implication" in low:
        return CONCLUSION
    if "result" in low or "finding" in low:
        return RESULTS
    if "discussion" in low or "significance" in low or "comment" in low:
        return DISCUSSION
    if "case" in low:
        return CASE
    if any(w in low for w in _METHOD_LABELS):
        return METHODS
    if any(w in low for w in ("objective", "aim", "purpose", "goal", "hypothes", "question")):
        return AIM
    if any(w in low for w in ("background", "introduction", "context", "rationale", "relevance")):
        return BACKGROUND
    if "importance" in low:
        return BACKGROUND
    return BODY


_METHOD_LABELS = (
    "method",
    "design",
    "setting",
    "participant",
    "measure",
    "source",
    "approach",
    "exposure",
    "intervention",
    "procedure",
    "material",
    "search",
    "selection",
    "sample",
    "subject",
)


class _Part(NamedTuple):
    role: str
    text: str  # plain text; findings are quoted from it


def abstract_parts(abstract: Sequence[AbstractSection] | str) -> list[_Part]:
    """The abstract as (role, plain text) parts, inline headings split out."""
    if isinstance(abstract, str):
        abstract = [AbstractSection("", abstract)]
    parts: list[_Part] = []
    for section in abstract:
        text = plain_text(section.text)
        role = section_role(section.label)
        position = 0
        for heading in _HEADING.finditer(text):
            _add_part(parts, role, text[position : heading.start()])
            label = next(g for g in heading.groups() if g)
            role = section_role(label)
            position = heading.end()
        _add_part(parts, role, text[position:])
    return parts


def _add_part(parts: list[_Part], role: str, text: str) -> None:
    if text.strip():
        parts.append(_Part(role, text))


# ---- what a sentence is doing

_COMPLETE = re.compile(r"[.!?][\"'”’)\]]*$")
_BOILERPLATE = re.compile(
    r"©|\bcopyright\b|all rights reserved|\(c\) \d{4}|psycinfo database record|"
    r"^\(?[A-Z][A-Za-z. ]+ \d{4};\s*\d+|trial registration|clinicaltrials\.gov|"
    r"this article is protected",
    re.I,
)
# Sentences about what should happen next are not findings.
_FUTURE = re.compile(
    r"\b(?:further|future|more|additional)\s+(?:\w+\s+){0,3}?(?:research|stud(?:y|ies)|"
    r"investigations?|work|trials|data|documentation)\b"
    r"|\b(?:is|are|remains?|be)\s+(?:urgently\s+|still\s+)?(?:needed|warranted|required|necessary)\b"
    r"|\bwill (?:be useful|provide a basis|help|aid|facilitate|inform)\b"
    r"|\bmay be useful for\b|\bshould (?:be carried out|examine|explore|investigate|focus)\b",
    re.I,
)
_RESULTISH = re.compile(
    r"\b(?:reported|found|showed|observed|associated|suggest|indicate|demonstrat|increas|"
    r"decreas|higher|lower|significant)|%",
    re.I,
)


def _is_future(text: str) -> bool:
    """A sentence about what should happen next, with no result stated before that."""
    match = _FUTURE.search(text)
    return match is not None and not _RESULTISH.search(text, 0, match.start())


# Conclusions announced as such.
_STRONG = re.compile(
    r"\b(?:in conclusion|in summary|to summari[sz]e|in short|taken together|overall,|"
    r"we conclude|we believe|we found|"
    r"(?:these|our|the|study|present) (?:results|findings|data|observations|analyses)"
    r" (?:\w+ )?(?:suggest|indicate|confirm|support|highlight|imply|provide|add)|"
    r"(?:this|the present|the current|our) (?:study|work|case|report|case report|"
    r"case series|analysis|survey|research|review|investigation)"
    r" (?:\w+ )?(?:suggests|indicates|shows|demonstrates|confirms|supports|reveals|"
    r"highlights|underscores|illustrates|provides|adds|found)|"
    r"(?:our|this) case (?:highlights|underscores|illustrates|shows)|"
    r"(?:this|it) is the first (?:report|case|study|description)|the first case of|"
    r"findings from this (?:work|study) reveal)\b",
    re.I,
)
_HERE_WE = re.compile(r"\bhere,? we (?:show|report|demonstrate|describe|present|find)\b", re.I)
_RESULT_CUE = re.compile(
    r"\b(?:results? (?:showed|show|indicated|revealed|demonstrated|suggested)|"
    r"(?:data|results|findings) (?:\w+ )?(?:show|showed|demonstrate|demonstrated|reveal|revealed)|"
    r"based on (?:the|these|our) (?:\w+ )?(?:results|findings|analyses)|"
    r"we (?:also )?(?:found|find|discover(?:ed)?|show(?:ed)?|demonstrate(?:d)?|observed)|"
    r"findings (?:showed|show|indicated|revealed)|analysis (?:showed|revealed)|"
    r"(?:was|were|is|are) (?:significantly |positively |negatively |independently |strongly )?"
    r"associated with|significantly (?:higher|lower|greater|increased|decreased|reduced|"
    r"improved|more|less|associated|different|elevated|suppressed|inhibited|attenuated)|"
    r"no significant (?:difference|change|association|effect)s?|did not significantly|"
    r"(?:was|were) found (?:to|as)|(?:suggests?|suggested|indicates?|indicated|demonstrated?s?|"
    r"revealed?s?|confirms?|confirmed|shows?|showed) that)\b",
    re.I,
)
_STATS = re.compile(
    r"\d\s?%|\bp\s*[<=>≤]|\b(?:95\s?%\s?)?CI\b|\b(?:a?OR|RR|HR|RRR)\s*[=:]|"
    r"\bodds\b|±|\bpd\s?\(?2|\bIC50\b",
    re.I,
)
# Who was studied, not what was found.
_SAMPLE = re.compile(
    r"\bmean age\b|\baged? \d|\byears old\b|\bmiddle-aged\b|\bmajority (?:were|was) (?:male|female)"
    r"|\b(?:were|was) (?:all |primarily |predominantly |mostly |majority )?"
    r"(?:male|female|men|women|white|single|married|employed)\b|\bnon-hispanic\b"
    r"|\b(?:were|was) (?:included|recruited|enrolled|identified|retrieved|screened)\b"
    r"|^(?:a total of|in total,|participants were|the sample)\b|\bresponse rate\b"
    r"|\ball (?:subjects|participants|respondents) were\b|\b\d+(?:\.\d+)? years? of age\b"
    r"|^all (?:were )?(?:males?|females?|men|women)\b|\bheld employment",
    re.I,
)
_METHODS = re.compile(
    r"\b(?:was|were) (?:\w+ly )?(?:conducted|performed|carried out|recruited|administered|given|"
    r"treated|used|measured|assessed|evaluated|analy[sz]ed|collected|obtained|tested|extracted|"
    r"randomi[sz]ed|assigned|subjected|exposed|injected|supplemented|incubated|prepared|"
    r"selected|searched|estimated|calculated|investigated|examined|explored|interviewed|"
    r"surveyed|divided|allocated|dosed|scored|recorded|determined|employed|applied|based on)\b"
    r"|\bwe (?:used|conducted|performed|recruited|administered|analy[sz]ed|collected|measured|"
    r"tested|searched|interviewed|surveyed|employed|applied|utili[sz]ed|assessed|examined|"
    r"investigated|evaluated|explored|compared|aimed|sought|characteri[sz]ed|recontacted)\b"
    r"|\b(?:data|samples) (?:from|were)\b|\b(?:underwent|were tested|was used)\b",
    re.I,
)
_AIM = re.compile(
    r"\b(?:aims?|aimed|objectives?|purpose|goal) (?:of|was|is|were|to)\b"
    r"|\b(?:this|the present|the current|our) (?:study|work|article|paper|analysis|research)"
    r" (?:aims|aimed|sought|seeks|investigated|investigates|examined|examines|explored|"
    r"explores|assessed|assesses|evaluated|evaluates|describes|characteri[sz]es|was designed)\b"
    r"|\bto (?:better )?(?:understand|determine|assess|evaluate|investigate|examine|explore|"
    r"characteri[sz]e|describe|identify|compare|quantify)\b|\bwe hypothesi[sz]ed\b",
    re.I,
)
# The first sentence that is about this paper's own work: everything before it is background.
_PIVOT = re.compile(
    r"\b(?:we|our|here)\b|\bthis (?:study|work|paper|article|report|case|survey|analysis|"
    r"review|research|investigation|commentary)\b|\bthe (?:present|current) (?:study|work|"
    r"article|report|analysis)\b|\b(?:in this|the) (?:study|case report|report)\b"
    r"|\b(?:a|an) (?:\d+|[a-z]+(?:-[a-z]+)?)[- ](?:year|month|week|day)[- ]old\b"
    r"|\ba total of\b|\b(?:was|were) (?:conducted|recruited|enrolled|administered|given|"
    r"treated|evaluated|investigated|examined|analy[sz]ed|measured|tested|collected|"
    r"determined|performed|carried out|used)\b|\bresults?\b|\bfindings\b",
    re.I,
)
_CITES_OTHERS = re.compile(
    r"\b(?:previous(?:ly)?|prior (?:studies|research|reports)|have been (?:reported|shown|"
    r"described|suggested|documented)|has been (?:reported|shown|described|suggested)|"
    r"studies (?:have|has) |recently,? we|we (?:have )?previously|in (?:a|our) previous)\b",
    re.I,
)
# What reviews and opinion pieces say they do, or claim.
_REVIEW_AIM = re.compile(
    r"\b(?:this|the present|the current|our) (?:review|article|paper|commentary|overview|"
    r"editorial|chapter|perspective|letter|update|primer)\b"
    r"|\b(?:aim|purpose|objective|goal|focus) of (?:this|the present|our) (?:review|article|paper)"
    r"|\bwe (?:review|reviewed|summari[sz]e|discuss|argue|propose|describe|highlight|examine|"
    r"outline|provide|present|consider)\b|\bhere,? we\b|\bfocuses on\b",
    re.I,
)
_CLAIM = re.compile(
    r"\bshould be (?:aware|cautious|vigilant|considered)\b|\bthere (?:is|are) no\b"
    r"|\bwe (?:advise|recommend|urge|caution)\b",
    re.I,
)


class _Sentence(NamedTuple):
    part: int
    start: int
    end: int
    text: str

    @property
    def complete(self) -> bool:
        return _COMPLETE.search(self.text) is not None


def _sentences(parts: Sequence[_Part], roles: set[str] | None = None) -> list[_Sentence]:
    found = []
    for index, part in enumerate(parts):
        if roles is not None and part.role not in roles:
            continue
        for start, end in sentence_spans(part.text):
            sentence = _Sentence(index, start, end, part.text[start:end])
            if not _BOILERPLATE.search(sentence.text):
                found.append(sentence)
    return found


# ---- the finding


def finding(abstract: Sequence[AbstractSection] | str, design: str = "") -> str:
    """The sentence(s) that state what this paper found or concluded, quoted; "" if none.

    `abstract` is the paper's sections (or one plain string); `design` is its
    study-design label: for narrative reviews, opinion pieces and "other" the
    aim or main claim is quoted instead of a result.
    """
    parts = abstract_parts(abstract)
    if not parts:
        return ""
    if design in CLAIM_DESIGNS:
        chosen = _claim(parts)
    elif any(p.role != BODY for p in parts):
        chosen = _structured(parts, design)
    else:
        chosen = _unstructured(_sentences(parts), design)
    return _quote(parts, chosen)


def _claim(parts: list[_Part]) -> list[_Sentence]:
    conclusion = _first_usable(_sentences(parts, {CONCLUSION}))
    if conclusion:
        return conclusion
    every = _sentences(parts)
    for pattern in (_REVIEW_AIM, _STRONG, _CLAIM):
        for i, s in enumerate(every):
            if s.complete and pattern.search(s.text):
                return _extend(every, i, pattern)
    return _last_sentences([s for s in every[1:] if s.complete and not _is_future(s.text)])


def _structured(parts: list[_Part], design: str) -> list[_Sentence]:
    """Conclusions, else results, else discussion, else a cut conclusion, else the case."""
    if not any(p.role in _REPORTING for p in parts):
        body = _sentences(parts, {BODY})
        # Labelled background, aims and methods only (a cut abstract): nothing found yet,
        # unless unlabelled text follows them.
        return _unstructured(body, design) if body else []
    conclusions = _sentences(parts, {CONCLUSION})
    chosen = _first_usable(conclusions)
    if chosen:
        return chosen
    results = _sentences(parts, {RESULTS})
    if results:
        chosen = _from_results(results)
        if chosen:
            return chosen
    chosen = _first_usable(_sentences(parts, {DISCUSSION}))
    if chosen:
        return chosen
    fragment = [s for s in conclusions if len(s.text) >= 60 and not _is_future(s.text)]
    if fragment:
        return fragment[:1]
    case = _sentences(parts, {CASE})
    return _last_sentences([s for s in case if s.complete and not _is_future(s.text)])


def _first_usable(candidates: list[_Sentence]) -> list[_Sentence]:
    """The first complete sentence that is not about future work, and the next if it fits."""
    for i, s in enumerate(candidates):
        if s.complete and not _is_future(s.text):
            return _extend(candidates, i, None)
    return []


def _from_results(results: list[_Sentence]) -> list[_Sentence]:
    for pattern in (_STRONG, _RESULT_CUE):
        for i, s in enumerate(results):
            if s.complete and pattern.search(s.text) and not _SAMPLE.search(s.text):
                return _extend(results, i, None)
    usable = [
        i
        for i, s in enumerate(results)
        if s.complete and not _SAMPLE.search(s.text) and not _METHODS.search(s.text)
    ]
    for i in usable:
        if _STATS.search(results[i].text):
            return _extend(results, i, None)
    if usable:
        return _extend(results, usable[0], None)
    return []


def _unstructured(every: list[_Sentence], design: str) -> list[_Sentence]:
    """After the background: a stated conclusion, else a stated result, else the last words."""
    pivot = next((i for i, s in enumerate(every) if _PIVOT.search(s.text)), None)
    if pivot is None:
        # Nothing is said about this paper's own work: unless a sentence states a
        # result outright, the abstract is background only.
        pivot = 1
        if not any(_STRONG.search(s.text) or _RESULT_CUE.search(s.text) for s in every[1:]):
            return []
    own = [s for s in every[pivot:] if not _CITES_OTHERS.search(s.text)]
    for pattern in (_STRONG, _HERE_WE):
        for i, s in enumerate(own):
            if s.complete and pattern.search(s.text) and not _is_future(s.text):
                return _extend(own, i, None)
    reporting = [
        s
        for s in own
        if s.complete
        and not _is_future(s.text)
        and not _AIM.search(s.text)
        and not _METHODS.search(s.text)
        and not _SAMPLE.search(s.text)
    ]
    if design == "case_report":
        return _last_sentences(reporting)
    # The last stated result: abstracts move from checks of the model to the main effect.
    cued = [i for i, s in enumerate(own) if s in reporting and _RESULT_CUE.search(s.text)]
    if cued:
        return _extend(own, cued[-1], None)
    if reporting and not _STATS.search(reporting[-1].text):
        return _last_sentences(reporting)
    for i, s in enumerate(own):
        if s in reporting and _STATS.search(s.text):
            return _extend(own, i, None)
    if reporting:
        return _last_sentences(reporting)
    fragments = [s for s in own if _STRONG.search(s.text) and not _is_future(s.text)]
    return fragments[:1]


def _extend(candidates: list[_Sentence], i: int, pattern: re.Pattern | None) -> list[_Sentence]:
    """Sentence i, and the one after it when it is in the same part, usable and fits."""
    chosen = [candidates[i]]
    if i + 1 < len(candidates):
        after = candidates[i + 1]
        if (
            after.part == chosen[0].part
            and after.complete
            and not _is_future(after.text)
            and not _METHODS.search(after.text)
            and not _SAMPLE.search(after.text)
            and after.end - chosen[0].start <= MAX_CHARS
            and (pattern is None or pattern.search(after.text))
        ):
            chosen.append(after)
    return chosen


def _last_sentences(candidates: list[_Sentence]) -> list[_Sentence]:
    if not candidates:
        return []
    last = candidates[-1]
    if len(candidates) > 1:
        before = candidates[-2]
        if before.part == last.part and last.end - before.start <= MAX_CHARS:
            between = last.start - before.end
            if between <= 2:  # adjacent in the text, nothing skipped between them
                return [before, last]
    return [last]


_CLAUSE_END = re.compile(r"[;,:](?=\s)|\s[–—-]\s")


def _quote(parts: list[_Part], chosen: list[_Sentence]) -> str:
    if not chosen:
        return ""
    text = parts[chosen[0].part].text[chosen[0].start : chosen[-1].end]
    if len(text) <= _HARD_CHARS:
        return text
    cut = 0
    for match in _CLAUSE_END.finditer(text, 0, MAX_CHARS):
        if match.start() >= 80:
            cut = match.start()
    if not cut:
        cut = text.rfind(" ", 0, MAX_CHARS)
    return text[:cut].rstrip() + " " + ELLIPSIS


# ---- study size


@dataclass(frozen=True)
class StudySize:
    """How many this paper studied: `n` of `unit`, read from `phrase` (exact abstract text)."""

    n: int
    unit: str  # participants, respondents, patients, cases, animals, studies, posts
    phrase: str

    def __str__(self) -> str:
        unit = _SINGULAR.get(self.unit, self.unit) if self.n == 1 else self.unit
        return f"{self.n:,} {unit}"


UNITS = ("participants", "respondents", "patients", "cases", "animals", "studies", "posts")
# Units that count people, for comparisons that do not care how they were met.
PEOPLE_UNITS = frozenset({"participants", "respondents", "patients", "cases"})
_SINGULAR = {
    "participants": "participant",
    "respondents": "respondent",
    "patients": "patient",
    "cases": "case",
    "animals": "animal",
    "studies": "study",
    "posts": "post",
}

_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE = {w: i for i, w in enumerate(_SMALL)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORD = "|".join([*_SMALL[1:], *_TENS, "hundred", "thousand"])
_NUMBER = (
    r"\d{1,3}(?:[, ]\d{3}(?!\d))+(?!\.\d)|\d+(?![.,]\d)"
    rf"|(?:{_NUMBER_WORD})(?:(?:[- ]|\s+and\s+)(?:{_NUMBER_WORD}))*"
)

# Counted nouns and the unit each is reported in.
_NOUNS = {
    "respondents": "respondents",
    "responders": "respondents",
    "participants": "participants",
    "subjects": "participants",
    "volunteers": "participants",
    "adults": "participants",
    "individuals": "participants",
    "persons": "participants",
    "people": "participants",
    "users": "participants",
    "consumers": "participants",
    "men": "participants",
    "women": "participants",
    "males": "participants",
    "females": "participants",
    "students": "participants",
    "adolescents": "participants",
    "youths": "participants",
    "children": "participants",
    "patrons": "participants",
    "veterans": "participants",
    "villagers": "participants",
    "workers": "participants",
    "clients": "participants",
    "inmates": "participants",
    "prisoners": "participants",
    "pwuds": "participants",
    "pwud": "participants",
    "pwuk": "participants",
    "mothers": "participants",
    "pregnant women": "participants",
    "healthy controls": "participants",
    "patients": "patients",
    "outpatients": "patients",
    "inpatients": "patients",
    "infants": "patients",
    "neonates": "patients",
    "newborns": "patients",
    "cases": "cases",
    "deaths": "cases",
    "fatalities": "cases",
    "decedents": "cases",
    "autopsies": "cases",
    "exposures": "cases",
    "calls": "cases",
    "mice": "animals",
    "rats": "animals",
    "animals": "animals",
    "rodents": "animals",
    "dogs": "animals",
    "beagles": "animals",
    "goats": "animals",
    "zebrafish": "animals",
    "fish": "animals",
    "monkeys": "animals",
    "macaques": "animals",
    "primates": "animals",
    "rabbits": "animals",
    "pigs": "animals",
    "piglets": "animals",
    "guinea pigs": "animals",
    "hamsters": "animals",
    "cats": "animals",
    "sheep": "animals",
    "cattle": "animals",
    "cows": "animals",
    "chickens": "animals",
    "larvae": "animals",
    "studies": "studies",
    "articles": "studies",
    "papers": "studies",
    "publications": "studies",
    "trials": "studies",
    "reviews": "studies",
    "case reports": "studies",
    "case series": "studies",
    "posts": "posts",
    "comments": "posts",
    "threads": "posts",
    "tweets": "posts",
    "videos": "posts",
    "messages": "posts",
    "pages": "posts",
    "websites": "posts",
    "testimonials": "posts",
    "evaluable surveys": "respondents",
    "completed surveys": "respondents",
    "valid questionnaires": "respondents",
    "completed questionnaires": "respondents",
    "valid responses": "respondents",
}
_NOUN = "|".join(sorted((re.escape(n).replace(r"\ ", r"\s+") for n in _NOUNS), key=len)[::-1])
_ANIMAL_WORDS = re.compile(
    r"\b(?:mice|rats?|goats?|dogs?|zebrafish|fish|monkeys?|rabbits?|pigs?|animals?|rodents?|"
    r"sprague|wistar|beagles?|hamsters?|sheep|cattle|cows?|chickens?)\b",
    re.I,
)
# A count: a number, up to four describing words (or a short parenthesis), a counted noun.
_COUNT = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUMBER})"
    r"(?P<mods>(?:\s+(?:\([^()]{0,40}\)|[A-Za-z][\w.'’‐/-]*)){0,4}?)"
    rf"\s+(?P<noun>{_NOUN})(?![\w-])",
    re.I,
)
# Words that may sit between a number and its noun without changing what is counted.
_NOT_A_MODIFIER = re.compile(
    r"^(?:of|from|out|per|each|in|to|with|and|or|than|at|for|by|on|among|were|was|had|have|"
    r"mg|g|kg|ml|mg/kg|g/kg|µg|ug|ng|mm|cm|years?|months?|weeks?|days?|hours?|h|min|times|"
    r"doses?|more|fewer|additional|other|these|those|the|all)$",
    re.I,
)
_N_EQUALS = re.compile(rf"\b(?P<big>N|n)\s*=\s*(?P<num>{_NUMBER})(?!\s*/|\s*\d)")
_TOTAL_BEFORE = re.compile(
    r"(?:\ba total of|\bin total,?|\btotal(?: sample)? of|\bsample (?:of|consisted of|comprised)|"
    r"\bconsisted of|\bcomprised|\bcomprising|\bcompleted by|\brecruited|\benrolled|\bincluded|"
    r"\bsurveyed|\binterviewed|\banaly[sz]ed|\bexamined|\bstudied|\binvestigating|\binvolving|"
    r"\bidentified|\byielded|\bpresent|\breport|\bdescribe|\bcohort of|\bseries of|\bsample of"
    r"|\bof|\bon|\bto|\bamong)\s+(?:the\s+|a\s+|an\s+)?$",
    re.I,
)
_STRONG_BEFORE = re.compile(
    r"(?:\btotal(?: sample)? of|\bin total,?|\bsample (?:of|consisted of|comprised)|"
    r"\bconsisted of|\bcomprised|\bcomprising|\bcompleted by|\brecruited|\benrolled|"
    r"\bincluded|\bsurveyed|\binterviewed|\banaly[sz]ed|\bexamined|\bstudied|\binvestigating|"
    r"\binvolving|\bidentified|\byielded|\bpresent|\breport|\bdescribe|\bcohort of|\bseries of"
    r"|\bsample of)\s+(?:the\s+|a\s+|an\s+)?$",
    re.I,
)
_VERB_AFTER = re.compile(
    r"^(?:\s+\([^()]{0,80}\))?(?:\s+[\w’'-]+){0,6}?\s+(?:(?:were|was|had been)\s+"
    r"(?:included|recruited|enrolled|randomi[sz]ed|analy[sz]ed|surveyed|interviewed|studied|"
    r"examined|evaluated|assessed|identified|reported|collected|retained|selected|sampled|"
    r"investigated|found|treated)|participated|completed|took part|responded|agreed|"
    r"received|met)\b",
    re.I,
)
_NOT_SAMPLED = re.compile(
    r"^(?:\s+[\w’'-]+){0,4}?\s+(?:were|was)\s+(?:retrieved|screened|excluded|searched|"
    r"approached|invited|contacted|assessed for eligibility)\b",
    re.I,
)
_SUBGROUP_AFTER = re.compile(
    r"^\s*(?:\(\s*\d+(?:\.\d+)?\s?%|,?\s*(?:per|each|in each)\b|/group)", re.I
)
_FRAME_BEFORE = re.compile(
    rf"(?:{_NOUN})\s+(?:from|out of|of)\s+(?:the\s+)?$|\bout of\s+$|\b(?:\d+|{_NUMBER_WORD})"
    r"\s+of\s+(?:the\s+)?$",
    re.I,
)
_POPULATION = re.compile(
    r"represent|weighted|population|nationally|nationwide|estimated|million|billion|worldwide"
    r"|globally|each year|annually|per year",
    re.I,
)
_LITERATURE = re.compile(
    r"have been (?:reported|described|published)|has been (?:reported|described)|"
    r"are available|were available|in the literature|to date|previous(?:ly)?|prior studies",
    re.I,
)
_APPROXIMATE = re.compile(
    r"\b(?:greater than|more than|over|approximately|about|around|nearly|almost|at least|up to|"
    r"roughly|some)\s+$",
    re.I,
)
_SAMPLE_WORD = re.compile(r"\b(?:sample|total|participants|respondents|data|survey|cohort)\b", re.I)
# "The sample (N=129)", "sample size was relatively small (n=70)", "total sample, N = 500".
_NAMED_SAMPLE = re.compile(r"\b(?:sample(?: size)?|total|cohort)\b[^.()\d]{0,30}[(,:]?\s*$", re.I)
_MULTIPLIER = re.compile(r"^\s*(?:million|billion|thousand)\b", re.I)
_BREAKDOWN = re.compile(
    rf"(?P<noun>{_NOUN})\s*\((?P<a>{_NUMBER})(?:\s+[\w’'-]+){{0,3}}?\s+(?:{_NOUN}),?\s+and\s+"
    rf"(?P<b>{_NUMBER})(?:\s+[\w’'-]+){{0,3}}?\s+(?:{_NOUN})\)",
    re.I,
)
_ONE_PATIENT = re.compile(
    r"\b(?:a|an|one)\s+(?:(?:\d+|[a-z]+(?:-[a-z]+)?)[- ](?:year|month|week|day)s?[- ]old\s+)?"
    r"(?:(?:young|elderly|middle-aged|previously healthy|healthy|pregnant|newborn|term|"
    r"preterm|male|female|white|black|caucasian|asian)\s+){0,3}"
    r"(?:man|woman|male|female|patient|boy|girl|infant|neonate|newborn|baby|gentleman|lady|"
    r"adolescent|child|veteran|mother)\b"
    r"|\b(?:a|an|one)\s+(?:\d+|[a-z]+(?:-[a-z]+)?)[- ]year[- ]old\b"
    r"|\b(?:the first |a |one )case of\b",
    re.I,
)
_COUNTS_STUDIES = frozenset({"systematic_review", "narrative_review", "opinion", "other"})
_DESIGN_UNITS = {
    "systematic_review": {"studies"},
    "animal": {"animals"},
    "qualitative": {"posts", *PEOPLE_UNITS},
}


class _Count(NamedTuple):
    n: int
    unit: str
    start: int
    end: int
    rank: int  # 2: named as the sample ("the sample (N=129)"), 1: a sampling verb, 0: a bare count

    @property
    def strong(self) -> bool:
        return self.rank > 0


def study_size(text: str, design: str = "") -> StudySize | None:
    """How many this paper studied, as the abstract states it, or None when it states none.

    `text` is the abstract's plain text (Paper.abstract_text); `design` the study-design
    label, which says what to prefer: included studies for a systematic review,
    animals for an animal study, one patient for a case report that counts no more.
    """
    if not text:
        return None
    counts = _counts(text)
    if design and design not in _COUNTS_STUDIES:
        counts = [c for c in counts if c.unit != "studies"]  # "in two separate studies"
    wanted = _DESIGN_UNITS.get(design)
    if wanted and any(c.unit in wanted for c in counts):
        counts = [c for c in counts if c.unit in wanted]
    if design == "case_report":
        counts = [c for c in counts if c.strong and c.unit in PEOPLE_UNITS]
    elif design in CLAIM_DESIGNS:
        counts = [c for c in counts if c.strong]
    if counts:
        # The sample as a whole is the largest of the counts stated with the same force:
        # subgroups, arms and follow-ups are smaller.
        best = max(counts, key=lambda c: (c.rank, c.n, -c.start))
        return StudySize(best.n, best.unit, text[best.start : best.end])
    if design in ("", "case_report"):
        one = _ONE_PATIENT.search(text)
        if one:
            return StudySize(1, "patients", one.group())
    return None


def _counts(text: str) -> list[_Count]:
    counts = []
    for match in _COUNT.finditer(text):
        count = _count(text, match)
        if count:
            counts.append(count)
    for match in _N_EQUALS.finditer(text):
        count = _n_equals(text, match)
        if count:
            counts.append(count)
    for match in _BREAKDOWN.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if not re.search(rf"(?:\d|{_NUMBER_WORD})\s+(?:[\w’'-]+\s+){{0,3}}$", before, re.I):
            n = _number(match.group("a")) + _number(match.group("b"))
            unit = _unit(match.group("noun"), text, match.end())
            counts.append(_Count(n, unit, match.start(), match.end(), 1))
    return counts


def _count(text: str, match: re.Match) -> _Count | None:
    n = _number(match.group("num"))
    mods = match.group("mods").split()
    if n < 2 or any(_NOT_A_MODIFIER.match(m) for m in mods):
        return None
    if _MULTIPLIER.match(text, match.end("num")) or _MULTIPLIER.match(match.group("mods")):
        return None
    start, end = match.start(), match.end()
    sentence_start = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start), 0)
    before = text[max(sentence_start, start - 60) : start]
    after = text[end : end + 120]
    if _SUBGROUP_AFTER.match(after) or _FRAME_BEFORE.search(before) or _NOT_SAMPLED.match(after):
        return None
    if text.count("(", sentence_start, start) > text.count(")", sentence_start, start):
        return None  # a breakdown inside brackets: (58 users and 19 controls)
    sentence = text[sentence_start : text.find(". ", end) if ". " in text[end:] else len(text)]
    if _POPULATION.search(before) or _LITERATURE.search(sentence):
        return None
    strong = bool(_STRONG_BEFORE.search(before) or _VERB_AFTER.match(after))
    if _APPROXIMATE.search(before):
        strong = False
    phrase_start = start
    total = re.search(r"(?:\ba total of|\bin total,?)\s+$", before, re.I)
    if total:
        phrase_start = start - (len(before) - total.start())
    return _Count(n, _unit(match.group("noun"), text, end), phrase_start, end, int(strong))


def _n_equals(text: str, match: re.Match) -> _Count | None:
    n = _number(match.group("num"))
    before = text[max(0, match.start() - 60) : match.start()]
    if n < 2 or _POPULATION.search(before) or re.search(r"%\s*[,;]?\s*\(?\s*$", before):
        return None
    if _MULTIPLIER.match(text, match.end()):
        return None
    opened = before.rfind("(")
    inside = before[opened + 1 :] if opened > before.rfind(")") else None
    if inside is not None and inside.strip() and not inside.strip().endswith(","):
        return None  # (n = 100 kratom users and n = 100 controls) or (60%, n = 212/356)
    if inside is not None and re.search(r"\d", inside):
        return None
    strong = match.group("big") == "N" or inside is not None or bool(_SAMPLE_WORD.search(before))
    rank = 2 if _NAMED_SAMPLE.search(before) else int(strong)
    noun = re.search(rf"({_NOUN})\W*$", before, re.I)
    unit = _unit(noun.group(1), text, match.end()) if noun else _guess_unit(text)
    return _Count(n, unit, match.start(), match.end(), rank)


def _unit(noun: str, text: str, end: int) -> str:
    word = " ".join(noun.lower().split())
    unit = _NOUNS.get(word, "participants")
    if word in ("males", "females", "subjects", "animals") and _ANIMAL_WORDS.search(
        text, max(0, end - 200), end + 200
    ):
        return "animals"
    return unit


def _guess_unit(text: str) -> str:
    if re.search(r"\bsurvey|questionnaire|respondents\b", text, re.I):
        return "respondents"
    if re.search(r"\bpatients\b", text, re.I):
        return "patients"
    return "participants"


def _number(written: str) -> int:
    digits = written.replace(",", "").replace(" ", "")
    if digits.isdigit():
        return int(digits)
    total = current = 0
    for word in re.split(r"[-\s]+", written.lower()):
        if word == "and" or not word:
            continue
        if word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            current += _WORD_VALUE.get(word, 0)
    return total + current
