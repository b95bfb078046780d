"""Study-design and depression-relevance classifier for kratom / mitragynine papers.

The label is decided by what *this* paper did, read from method phrases in the title and
abstract ("we conducted a cross-sectional survey", "rats were treated with", "we describe a
52-year-old man"), with PubMed publication types and MeSH terms as extra evidence when the
record already has them. Topic words ("opioid", "liver", "withdrawal") are never cues: the
classifier has to work on papers it has never seen.

How a record is scored:

1. Title and abstract are cleaned (inline markup removed, whitespace collapsed) and
   lowercased, keeping a map back to the original text so evidence can be quoted exactly.
2. Each label has a table of weighted cues (regexes), CUES below. To classify 10,000 records
   in under 2 seconds the cues are indexed by the words a match must start with: one pass
   of a small regex over each text finds the word starts where some cue could begin, and
   only those cues are tried there (see "Compiled cue tables"). A cue in the abstract is
   ignored when its sentence says the design is absent, wished for or someone else's ("no
   randomized trials exist", "cohort studies are needed", "previously ... in mice").
3. A label's score is its best cue plus a fraction of the others, so one clear statement
   outweighs many incidental words.
4. The hard-case rules of shared/study-designs.md adjust the scores (a review that discusses
   trials stays a review; a human study beats preclinical work; in vivo beats in vitro;
   placebo control makes a trial an RCT; a protocol without results is `other`).
5. The best label wins; ties go to the better-ranked design. Confidence comes from the
   strength of the best label and its margin over the runner-up.
"""

from __future__ import annotations

import re
import re._constants as _c  # the parsed-pattern opcodes, to index cues by how they start
import re._parser as _parser
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from math import exp

from flows.designs import BY_LABEL, LABELS, design

# Bump when cues or rules change: stored labels carry the version that produced them.
CLASSIFIER_VERSION = "1.1"


@dataclass(frozen=True)
class Classification:
    design: str
    depression_relevant: bool
    # Phrases of the record that decided the label, the deciding one first. Each is an exact
    # substring of the title or abstract (or, when the phrase spans inline markup, of its
    # markup-free text), or a publication type / MeSH term exactly as given. When the paper
    # is depression-relevant, the last phrase is the one that made it so.
    evidence: tuple[str, ...]
    confidence: float


# Short names for the labels, to keep the cue tables readable. design() fails at import time
# if flows/designs.py has no such label.
SR = design("systematic_review").label
RCT = design("rct").label
NRT = design("non_randomised_trial").label
COH = design("cohort").label
CC = design("case_control").label
CS = design("cross_sectional").label
QUAL = design("qualitative").label
CASE = design("case_report").label
NREV = design("narrative_review").label
ANIMAL = design("animal").label
INVITRO = design("in_vitro").label
OPINION = design("opinion").label
OTHER = design("other").label

HUMAN_DESIGNS = frozenset({RCT, NRT, COH, CC, CS, QUAL, CASE})
PRECLINICAL_DESIGNS = frozenset({ANIMAL, INVITRO})
REVIEW_DESIGNS = frozenset({SR, NREV})


@dataclass(frozen=True)
class Guarded:
    """A cue pattern that counts only when `before` matches the words just before it.

    The condition is kept out of the pattern so that the pattern starts with a specific
    word and can be indexed ("were randomized", not "participants ... were randomized").
    """

    pattern: str
    before: str  # a regex ending in $, searched in the 60 characters before the match


@dataclass(frozen=True)
class Cue:
    label: str
    weight: float
    patterns: tuple[str | Guarded, ...]  # alternatives, each starting at a word
    where: str = "any"  # "any", "title" or "abstract"
    negatable: bool = True  # False when the pattern itself is a negation ("not randomized")
    veto_before: str | None = None  # regex (ending in $) on the text just before the match
    veto_after: str | None = None  # regex (matched at the start) on the text just after it
    role: str = ""  # what the cue shows, for rules that need more than a score ("search")


def _cue(label: str, weight: float, *patterns: str | Guarded, **options: object) -> Cue:
    """One piece of evidence for a label; several patterns are alternative wordings of it."""
    return Cue(label, weight, patterns, **options)  # type: ignore[arg-type]


# Vocabulary shared by several cues.
_DATABASES = (
    r"(?:databases?|pubmed|medline|embase|scopus|web\s+of\s+science|psycinfo|psycarticles|"
    r"cinahl|cochrane|google\s+scholar|ovid|lilacs|proquest|sciencedirect|ebscohost)"
)
_SPECIES = (
    r"(?:mice|mouse|murine|rats?|rodents?|zebrafish|danio\s+rerio|dogs?|beagles?|canines?|"
    r"monkeys?|macaques?|rhesus|(?:non-?human\s+)?primates|cynomolgus|guinea[- ]pigs?|"
    r"rabbits?|hamsters?|gerbils?|piglets?|swine|minipigs?|sheep|ferrets?|c\.\s?elegans|"
    r"caenorhabditis(?:\s+elegans)?|nematodes?|drosophila|fruit\s+flies|larvae|animals)"
)
# Tissue taken from an animal and studied in a dish is in vitro work, not an animal study.
_TISSUE_AFTER = (
    r"(?!\s*(?:'s\s+)?(?:ileum|brain|liver|tissues?|cells?|microsomes|hepatocytes|"
    r"vas\s+deferens|plasma|membranes?|neurons|slices|homogenates?|synaptosomes|oocytes))"
)
_HUMAN_SUBJECTS = (
    r"(?:participants|volunteers|subjects|adults|patients|individuals|people|persons|men|women|"
    r"smokers|users)"
)

CUES: tuple[Cue, ...] = (
    # systematic_review: a stated, reproducible search and selection. A database search
    # alone is not enough (role "search"): the rule asks for stated criteria too ("selection").
    _cue(
        SR,
        5,
        r"\bsystematic(?:ally)?\s+(?:literature\s+)?(?:reviews?|reviewed|searche?d?)\b",
        role="systematic",
    ),
    _cue(SR, 5, r"\bmeta-?analy[sz](?:is|es|ed|ing)\b", r"\bprisma\b", role="systematic"),
    _cue(SR, 4.5, r"\b(?:scoping|umbrella|rapid|mapping)\s+review\b", role="systematic"),
    _cue(SR, 4.5, r"\bdata\s+sources?\s*:", r"\bdesign\s*:\s*systematic\b", role="systematic"),
    _cue(
        SR,
        3,
        r"\b(?:risk\s+of\s+bias|newcastle-ottawa|jbi\s+critical\s+appraisal)\b",
        r"\bpooled\s+(?:estimates?|prevalence|analys[ie]s|odds|risks?|effects?|means?|data)\b",
        role="systematic",
    ),
    _cue(SR, 3, r"\bintegrative\s+review\b"),
    _cue(
        SR,
        3.5,
        # "An electronic search was performed using five major databases", "searched PubMed".
        r"\b(?:searched|searching|search(?:es)?\s+(?:was|were)\s+(?:performed|conducted|"
        r"carried\s+out|run)|electronic(?:ally)?\s+search\w*|literature\s+search\w*|"
        r"search\s+of|review\s+of\s+the)\b[^.]{0,120}?\b" + _DATABASES + r"\b",
        r"\b" + _DATABASES + r"\b[^.]{0,80}?\b(?:(?:was|were)\s+searched|searched)\b",
        role="search",
    ),
    _cue(
        SR,
        3,
        r"\b(?:search\s+strateg(?:y|ies)|study\s+selection|titles\s+and\s+abstracts|full-text\s+"
        r"(?:screening|review|articles))\b",
        r"\b(?:studies|articles|records|papers|publications|reports)\s+(?:were\s+)?(?:screened|"
        r"met\s+(?:the\s+)?(?:inclusion|eligibility)\s+criteria)\b",
        role="selection",
    ),
    _cue(
        SR,
        2,
        r"\b(?:inclusion\s+and\s+exclusion|inclusion|eligibility|predefined|pre-defined)\s+"
        r"criteria\b",
        role="selection",
    ),
    _cue(
        SR,
        2,
        r"\bincluded\s+(?:studies|articles|papers|reports|trials)\b",
        r"\b(?:studies|articles|papers|publications|records|case\s+reports)\s+(?:were|was)\s+"
        r"(?:included|identified|eligible|selected|retrieved)\b",
    ),
    # rct: random allocation or placebo control in humans
    _cue(
        RCT,
        5,
        r"(?<!non-)(?<!non)\brandomi[sz]ed,?\s+(?:[\w-]+,?\s+){0,2}?(?:controlled|clinical|"
        r"placebo|double|single|triple|crossover|cross-over|trial|parallel|blinded|"
        r"within-subjects?|between-subjects?)\b",
        r"\bplacebo-?\s?controlled\b",
        Guarded(
            r"\b(?:were|was)\s+(?:randomi[sz]ed|randomly\s+(?:assigned|allocated))\b",
            before=r"\b" + _HUMAN_SUBJECTS + r"\s+(?:[\w,()-]+\s+){0,4}$",
        ),
    ),
    _cue(RCT, 4, r"\b(?:double|triple|single)-?\s?blind(?:ed)?\b"),
    # Animal studies also assign groups at random, so bare randomisation is a weaker cue.
    _cue(
        RCT,
        3,
        r"(?<!non-)(?<!non)\brandomi[sz](?:ed|ation)\b",
        r"\brandomly\s+(?:assigned|allocated)\b",
        r"\bplacebo\b",
        r"\b(?:crossover|cross-over)\s+(?:design|study|trial)\b",
        r"\brcts?\b",
    ),
    _cue(RCT, 2, r"\bwithin-subjects?\b", r"\bnct\d{8}\b", r"\bclinicaltrials\.gov\b"),
    # non_randomised_trial: humans dosed by the investigators, not randomised
    _cue(
        NRT,
        4.5,
        r"\bopen-?\s?label\b",
        r"\bsingle-?\s?(?:arm|group)\s+(?:\w+\s+)?(?:trial|study|design)\b",
        r"\bnon-?\s?randomi[sz]ed\b",
        r"\b(?:not|without)\s+(?:being\s+)?randomi[sz]ed\b",
        r"\bblinding\s+(?:procedures\s+)?(?:was|were)\s+not\s+used\b",
        r"\bunblinded\b",
        r"\bwithout\s+(?:blinding|randomi[sz]ation|a\s+control\s+group)\b",
        r"\buncontrolled\s+(?:trial|study)\b",
        negatable=False,
    ),
    _cue(
        NRT,
        3.5,
        r"\bphase\s+(?:1|i|one|2|ii|two|1/2|i/ii)[ab]?\s+(?:clinical\s+)?(?:study|trial)\b",
        r"\bhealthy\s+(?:\w+\s+){0,2}(?:volunteers|participants|subjects|adults|men|women)\b",
        r"\b(?:administered|given|dosed)\s+(?:\w+\s+){0,3}to\s+(?:\w+\s+){0,3}(?:volunteers|"
        r"participants|subjects|adults|patients)\b",
        Guarded(
            r"\b(?:received|ingested|consumed|self-administered|were\s+(?:given|administered|"
            r"dosed))\s+(?:a|an|single|their|placebo|\d)",
            before=r"\b(?:participants|volunteers|subjects|adults|patients)\s+(?:[\w,()-]+\s+)"
            r"{0,6}$",
        ),
    ),
    _cue(
        NRT,
        3,
        r"\b(?:came|come|returned)\s+to\s+(?:the|our)\s+(?:clinic|laboratory|lab|research\s+"
        r"unit|unit)\b",
        r"\b(?:human\s+laboratory|laboratory\s+sessions?|dosing\s+sessions?|experimental\s+"
        r"sessions?)\b",
        r"\bclinical\s+pharmacokinetic",
        r"\bpharmacokinetics?\s+(?:\w+\s+){0,3}in\s+(?:\w+\s+){0,2}(?:humans|volunteers|"
        r"participants|subjects|adults)\b",
        r"\bfirst-in-human\b",
    ),
    _cue(
        NRT,
        2.5,
        r"\bdirect-?\s?observation\b",
        r"\bbefore\s+and\s+after\s+(?:the\s+)?(?:intervention|treatment|administration|dosing)\b",
        r"\bpilot\s+(?:trial|intervention)\b",
        r"\b(?:pre|post)-?\s?dos(?:e|ing)\b",
    ),
    # cohort: people followed over time
    _cue(
        COH,
        5,
        r"\bcohort\s+(?:study|studies|design|analysis)\b",
        r"\b(?:prospective|retrospective|longitudinal|population-based|birth|matched|"
        r"historical|inception|registry-based)\s+cohort\b",
    ),
    _cue(
        COH,
        4.5,
        r"\ba\s+cohort\s+of\s+(?:\d[\d,]*\s+)?(?:\w+\s+){0,2}(?:patients|participants|adults|"
        r"people|individuals|users|veterans|women|men|children|adolescents|infants)\b",
        r"\bwere\s+followed(?:\s+up)?\b(?!\s+by\b)",
        r"\bfollowed\s+(?:up\s+)?(?:prospectively|longitudinally)\b",
        r"\blost\s+to\s+follow-?\s?up\b",
        r"\b(?:median|mean|average)\s+(?:duration\s+of\s+)?follow-?\s?up\b",
        r"\bhazard\s+ratios?\b",
        r"\bkaplan-?\s?meier\b",
        r"\bcox\s+(?:proportional|regression|model)\b",
        r"\bperson-?\s?years\b",
    ),
    _cue(
        COH,
        3,
        r"\bfollow-?\s?up\s+(?:period|visits?|assessments?|interviews?|surveys?|rates?|data)\b",
        r"\blongitudinal(?:ly)?\s+(?:study|studies|data|analysis|design|survey|panel|"
        r"assessments?)\b",
        r"\bprospective(?:ly)?\s+(?:study|studies|followed|enrolled|recruited|collected|"
        r"observational)\b",
        r"\bretention\s+(?:in\s+treatment|rates?)\b",
        r"\bremained\s+in\s+treatment\b",
        # "at 4, 8, and 12 weeks of treatment": outcomes measured repeatedly over time.
        r"\bat\s+\d+(?:\s*,\s*\d+)*,?\s+(?:and\s+)?\d+\s+(?:weeks?|months?|years?)\s+(?:of|after|"
        r"post)\b",
    ),
    _cue(
        COH,
        2,
        r"\bretrospective(?:ly)?\s+(?:chart|medical\s+records?|records?)\s+review\b",
        r"\b(?:electronic\s+)?(?:health|medical)\s+records\b",
        r"\bclaims\s+data\b",
        r"\bincidence\b",
    ),
    # case_control: cases with the outcome compared with controls without it
    _cue(
        CC,
        5,
        r"\bcase-?\s?control\b",
        r"\bcases\s+and\s+(?:\w+\s+)?controls\b",
        r"\bmatched\s+controls?\b",
        r"\bcontrols\s+(?:were\s+)?matched\s+(?:for|on|by)\b",
    ),
    # cross_sectional: one-time surveys, population data, report databases
    _cue(CS, 5, r"\bcross-?\s?sectional\b"),
    _cue(
        CS,
        4,
        r"\b(?:national\s+survey\s+on\s+drug\s+use\s+and\s+health|nsduh|nhanes|monitoring\s+the"
        r"\s+future|brfss|yrbss?|global\s+drug\s+survey|nesarc|national\s+health\s+interview"
        r"\s+survey)\b",
        r"\b(?:national\s+poison\s+data\s+system|npds|poison\s+(?:control\s+|information\s+)?"
        r"(?:cent(?:er|re)s?)|faers|adverse\s+event\s+reporting\s+system|vaers|caers|medwatch|"
        r"toxic(?:ology)?\s+surveillance|drug\s+abuse\s+warning\s+network|nflis)\b",
        # Pharmacovigilance databases of spontaneous reports.
        r"\b(?:vigibase|eudravigilance|pharmacovigilance|disproportionality|reporting\s+odds\s+"
        r"ratios?|spontaneous\s+reports|individual\s+case\s+safety\s+reports)\b",
        # National records of visits, admissions and deaths.
        r"\b(?:nationwide\s+emergency\s+department\s+sample|national\s+(?:inpatient|emergency\s+"
        r"department)\s+sample|nhamcs|nvdrs|cdc\s+wonder|national\s+vital\s+statistics|"
        r"nationally\s+representative|weighted\s+(?:national\s+)?estimates)\b",
    ),
    # A survey is a tool; it implies a cross-sectional design unless people are followed up.
    _cue(
        CS,
        3.5,
        r"\bsurveys?\s+(?:[\w-]+\s+){0,6}(?:was|were)\s+(?:conducted|completed|administered|"
        r"distributed|carried\s+out|fielded|deployed|launched|performed|sent|posted)\b",
        r"\b(?:conducted|administered|completed|distributed|fielded|launched|answered|"
        r"responded\s+to|took)\s+(?:a|an|the|our)\s+(?:[\w-]+\s+){0,6}(?:survey|questionnaire|"
        r"scale|inventory|instrument)s?\b",
        # Validating a questionnaire or scale is done on a one-time sample.
        r"\b(?:(?:exploratory|confirmatory)\s+factor\s+analys[ie]s|cronbach|internal\s+"
        r"consistency|psychometric\s+(?:properties|evaluation|validation)|test-retest|"
        r"(?:construct|convergent|discriminant)\s+validity)\b",
        r"\b(?:online|web-based|internet|anonymous|national|nationwide|household|telephone|postal|"
        r"crowdsourced|community-based|clinical|self-administered|structured|population-based)"
        r"\s+(?:[\w-]+\s+)?(?:surveys?|questionnaires?)\b",
        r"\b(?:amazon\s+)?mechanical\s+turk\b",
        r"\bmturk\b",
        r"\bcrowdsourc\w*",
        r"\b(?:exposures?|cases|calls|reports|deaths)\s+(?:\w+\s+){0,3}reported\s+to\b",
        # Laboratory results of routine testing, analysed as a population.
        r"\bpositivity\s+rates?\b",
        r"\bspecimens\s+(?:\w+\s+)?submitted\s+for\b",
    ),
    _cue(
        CS,
        3,
        # "A total of 52 exposure cases were identified": a series analysed as a population.
        r"\b(?:exposures|exposure\s+cases|cases|calls|deaths|reports|decedents)\s+(?:were|was)\s+"
        r"(?:\w+\s+)?(?:identified|included|analy[sz]ed|reviewed)\b",
    ),
    _cue(CS, 3, r"\bsurveys?\b", where="title"),
    _cue(
        CS,
        3,
        r"\brespondents?\b",
        r"\bsurvey\s+(?:data|responses|results)\b",
        # Poison-centre / FAERS / medical-examiner series are cross-sectional by rule.
        r"\bretrospective\s+(?:analysis|review|study|evaluation|examination)\b",
        r"\b(?:medical\s+examiner|coroners?|autopsy\s+(?:reports|cases|records|database)|death\s+"
        r"certificates|postmortem\s+(?:toxicology\s+)?(?:reports|cases|records)|toxicology\s+"
        r"(?:reports|records|database))\b",
    ),
    _cue(
        CS,
        2,
        r"\bsurveys?\b",
        r"\b(?:convenience|snowball|quota|stratified|probability)\s+sampl(?:e|es|ing)\b",
        r"\bsnowballing\b",
        r"\b(?:adjusted\s+)?odds\s+ratios?\b",
        r"\blogistic\s+regression\b",
        where="abstract",
    ),
    _cue(CS, 1.5, r"\bquestionnaires?\b", r"\bprevalence\b"),
    # qualitative: interviews, focus groups, analysis of texts and online posts
    _cue(
        QUAL,
        5,
        r"\bqualitative\s+(?:study|studies|research|interviews?|approach|methods?|methodology|"
        r"design|inquiry|data|analys[ie]s|component|descriptive|exploration|exploratory|"
        r"content|thematic|case\s+study)\b",
        r"\bsemi-?\s?structured\s+(?:\w+\s+)?interviews?\b",
        r"\bin-depth\s+(?:\w+\s+)?interviews?\b",
        r"\bfocus\s+groups?\b",
        r"\bgrounded\s+theory\b",
        r"\binterpre(?:ta)?tive\s+phenomenolog\w+\b",
        r"\bethnograph\w+\b",
        r"\bnarrative\s+inquiry\b",
        r"\bframework\s+analysis\b",
        # "qualitative analysis of alkaloids" is chemistry.
        veto_after=r"\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:alkaloids?|compounds?|constituents|"
        r"extracts?|samples?|metabolites?|mitragynine)",
    ),
    _cue(
        QUAL,
        4.5,
        r"\bthematic(?:ally)?\s+(?:analysis|analy[sz]ed|coding|synthesis)\b",
        r"\bthemes?\s+(?:that\s+)?(?:emerged|were\s+(?:identified|generated|developed|derived))\b",
        r"\banaly[sz]ed\s+(?:\w+\s+){0,2}for\s+themes\b",
        r"\bcontent\s+analysis\b",
        r"\binductive(?:ly)?\s+(?:coded|coding|analysis)\b",
    ),
    _cue(
        QUAL,
        3.5,
        r"\b(?:reddit|subreddits?|twitter|tweets|youtube|facebook|instagram|tiktok|bluelight|"
        r"erowid(?:\.org)?|drugs-forum|online\s+forums?|internet\s+forums?|discussion\s+(?:forums?|"
        r"boards?|threads?)|forum\s+posts|social\s+media\s+(?:posts|data|content|platforms?|"
        r"discussions?)|online\s+communit(?:y|ies)|cybercommunit(?:y|ies)|online\s+(?:posts|"
        r"discussions|comments|narratives|testimonials)|user-generated|experience\s+reports|"
        r"trip\s+reports)\b",
        r"\b(?:posts|comments|threads|messages|mentions|narratives|testimonials)\s+(?:on|from|"
        r"posted|were\s+(?:collected|analy[sz]ed|coded|extracted))\b",
    ),
    _cue(
        QUAL,
        3,
        # Analysis of media texts (news coverage) is content analysis.
        r"\bmedia\s+coverage\b",
        r"\bnews\s+(?:articles|stories|coverage|media)\b",
        r"\bmedia\s+(?:reports|analysis)\b",
    ),
    _cue(
        QUAL,
        2,
        r"\bqualitative\b",
        r"\binterview(?:s|ed)\b",
        r"\bopen-ended\s+(?:questions?|responses|items)\b",
        r"\bweb\s?sites?\b",
        veto_after=r"ly\b",
    ),
    # case_report: one patient or a small series of described patients
    _cue(
        CASE,
        5,
        r"\bcase\s+(?:report|study|series|presentation|description|vignette)s?\b",
        r"\ba\s+case\s+of\b",
        r"\breport\s+of\s+(?:a|an|two|three|four|five)\s+(?:\w+\s+)?cases?\b",
        where="title",
    ),
    _cue(
        CASE,
        4,
        r"\b(?:this|our|the\s+present|the\s+current|a)\s+case\s+(?:report|series|study|"
        r"presentation)\b",
        r"\bcase\s+(?:report|description|presentation|summary|history)\s*:",
        r"\bin\s+(?:this|our)\s+case\b",
        r"\bthis\s+(?:case|report)\s+(?:describes|presents|highlights|illustrates|underscores|"
        r"demonstrates)\b",
        r"\bwe\s+(?:report|present|describe|discuss)\s+(?:a|an|the|two|three|four|five|one|our|"
        r"\d)\s+(?:[\w-]+\s+){0,5}?(?:case|cases|patient|patients|man|woman|male|female|boy|"
        r"girl|infant|neonate|newborn|child|adolescent|individual|death|fatality|fatalities|"
        r"mother)\b",
        r"\b(?:report|present|describe)\s+(?:the\s+)?(?:first\s+)?cases?\s+of\b",
        r"\bthis\s+is\s+the\s+first\s+(?:case\s+)?report\b",
    ),
    _cue(
        CASE,
        3.5,
        # "a 52-year-old man": one person described, unlike "adults aged 18 years or older".
        Guarded(
            r"\b(?:year|month|week|day)s?-?\s?old\s+(?:[\w-]+\s+){0,2}(?:man|woman|male|female|"
            r"boy|girl|patient|gentleman|lady|infant|neonate|veteran|mother|caucasian|african|"
            r"white|hispanic|asian)\b",
            before=r"\b(?:a|an)\s+(?:\d{1,3}|[a-z]+(?:-[a-z]+)?)[-\s]?$",
        ),
        Guarded(
            r"\bin\s+(?:his|her)\s+(?:\d0s|twenties|thirties|forties|fifties|sixties|seventies|"
            r"eighties)\b",
            before=r"\b(?:a|an)\s+(?:\w+\s+)?(?:man|woman|male|female|patient)\s+$",
        ),
        r"\b(?:a|one)\s+(?:newborn|neonate|term\s+infant|preterm\s+infant|infant)\s+"
        r"(?:\w+\s+){0,2}(?:was|who|presented|with|born)\b",
    ),
    _cue(
        CASE,
        3,
        r"\bcase\s+(?:series|report)\b",
        where="abstract",
    ),
    _cue(
        CASE,
        2.5,
        r"\bpresented\s+to\s+(?:the|our|an)\s+(?:[\w-]+\s+){0,2}(?:department|clinic|hospital|"
        r"ed|er|emergency)\b",
        r"\bpresented\s+with\s+(?:a\s+)?(?:[\w-]+\s+){0,3}(?:history|symptoms|signs|"
        r"complaints?|pain|seizures?)\b",
        r"\bautopsy\s+(?:findings|revealed|showed)\b",
        r"\bpostmortem\s+(?:blood|femoral|peripheral|concentrations?)\b",
    ),
    _cue(
        CASE,
        1.5,
        r"\bthe\s+patient(?:'s)?\s+(?:was|had|reported|presented|developed|required|underwent|"
        r"denied|admitted)\b",
        r"\b(?:he|she)\s+(?:was|had|reported|presented|developed|required|underwent|denied|"
        r"admitted)\b",
    ),
    # narrative_review: a review without a stated systematic search
    _cue(
        NREV,
        4,
        r"\breviews?\b",
        where="title",
        # Those are systematic reviews, record-based studies or a case report's literature
        # section, not narrative reviews.
        veto_before=r"(?:systematic|scoping|umbrella|rapid|mapping|integrative|retrospective|"
        r"chart|records?|peer|meta-analytic)\s+(?:[\w-]+\s+)?$|case\s+(?:reports?|series)\s+"
        r"and\s+(?:a\s+)?$",
    ),
    _cue(
        NREV,
        3.5,
        r"\b(?:narrative|literature|comprehensive|critical|mini|brief|clinical|historical|"
        r"selective|updated|insight)-?\s?review\b",
        r"\b(?:this|the\s+present|the\s+current|our|present)\s+(?!retrospective|chart|record|"
        r"systematic|scoping|umbrella|rapid)(?:\w+\s+)?review\b",
        r"\bwe\s+(?:have\s+)?(?:aim\s+to\s+|will\s+)?(?:review(?:ed)?|summari[sz]ed?|"
        r"discuss(?:ed)?|highlight(?:ed)?|overview)\b",
        r"\bwill\s+(?:discuss|review|summari[sz]e|highlight)\b",
        r"\b(?:this|the\s+present|the\s+current|our)\s+(?:article|paper|manuscript|chapter|"
        r"overview)\s+(?:reviews|summari[sz]es|discusses|describes|outlines|provides\s+an?"
        r"\s+(?:overview|update|summary|synthesis))\b",
        r"\b(?:provide|provides|providing|present|presents)\s+an?\s+(?:brief\s+|comprehensive\s+"
        r"|integrated\s+|updated\s+|critical\s+|concise\s+)?(?:overview|update|synthesis)\b",
        veto_before=r"systematic\s+$",
        # "we reviewed the medical records" is a chart review, not a literature review.
        veto_after=r"\s+(?:the\s+)?(?:medical\s+|electronic\s+|health\s+)?(?:records|charts|"
        r"files|case\s+notes)",
    ),
    _cue(
        NREV,
        3,
        r"\b(?:review|synthesis|overview|summary)\s+of\s+(?:the\s+)?(?:available|current|"
        r"existing|published|recent)\s+(?:literature|evidence|research|studies|data|knowledge)\b",
    ),
    _cue(
        NREV,
        2.5,
        r"\b(?:overview|state\s+of\s+the\s+(?:art|science)|current\s+(?:knowledge|evidence|"
        r"perspectives?|understanding|status)|future\s+directions|an\s+update|primer)\b",
        where="title",
    ),
    _cue(NREV, 2, r"\b(?:is|are|will\s+be)\s+(?:also\s+)?(?:discussed|reviewed|summari[sz]ed)\b"),
    # animal: in vivo experiments on non-human animals
    _cue(
        ANIMAL,
        4,
        r"\b" + _SPECIES + r"\s+(?:\(\w+\)\s+)?(?:were|was)\s+(?:[\w-]+\s+){0,3}(?:treated|"
        r"administered|given|injected|dosed|exposed|fed|gavaged|pretreated|trained|tested|"
        r"implanted|rendered|randomly|divided|assigned|housed|subjected|allocated|sacrificed|"
        r"euthani[sz]ed|decapitated|an(?:a)?esthetized|used)\b",
        r"\b" + _SPECIES + r"\s+(?:received|receiving|treated\s+with|exposed\s+to|injected\s+"
        r"with)\b",
    ),
    _cue(
        ANIMAL,
        3.5,
        r"\b(?:male|female|adult|adolescent|juvenile|pregnant|neonatal|young|aged|naive|"
        r"wild-type|knockout|transgenic)\s+(?:and\s+female\s+)?(?:[\w/()-]+\s+){0,3}"
        + _SPECIES
        + r"\b"
        + _TISSUE_AFTER,
        r"\bin\s+" + _SPECIES + r"\b" + _TISSUE_AFTER,
        r"\b(?:animal|rodent|mouse|mice|rat|murine|zebrafish|invertebrate|in\s+vivo|preclinical|"
        r"canine|primate)\s+models?\b",
        r"\bin\s+vivo\b",
        r"\b(?:tail-?\s?flick|hot-?\s?plate|tail-?\s?pinch|forced-?\s?swim(?:ming)?|tail-?\s?"
        r"suspension|open-?\s?field|elevated\s+plus-?\s?maze|morris\s+water\s+maze|(?:conditioned"
        r"\s+)?place\s+(?:preference|conditioning|aversion)|self-administration\s+(?:paradigm|"
        r"procedure|model)|drug\s+discrimination|intellicage|rotarod|novel\s+object|light-dark\s+"
        r"box|marble-?\s?burying|von\s+frey|writhing\s+test|catalepsy|sucrose\s+preference|"
        r"passive\s+avoidance|step-down|climbing\s+behavio(?:u)?r|jumping\s+behavio(?:u)?r)\b",
    ),
    _cue(
        ANIMAL,
        3,
        r"\boecd\b",
        r"\bhours?\s+post-?\s?fertili[sz]ation\b",
        r"\bhpf\b",
        r"\bembryos\s+were\s+exposed\b",
    ),
    _cue(
        ANIMAL,
        2.5,
        r"\b(?:mg|µg|μg|microg)/kg\b",
        r"\b(?:i\.p\.|s\.c\.|i\.c\.v\.)",
        r"\b(?:intraperitoneal(?:ly)?|intracerebroventricular(?:ly)?|intragastric(?:ally)?|"
        r"oral\s+gavage|by\s+gavage)\b",
    ),
    _cue(ANIMAL, 2, r"\b" + _SPECIES + r"\b" + _TISSUE_AFTER),
    _cue(
        ANIMAL,
        2,
        r"\bbehavio(?:u)?ral\s+(?:tests?|models?|paradigms?|testing)\b",
        r"\bwithdrawal\s+signs\b",
        r"\bnaloxone-precipitated\b",
        r"\bantinocicepti\w+\b",
    ),
    _cue(ANIMAL, 1.5, r"\b(?:histopatholog\w*|necropsy|organ\s+weights?)\b"),
    # in_vitro: cells, receptors, enzymes, chemistry, products, computation
    _cue(
        INVITRO,
        4.5,
        r"\bin\s+silico\b",
        r"\bmolecular\s+docking\b",
        r"\bdocking\s+(?:studies|study|simulations?|analys[ie]s|scores?)\b",
        r"\bmolecular\s+dynamics?\b",
        r"\bdynamic\s+simulations?\b",
        r"\bquantum\s+chemical\b",
        r"\bdensity\s+functional\b",
        r"\bb3lyp\b",
        r"\bqsar\b",
        r"\bpharmacophore\b",
        r"\bcomputational\s+(?:study|analysis|model(?:ing|ling)?|approach|methods?)\b",
    ),
    _cue(
        INVITRO,
        4,
        r"\bmethods?\s+(?:was|were|has\s+been|have\s+been)\s+(?:\w+\s+)?(?:developed|validated|"
        r"established|optimi[sz]ed)\b",
        r"\b(?:developed|validated)\s+(?:and\s+validated\s+)?(?:a|an)\s+(?:[\w/-]+\s+){0,5}"
        r"(?:method|assay)\b",
        r"\blimits?\s+of\s+(?:detection|quantification|quantitation)\b",
        r"\blower\s+limit\s+of\s+quantification\b",
        r"\blloq\b",
        r"\bvalidated\s+(?:[\w/-]+\s+){0,2}method\b",
        r"\bsuccessfully\s+validated\b",
    ),
    _cue(
        INVITRO,
        3.5,
        r"\bin\s+vitro\b",
        r"\b(?:isolated\s+)?(?:guinea-?\s?pig|rat|mouse)\s+(?:ileum|vas\s+deferens|brain\s+"
        r"(?:membranes|homogenates?|slices))\b",
        r"\bileum\b",
        r"\bvas\s+deferens\b",
        r"\borgan\s+bath\b",
        r"\btwitch\s+contraction\b",
        r"\belectrically-?\s?(?:stimulated|induced)\b",
        r"\bex\s+vivo\b",
        r"\bxenopus\b",
        r"\b(?:commercial(?:ly)?|marketed|retail|purchased|online)\s+(?:available\s+)?"
        r"(?:[\w-]+\s+){0,2}(?:products?|samples?|supplements?|preparations?)\s+(?:were|was)\s+"
        r"(?:\w+\s+)?(?:analy[sz]ed|tested|purchased|obtained|evaluated|screened|examined)\b",
        r"\bproducts?\s+(?:were|was)\s+(?:purchased|analy[sz]ed|tested)\b",
        r"\b(?:sequenced|genome\s+(?:sequencing|assembly)|transcriptom\w+|dna\s+barcod\w+|"
        r"phylogenetic\s+analys[ie]s|untargeted\s+metabolomics|molecular\s+networking)\b",
        r"\bproduct\s+(?:analys[ie]s|testing)\b",
        r"\b(?:laboratory|third-party|independent)\s+(?:[\w-]+\s+)?testing\b",
        r"\badulterat\w+",
    ),
    _cue(
        INVITRO,
        3,
        r"\bcell\s+lines?\b",
        r"\bcells\s+(?:were|was)\b",
        r"\b(?:cultured|primary)\s+(?:\w+\s+)?cells\b",
        r"\bcell\s+(?:culture|viability|death|proliferation)\b",
        r"\bhek-?\s?293\w*",
        r"\bcho(?:-k1)?\s+cells\b",
        r"\bhepg2\b",
        r"\bhela\b",
        r"\bpc-?12\b",
        r"\bsh-sy5y\b",
        r"\bcaco-2\b",
        r"\bhcmec/d3\b",
        r"\bhepatocytes\b",
        r"\boocytes\b",
        r"\bmicrosom\w+",
        r"\bsynaptosom\w+",
        r"\btransfected\b",
        r"\bmtt\b",
        r"\b(?:binding|functional|luminescence|enzyme|enzymatic|radioligand|competition|"
        r"displacement|cytotoxicity|transport|uptake|reporter|calcium|camp|bret|high-throughput|"
        r"bidirectional\s+transport)\s+assays?\b",
        r"\bassays?\s+(?:were|was)\b",
        r"\bic50\b",
        r"\bec50\b",
        r"\bki\s+values?\b",
        r"\bemax\b",
        r"\bradioligand\b",
        r"\bgtp[γg]s\b",
        r"\b(?:β|beta)-?arrestin\w*",
        r"\bforskolin\b",
        r"\bpatch-?\s?clamp\b",
        r"\bconcentration-?\s?(?:dependent|response)\b",
        r"\bbioassay-guided\b",
        r"\bfractionation\b",
        r"\b(?:analy[sz]ed|determined|quantified|measured)\s+the\s+(?:\w+\s+)?(?:content|contents|"
        r"composition)s?\s+of\b",
    ),
    _cue(
        INVITRO,
        2.5,
        r"\bbinding\s+affinit(?:y|ies)\b",
        r"\breceptor-?\s?binding\b",
        r"\baffinit(?:y|ies)\s+(?:for|at|to)\b",
        r"\b(?:partial|full)\s+agonis[mt]\b",
        r"\brecombinant\b",
        r"\bcytochrome\s+p450\b",
        r"\benzyme\s+(?:activity|activities|inhibition|kinetics)\b",
        r"\binhibitory\s+(?:effects?|activit(?:y|ies)|potency)\b",
        r"\bp-?glycoprotein\b",
        r"\bherg\b",
        r"\bsynthesi[sz]ed\b",
        r"\bsynthetic\s+(?:route|method|strategy)\b",
        r"\bstructure-activity\b",
        r"\bsemi-?synthe\w+",
        r"\bfunctionali[sz]ation\b",
        r"\banalog(?:ue)?s?\b",
        r"\b(?:alkaloid(?:al)?|chemical|phytochemical|elemental|metal)\s+(?:content|contents|"
        r"profiles?|composition|impurities)\b",
        r"\bchemotypes?\b",
        r"\bheavy\s+metals?\b",
        r"\bextraction\b",
        r"\bcytotoxic(?:ity)?\b",
        r"\bantioxidant\s+activity\b",
        r"\b(?:antibacterial|antimicrobial|antifungal|antiviral)\s+(?:activity|effects?|"
        r"properties)\b",
        r"\b(?:disc|disk|agar\s+well)\s+diffusion\b",
        r"\bminimum\s+inhibitory\s+concentrations?\b",
        r"\b(?:extracts?|compounds?|alkaloids?|fractions?)\s+(?:were|was)\s+(?:\w+\s+)?(?:tested|"
        r"screened|assayed)\s+(?:for|against|in|on|using)\b",
    ),
    _cue(
        INVITRO,
        2,
        r"\blc-?ms(?:/ms)?\b",
        r"\bhplc\b",
        r"\bu(?:h)?plc\b",
        r"\bgc-?ms\b",
        r"\bhrms\b",
        r"\bmass\s+spectromet\w+",
        r"\bchromatograph\w+",
        r"\bnmr\b",
        r"\bicp-?ms\b",
        r"\binductively\s+coupled\b",
        r"\bspectroscop\w+",
        r"\bh?p?tlc\b",
    ),
    _cue(INVITRO, 1, r"\b(?:leaves|leaf\s+samples|plant\s+material)\b"),
    # opinion: editorials, comments, letters without new data
    _cue(
        OPINION,
        6,
        r"^(?:commentary|editorial|comment|letter|response|reply|correspondence|viewpoint|"
        r"perspective|opinion|in\s+reply|re|author\s+reply)\b\s*[:.-]",
        where="title",
    ),
    _cue(
        OPINION,
        4.5,
        r"\b(?:a|this|our)\s+(?:commentary|editorial|viewpoint|opinion\s+piece|perspective\s+"
        r"piece|position\s+(?:statement|paper)|essay|policy\s+brief)\b",
        r"\bletter\s+to\s+the\s+editor\b",
        r"\bwe\s+read\s+with\s+(?:great\s+)?interest\b",
        r"\bdear\s+editor\b",
        r"\bin\s+response\s+to\s+(?:the\s+)?(?:article|letter|paper|commentary)\b",
    ),
    _cue(
        OPINION,
        3,
        r"\b(?:we|i)\s+(?:argue|contend)\b",
        r"\bwe\s+call\s+(?:for|on)\b",
        r"\bexpert\s+(?:forum|panel|meeting|opinion|roundtable)\b",
        r"\bcalls?\s+to\s+action\b",
    ),
    _cue(
        OPINION,
        4,
        r"\bin\s+this\s+issue\b",
        r"\band\s+colleagues\s+(?:report|describe|present|show)\b",
    ),
    _cue(OPINION, 2.5, r"\b(?:commentary|editorial|viewpoint)\b", where="title"),
    _cue(
        OPINION,
        2.5,
        # Argument in the title: "Why ...", "... should ...", "The case against ...".
        r"^why\b",
        r"\bshould\b",
        r"\bthe\s+case\s+(?:for|against)\b",
        r"\btime\s+to\b",
        r"\ba\s+call\s+(?:for|to)\b",
        where="title",
    ),
    # other: protocols, guidelines, plant science, anything else
    _cue(
        OTHER,
        5.5,
        # "...: protocol for a randomised trial", "a study protocol"; not "a dosing protocol".
        r"\bprotocol\s+(?:for|of)\s+(?:a|an|the)\b",
        r"\b(?:study|trial|review)\s+protocol\b",
        r"^(?:a\s+)?protocol\b",
        r"\ba\s+protocol\W*$",
        where="title",
    ),
    _cue(
        OTHER,
        4.5,
        r"\b(?:this|the\s+present|our)\s+(?:study\s+|trial\s+)?protocol\b",
        r"\bprotocol\s+(?:for|of)\s+(?:a|an)\s+(?:[\w-]+\s+){0,5}(?:trial|study|review)\b",
        r"\bstudy\s+protocol\b",
    ),
    _cue(
        OTHER,
        3,
        # Future tense describes a study not yet done.
        r"\bwill\s+be\s+(?:\w+\s+)?(?:recruited|randomi[sz]ed|enrolled|assessed|measured|"
        r"collected|conducted|analy[sz]ed|allocated|assigned|followed|compared|evaluated|invited|"
        r"performed|administered)\b",
        r"\bwe\s+will\s+(?:recruit|randomi[sz]e|enrol|enroll|assess|measure|collect|conduct|"
        r"analy[sz]e|compare|evaluate|examine|test|use)\b",
        negatable=False,
    ),
    _cue(
        OTHER,
        4.5,
        r"\bguidelines?\b",
        r"\bconsensus\s+(?:statement|recommendations)\b",
        r"\bdelphi\b",
        where="title",
    ),
    _cue(
        OTHER,
        3.5,
        # Horticultural and agronomic experiments on the plant itself fit no listed design.
        r"\bfertili[sz]ers?\b",
        r"\bgreenhouse\b",
        r"\bhorticultur\w*",
        r"\bvegetatively\s+propagated\b",
        r"\bpropagation\b",
        r"\bagronom\w*",
        r"\birrigation\b",
        r"\bplant\s+growth\b",
        r"\bgrowth\s+(?:rates?|parameters|performance)\b",
        r"\bphotosynth\w*",
        r"\bnutrient\s+(?:fertility|levels|supply|solution)\b",
    ),
    _cue(OTHER, 2.5, r"\b(?:biomass|chlorophyll|seedlings?|soil)\b"),
)

# Publication types as PubMed spells them (lowercased) -> (label, weight).
PUBLICATION_TYPE_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "systematic review": ((SR, 6),),
    "meta-analysis": ((SR, 6),),
    "network meta-analysis": ((SR, 6),),
    "scoping review": ((SR, 6),),
    "randomized controlled trial": ((RCT, 6),),
    "equivalence trial": ((RCT, 4),),
    "pragmatic clinical trial": ((RCT, 4),),
    "controlled clinical trial": ((NRT, 3.5),),
    "clinical trial": ((NRT, 3),),
    "clinical trial, phase i": ((NRT, 3),),
    "clinical trial, phase ii": ((NRT, 3),),
    "clinical trial, phase iii": ((NRT, 3),),
    "clinical trial, phase iv": ((NRT, 3),),
    "observational study": ((COH, 2), (CS, 2)),
    "twin study": ((COH, 2),),
    "case reports": ((CASE, 4.5),),
    "review": ((NREV, 3),),
    "historical article": ((NREV, 2),),
    "editorial": ((OPINION, 6),),
    "comment": ((OPINION, 4.5),),
    "letter": ((OPINION, 4),),
    "news": ((OPINION, 6),),
    "newspaper article": ((OPINION, 6),),
    "clinical trial protocol": ((OTHER, 6),),
    "practice guideline": ((OTHER, 5),),
    "guideline": ((OTHER, 5),),
    "consensus development conference": ((OTHER, 4),),
    "published erratum": ((OTHER, 6),),
    "retraction of publication": ((OTHER, 6),),
    "expression of concern": ((OTHER, 6),),
}

# MeSH descriptors (lowercased, without qualifiers or stars) -> (label, weight).
MESH_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "animals": ((ANIMAL, 2),),
    "disease models, animal": ((ANIMAL, 3.5),),
    "zebrafish": ((ANIMAL, 3.5),),
    "dogs": ((ANIMAL, 3.5),),
    "caenorhabditis elegans": ((ANIMAL, 3.5),),
    "macaca mulatta": ((ANIMAL, 3.5),),
    "rabbits": ((ANIMAL, 3),),
    "swine": ((ANIMAL, 3),),
    # Guinea-pig ileum is the classic isolated-tissue assay, so the species is weak here.
    "guinea pigs": ((ANIMAL, 2),),
    "cross-sectional studies": ((CS, 5),),
    "health surveys": ((CS, 3.5),),
    "surveys and questionnaires": ((CS, 3),),
    "prevalence": ((CS, 1.5),),
    "poison control centers": ((CS, 2),),
    "retrospective studies": ((CS, 1.5), (COH, 1.5)),
    "cohort studies": ((COH, 5),),
    "prospective studies": ((COH, 4),),
    "longitudinal studies": ((COH, 4),),
    "follow-up studies": ((COH, 4),),
    "case-control studies": ((CC, 5),),
    "qualitative research": ((QUAL, 5),),
    "focus groups": ((QUAL, 5),),
    "interviews as topic": ((QUAL, 2),),
    "social media": ((QUAL, 3),),
    "mass media": ((QUAL, 2.5),),
    "double-blind method": ((RCT, 4),),
    "single-blind method": ((RCT, 3),),
    "cross-over studies": ((RCT, 3),),
    "placebos": ((RCT, 3),),
    "random allocation": ((RCT, 4),),
    "in vitro techniques": ((INVITRO, 3),),
    "cell line": ((INVITRO, 3),),
    "hek293 cells": ((INVITRO, 3),),
    "cells, cultured": ((INVITRO, 3),),
    "molecular docking simulation": ((INVITRO, 4),),
    "computer simulation": ((INVITRO, 3),),
    "microsomes, liver": ((INVITRO, 3),),
    "limit of detection": ((INVITRO, 3),),
    "drug contamination": ((INVITRO, 2.5),),
    "tandem mass spectrometry": ((INVITRO, 2),),
    "mass spectrometry": ((INVITRO, 2),),
}
# Families of MeSH descriptors: "Rats, Sprague-Dawley", "Mice, Inbred C57BL", "Chromatography,
# High Pressure Liquid" ...
MESH_PREFIX_CUES: tuple[tuple[str, str, float], ...] = (
    ("mice", ANIMAL, 3.5),
    ("rats", ANIMAL, 3.5),
    ("chromatography", INVITRO, 2),
)

# Depression relevance.
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
    }
)


# Text handling


_MARKUP_RE = re.compile(r"<[^<>]{1,200}>|\s{2,}|[^\S ]")
# Block-level tags separate words; inline tags (<i>, <sup>) sit inside them.
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|br|div|li|ul|ol|h\d|tr|td|table|abstracttext|sec|title|label)\b", re.IGNORECASE
)
_TAG_RE = re.compile(r"<[^<>]{1,200}>")
# Whitespace other than single spaces between words: " ".join(text.split()) collapses it.
_SPACE_HINT_RE = re.compile(r"[^\S ]")
_SPACE_EDIT_RE = re.compile(r"[^\S ]\s*|\s{2,}")
# Same-length replacements only, so positions in the lowered text match the clean text.
_FOLD = (
    ("\u2010", "-"),
    ("\u2011", "-"),
    ("\u2012", "-"),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u2212", "-"),
    ("\u2019", "'"),
    ("\u00a0", " "),
)
_FOLD_HINT_RE = re.compile("[\u2010-\u2014\u2212\u2019\u00a0]")


class _Text:
    """A title or abstract: raw text, markup-free text, its lowercased form and a position map."""

    __slots__ = ("raw", "clean", "low", "_clean_anchors", "_raw_anchors", "_bounds")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        # The map from clean to raw positions: pairs of positions just after each edit.
        self._clean_anchors: list[int] = [0]
        self._raw_anchors: list[int] = [0]
        # Most records need neither markup removal nor folding; the checks are cheap scans.
        if "<" in raw and _TAG_RE.search(raw) is not None:
            self.clean = self._strip_markup(raw)
        elif (
            "  " in raw
            or raw[:1] == " "
            or raw[-1:] == " "
            or _SPACE_HINT_RE.search(raw) is not None
        ):
            # Whitespace only: the fast way now, the position map later if a quote needs it.
            self.clean = " ".join(raw.split())
            self._clean_anchors = []
        else:
            self.clean = raw
        low = self.clean.lower()
        if len(low) != len(self.clean):  # a few characters lowercase to two
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.clean)
        if _FOLD_HINT_RE.search(low) is not None:
            for char, replacement in _FOLD:
                low = low.replace(char, replacement)
        self.low = low
        self._bounds: list[int] | None = None

    @property
    def bounds(self) -> list[int]:
        """Positions of sentence and clause ends (". ", "; ", ": " ...) in the clean text."""
        if self._bounds is None:
            self._bounds = [m.start() for m in _BOUNDARY_RE.finditer(self.low)]
        return self._bounds

    def _strip_markup(self, raw: str) -> str:
        pieces: list[str] = []
        pos = 0
        length = 0
        last_is_space = True  # also drops leading whitespace
        for m in _MARKUP_RE.finditer(raw):
            segment = raw[pos : m.start()]
            if segment:
                pieces.append(segment)
                length += len(segment)
                last_is_space = segment[-1] == " "
            token = m.group()
            wants_space = not token.startswith("<") or _BLOCK_TAG_RE.match(token) is not None
            if wants_space and not last_is_space:
                pieces.append(" ")
                length += 1
                last_is_space = True
            pos = m.end()
            self._clean_anchors.append(length)
            self._raw_anchors.append(pos)
        pieces.append(raw[pos:])
        return "".join(pieces)

    def _map_whitespace(self) -> None:
        """Build the position map for text whose only edits were whitespace runs."""
        raw = self.raw
        lead = len(raw) - len(raw.lstrip())  # leading and trailing whitespace was dropped
        clean_anchors, raw_anchors = [0], [lead]
        length = 0
        for m in _SPACE_EDIT_RE.finditer(raw, lead, len(raw.rstrip())):
            length += m.start() - raw_anchors[-1] + 1  # each inner run became one space
            clean_anchors.append(length)
            raw_anchors.append(m.end())
        self._clean_anchors, self._raw_anchors = clean_anchors, raw_anchors

    def _raw_index(self, i: int) -> int:
        if not self._clean_anchors:
            self._map_whitespace()
        k = bisect_right(self._clean_anchors, i) - 1
        return self._raw_anchors[k] + (i - self._clean_anchors[k])

    def quote(self, start: int, end: int) -> str:
        """The text of clean[start:end] as it stands in the raw record, when markup allows."""
        if self.clean is self.raw:
            return self.raw[start:end]
        phrase = self.clean[start:end]
        if not self._clean_anchors and phrase in self.raw:
            return phrase  # whitespace edits only, and none inside the phrase
        raw = self.raw[self._raw_index(start) : self._raw_index(end - 1) + 1]
        return raw if "<" not in raw else self.clean[start:end]


_BOUNDARY_RE = re.compile(r"[.;:?!] ")


def _sentence_start(text: _Text, pos: int, reach: int = 250) -> int:
    bounds = text.bounds
    i = bisect_right(bounds, pos - 2) - 1
    return max(pos - reach, 0, bounds[i] + 1 if i >= 0 else 0)


def _sentence_end(text: _Text, pos: int, reach: int = 250) -> int:
    bounds = text.bounds
    i = bisect_left(bounds, pos)
    end = min(len(text.low), pos + reach)
    return min(end, bounds[i]) if i < len(bounds) else end


def _phrase(text: _Text, start: int, end: int, *, context: int = 45) -> str:
    """The clause around a match, cut at word and sentence boundaries, as quoted evidence."""
    low = text.low
    left = max(_sentence_start(text, start), start - context)
    if left > 0 and low[left - 1] not in " ":
        space = low.find(" ", left, start)
        left = space + 1 if space != -1 else start
    right = min(_sentence_end(text, end), end + context)
    if right < len(low) and low[right] not in " .;:!?,)":
        space = low.rfind(" ", end, right)
        right = space if space != -1 else end
    while left < start and low[left] in " ,;:(":
        left += 1
    while right > end and low[right - 1] in " ,;:(":
        right -= 1
    return text.quote(left, right).strip()


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
_WISHED_FOR_AFTER_RE = re.compile(r"needed|warranted|et al")
_ABSENT_AFTER_RE = re.compile(
    r"\b(?:are|is|were|remain|remains)\s+(?:\w+\s+)?(?:required|lacking|scarce|limited|"
    r"missing|absent|necessary|sparse)\b|"
    r"\bha(?:ve|s)\s+(?:not\s+)?(?:yet\s+)?been\s+(?:published|conducted|reported|performed)\b"
)
_PUNCTUATION = ".,;:()[]'\""


def _negated(text: _Text, start: int, end: int) -> bool:
    """Whether the match at start:end is denied, wished for or attributed to others."""
    low = text.low
    before = low[max(_sentence_start(text, start), start - 60) : start]
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
    after = low[end : min(_sentence_end(text, end), end + 80)]
    if _WISHED_FOR_AFTER_RE.search(after):
        return True
    # Both alternatives need "are"/"were"/"is"/"has"...: a cheap test before the regex.
    return ("re " in after or "s " in after) and _ABSENT_AFTER_RE.search(after) is not None


# Compiled cue tables.
#
# Running every cue over every abstract is far too slow (10,000 records must take under 2 s),
# so the cues are indexed by how a match must start, worked out from each parsed pattern:
# the first word and the start of the second ("were ran", "case rep", "mg kg"). One pass of
# a trie-shaped regex over the text, jumping from space to space, finds the word starts
# where some key begins; only the cues indexed under that key are then tried, anchored
# there. tests/test_classify.py checks that the index finds every match a full scan finds.

_FIRST_WORD = 12  # at most this many characters of a cue's first word make its key
_SECOND_WORD = 3  # then a space and at most this many of the second word
_DIGIT_KEY = "#"  # a cue that starts with \d is indexed under any digit


class _UnindexableCue(ValueError):
    pass


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_space_class(av: list) -> bool:
    return av == [(_c.CATEGORY, _c.CATEGORY_SPACE)]


def _starts_with_letter(items: list) -> bool:
    """Whether a parsed pattern certainly starts with a literal word character."""
    if not items:
        return False
    op, av = items[0]
    if op is _c.LITERAL:
        return _is_word_char(chr(av))
    if op is _c.SUBPATTERN:
        return _starts_with_letter(list(av[-1]))
    if op is _c.BRANCH:
        return all(_starts_with_letter(list(branch)) for branch in av[1])
    if op is _c.IN:
        return all(kind is _c.LITERAL and _is_word_char(chr(v)) for kind, v in av)
    return False


def _start_keys(pattern: str) -> set[tuple[str, bool]]:
    """The literal starts a match of `pattern` can have, as (key, whole_word) pairs.

    A key is how the match starts in the scan text (single spaces, separators such as "-"
    or "/" before a letter read as spaces): its first word, up to 12 characters, then a space
    and up to three characters of the second word when the first is a complete literal word.
    `whole_word` means the first word must end right after the key. The keys are a necessary
    condition only: a cue is still confirmed by its full regex.
    """
    keys: set[tuple[str, bool]] = set()

    def add(acc: str, whole: bool) -> None:
        if not acc:
            raise _UnindexableCue(
                f"cue {pattern!r} must start with literal word characters (a word from a list, "
                r"not \w, \d ranges or punctuation) so that it can be indexed"
            )
        keys.add((acc, whole and " " not in acc))

    def walk(items: list, acc: str, ended: bool, depth: int) -> None:
        if depth > 300:
            raise _UnindexableCue(f"cue {pattern!r} is too deep to index")
        word = acc.rsplit(" ", 1)[-1]
        if " " in acc and len(word) >= _SECOND_WORD or " " not in acc and len(acc) >= _FIRST_WORD:
            add(acc, False)
            return
        if not items:
            add(acc, ended)
            return
        (op, av), rest = items[0], items[1:]
        if op is _c.LITERAL and chr(av) == " " or op is _c.IN and _is_space_class(av):
            space(rest, acc, depth)
        elif op is _c.LITERAL and chr(av) in _WORD_SEPARATORS and _starts_with_letter(rest):
            # The scan text has a space here ("self-report" is scanned as "self report").
            space(rest, acc, depth)
        elif op is _c.LITERAL:
            ch = chr(av)
            if not _is_word_char(ch):
                add(acc, True)
            elif not ended:  # a word character right after \b cannot match: dead end
                walk(rest, acc + ch, False, depth + 1)
        elif op is _c.AT:
            if av in (_c.AT_BOUNDARY,) and acc and not acc.endswith(" "):
                walk(rest, acc, True, depth + 1)
            elif av in (_c.AT_END, _c.AT_END_STRING, _c.AT_END_LINE) and acc:
                add(acc, True)
            else:
                walk(rest, acc, ended, depth + 1)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            walk(rest, acc, ended, depth + 1)
        elif op is _c.SUBPATTERN:
            walk(list(av[-1]) + rest, acc, ended, depth + 1)
        elif op is _c.BRANCH:
            for branch in av[1]:
                walk(list(branch) + rest, acc, ended, depth + 1)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, item = av
            if len(item) == 1 and item[0][0] is _c.IN and _is_space_class(item[0][1]):
                # The clean text has single spaces: \s+ is one space, \s? is one or none.
                if low == 0:
                    walk(rest, acc, ended, depth + 1)
                space(rest, acc, depth)
                return
            if low == 0:
                walk(rest, acc, ended, depth + 1)
            if high != 0:
                again = [] if high == 1 else [(op, (0, high, item))]
                walk(list(item) + again + rest, acc, ended, depth + 1)
        elif op is _c.IN and all(kind is _c.LITERAL for kind, _ in av):
            for _, value in av:
                walk([(_c.LITERAL, value)] + rest, acc, ended, depth + 1)
        elif op is _c.IN and av == [(_c.CATEGORY, _c.CATEGORY_DIGIT)] and not acc:
            keys.add((_DIGIT_KEY, False))
        else:
            add(acc, ended)

    def space(rest: list, acc: str, depth: int) -> None:
        if acc and " " not in acc:
            walk(rest, acc + " ", False, depth + 1)
        else:
            add(acc.rstrip(" "), True)

    walk(list(_parser.parse(pattern)), "", False, 0)
    return keys


# The regex engine tries alternatives in order: common letters first means fewer tries.
_COMMON_FIRST = "etaoinsrhlcdumpfgwybvkxjqz"


def _letter_order(ch: str) -> tuple[int, str]:
    return (_COMMON_FIRST.index(ch) if ch in _COMMON_FIRST else len(_COMMON_FIRST), ch)


def _filter_regex(keys: set[tuple[str, bool]]) -> re.Pattern[str]:
    """A trie of the keys, tried after each space; group 1 is the deepest key.

    The filter runs over `_scan_text`, where every word start follows a space; a pattern
    that starts with a literal space lets the regex engine jump from space to space.
    """
    trie: dict = {}
    for key, whole in keys:
        if key == _DIGIT_KEY:
            continue
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node["$whole" if whole else "$prefix"] = True

    def alternatives(node: dict) -> str:
        options = []
        for ch in sorted((k for k in node if not k.startswith("$")), key=_letter_order):
            child = node[ch]
            deeper = [alternatives(child)] if any(not k.startswith("$") for k in child) else []
            if child.get("$prefix"):
                deeper.append("")
            elif child.get("$whole"):
                deeper.append(r"\b")
            options.append(re.escape(ch) + ("(?:" + "|".join(deeper) + ")" if deeper else ""))
        return "|".join(options)

    top = alternatives(trie)
    if (_DIGIT_KEY, False) in keys:
        top = top + r"|\d" if top else r"\d"
    # The key is matched zero-width, so a key spanning two words never hides a cue starting
    # at the second.
    return re.compile(r" (?=(" + top + "))")


# Characters that can stand right before a word ("(mice", "self-report", "mg/kg", "“self"),
# turned into spaces for the filter scan only. Same length, so positions are unchanged.
_WORD_SEPARATORS = ("-", "(", "/", ".", "[", "'", '"', "\u201c", "\u2018", ",", "=", ">", "<")


def _scan_text(low: str) -> str:
    """The text the filter runs over: a leading space, and a space before every word."""
    scan = " " + low
    for separator in _WORD_SEPARATORS:
        if separator in scan:
            scan = scan.replace(separator, " ")
    return scan


@dataclass(frozen=True)
class _CompiledCue:
    index: int
    cue: Cue
    veto_before: re.Pattern[str] | None
    veto_after: re.Pattern[str] | None


# A cue, one of its patterns, and the condition on the text before it (if any).
_Candidate = tuple[_CompiledCue, re.Pattern[str], re.Pattern[str] | None]


class _CueIndex:
    """The cues allowed in one place (title or abstract), indexed by how a match starts."""

    def __init__(self, cues: list[_CompiledCue]) -> None:
        by_key: dict[tuple[str, bool], list[_Candidate]] = {}
        for compiled in cues:
            for entry in compiled.cue.patterns:
                pattern = entry.pattern if isinstance(entry, Guarded) else entry
                before = re.compile(entry.before) if isinstance(entry, Guarded) else None
                regex = re.compile(pattern)
                if regex.groups:
                    raise ValueError(f"cue {pattern!r} must use only non-capturing groups")
                for key in sorted(_start_keys(pattern)):  # sorted: the same order every run
                    by_key.setdefault(key, []).append((compiled, regex, before))
        self.filter = _filter_regex(set(by_key))
        # The filter reports the deepest key; every shorter key it extends applies as well
        # (a whole-word key only where the word ends there). Candidates keep the order of
        # their keys in by_key.
        position = {key: n for n, key in enumerate(by_key)}
        self.table: dict[str, tuple[_Candidate, ...]] = {}
        for deepest, _ in by_key:
            applying = [
                (prefix, whole)
                for size in range(1, len(deepest) + 1)
                for prefix in (deepest[:size],)
                for whole in (False, True)
                if (prefix, whole) in position
                and (not whole or size == len(deepest) or not _is_word_char(deepest[size]))
            ]
            applying.sort(key=position.__getitem__)
            self.table[deepest] = tuple(c for key in applying for c in by_key[key])
        # The filter reports a digit as itself; cues that start with any digit apply to each.
        digit = self.table.pop(_DIGIT_KEY, ())
        if digit:
            for key in list(self.table) + list("0123456789"):
                if key[0].isdigit():
                    self.table[key] = self.table.get(key, ()) + digit


def _compile_cues() -> tuple[_CueIndex, _CueIndex]:
    compiled = [
        _CompiledCue(
            i,
            cue,
            re.compile(f"(?:{cue.veto_before})") if cue.veto_before else None,
            re.compile(cue.veto_after) if cue.veto_after else None,
        )
        for i, cue in enumerate(CUES)
    ]
    title = _CueIndex([c for c in compiled if c.cue.where != "abstract"])
    abstract = _CueIndex([c for c in compiled if c.cue.where != "title"])
    return title, abstract


_TITLE_INDEX, _ABSTRACT_INDEX = _compile_cues()

# Title cues are the authors' own label for the paper, so they count for more.
_TITLE_BONUS = 1.0


@dataclass
class _Hit:
    label: str
    weight: float
    source: str  # "title", "abstract", "publication type" or "mesh"
    key: object  # one hit per cue
    text: _Text | None = None  # where the match is, for quoting it lazily
    start: int = 0
    end: int = 0
    term: str = ""  # the publication type or MeSH term
    role: str = ""

    @property
    def phrase(self) -> str:
        if self.text is None:
            return self.term
        if self.source == "title":
            return self.text.quote(0, len(self.text.clean)).strip()
        return _phrase(self.text, self.start, self.end)


_SOURCE_ORDER = {"title": 0, "publication type": 1, "mesh": 2, "abstract": 3}


def _cue_matches(
    low: str, index: _CueIndex, done: set[int]
) -> Iterator[tuple[_CompiledCue, int, int]]:
    """Every (cue, start, end) whose pattern matches at a word start, in text order.

    Cues whose index the caller has put in `done` are no longer tried.
    """
    table = index.table
    for m in index.filter.finditer(_scan_text(low)):
        pos = m.start()  # of the space before the word in " " + low, so of the word in low
        for compiled, regex, before in table.get(m.group(1), ()):
            if compiled.index in done:
                continue
            match = regex.match(low, pos)
            if match is None:
                continue
            if before is not None and before.search(low, max(0, pos - 60), pos) is None:
                continue
            yield compiled, pos, match.end()


def _text_hits(text: _Text, index: _CueIndex, in_title: bool) -> Iterator[_Hit]:
    """The first valid match of each cue: not vetoed, and in the abstract not negated."""
    low = text.low
    seen: set[int] = set()
    for compiled, start, end in _cue_matches(low, index, seen):
        cue = compiled.cue
        if compiled.veto_before and compiled.veto_before.search(low, max(0, start - 40), start):
            continue
        if compiled.veto_after and compiled.veto_after.match(low, end):
            continue
        if not in_title and cue.negatable and _negated(text, start, end):
            continue
        seen.add(compiled.index)
        if in_title:
            weight = cue.weight + (_TITLE_BONUS if cue.where == "any" else 0.0)
            yield _Hit(cue.label, weight, "title", compiled.index, text, start, end, role=cue.role)
        else:
            yield _Hit(
                cue.label, cue.weight, "abstract", compiled.index, text, start, end, role=cue.role
            )


def _mesh_descriptor(term: str) -> str:
    return term.split("/")[0].replace("*", "").strip().lower()


def _metadata_hits(publication_types: Sequence[str], mesh_terms: Sequence[str]):
    for term in publication_types:
        for label, weight in PUBLICATION_TYPE_CUES.get(term.strip().lower(), ()):
            role = "systematic" if label == SR else ""
            yield _Hit(label, weight, "publication type", ("pt", term, label), term=term, role=role)
    for term in mesh_terms:
        descriptor = _mesh_descriptor(term)
        cues = MESH_CUES.get(descriptor, ())
        if not cues:
            cues = tuple(
                (label, weight)
                for prefix, label, weight in MESH_PREFIX_CUES
                if descriptor == prefix or descriptor.startswith(prefix + ",")
            )
        for label, weight in cues:
            yield _Hit(label, weight, "mesh", ("mesh", descriptor, label), term=term)


# Scoring and the hard-case rules


def _score(weights: list[float]) -> float:
    """Best cue plus a little for each supporting cue, so one clear statement dominates."""
    if not weights:
        return 0.0
    ordered = sorted(weights, reverse=True)
    rest = sum(ordered[2:])
    return ordered[0] + 0.25 * (ordered[1] if len(ordered) > 1 else 0.0) + 0.1 * rest


_LARGE_SERIES_RE = re.compile(
    r"\b(\d+(?:,\d{3})*|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?)"
    r"(?:-\w+)?\s+(?:[\w-]+\s+){0,2}(?:patients|participants|subjects|cases|individuals|users|"
    r"respondents|decedents|adults|persons|infants|children|neonates)\b"
)
_RESULTS_RE = re.compile(
    r"\bresults?\s*:|\bresults\s+(?:showed|show|indicated?|suggested?|revealed|demonstrated)\b|"
    r"\bwe\s+found\b|\bp\s*[<=]\s*0?\.\d"
)


def _large_series(text: _Text) -> bool:
    """Twenty or more people or cases counted in this paper's own sentences."""
    for m in _LARGE_SERIES_RE.finditer(text.low):
        number = m.group(1)
        if number[0].isdigit() and int(number.replace(",", "")) < 20:
            continue
        if not _negated(text, m.start(), m.end()):
            return True
    return False


# When a hard-case rule settles a conflict, the loser keeps at most this share of the winner's
# score: the rule is the reason for the label, so the loser is no close runner-up.
_SETTLED = 0.6


def _apply_rules(by_label: dict[str, list[_Hit]], abstract: _Text) -> dict[str, float]:
    """Scores after the hard-case rules of study-designs.md; labels without hits are left out."""

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
    # A review or commentary that talks about trials, surveys or mice is still a review. (A
    # letter alone is not enough: letters often report a case.)
    if best_of(REVIEW_DESIGNS) >= 3.5 or scores.get(OPINION, 0.0) >= 4.5:
        changed |= scale(HUMAN_DESIGNS | PRECLINICAL_DESIGNS, 0.5)
    # Twenty-eight patients with outcomes at 4, 8 and 12 weeks, or 2160 autopsies screened,
    # are not a case series of individually described patients.
    if CASE in by_label and _large_series(abstract):
        changed |= scale({CASE}, 0.6, sources=("title", "abstract", "publication type", "mesh"))
    if changed:
        scores = rescore()

    # A paper with a human study and preclinical work is labelled by the human study.
    human_study = best_of(HUMAN_DESIGNS) >= 4
    if human_study and scale(PRECLINICAL_DESIGNS, 0.5, sources=("title", "abstract", "mesh")):
        scores = rescore()

    # A paper with both animal and in vitro experiments is an animal study.
    animal, in_vitro = scores.get(ANIMAL, 0.0), scores.get(INVITRO, 0.0)
    if animal >= 3 and in_vitro >= animal * _SETTLED:
        scores[INVITRO] = animal * _SETTLED

    # Placebo control or randomisation makes a human dosing study an RCT.
    rct, non_randomised = scores.get(RCT, 0.0), scores.get(NRT, 0.0)
    if rct >= 4 and non_randomised >= rct * _SETTLED:
        scores[NRT] = rct * _SETTLED

    # A trial protocol without results is `other` (so are guidelines and publication notices,
    # the other strong `other` cues).
    protocol = any(h.weight >= 4.5 for h in by_label.get(OTHER, ()))
    if protocol and not _RESULTS_RE.search(abstract.low):
        scores[OTHER] = max(scores.values()) + 0.01
    return scores


_RANK = {label: BY_LABEL[label].rank for label in LABELS}


def _design(
    title: _Text, abstract: _Text, publication_types: Sequence[str], mesh_terms: Sequence[str]
) -> tuple[list[str], dict[str, float], dict[str, list[_Hit]]]:
    """Labels with any evidence, best first; their scores; their hits."""
    best: dict[object, _Hit] = {}
    hits = [
        *_text_hits(title, _TITLE_INDEX, in_title=True),
        *_metadata_hits(publication_types, mesh_terms),
        *_text_hits(abstract, _ABSTRACT_INDEX, in_title=False),
    ]
    for hit in hits:
        # One hit per cue: the same statement in title and abstract is one piece of evidence.
        if hit.key not in best or hit.weight > best[hit.key].weight:
            best[hit.key] = hit
    by_label: dict[str, list[_Hit]] = {}
    for hit in best.values():
        by_label.setdefault(hit.label, []).append(hit)
    scores = _apply_rules(by_label, abstract)
    ranked = sorted(scores, key=lambda label: (-scores[label], _RANK[label]))
    return ranked, scores, by_label


# Below this nothing said clearly what the paper did.
_MIN_SCORE = 1.5


def _confidence(best: float, runner_up: float, has_abstract: bool) -> float:
    strength = 1.0 - exp(-best / 3.0)
    margin = (best - max(runner_up, 0.0)) / best
    confidence = strength * (0.5 + 0.5 * margin)
    if not has_abstract:
        confidence *= 0.75
    return min(1.0, max(0.0, confidence))


# Depression relevance

# "depression", "depressive", "depressed", "antidepressant" (not "CNS depressant"). A pattern
# that starts with a literal is found by a fast string search, hence the check in code.
_DEPRESS_RE = re.compile(r"depress\w*")
_DEPRESS_WORDS = frozenset({"depression", "depressions", "depressive", "depressed"})
_OTHER_MOOD_RE = re.compile(
    r"\b(?:anhedoni\w*|dysthymi\w*|low\s+mood|mood\s+disorders?|forced-?\s?swim(?:ming)?\s+"
    r"test|tail-?\s?suspension\s+test|phq-?9|ces-d|madrs)"
)
_OTHER_MOOD_WORDS = ("anhedon", "dysthym", "mood", "swim", "suspension", "phq", "ces-d", "madrs")
# "respiratory depression", "CNS and respiratory depression", "depressed respiration".
_NOT_MOOD_BEFORE_RE = re.compile(
    r"(?:respirat\w*|ventilat\w*|\bcns|central\s+nervous\s+system|cardi\w*|myocardial|"
    r"circulatory|bone\s+marrow|st-?\s?segment|spreading|synaptic|long-term|neuronal|cortical|"
    r"medullary|breathing|immune|marrow)\W+(?:\w+\W+){0,3}$"
)
_NOT_MOOD_AFTER_RE = re.compile(
    r"\s+(?:of\s+)?(?:the\s+)?(?:respirat\w*|breathing|ventilation|consciousness|reflexes|"
    r"heart|cardiac|cns)|"
    # "depression of locomotor activity": depression of anything but mood is physiology.
    r"\s+of\s+(?!mood)"
)
_MOOD_RE = re.compile(r"mood\b")
_ANXIETY_RE = re.compile(r"\banxi\w*")
_HISTORY_BEFORE_RE = re.compile(r"\bhistor(?:y|ies)\s+of\s+(?:[\w-]+\s+){0,2}$")
# Depression named only as one of the uses people make of kratom, in background sentences.
_BACKGROUND_USE_RE = re.compile(
    r"\b(?:used|use|uses|using|usage|popular\w*|marketed|marketing|market|traditional(?:ly)?|"
    r"anecdotal(?:ly)?|consumed|consume|touted|sold|interest|reportedly|purported(?:ly)?|"
    r"self-treat\w*|self-medicat\w*|self-manag\w*|remed(?:y|ies)|history|comorbid\w*)\b"
)
# ...unless the sentence reports this paper's subjects or findings.
_OWN_FINDING_RE = re.compile(
    r"%|\bp\s*[<=>]|\b(?:we|our|patients?|participants|respondents|his|her|he|she|themes|"
    r"findings|showed|associated|scores?)\b"
)


def _mention_weight(text: _Text, start: int, end: int, in_title: bool) -> float:
    """1 for a mention that makes the paper about depression, 0.25 for a passing one."""
    low = text.low
    if _HISTORY_BEFORE_RE.search(low, max(0, start - 40), start):
        return 0.25  # "a history of depression": a comorbidity, not the subject
    if in_title:
        return 1.0
    sentence = low[_sentence_start(text, start) : _sentence_end(text, end)]
    if _BACKGROUND_USE_RE.search(sentence) and not _OWN_FINDING_RE.search(sentence):
        return 0.25
    return 1.0


def _depression(title: _Text, abstract: _Text, mesh_terms: Sequence[str]) -> tuple[bool, str]:
    """Whether the paper is about depression or mood, and the phrase that says so."""
    for term in mesh_terms:
        if _mesh_descriptor(term) in DEPRESSION_MESH:
            return True, term
    total = 0.0
    deciding: tuple[_Text, int, int, bool] | None = None
    for text, in_title in ((title, True), (abstract, False)):
        for start, end in _mentions_of_mood(text):
            weight = _mention_weight(text, start, end, in_title)
            if deciding is None or weight == 1.0 and total < 1.0:
                deciding = (text, start, end, in_title)
            total += weight
            if total >= 1.0:
                text, start, end, in_title = deciding
                if in_title:
                    return True, text.quote(0, len(text.clean)).strip()
                return True, _phrase(text, start, end)
    return False, ""


def _depression_terms(low: str) -> Iterator[tuple[int, int]]:
    for m in _DEPRESS_RE.finditer(low):
        start, end = m.span()
        if low.endswith("anti", 0, start) or low.endswith("anti-", 0, start):
            yield start - (5 if low[start - 1] == "-" else 4), end
        elif m.group() in _DEPRESS_WORDS and (start == 0 or not _is_word_char(low[start - 1])):
            yield start, end
    if any(word in low for word in _OTHER_MOOD_WORDS):  # cheap test before the regex
        for m in _OTHER_MOOD_RE.finditer(low):
            yield m.span()


def _mentions_of_mood(text: _Text) -> Iterator[tuple[int, int]]:
    """Spans that speak of depression or of mood alongside anxiety, not respiratory depression."""
    low = text.low
    for start, end in _depression_terms(low):
        if _NOT_MOOD_BEFORE_RE.search(low, max(0, start - 50), start):
            continue
        if _NOT_MOOD_AFTER_RE.match(low, end):
            continue
        yield start, end
    for m in _MOOD_RE.finditer(low):
        if m.start() and _is_word_char(low[m.start() - 1]):
            continue
        s, e = _sentence_start(text, m.start()), _sentence_end(text, m.end())
        if _ANXIETY_RE.search(low, s, e):
            yield m.span()


def classify(
    title: str,
    abstract: str = "",
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> Classification:
    """Label one paper with its study design and depression relevance."""
    title_text = _Text(title or "")
    abstract_text = _Text(abstract or "")
    ranked, scores, by_label = _design(title_text, abstract_text, publication_types, mesh_terms)
    has_abstract = bool(abstract_text.clean.strip())
    evidence: tuple[str, ...] = ()
    if not ranked or scores[ranked[0]] < _MIN_SCORE:
        # Nothing said clearly what the paper did: "other / unclear", with little confidence.
        design = OTHER
        confidence = 0.1 if has_abstract else 0.05
    else:
        design = ranked[0]
        runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
        hits = sorted(by_label[design], key=lambda h: (-h.weight, _SOURCE_ORDER[h.source]))
        phrases = (h.phrase for h in hits[:4])
        evidence = tuple(dict.fromkeys(p for p in phrases if p))[:3]
        confidence = _confidence(scores[design], runner_up, has_abstract)
    relevant, phrase = _depression(title_text, abstract_text, mesh_terms)
    if relevant and phrase and phrase not in evidence:
        evidence = (*evidence, phrase)
    return Classification(design, relevant, evidence, round(confidence, 3))
