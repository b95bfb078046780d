"""What a paper found, and how many it studied: two extractions from its abstract.

`finding(abstract, design)` quotes the sentence(s) that state what this paper
found or concluded; `study_size(text, design)` reads how many participants,
respondents, patients, cases, animals, included studies or posts it counted.
Both are plain functions of the abstract and the design label (which changes
what counts): no store, no digest, no network. docs/findings.md says how they
decide and how often they are right on the hand-labelled dev papers.

A finding is quoted, never rewritten: it is an exact substring of the plain
text of one abstract section (a single over-long sentence is cut at a clause
boundary and ends in " …"; the text before that is still exact), so a reader
can trust it as the authors' words.

Both run for every listed paper of a backfill, so they are written for speed:
the scans of the whole text start with a literal or a character class (which the
regex engine can skip to), sentence cues are tried only when one of their trigger
words occurs, and counts are read from the few words after each number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from flows.markup import plain_text
from flows.models import AbstractSection


def _wordlist(words: str) -> tuple[str, ...]:
    return tuple(words.split())


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_CHARS = 350  # about two sentences: what fits under a title in the digest
_HARD_CHARS = 420  # one sentence longer than this is cut at a clause boundary
ELLIPSIS = "…"

# Designs whose abstract states an aim or a claim rather than results of its own.
CLAIM_DESIGNS = frozenset({"narrative_review", "opinion", "other"})


# ---- sentences

# Words whose final period does not end a sentence. Initialisms made of single
# letters (U.S., e.g., i.p.) and single capitals (M. speciosa) are caught by
# _INITIALS instead of being listed.
_ABBREVIATIONS = _wordset(
    "al. vs. dr. drs. prof. mr. mrs. ms. st. fig. figs. no. nos. approx. ca. cf. "
    "korth. havil. sp. spp. var. subsp. inc. ltd. co. jr. eq. ref. vol. pp. "
    "mol. wt. resp. min. max. ed. eds. et."
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")
# A sentence ends at . ! or ? (closing quotes or brackets may follow) before
# whitespace and a capital, a digit or an opening bracket; at a period glued to
# the next capitalised word ("medicine.Pharmacologically"); or at a line break.
# The two kinds of end share one opening character class, which the regex engine
# can skip ahead to; alternatives that open differently are tried at every character.
_BOUNDARY = re.compile(
    r"[.!?\n](?:(?<=\n)|[\"'”’)\]]*(?=\s+[\"“‘(\[]?[A-Z0-9\u0391-\u03a9]|[A-Z][a-z]))"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of plain text; text[start:end] has no outer spaces."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        mark = match.start()
        if text[mark] == "\n":
            end = mark
        else:
            end = match.end()
            glued = end < len(text) and not text[end].isspace()
            if glued and (text[mark] != "." or not text[mark - 3 : mark].isalpha()):
                continue
            if text[mark] == "." and _is_abbreviation(text, mark):
                continue
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _is_abbreviation(text: str, period: int) -> bool:
    start = max(0, period - 9)
    space = max(text.rfind(" ", start, period), text.rfind("\n", start, period))
    if space < 0 and start > 0:
        return False  # a word longer than any abbreviation
    word = text[space + 1 : period + 1].lstrip("([{\"'“‘")
    if word.lower() in _ABBREVIATIONS:
        return True
    return (len(word) == 2 or "." in word[:-1]) and _INITIALS.fullmatch(word) is not None


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    kept = piece.strip()
    if kept:
        start += len(piece) - len(piece.lstrip())
        spans.append((start, start + len(kept)))


def _complete(sentence: str) -> bool:
    """Ends as a sentence does, rather than where a cut abstract stops."""
    return sentence.rstrip("\"'”’)]")[-1:] in (".", "!", "?")


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
# Headings without a colon, run into the sentence they head: in capitals, or one capitalised
# word ("Results Overall, ..."). The one list of them: _HEADING_AT's groups `caps` and `word`
# and the quick tests before it (_heading_spots) are made from these.
_CAPS_HEADINGS = _wordset(
    "BACKGROUND INTRODUCTION OBJECTIVE OBJECTIVES AIM AIMS PURPOSE METHOD METHODS DESIGN "
    "RESULT RESULTS FINDINGS DISCUSSION CONCLUSION CONCLUSIONS SUMMARY"
)
_WORD_HEADINGS = _wordset(
    "Background Rationale Introduction Objective Objectives Aim Aims Methods Results "
    "Discussion Conclusion Conclusions Summary"
)


def _alternatives(words) -> str:
    """A regex alternation of words, the longest first."""
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


# Where a heading may start: the start of the text, a new line, or after a sentence.
_HEADING_SPOT = re.compile(r"[.!?\n](?:(?<=\n)[ \t]*|[ \t]+)")  # one class first, as _BOUNDARY
# A heading: a few words and a colon; a known heading alone on its line; or a
# known heading in capitals (or one capitalised word) run into the sentence it
# heads: "OBJECTIVE This review aims ...", "Results Overall, mitragynine ...".
_HEADING_AT = re.compile(
    r"(?P<colon>[A-Z][A-Za-z]+(?:[ /-](?:[A-Za-z]+|&)){0,4}):(?=\s)"
    rf"|(?P<line>(?i:(?:{_HEADWORDS})(?:[ \t]*[/&][ \t]*[A-Za-z]+){{0,2}}))[ \t]*:?[ \t]*(?=\n)"
    rf"|(?P<caps>{_alternatives(_CAPS_HEADINGS)})(?=[ \t]+[A-Z][a-z])"
    rf"|(?P<word>{_alternatives(_WORD_HEADINGS)})(?=[ \t]+(?:[A-Z][a-z]|A |An ))"
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


class _Part(NamedTuple):
    role: str
    text: str  # plain text; findings are quoted from it


def abstract_parts(abstract: Sequence[AbstractSection] | str) -> list[_Part]:
    """The abstract as (role, plain text) parts, with headings inside the text split out."""
    if isinstance(abstract, str):
        abstract = [AbstractSection("", abstract)]
    parts: list[_Part] = []
    for section in abstract:
        text = plain_text(section.text)
        role = section_role(section.label)
        position = 0
        # Headings hide in unlabelled text (and a labelled one, cut from such text, may
        # hold the next heading); PubMed's labelled sections are split already.
        for spot in _heading_spots(text) if not section.label or ":" in text else ():
            heading = _HEADING_AT.match(text, spot) if spot >= position else None
            if heading:
                _add_part(parts, role, text[position:spot])
                role = section_role(next(g for g in heading.groups() if g))
                position = heading.end()
        _add_part(parts, role, text[position:])
    return parts


def _heading_spots(text: str) -> list[int]:
    """Where a heading could start: a capital that has a colon or a line end soon after it."""
    if ":" not in text and "\n" not in text and not _heading_word_at_a_spot(text):
        return []
    spots = []
    for spot in (0, *(m.end() for m in _HEADING_SPOT.finditer(text))):
        head = text[spot : spot + 2]
        if head[:1].isupper() and (
            head[1:].isupper()
            or text.find(":", spot, spot + 48) > 0
            or text.find("\n", spot, spot + 64) > 0
            or text[spot : text.find(" ", spot, spot + 14)] in _WORD_HEADINGS
        ):
            spots.append(spot)
    return spots


# Where a heading without a colon or a line break can begin: each word of them is one.
_HEADING_HINTS = tuple(sorted({*_CAPS_HEADINGS, *_WORD_HEADINGS}))
_HINT_AFTER_SENTENCE = re.compile(rf"[.!?][ \t]+(?:{'|'.join(map(re.escape, _HEADING_HINTS))})")


def _heading_word_at_a_spot(text: str) -> bool:
    """A heading hint at the start or after a sentence: without a colon or a line break,
    a heading can be nowhere else. One pattern for all hints costs less than a search
    of the whole text for each."""
    return text.startswith(_HEADING_HINTS) or _HINT_AFTER_SENTENCE.search(text) is not None


def _add_part(parts: list[_Part], role: str, text: str) -> None:
    if text.strip():
        parts.append(_Part(role, text))


# ---- what a sentence is doing


# Characters that join words in running text; a sentence's words are what is left.
_JOINERS = ",.;:()[]/-\"'“”‘’"


def _words(low: str) -> list[str]:
    # A list, not a set: a cue only asks whether one of its trigger words is among
    # them (frozenset.isdisjoint takes any iterable), and building a set of a
    # sentence's words costs more than all the cue checks made on it.
    for joiner in _JOINERS:
        if joiner in low:
            low = low.replace(joiner, " ")
    return low.split()


class _Cue:
    """A pattern over a lowercased sentence, tried only when one of its trigger words occurs.

    Every text the pattern matches contains a trigger word (tests/test_findings.py
    checks this on the dev corpus), so the triggers only save time: a set
    lookup is far cheaper than a pattern with many alternatives.
    """

    __slots__ = ("pattern", "words")

    def __init__(self, words: str, pattern: str) -> None:
        self.words = frozenset(words.split())
        self.pattern = re.compile(pattern)

    def __call__(self, s: _Sentence) -> bool:
        return self.match(s) is not None

    def match(self, s: _Sentence) -> re.Match | None:
        return None if self.words.isdisjoint(s.words) else self.pattern.search(s.low)


class _SignCue(_Cue):
    """A cue whose triggers are signs or parts of words (%, <, ic50), looked for as text."""

    __slots__ = ()

    def match(self, s: _Sentence) -> re.Match | None:
        return self.pattern.search(s.low) if any(map(s.low.__contains__, self.words)) else None


_BOILERPLATE = re.compile(
    r"©|copyright\b|all rights reserved|\(c\) \d{4}|psycinfo database record|"
    r"^\(?[a-z][a-z. ]+ \d{4};\s*\d+|trial registration|clinicaltrials\.gov|"
    r"this article is protected"
)
_BOILERPLATE_HINTS = (
    "©",
    "copyright",
    "reserved",
    "(c)",
    "psycinfo",
    "registration",
    "clinicaltrials",
    "protected",
)


def _is_boilerplate(low: str) -> bool:
    """Copyright lines, database stamps, registrations and bare citations."""
    if low[:1] != "(" and not any(map(low.__contains__, _BOILERPLATE_HINTS)):
        return False
    return _BOILERPLATE.search(low) is not None


# Sentences about what should happen next are not findings.
_FUTURE = _Cue(
    "further future more additional needed warranted required necessary will useful should",
    r"\b(?:(?:further|future|more|additional)\s+(?:\w+\s+){0,3}?(?:research|"
    r"stud(?:y|ies)|investigations?|work|trials|data|documentation|examination|"
    r"evaluation|exploration)\b|(?:is|are|remains?|be)\s+(?:urgently\s+|still\s+)?(?:needed|"
    r"warranted|required|necessary)\b|will (?:be useful|provide a basis|help|"
    r"aid|facilitate|inform)\b|may be useful for\b|should (?:be carried out|"
    r"examine|explore|investigate|focus)\b)",
)
_RESULTISH = re.compile(
    r"\b(?:reported|found|showed|observed|associated|suggest|indicate|demonstrat|increas|"
    r"decreas|higher|lower|significant)|%"
)
# Conclusions announced as such.
_STRONG = _Cue(
    "conclusion summary summarize summarise short together overall conclude believe found "
    "results findings data observations analyses suggests indicates shows demonstrates "
    "confirms supports reveals highlights underscores illustrates provides adds first",
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
)
_HERE_WE = _Cue(
    "here",
    r"\bhere,? we (?:show|report|demonstrate|describe|present|find)\b",
)
_RESULT_CUE = _Cue(
    "result results data findings based found find discover discovered show showed "
    "demonstrate demonstrated observed analysis associated significantly significant suggest "
    "suggests suggested indicate indicates indicated demonstrates reveal reveals revealed "
    "confirm confirms confirmed shows difference differences change changes association "
    "associations correlation correlations effect effects relationship relationships",
    r"\b(?:results? (?:showed|show|indicated|revealed|demonstrated|suggested)|"
    r"(?:data|results|findings) (?:\w+ )?(?:show|showed|demonstrate|demonstrated|reveal|revealed)|"
    r"based on (?:the|these|our) (?:\w+ )?(?:results|findings|analyses)|"
    r"we (?:also )?(?:found|find|discover(?:ed)?|show(?:ed)?|demonstrate(?:d)?|observed)|"
    r"findings (?:showed|show|indicated|revealed)|analysis (?:showed|revealed)|"
    r"(?:was|were|is|are) (?:significantly |positively |negatively |independently |strongly )?"
    r"associated with|significantly (?:higher|lower|greater|increased|decreased|reduced|"
    r"improved|more|less|associated|different|elevated|suppressed|inhibited|attenuated)|"
    r"no (?:statistically )?(?:significant )?(?:difference|change|association|correlation|"
    r"effect|relationship)s?|did not significantly|"
    r"(?:was|were) found (?:to|as)|(?:suggest(?:s|ed)?|indicat(?:es?|ed)|demonstrat(?:es?|ed)|"
    r"reveal(?:s|ed)?|confirm(?:s|ed)?|show(?:s|ed)?|found) that)\b",
)
_STATS = _SignCue(
    "% ± < > = ≤ : odds pd ic50",
    r"\d\s?%|\bp\s*[<=>≤]\s*[.\d]|\b(?:a?or|rr|hr)\s*[=:]\s*[.\d]|\bodds\b|±|\bpd\s?\(?2|\bic50",
)
# Who was studied, not what was found.
_SAMPLE = _Cue(
    "age aged old majority male males female females men women white single married employed "
    "hispanic included recruited enrolled identified retrieved screened total participants "
    "sample response subjects respondents employment",
    # One word boundary before all the alternatives: the engine tries them only there.
    r"^(?:a total of|in total,|participants were|the sample|all (?:were )?(?:males?|"
    r"females?|men|women))\b|\b(?:mean age\b|aged? \d|years old\b|middle-aged\b|"
    r"majority (?:were|was) (?:male|female)|(?:were|was) (?:all |primarily |"
    r"predominantly |mostly |majority )?(?:male|female|men|women|white|single|"
    r"married|employed)\b|non-hispanic\b|(?:were|was) (?:included|recruited|"
    r"enrolled|identified|retrieved|screened)\b|response rate\b|all (?:subjects|"
    r"participants|respondents) were\b|\d+(?:\.\d+)? years? of age\b|held employment)",
)
_METHODS = _Cue(
    "conducted performed carried recruited administered given treated used measured assessed "
    "evaluated analyzed analysed collected obtained tested extracted randomized randomised "
    "assigned subjected exposed injected supplemented incubated prepared selected searched "
    "estimated calculated investigated examined explored interviewed surveyed divided "
    "allocated dosed scored recorded determined employed applied based utilized utilised "
    "compared aimed sought characterized characterised recontacted data samples underwent",
    r"\b(?:(?:was|were) (?:\w+ly )?(?:conducted|performed|carried out|recruited|"
    r"administered|given|treated|used|measured|assessed|evaluated|analy[sz]ed|"
    r"collected|obtained|tested|extracted|randomi[sz]ed|assigned|subjected|"
    r"exposed|injected|supplemented|incubated|prepared|selected|searched|estimated|"
    r"calculated|investigated|examined|explored|interviewed|surveyed|divided|"
    r"allocated|dosed|scored|recorded|determined|employed|applied|based on)\b|"
    r"we (?:used|conducted|performed|recruited|administered|analy[sz]ed|collected|"
    r"measured|tested|searched|interviewed|surveyed|employed|applied|utili[sz]ed|"
    r"assessed|examined|investigated|evaluated|explored|compared|aimed|sought|"
    r"characteri[sz]ed|recontacted)\b|(?:data|samples) (?:from|were)\b|(?:underwent|"
    r"were tested|was used)\b)",
)
_AIM = _Cue(
    "aim aims aimed objective objectives purpose goal sought seeks investigated investigates "
    "examined examines explored explores assessed assesses evaluated evaluates describes "
    "characterizes characterises designed understand determine assess evaluate investigate "
    "examine explore characterize characterise describe identify compare quantify "
    "hypothesized hypothesised",
    r"\b(?:(?:aims?|aimed|objectives?|purpose|goal) (?:of|was|is|were|to)\b|"
    r"(?:this|the present|the current|our) (?:study|work|article|paper|analysis|"
    r"research) (?:aims|aimed|sought|seeks|investigated|investigates|examined|"
    r"examines|explored|explores|assessed|assesses|evaluated|evaluates|describes|"
    r"characteri[sz]es|was designed)\b|to (?:better )?(?:understand|determine|"
    r"assess|evaluate|investigate|examine|explore|characteri[sz]e|describe|"
    r"identify|compare|quantify)\b|we hypothesi[sz]ed\b)",
)
# The first sentence about this paper's own work: everything before it is background.
_PIVOT = _Cue(
    "we our here this present current study report old total conducted recruited enrolled "
    "administered given treated evaluated investigated examined analyzed analysed measured "
    "tested collected determined performed carried used result results findings",
    r"\b(?:(?:we|our|here)\b|this (?:[\w-]+ ){0,2}?(?:study|work|paper|article|"
    r"report|case|survey|analysis|review|research|investigation|commentary|"
    r"series)\b|the (?:present|current) (?:[\w-]+ )?(?:study|work|article|"
    r"report|analysis)\b|(?:in this|the) (?:study|case report|report)\b|(?:a|"
    r"an) (?:\d+|[a-z]+(?:-[a-z]+)?)[- ](?:year|month|week|day)[- ]old\b|a total of\b|"
    r"(?:was|were) (?:conducted|recruited|enrolled|administered|given|treated|"
    r"evaluated|investigated|examined|analy[sz]ed|measured|tested|collected|"
    r"determined|performed|carried out|used)\b|results?\b|findings\b)",
)
_CITES_OTHERS = _Cue(
    "previous previously prior been studies recently",
    r"\b(?:previous(?:ly)? (?:reported|shown|described|demonstrated|published|found|studies|"
    r"reports|research|work|findings)|prior (?:studies|research|reports)|have been (?:reported|"
    r"shown|described|suggested|documented)|has been (?:reported|shown|described|suggested)|"
    r"studies (?:have|has) |recently,? we|we (?:have )?previously|in (?:a|our) previous)\b",
)
# What reviews and opinion pieces say they do, or claim.
_REVIEW_AIM = _Cue(
    "review article paper commentary overview editorial chapter perspective letter update "
    "primer reviewed summarize summarise discuss argue propose describe highlight examine "
    "outline provide present consider here focuses",
    r"\b(?:(?:this|the present|the current|our) (?:review|article|paper|commentary|"
    r"overview|editorial|chapter|perspective|letter|update|primer)\b|(?:aim|"
    r"purpose|objective|goal|focus) of (?:this|the present|our) (?:review|"
    r"article|paper)|we (?:review|reviewed|summari[sz]e|discuss|argue|propose|"
    r"describe|highlight|examine|outline|provide|present|consider)\b|here,? we\b|"
    r"focuses on\b)",
)
_CLAIM = _Cue(
    "should there advise recommend urge caution",
    r"\b(?:should be (?:aware|cautious|vigilant|considered)\b|there (?:is|"
    r"are) no\b|we (?:advise|recommend|urge|caution)\b)",
)
CUES = {
    "future": _FUTURE,
    "strong": _STRONG,
    "here_we": _HERE_WE,
    "result": _RESULT_CUE,
    "stats": _STATS,
    "sample": _SAMPLE,
    "methods": _METHODS,
    "aim": _AIM,
    "pivot": _PIVOT,
    "cites_others": _CITES_OTHERS,
    "review_aim": _REVIEW_AIM,
    "claim": _CLAIM,
}


class _Sentence:
    """A sentence of one part, lowercased for the cues; its words are read when first asked for."""

    __slots__ = ("_words", "complete", "end", "low", "part", "start", "text")

    def __init__(self, part: int, start: int, end: int, text: str) -> None:
        self.part, self.start, self.end, self.text = part, start, end, text
        self.low = text.lower()
        self.complete = _complete(text)
        self._words: list[str] | None = None

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = _words(self.low)
        return self._words


def _is_future(s: _Sentence) -> bool:
    """About what should happen next, with no result stated before that."""
    match = _FUTURE.match(s)
    return match is not None and not _RESULTISH.search(s.low, 0, match.start())


def _sentences(parts: Sequence[_Part], roles: frozenset[str] | None = None) -> list[_Sentence]:
    found = []
    for index, part in enumerate(parts):
        if roles is not None and part.role not in roles:
            continue
        # Only a sentence that opens with a bracket or holds a hint is checked; whether
        # the part holds any hint at all is asked once (most hold none).
        stamped = any(map(part.text.lower().__contains__, _BOILERPLATE_HINTS))
        for start, end in sentence_spans(part.text):
            s = _Sentence(index, start, end, part.text[start:end])
            if not ((stamped or s.low[:1] == "(") and _is_boilerplate(s.low)):
                found.append(s)
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


_CONCLUSIONS = frozenset({CONCLUSION})
_RESULT_PARTS = frozenset({RESULTS})
_DISCUSSIONS = frozenset({DISCUSSION})
_CASES = frozenset({CASE})
_BODIES = frozenset({BODY})


def _claim(parts: list[_Part]) -> list[_Sentence]:
    """A review's or opinion's conclusion, else its stated aim, else its claim."""
    conclusion = _first_usable(_sentences(parts, _CONCLUSIONS))
    if conclusion:
        return conclusion
    every = _sentences(parts)
    for cue in (_REVIEW_AIM, _STRONG, _CLAIM):
        for i, s in enumerate(every):
            if s.complete and cue(s):
                return _extend(every, i, cue)
    return _last_sentences([s for s in every[1:] if s.complete and not _is_future(s)])


def _structured(parts: list[_Part], design: str) -> list[_Sentence]:
    """Conclusions, else results, else discussion, else a cut conclusion, else the case."""
    if not any(p.role in _REPORTING for p in parts):
        # Labelled background, aims and methods only (a cut abstract): nothing is
        # found yet, unless unlabelled text follows them.
        body = _sentences(parts, _BODIES)
        return _unstructured(body, design) if body else []
    conclusions = _sentences(parts, _CONCLUSIONS)
    chosen = _first_usable(conclusions)
    if chosen:
        return chosen
    results = _sentences(parts, _RESULT_PARTS)
    if results:
        chosen = _from_results(results)
        if chosen:
            return chosen
    chosen = _first_usable(_sentences(parts, _DISCUSSIONS))
    if chosen:
        return chosen
    fragment = [s for s in conclusions if len(s.text) >= 60 and not _is_future(s)]
    if fragment:
        return fragment[:1]
    case = _sentences(parts, _CASES)
    return _last_sentences([s for s in case if s.complete and not _is_future(s)])


def _first_usable(candidates: list[_Sentence]) -> list[_Sentence]:
    """The first complete sentence that is not about future work, and the next if it fits."""
    for i, s in enumerate(candidates):
        if s.complete and not _is_future(s):
            return _extend(candidates, i, None)
    return []


def _from_results(results: list[_Sentence]) -> list[_Sentence]:
    """A stated conclusion or result, else the first figures that are not the sample's."""
    for cue in (_STRONG, _RESULT_CUE):
        for i, s in enumerate(results):
            if s.complete and cue(s) and not _SAMPLE(s):
                return _extend(results, i, None)
    # Labelled results: "kratom was used to ..." is what was found, not how.
    usable = [i for i, s in enumerate(results) if s.complete and not _SAMPLE(s)]
    for i in usable:
        if _STATS(results[i]):
            return _extend(results, i, None)
    return _extend(results, usable[0], None) if usable else []


def _unstructured(every: list[_Sentence], design: str) -> list[_Sentence]:
    """After the background: a stated conclusion, else a stated result, else the last words."""
    pivot = next((i for i, s in enumerate(every) if _PIVOT(s)), None)
    if pivot is None:
        # Nothing is said about this paper's own work: unless a sentence states a
        # result outright, the abstract is background only.
        pivot = 1
        if not any(_STRONG(s) or _RESULT_CUE(s) for s in every[1:]):
            return []
    own = every[pivot:]
    for cue in (_STRONG, _HERE_WE):
        for i, s in enumerate(own):
            if s.complete and cue(s) and not _CITES_OTHERS(s) and not _is_future(s):
                return _extend(own, i, None)
    own = [s for s in own if not _CITES_OTHERS(s)]
    reporting = [
        s
        for s in own
        if s.complete and not _is_future(s) and not _AIM(s) and not _METHODS(s) and not _SAMPLE(s)
    ]
    if design == "case_report":
        return _last_sentences(reporting)
    kept = {id(s) for s in reporting}
    # The last stated result: abstracts move from checks of the model to the main effect.
    cued = [i for i, s in enumerate(own) if id(s) in kept and _RESULT_CUE(s)]
    if cued:
        return _extend(own, cued[-1], None)
    if reporting and not _STATS(reporting[-1]):
        return _last_sentences(reporting)
    for i, s in enumerate(own):
        if id(s) in kept and _STATS(s):
            return _extend(own, i, None)
    if reporting:
        return _last_sentences(reporting)
    return [s for s in own if _STRONG(s) and not _is_future(s)][:1]


def _extend(candidates: list[_Sentence], i: int, cue: _Cue | None) -> list[_Sentence]:
    """Sentence i, and the one right after it when that is usable too and both fit."""
    chosen = candidates[i]
    if i + 1 < len(candidates):
        after = candidates[i + 1]
        if (
            after.part == chosen.part
            and after.start - chosen.end <= 2  # next to it: nothing left out between
            and after.complete
            and after.end - chosen.start <= MAX_CHARS
            and not _is_future(after)
            and not _METHODS(after)
            and not _SAMPLE(after)
            and (cue is None or cue(after))
        ):
            return [chosen, after]
    return [chosen]


def _last_sentences(candidates: list[_Sentence]) -> list[_Sentence]:
    """The last sentence, with the one before it when they are adjacent and fit."""
    if not candidates:
        return []
    last = candidates[-1]
    if len(candidates) > 1:
        before = candidates[-2]
        if (
            before.part == last.part
            and last.end - before.start <= MAX_CHARS
            and last.start - before.end <= 2
        ):
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
    unit: str  # one of UNITS
    phrase: str

    def __str__(self) -> str:
        unit = _SINGULAR.get(self.unit, self.unit) if self.n == 1 else self.unit
        return f"{self.n:,} {unit}"


UNITS = ("participants", "respondents", "patients", "cases", "animals", "studies", "posts")
# The units that count people, for comparisons that do not care how they were met.
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

# Counted nouns (lowercase, one or two words) and the unit each is reported in.
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
# Every word of a counted noun, to tell quickly that no noun follows a number.
_NOUN_WORDS = frozenset(word for noun in _NOUNS for word in noun.split())

_SMALL = _wordlist(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _wordlist("twenty thirty forty fifty sixty seventy eighty ninety")
_WORD_VALUE = {w: i for i, w in enumerate(_SMALL)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORDS = (*_SMALL[1:], *_TENS, "hundred")
_NUMBER_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
# A written number from its first word: "twenty-four", "nine-hundred-twenty-eight".
_WORD_NUMBER_AT = re.compile(rf"(?:{_NUMBER_WORD})(?:[- ](?:{_NUMBER_WORD}|thousand))*(?![a-z])")
_NUMBER_WORD_SET = frozenset((*_NUMBER_WORDS, "thousand"))
# Digits, with thousands grouped by commas or spaces (4,945 or 59 714), not a
# decimal, a percentage or a dose. Written [0-9][0-9]* rather than [0-9]+: a
# pattern that opens with a character class lets the regex engine skip ahead to
# the next digit, one that opens with a repeat is tried at every character.
_DIGITS = re.compile(
    r"[0-9][0-9]*(?:[, ][0-9]{3}(?![0-9]))*(?![.,]?[0-9]|\s?%|\s?(?:mg|kg|g|ml|µg|mm|h|min)\b)"
)
# A written number, from the space or bracket before it. Digits and written
# numbers are two scans: one pattern with both as alternatives gets no such skip.
_WRITTEN_NUMBER = re.compile(
    r"[ (\n\"“](?:one|t(?:wo|hree|en|welve|hirteen|wenty|hirty)|f(?:our(?:teen)?|ive|ifteen|"
    r"orty|ifty)|s(?:ix(?:teen|ty)?|even(?:teen|ty)?)|e(?:ight(?:een|y)?|leven)|"
    r"n(?:ine(?:teen|ty)?)|hundred)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine|"
    r"hundred|thousand|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety))*(?![a-z])"
)
_NUMBER_PARTS = re.compile(r"[-\s]+")  # "twenty-four", "nine hundred"
_TOKEN = re.compile(r"\s*(\([^()]{0,40}\)|[^\s()]+)")
_STRIP = ".,;:!?\"'”’“‘)]"
# Words that may not sit between a number and its noun: they make it a dose, a
# time, a rate or part of a phrase about something else.
_NOT_MODIFIERS = _wordset(
    "of from out per each in to with and or than at for by on among were was had have "
    "mg g kg ml mg/kg g/kg µg ug ng mm cm year years month months week weeks day days hour "
    "hours h min times dose doses more fewer additional other these those the all million "
    "billion thousand"
)
_ARTICLES = frozenset({"the", "a", "an"})
_DASHES = frozenset("-‐‑–—")
# Words before a count that make it the sample: "a total of", "we recruited", "consisted of".
_SAMPLING_BEFORE = _wordset(
    "comprised comprising recruited enrolled included surveyed interviewed analyzed analysed "
    "examined studied investigating involving identified yielded present report describe "
    "total"
)
_SAMPLING_BEFORE_PAIRS = frozenset(
    {"total of", "in total", "sample of", "consisted of", "completed by", "cohort of", "series of"}
)
_APPROXIMATE_BEFORE = _wordset("over approximately about around nearly almost roughly some")
_APPROXIMATE_PAIRS = frozenset({"more than", "greater than", "at least", "up to"})
_PASSIVE_SAMPLING = _wordset(
    "included recruited enrolled randomized randomised analyzed analysed surveyed interviewed "
    "studied examined evaluated assessed identified reported collected retained selected sampled "
    "investigated found treated"
)
_ACTIVE_SAMPLING = _wordset("participated completed took responded agreed received met")
_NOT_SAMPLED = _wordset(
    "retrieved screened excluded searched approached invited contacted eligible"
)
_POPULATION = (
    "represent",
    "weighted",
    "population",
    "nationally",
    "nationwide",
    "estimated",
    "worldwide",
    "globally",
    "each year",
    "annually",
    "per year",
)
_LITERATURE = (
    "have been reported",
    "has been reported",
    "have been described",
    "has been described",
    "have been published",
    "are available",
    "were available",
    "in the literature",
    "to date",
    "previous",
    "prior studies",
)
_SURVEY_WORDS = ("survey", "questionnaire", "respond")
_ANIMAL_WORDS = re.compile(
    r"\b(?:mice|rats?|goats?|dogs?|zebrafish|fish|monkeys?|rabbits?|pigs?|animals?|rodents?|"
    r"sprague|wistar|beagles?|hamsters?|sheep|cattle|cows?|chickens?)\b"
)
_N_EQUALS = re.compile(r"=\s*(\d+(?:[, ]\d{3}(?!\d))*)")
# The same count split in brackets: "kratom users (2867 current users and 157 former users)".
_BREAKDOWN = re.compile(r"\((\d+(?:,\d{3})*)\s[^()]{0,60}?\band\s+(\d+(?:,\d{3})*)\s[^()]{0,40}\)")
_ONE_PATIENT = re.compile(
    r"\b(?:an?|one)\s+(?:(?:\d+|[a-z]+(?:-[a-z]+)?)[- ](?:year|month|week|day)s?[- ]old\s+)?"
    r"(?:(?:young|elderly|middle-aged|previously healthy|healthy|pregnant|newborn|term|"
    r"preterm|male|female|white|black|caucasian|asian)\s+){0,3}"
    r"(?:man|woman|male|female|patient|boy|girl|infant|neonate|newborn|baby|gentleman|lady|"
    r"adolescent|child|veteran|mother)\b"
    r"|\b(?:an?|one)\s+(?:\d+|[a-z]+(?:-[a-z]+)?)[- ]year[- ]old\b",
)
# Said of the report, when no patient is described in a phrase of its own.
_ONE_CASE = re.compile(r"\b(?:the first |a |one )case of\b")
_COUNTS_STUDIES = frozenset({"systematic_review", "narrative_review", "opinion", "other"})
_DESIGN_UNITS = {
    "systematic_review": frozenset({"studies"}),
    "animal": frozenset({"animals"}),
    "qualitative": frozenset({"posts", *PEOPLE_UNITS}),
}


class _Count(NamedTuple):
    n: int
    unit: str
    start: int
    end: int
    rank: int  # 2: named as the sample ("the sample (N=129)"), 1: a sampling verb, 0: bare


def study_size(text: str, design: str = "") -> StudySize | None:
    """How many this paper studied, as its abstract states it; None when it states none.

    `text` is the abstract as plain text (Paper.abstract_text); `design` the
    study-design label, which says what to prefer: included studies for a
    systematic review, animals for an animal study, one patient for a case
    report that counts no more. Materials (samples, products, plants) and
    population figures are not a study's size.
    """
    if not text:
        return None
    low = text.lower()
    counts = _counts(text, low)
    if design and design not in _COUNTS_STUDIES:
        counts = [c for c in counts if c.unit != "studies"]  # "in two separate studies"
    wanted = _DESIGN_UNITS.get(design)
    if wanted and any(c.unit in wanted for c in counts):
        counts = [c for c in counts if c.unit in wanted]
    if design == "case_report":
        counts = [c for c in counts if c.rank and c.unit in PEOPLE_UNITS]
    elif design in CLAIM_DESIGNS:
        counts = [c for c in counts if c.rank]
    if counts:
        # The sample as a whole is the largest count stated with the same force:
        # subgroups, arms and those followed up are smaller.
        best = max(counts, key=lambda c: (c.rank, c.n, -c.start))
        return StudySize(best.n, best.unit, text[best.start : best.end])
    if design in ("", "case_report"):
        one = _ONE_PATIENT.search(low) or _ONE_CASE.search(low)
        if one:
            return StudySize(1, "patients", text[one.start() : one.end()])
    return None


def _counts(text: str, low: str) -> list[_Count]:
    counts = []
    for start, end, n in _numbers(text, low):
        count = _count(text, low, start, end, n)
        if count:
            counts.append(count)
    for match in _N_EQUALS.finditer(text):
        count = _n_equals(text, low, match)
        if count:
            counts.append(count)
    for match in _BREAKDOWN.finditer(text):
        count = _breakdown(text, low, match)
        if count:
            counts.append(count)
    return counts


def _numbers(text: str, low: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of each number written in digits or in words."""
    found = []
    first = _WORD_NUMBER_AT.match(low)  # the scan finds written numbers after a space
    if first:
        found.append((0, first.end(), _number(first.group())))
    for match in _WRITTEN_NUMBER.finditer(low):
        start = match.start() + 1  # past the space or bracket
        if not _continues_number(low, start):
            found.append((start, match.end(), _number(match.group()[1:])))
    for match in _DIGITS.finditer(low):
        start, end = match.span()
        written = match.group()
        if " " in written or "," in written:
            head = written.replace(",", " ").split(" ", 1)[0]
            if len(head) > 3:  # "2019 500": a year, then another number
                end = start + len(head)
                written = head
        before = low[start - 1 : start]
        if before in (".", "-", "–", "/", "±", "^") or before.isalnum():
            continue  # a decimal, a range's end, a ratio, or part of a word
        value = _number_digits(written)
        if 1900 <= value <= 2099 and len(written) == 4 and _is_year(low, start):
            continue
        found.append((start, end, value))
    found.sort()  # back in text order, as the two scans found them apart
    return found


_BEFORE_YEARS = _wordset(
    "in between and from to since during through until till of by before after year years "
    "early late mid spring summer autumn fall winter"
)


def _is_year(low: str, start: int) -> bool:
    """2017 in "between 2011 and 2017 calls ...": a year, not 2017 calls."""
    previous = low[max(0, start - 12) : start].split()[-1:]
    return bool(previous) and previous[0].strip(_STRIP + "(") in _BEFORE_YEARS


def _continues_number(low: str, at: int) -> bool:
    """The word at `at` is the second part of a written number ("twenty-four")."""
    if at == 0 or low[at - 1] not in "- ":
        return False
    previous = _NUMBER_PARTS.split(low[max(0, at - 14) : at - 1])[-1]
    return previous in _NUMBER_WORD_SET


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence around text[start:end] starts and ends (roughly: '. ' and lines)."""
    left = max(text.rfind(". ", 0, start) + 2, text.rfind("\n", 0, start) + 1, 0)
    right = [i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0]
    return left, min(right) if right else len(text)


def _words_before(low: str, left: int, start: int) -> list[str]:
    """Up to four words before a count, articles dropped from the end."""
    words = [w.strip(_STRIP + "([") for w in low[max(left, start - 60) : start].split()[-5:]]
    while words and words[-1] in _ARTICLES:
        words.pop()
    return words


def _count(text: str, low: str, start: int, end: int, n: int) -> _Count | None:
    """A count when the number is followed by a counted noun and is about this paper's sample."""
    if n < 2 or low.startswith((" million", " billion", "-million", " thousand"), end):
        return None
    if low[end : end + 1].isalpha() or low[end : end + 1] in _DASHES:
        return None  # part of a name or a range: "7-hydroxymitragynine", "10‐15 million"
    noun, noun_end, after = _noun_after(text, low, end)
    if noun is None:
        return None
    left, right = _sentence_bounds(text, start, end)
    sentence = low[left:right]
    before = _words_before(low, left, start)
    if _rejects(low, left, start, before, after, sentence):
        return None
    rank = int(_sampling_before(before) or _sampling_after(after))
    if before and (
        before[-1] in _APPROXIMATE_BEFORE or " ".join(before[-2:]) in _APPROXIMATE_PAIRS
    ):
        rank = 0
    phrase_start = start
    for lead in ("a total of ", "in total, ", "in total "):
        if low.endswith(lead, max(0, start - len(lead)), start):
            phrase_start = start - len(lead)
    unit = _people_unit(_unit(noun, low, noun_end), sentence)
    return _Count(n, unit, phrase_start, noun_end, rank)


def _noun_after(text: str, low: str, end: int) -> tuple[str | None, int, str]:
    """The counted noun within four describing words after a number, its end, what follows."""
    if _NOUN_WORDS.isdisjoint(w.strip(_STRIP) for w in low[end : end + 90].split(None, 6)[:6]):
        return None, 0, ""
    tokens = []
    position = end
    for _ in range(6):
        match = _TOKEN.match(text, position)
        if not match:
            break
        tokens.append((match.start(1), match.end(1), match.group(1)))
        position = match.end()
    for i, (tok_start, _, raw) in enumerate(tokens[:5]):
        if raw.startswith("("):
            if "%" in raw or i == 0 and raw[1:2].isdigit():
                return None, 0, ""
            continue  # "twenty crossbred males (Thai Native x Boer) weaned goats"
        word = raw.lower().strip(_STRIP)
        if i + 1 < len(tokens) and not raw.endswith((",", ";", ":")):
            pair = word + " " + tokens[i + 1][2].lower().strip(_STRIP)
            if pair in _NOUNS:
                pair_end = tokens[i + 1][0] + len(tokens[i + 1][2].rstrip(_STRIP))
                return pair, pair_end, low[pair_end : pair_end + 120]
        if word in _NOUNS:
            noun_end = tok_start + len(raw.rstrip(_STRIP))
            return word, noun_end, low[noun_end : noun_end + 120]
        if not word or word in _NOT_MODIFIERS or word[0].isdigit() or i == 4:
            return None, 0, ""
        if raw.endswith((",", ";", ":")) or raw.endswith(".") and not _INITIALS.fullmatch(raw):
            return None, 0, ""
    return None, 0, ""


def _rejects(low: str, left: int, start: int, before: list[str], after: str, sentence: str) -> bool:
    """A count that is not the sample: a subgroup, a frame, the population, others' work."""
    stripped = after.lstrip()
    if stripped.startswith(("per ", "each", "in each", "/group")) or stripped.startswith(", each"):
        return True
    if stripped.startswith("(") and "%" in stripped[: stripped.find(")") + 1 or 12]:
        return True  # "Seventeen participants (0.6%) sought treatment"
    if (
        len(before) >= 2
        and before[-1] in ("from", "of")
        and (
            before[-2] in _NOUNS
            or before[-2] == "out"
            or before[-2][:1].isdigit()
            or before[-2].split("-")[-1] in _WORD_VALUE
        )
    ):
        return True  # "Twenty-four cases from 2160 autopsy cases", "20 of the 28 patients"
    if low.count("(", left, start) > low.count(")", left, start):
        return True  # a breakdown in brackets: (n=58 regular users, and n=19 controls)
    window = low[max(left, start - 60) : start]
    if any(word in window for word in _POPULATION):
        return True
    if any(phrase in sentence for phrase in _LITERATURE):
        return True
    words = after.split()[:5]
    return any(w.strip(_STRIP) in _NOT_SAMPLED for w in words[1:]) and any(
        w in ("were", "was") for w in words
    )


def _sampling_before(before: list[str]) -> bool:
    return bool(before) and (
        before[-1] in _SAMPLING_BEFORE or " ".join(before[-2:]) in _SAMPLING_BEFORE_PAIRS
    )


def _sampling_after(after: str) -> bool:
    """A verb that says these were studied: "were included", "completed the survey"."""
    if after.lstrip().startswith("("):
        after = after[after.find(")") + 1 :]
    words = [w.strip(_STRIP) for w in after.split()[:8]]
    for i, word in enumerate(words):
        if word in _ACTIVE_SAMPLING:
            return True
        if word in ("were", "was") and i + 1 < len(words):
            following = (
                words[i + 1] if words[i + 1] not in ("all", "then") else words[i + 2 : i + 3]
            )
            if isinstance(following, list):
                following = following[0] if following else ""
            if following in _PASSIVE_SAMPLING:
                return True
        if word.endswith(".") or word in ("and", "but", "whereas"):
            break
    return False


def _n_equals(text: str, low: str, match: re.Match) -> _Count | None:
    """N = 1,118: a sample size, unless it counts a subgroup or a weighted population."""
    equals = match.start()
    before = text[:equals].rstrip()
    letter = before[-2:]
    if not letter or letter[-1] not in "Nn" or letter[:-1].isalpha():
        return None
    n = _number_digits(match.group(1))
    end = match.end()
    if n < 2 or low.startswith(("/", " /"), end) or low[end : end + 2].lstrip()[:1].isdigit():
        return None  # n = 194/331 is a share of the sample
    if low.startswith((" million", " billion"), end):
        return None
    start = len(before) - 1  # at the N
    window = low[max(0, start - 60) : start]
    if any(word in window for word in _POPULATION) or window.rstrip(" (,;").endswith("%"):
        return None
    opened = window.rfind("(")
    inside = window[opened + 1 :] if opened > window.rfind(")") else None
    if inside is not None and inside.strip() and not inside.strip().endswith(","):
        return None  # (n = 100 kratom users and n = 100 controls) or (60%, n = 212/356)
    if inside is not None and any(c.isdigit() for c in inside):
        return None
    named = _named_sample(window)
    rank = 2 if named else int(text[start] == "N" or inside is not None or _mentions_sample(window))
    return _Count(n, _unit_before(window, low, end), start, end, rank)


def _named_sample(window: str) -> bool:
    """The count is introduced as the sample: "the sample (N=129)", "total sample, n = 500"."""
    for word in ("sample", "total", "cohort"):
        at = window.rfind(word)
        if at >= 0:
            between = window[at + len(word) :]
            if len(between) <= 30 and not any(c in ".()" or c.isdigit() for c in between[:-1]):
                return True
    return False


def _mentions_sample(window: str) -> bool:
    return any(
        w in window for w in ("sample", "total", "participants", "respondents", "data", "survey")
    )


def _unit_before(window: str, low: str, end: int) -> str:
    words = [w.strip(_STRIP + "(") for w in window.split()[-3:]]
    for word in reversed(words):
        if word in _NOUNS:
            return _unit(word, low, end)
    if "survey" in low or "questionnaire" in low or "respondents" in low:
        return "respondents"
    return "patients" if "patients" in low else "participants"


def _breakdown(text: str, low: str, match: re.Match) -> _Count | None:
    """(2867 current users and 157 former users) after a noun that has no number of its own."""
    first = _noun_after(text, low, match.end(1))[0]
    second = _noun_after(text, low, match.end(2))[0]
    if first is None or second is None:
        return None
    before = low[max(0, match.start() - 40) : match.start()].split()
    if not before or before[-1].strip(_STRIP) not in _NOUNS:
        return None
    if any(w[:1].isdigit() or w in _WORD_VALUE for w in before[-5:-1]):
        return None  # "356 respondents (137 users and 219 non-users)": the total is stated
    n = _number_digits(match.group(1)) + _number_digits(match.group(2))
    start = len(low[: match.start()].rstrip()) - len(before[-1])
    left, right = _sentence_bounds(text, start, match.end())
    unit = _people_unit(_unit(before[-1].strip(_STRIP), low, match.end()), low[left:right])
    return _Count(n, unit, start, match.end(), 1)


def _people_unit(unit: str, sentence: str) -> str:
    """People who answered a survey are its respondents, whatever the abstract calls them."""
    if unit == "participants" and any(map(sentence.__contains__, _SURVEY_WORDS)):
        return "respondents"
    return unit


def _unit(noun: str, low: str, end: int) -> str:
    unit = _NOUNS.get(noun, "participants")
    if noun in ("males", "females", "subjects", "animals") and _ANIMAL_WORDS.search(
        low, max(0, end - 200), end + 200
    ):
        return "animals"
    return unit


def _number_digits(digits: str) -> int:
    return int(digits.replace(",", "").replace(" ", ""))


def _number(written: str) -> int:
    """The value of a written number: "twenty-four" 24, "nine-hundred-twenty-eight" 928."""
    total = current = 0
    for word in _NUMBER_PARTS.split(written):
        if word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            current += _WORD_VALUE.get(word, 0)
    return total + current
