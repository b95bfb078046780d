"""The paper record shared by parsing, classification, store and digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple
from urllib.parse import quote

from flows.markup import plain_text


def pubmed_url(pmid: str) -> str:
    """The paper's PubMed page (a PMID that is not one still cannot leave the path)."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{quote(pmid, safe='')}/"


@dataclass(frozen=True)
class AbstractSection:
    label: str  # "" for an unstructured abstract
    text: str  # an inline-markup fragment (see flows.markup)


# The CommentsCorrections types that change how a reader should take a paper:
# RefType -> (the digest's update kind, how the notice is introduced).
NOTICE_KINDS = {
    "RetractionIn": ("retracted", "Retraction in"),
    "ExpressionOfConcernIn": ("comment", "Expression of concern in"),
    "ErratumIn": ("erratum", "Erratum in"),
    "CommentIn": ("comment", "Comment in"),
}


@dataclass
class Paper:
    pmid: str
    title: str  # inline-markup fragment
    abstract: list[AbstractSection] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    journal: str = ""
    pub_year: int | None = None
    pub_date: str = ""  # as PubMed gives it: "2024 Mar 5", "2023 Winter"
    entry_date: date | None = None  # created in PubMed ([crdt])
    doi: str = ""
    publication_types: list[str] = field(default_factory=list)
    mesh_terms: list[str] = field(default_factory=list)
    # Notices PubMed links to this record: (RefType, RefSource), e.g.
    # ("RetractionIn", "Addiction. 2026 Jan;121(1):5"). See NOTICE_KINDS.
    notices: list[tuple[str, str]] = field(default_factory=list)
    # Set by the classifier.
    design: str = ""
    depression_relevant: bool = False
    evidence: list[str] = field(default_factory=list)
    confidence: float = 0.0
    classifier_version: str = ""
    depression_evidence: str = ""  # the phrase that makes it about depression, when it is
    depression_reason: str = ""  # why depression words do not make it so ("respiratory ...")
    # Read from the abstract (flows.findings): what it found, and how many it studied.
    finding: str = ""
    study_size: int | None = None
    study_size_unit: str = ""  # participants, respondents, patients, animals, studies...
    study_size_phrase: str = ""  # the abstract's words the size was read from

    @property
    def title_text(self) -> str:
        return plain_text(self.title)

    @property
    def abstract_text(self) -> str:
        """The abstract as plain text, structured sections introduced by their labels."""
        return "\n".join(
            f"{s.label}: {plain_text(s.text)}" if s.label else plain_text(s.text)
            for s in self.abstract
        )

    @property
    def pubmed_url(self) -> str:
        return pubmed_url(self.pmid)

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""


class YearDesign(NamedTuple):
    """What the chart needs of papers: how many have this publication year and design."""

    pub_year: int | None
    design: str
    papers: int = 1


class Listing(NamedTuple):
    """A digest's paper as the run's summary shows it (the Prefect table artifact)."""

    pmid: str
    title: str  # inline-markup fragment
    design: str
    depression_relevant: bool
    evidence: str  # the deciding phrase

    @property
    def title_text(self) -> str:
        return plain_text(self.title)

    @property
    def pubmed_url(self) -> str:
        return pubmed_url(self.pmid)
