"""The study-design labels: the one source of truth for labels, ranks and headings.

Copied from docs/study-designs.md. The classifier, the store and the digest
templates all read this table; nothing else spells out a label.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Design:
    rank: int
    label: str
    heading: str
    covers: str


DESIGNS: tuple[Design, ...] = (
    Design(
        1,
        "systematic_review",
        "Systematic review / meta-analysis",
        "a review with a stated, reproducible search and selection",
    ),
    Design(
        2,
        "rct",
        "Randomised controlled trial",
        "humans randomly allocated to arms, incl. randomised crossover and "
        "placebo-controlled lab studies",
    ),
    Design(
        3,
        "non_randomised_trial",
        "Non-randomised / experimental human study",
        "humans given an intervention or dose by the investigators without randomisation",
    ),
    Design(4, "cohort", "Cohort study", "people followed over time, prospective or retrospective"),
    Design(
        5,
        "case_control",
        "Case-control study",
        "cases with an outcome compared with controls without it",
    ),
    Design(
        6,
        "cross_sectional",
        "Cross-sectional / survey",
        "one-time surveys, cross-sectional analyses, poison-centre or adverse-event counts",
    ),
    Design(
        7,
        "qualitative",
        "Qualitative study",
        "interviews, focus groups, thematic or content analysis of texts",
    ),
    Design(
        8,
        "case_report",
        "Case report / case series",
        "one patient or a small series of individually described patients",
    ),
    Design(9, "narrative_review", "Narrative review", "a review without a systematic search"),
    Design(10, "animal", "Animal study", "in vivo experiments on non-human animals"),
    Design(
        11,
        "in_vitro",
        "In vitro / in silico / laboratory",
        "cells, receptors, enzymes, chemistry, product analysis, computational studies",
    ),
    Design(
        12,
        "opinion",
        "Editorial / commentary / letter",
        "editorials, comments, letters, news, position statements without new data",
    ),
    Design(
        13,
        "other",
        "Other / unclear",
        "protocols, methods papers, guidelines, anything that fits none of the above",
    ),
)

BY_LABEL: dict[str, Design] = {d.label: d for d in DESIGNS}
LABELS: tuple[str, ...] = tuple(d.label for d in DESIGNS)


def design(label: str) -> Design:
    """The design for a label; a label outside the table is a programming error."""
    try:
        return BY_LABEL[label]
    except KeyError:
        raise ValueError(f"unknown study-design label {label!r}") from None
