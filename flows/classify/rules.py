"""Rule scores: which cues fire in a record, and the hard-case rules of docs/study-designs.md.

A cue in the abstract is ignored when its sentence says the design is absent, wished for or
someone else's ("no randomized trials exist", "cohort studies are needed", "previously ...
in mice"). A label's score is its best cue plus a fraction of the others, so one clear
statement outweighs many incidental words. The scores are features of the model, and a few
of them decide on their own (`rule_decision`) where that was measured to be right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flows.classify.cues import (
    ABSTRACT_INDEX,
    ANIMAL,
    CASE,
    HUMAN_DESIGNS,
    INVITRO,
    MESH_CUES,
    MESH_PREFIX_CUES,
    NREV,
    NRT,
    OPINION,
    OTHER,
    PRECLINICAL_DESIGNS,
    PUBLICATION_TYPE_CUES,
    RCT,
    REVIEW_DESIGNS,
    SR,
    TITLE_INDEX,
    CueIndex,
)
from flows.classify.text import FirstWords, Text, matches
from flows.designs import LABELS


@dataclass
class Hit:
    """One cue that fired: where, how strongly, and what to quote."""

    label: str
    weight: float
    source: str  # "title", "abstract", "publication type" or "mesh"
    key: object  # one hit per key: the same statement in title and abstract counts once
    text: Text | None = None
    start: int = 0
    end: int = 0
    role: str = ""
    term: str = ""  # the publication type or MeSH term as given

    @property
    def phrase(self) -> str:
        if self.text is None:
            return self.term
        return self.text.clause(self.start, self.end)


TITLE_BONUS = 0.5  # the title says what the paper is more often than a sentence does

# An abstract cue does not describe this paper when its sentence says the design is absent,
# wished for, or someone else's. Word-set tests rather than regexes: this runs for every hit.
_CLOSE_NEGATORS = frozenset({"no", "not", "nor", "without"})  # negate only the next words
_NEGATING_WORDS = frozenset(
    {
        "lack", "lacks", "lacked", "lacking", "absence", "absent", "paucity", "dearth",
        "scarce", "scarcity", "few", "future", "further", "previous", "previously",
        "earlier", "unlike", "will", "would", "should", "could", "might",
    }
)  # fmt: skip
_OWN_WORK = frozenset({"we", "our", "here", "this", "present"})
_NEGATING_PHRASES_RE = re.compile(
    r"et al|such as|instead of|rather than|need for|calls? for|prior (?:studies|research|work|"
    r"reports?|surveys?)"
)
# "A randomized controlled trial would help determine ...", "placebo-controlled trials should
# follow", "double-blind clinical trials are indicated": the design is wished for, when the
# verb follows within three words ("this commentary ... would harm" is not).
_WISHED_FOR_AFTER_RE = re.compile(
    r"needed|warranted|et al|"
    r"^\W*(?:[\w-]+\W+){0,3}?(?:would|should|(?:is|are)\s+(?:\w+\s+)?indicated)\b"
)
_ABSENT_AFTER_RE = re.compile(
    r"\b(?:are|is|were|remain|remains)\s+(?:\w+\s+)?(?:required|lacking|scarce|limited|"
    r"missing|absent|necessary|sparse)\b|"
    r"\bha(?:ve|s)\s+(?:not\s+)?(?:yet\s+)?been\s+(?:published|conducted|reported|performed)\b"
)
# A word every match of _ABSENT_AFTER_RE holds whole. The regex opens with \b, so it is tried
# at every character; it is not tried at all after a hit without one of these words.
_ABSENT_AFTER_WORDS = frozenset(
    {"required", "lacking", "scarce", "limited", "missing", "absent", "necessary", "sparse", "been"}
)
_PUNCTUATION = ".,;:()[]'\""


def negated(text: Text, start: int, end: int) -> bool:
    """Whether the match at start:end is denied, wished for or attributed to others."""
    low = text.low
    s, e = text.sentence_at(start)
    before = low[max(s, start - 60) : start]
    words = [w.strip(_PUNCTUATION) for w in before.split()]
    if not _CLOSE_NEGATORS.isdisjoint(words[-4:]):
        return True
    if not _NEGATING_WORDS.isdisjoint(words):
        last = max(i for i, word in enumerate(words) if word in _NEGATING_WORDS)
        # "Unlike previous surveys, we conducted a cross-sectional survey": the sentence has
        # come back to this paper's own work.
        if _OWN_WORK.isdisjoint(words[last + 1 :]):
            return True
    phrase = _NEGATING_PHRASES_RE.search(before)
    if phrase and _OWN_WORK.isdisjoint(before[phrase.end() :].split()):
        return True
    after_end = min(max(e, end), end + 80)
    after = low[end:after_end]
    if _WISHED_FOR_AFTER_RE.search(after):
        return True
    # tokens is padded by one space: low[end:after_end] is tokens[end + 1 : after_end + 1].
    if _ABSENT_AFTER_WORDS.isdisjoint(text.tokens[end + 1 : after_end + 1].split()):
        return False
    return _ABSENT_AFTER_RE.search(after) is not None


def _candidates(text: Text, index: CueIndex) -> list[int]:
    """The numbers of the patterns whose gating words occur in the text, in order."""
    text.positions()  # scans the text, once, so that text.present holds its words
    # One set union in C over the gating words present, not a loop over their patterns.
    found = set().union(*map(index.by_word.__getitem__, index.words & text.present))
    low = text.low
    # Most records are ASCII: their text cannot hold "µg" or "β". `literal in low` first:
    # a search of the text costs less than asking whether the words it holds occur.
    literals = index.by_literal if not low.isascii() else index.by_ascii_literal
    found.update(k for literal, within, k in literals if literal in low and within <= text.present)
    return sorted(found)


def _text_hits(text: Text, index: CueIndex, in_title: bool) -> list[Hit]:
    """The first valid match of each cue that can match: not vetoed, not negated."""
    low = text.low
    source = "title" if in_title else "abstract"
    hits = []
    done: set[int] = set()
    entries = index.entries
    for k in _candidates(text, index):
        i, cue, pattern = entries[k]
        if i in done:
            continue
        # What text.matches_at does, inline: this loop runs for every candidate pattern.
        regex = pattern.regex
        pos = 0
        for start in pattern.first.starts(text):
            if start < pos or (m := regex.match(low, start)) is None:
                continue
            end = m.end()
            pos = end if end > start else start + 1
            if cue.veto_before and cue.veto_before.search(low, max(0, start - 40), start):
                continue
            if cue.veto_after and cue.veto_after.match(low, end):
                continue
            if not in_title and cue.negatable and negated(text, start, end):
                continue
            weight = cue.weight + (TITLE_BONUS if in_title and cue.where == "any" else 0.0)
            hits.append(Hit(cue.label, weight, source, i, text, start, end, cue.role))
            done.add(i)
            break
    return hits


def mesh_descriptor(term: str) -> str:
    """A MeSH term's descriptor, lowercased: "Depression/drug therapy*" is "depression"."""
    return term.split("/")[0].replace("*", "").strip().lower()


def _metadata_hits(publication_types: Sequence[str], mesh_terms: Sequence[str]) -> list[Hit]:
    hits = []
    for term in publication_types:
        for label, weight in PUBLICATION_TYPE_CUES.get(term.strip().lower(), ()):
            role = "systematic" if label == SR else ""
            hits.append(Hit(label, weight, "publication type", ("pt", label), role=role, term=term))
    for term in mesh_terms:
        descriptor = mesh_descriptor(term)
        cues = MESH_CUES.get(descriptor) or tuple(
            (label, weight)
            for prefix, label, weight in MESH_PREFIX_CUES
            if descriptor == prefix or descriptor.startswith(prefix + ",")
        )
        for label, weight in cues:
            hits.append(Hit(label, weight, "mesh", ("mesh", descriptor, label), term=term))
    return hits


def find_hits(
    title: Text,
    abstract: Text,
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> dict[str, list[Hit]]:
    """The cues that fired, by label; one hit per cue (the stronger of title and abstract)."""
    best: dict[object, Hit] = {}
    for hit in (
        *_text_hits(title, TITLE_INDEX, in_title=True),
        *_metadata_hits(publication_types, mesh_terms),
        *_text_hits(abstract, ABSTRACT_INDEX, in_title=False),
    ):
        if hit.key not in best or hit.weight > best[hit.key].weight:
            best[hit.key] = hit
    by_label: dict[str, list[Hit]] = {}
    for hit in best.values():
        by_label.setdefault(hit.label, []).append(hit)
    return by_label


def _score(weights: list[float]) -> float:
    """Best cue plus a little for each supporting cue, so one clear statement dominates."""
    ordered = sorted(weights, reverse=True)
    if not ordered:
        return 0.0
    second = ordered[1] if len(ordered) > 1 else 0.0
    return ordered[0] + 0.25 * second + 0.1 * sum(ordered[2:])


# ASCII digits: the words of text.py are ASCII, so a number is found where its word starts.
_LARGE_SERIES_RE = re.compile(
    r"\b([0-9]+(?:,\d{3})*|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?)"
    r"(?:-\w+)?\s+(?:[\w-]+\s+){0,2}(?:patients|participants|subjects|cases|individuals|users|"
    r"respondents|decedents|adults|persons|infants|children|neonates)\b"
)
_LARGE_SERIES_FIRST = FirstWords.parse(
    "0* twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds"
)
RESULTS_RE = re.compile(
    r"\bresults?\s*:|\bresults\s+(?:showed|show|indicated?|suggested?|revealed|demonstrated)\b|"
    r"\bwe\s+found\b|\bp\s*[<=]\s*0?\.\d"
)


def _large_series(text: Text) -> bool:
    """Twenty or more people or cases counted in this paper's own sentences."""
    for m in matches(_LARGE_SERIES_RE, _LARGE_SERIES_FIRST, text):
        number = m.group(1)
        if number[0].isdigit() and int(number.replace(",", "")) < 20:
            continue
        if not negated(text, m.start(), m.end()):
            return True
    return False


# When a hard-case rule settles a conflict, the loser keeps at most this share of the winner's
# score: the rule is the reason for the label, so the loser is no close runner-up.
_SETTLED = 0.6


def rule_scores(by_label: dict[str, list[Hit]], abstract: Text) -> dict[str, float]:
    """Each label's score after the hard-case rules; labels without hits are left out.

    Moves hits between labels (a search without criteria is narrative-review evidence) and
    scales their weights, so `by_label` afterwards holds the evidence for each score.
    """

    def scale(labels: Iterable[str], factor: float, sources=("abstract",)) -> bool:
        hits = [h for label in labels for h in by_label.get(label, ()) if h.source in sources]
        for hit in hits:
            hit.weight *= factor
        return bool(hits)

    def rescore() -> dict[str, float]:
        return {label: _score([h.weight for h in hits]) for label, hits in by_label.items()}

    def best_of(labels: Iterable[str]) -> float:
        return max((scores.get(label, 0.0) for label in labels), default=0.0)

    # A review that searched named databases with stated criteria is systematic; otherwise
    # (a search alone, or criteria alone) it is narrative, and its search is narrative evidence.
    roles = {hit.role for hit in by_label.get(SR, ())}
    searched_and_selected = {"search", "selection"} <= roles
    if SR in by_label and "systematic" not in roles and not searched_and_selected:
        by_label.setdefault(NREV, []).extend(by_label.pop(SR))

    scores = rescore()
    if searched_and_selected and NREV in scores:
        scores[SR] = max(scores[SR], scores[NREV] + 0.01)
    changed = False
    # A review or commentary that talks about trials, surveys or mice is still a review.
    if best_of(REVIEW_DESIGNS) >= 3.5 or scores.get(OPINION, 0.0) >= 4.5:
        changed |= scale(HUMAN_DESIGNS | PRECLINICAL_DESIGNS, 0.5)
    # Twenty-eight patients with outcomes at 4, 8 and 12 weeks are not a case series.
    if CASE in by_label and _large_series(abstract):
        changed |= scale({CASE}, 0.6, sources=("title", "abstract", "publication type", "mesh"))
    if changed:
        scores = rescore()

    # A paper with a human study and preclinical work is labelled by the human study.
    if best_of(HUMAN_DESIGNS) >= 4 and scale(
        PRECLINICAL_DESIGNS, 0.5, sources=("title", "abstract", "mesh")
    ):
        scores = rescore()

    # A paper with both animal and in vitro experiments is an animal study; but where the
    # in vitro evidence is the stronger, "in vivo" or "mouse model" named beside cell work
    # does not make it one (measured by cross-validation, docs/classifier.md).
    animal, in_vitro = scores.get(ANIMAL, 0.0), scores.get(INVITRO, 0.0)
    if animal >= 3 and animal >= in_vitro >= animal * _SETTLED:
        scores[INVITRO] = animal * _SETTLED

    # Placebo control or randomisation makes a human dosing study an RCT.
    rct, non_randomised = scores.get(RCT, 0.0), scores.get(NRT, 0.0)
    if rct >= 4 and non_randomised >= rct * _SETTLED:
        scores[NRT] = rct * _SETTLED

    # A trial protocol without results is `other`.
    protocol = any(h.role == "protocol" for h in by_label.get(OTHER, ()))
    if protocol and scores and not RESULTS_RE.search(abstract.low):
        scores[OTHER] = max(scores.values()) + 0.01
    return scores


# Measured by 5-fold cross-validation (docs/classifier.md): a settled rule score this high
# is right more often than the model where they disagree, on dev (+0.04 accuracy) and no
# worse on the external corpus; labels the model barely saw (cohort, case-control,
# qualitative) need it most. A systematic review wins even against a strong second label:
# a systematic review of case reports is still a systematic review.
DECIDING_SCORE = 4.5
SYSTEMATIC_SCORE = 5.5
_RANK_ORDER = {label: i for i, label in enumerate(LABELS)}


def rule_decision(scores: dict[str, float]) -> str | None:
    """The label the rules settle on their own, or None to leave it to the model."""
    if not scores:
        return None
    top = min(scores, key=lambda label: (-scores[label], _RANK_ORDER[label]))
    best = scores[top]
    second = max((s for label, s in scores.items() if label != top), default=0.0)
    if top == SR and best >= SYSTEMATIC_SCORE:
        return SR
    if best >= DECIDING_SCORE and second <= best * _SETTLED:
        return top
    return None
