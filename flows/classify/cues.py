"""The precise rule cues: method phrases that say what a paper did.

Each cue is a few alternative regexes over the lowercased text with the words one of which
must occur for it to be tried (`words`): a set test on the record's words skips the
patterns that cannot match, so only a few regexes run per record. Each pattern is indexed
by the cue's words that its source spells out, or by all of them when it spells none.
tests/test_classify_designs.py checks that the words never hide a match. Topic words
("opioid", "liver", "withdrawal") are never cues.

The model (model.py) reads each label's cue score as a feature, so how far a cue is trusted
is learned; rules.py applies the hard cases of shared/study-designs.md on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.classify.text import DIGITS
from flows.designs import design

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
class Cue:
    label: str
    weight: float
    words: frozenset[str]  # one of these words must be in the text for the cue to be tried
    regex: re.Pattern[str]  # all the alternatives in one
    patterns: tuple[tuple[re.Pattern[str], frozenset[str]], ...]  # each with its words
    where: str = "any"  # "any", "title" or "abstract"
    negatable: bool = True  # False when the pattern itself is a negation ("not randomized")
    veto_before: re.Pattern[str] | None = None  # searched in the 40 characters before
    veto_after: re.Pattern[str] | None = None  # matched right after
    role: str = ""  # what the cue shows, for rules that need more than a score ("search")


def _spelled(pattern: str, words: frozenset[str]) -> frozenset[str]:
    """The cue words a plain pattern's source spells out whole ("\\bfocus\\s+groups\\b")."""
    if "?" in pattern or "|" in pattern:
        # "hek-?293" may be one word, "hek293"; "communit(?:y|ies)" spells neither form
        # whole: every cue word gates a pattern with optional or alternative parts.
        return frozenset()
    source = re.sub(r"\\[a-zA-Z]", " ", pattern)  # \b, \s, \w are not letters of a word
    return frozenset(w for w in words if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", source))


def _cue(
    label: str,
    weight: float,
    words: str,
    *patterns: str,
    where: str = "any",
    negatable: bool = True,
    veto_before: str | None = None,
    veto_after: str | None = None,
    role: str = "",
) -> Cue:
    """One piece of evidence for a label; the patterns are alternative wordings of it."""
    cue_words = frozenset(words.split())
    indexed = tuple((re.compile(p), _spelled(p, cue_words) or cue_words) for p in patterns)
    return Cue(
        label,
        weight,
        cue_words,
        re.compile("|".join(f"(?:{p})" for p in patterns)),
        indexed,
        where,
        negatable,
        re.compile(veto_before) if veto_before else None,
        re.compile(veto_after) if veto_after else None,
        role,
    )


_DATABASES = (
    r"(?:databases?|pubmed|medline|embase|scopus|web\s+of\s+science|psycinfo|psycarticles|"
    r"cinahl|cochrane|google\s+scholar|ovid|lilacs|proquest|sciencedirect|ebscohost)"
)
_DATABASE_WORDS = (
    "database databases pubmed medline embase scopus web psycinfo psycarticles cinahl "
    "cochrane google ovid lilacs proquest sciencedirect ebscohost"
)
_SPECIES = (
    r"(?:mice|mouse|murine|rats?|rodents?|zebrafish|danio\s+rerio|dogs?|beagles?|canines?|"
    r"monkeys?|macaques?|rhesus|(?:non-?human\s+)?primates|cynomolgus|guinea[- ]pigs?|"
    r"rabbits?|hamsters?|gerbils?|piglets?|swine|minipigs?|sheep|goats?|ferrets?|c\.\s?elegans|"
    r"caenorhabditis(?:\s+elegans)?|nematodes?|drosophila|fruit\s+flies|larvae|animals)"
)
_SPECIES_WORDS = (
    "mice mouse murine rat rats rodent rodents zebrafish danio dog dogs beagle beagles canine "
    "canines monkey monkeys macaque macaques rhesus primates cynomolgus guinea rabbit rabbits "
    "hamster hamsters gerbil gerbils piglet piglets swine minipig minipigs sheep goat goats "
    "ferret ferrets c caenorhabditis nematode nematodes drosophila fruit larvae animals"
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
    # systematic_review: a stated, reproducible search and selection. A database search alone
    # is not enough (role "search"): rules.py asks for stated criteria too ("selection").
    _cue(
        SR,
        5,
        "systematic systematically",
        r"\bsystematic(?:ally)?\s+(?:literature\s+)?(?:reviews?|reviewed|searche?d?)\b",
        role="systematic",
    ),
    _cue(
        SR,
        5,
        "meta metaanalysis metaanalyses prisma",
        r"\bmeta-?analy[sz](?:is|es|ed|ing)\b",
        r"\bprisma\b",
        role="systematic",
    ),
    _cue(
        SR,
        4.5,
        "scoping umbrella rapid mapping",
        r"\b(?:scoping|umbrella|rapid|mapping)\s+review\b",
        role="systematic",
    ),
    _cue(
        SR,
        4.5,
        "sources source systematic",
        r"\bdata\s+sources?\s*:",
        r"\bdesign\s*:\s*systematic\b",
        role="systematic",
    ),
    _cue(
        SR,
        3,
        "risk newcastle jbi pooled",
        r"\b(?:risk\s+of\s+bias|newcastle-ottawa|jbi\s+critical\s+appraisal)\b",
        r"\bpooled\s+(?:estimates?|prevalence|analys[ie]s|odds|risks?|effects?|means?|data)\b",
        role="systematic",
    ),
    _cue(
        SR,
        3.5,
        _DATABASE_WORDS,
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
        "strategy strategies selection titles full screened met",
        r"\b(?:search\s+strateg(?:y|ies)|study\s+selection|titles\s+and\s+abstracts|full-text\s+"
        r"(?:screening|review|articles))\b",
        r"\b(?:studies|articles|records|papers|publications|reports)\s+(?:were\s+)?(?:screened|"
        r"met\s+(?:the\s+)?(?:inclusion|eligibility)\s+criteria)\b",
        role="selection",
    ),
    _cue(
        SR,
        2,
        "criteria",
        r"\b(?:inclusion\s+and\s+exclusion|inclusion|eligibility|predefined|pre-defined)\s+"
        r"criteria\b",
        role="selection",
    ),
    # rct: random allocation or placebo control in humans
    _cue(
        RCT,
        5,
        "randomised randomized randomly placebo",
        r"(?<!non-)(?<!non)\brandomi[sz]ed,?\s+(?:[\w-]+,?\s+){0,2}?(?:controlled|clinical|"
        r"placebo|double|single|triple|crossover|cross-over|trial|parallel|blinded|"
        r"within-subjects?|between-subjects?)\b",
        r"\bplacebo-?\s?controlled\b",
        r"\b" + _HUMAN_SUBJECTS + r"\s+(?:[\w,()-]+\s+){0,4}(?:were|was)\s+(?:randomi[sz]ed|"
        r"randomly\s+(?:assigned|allocated))\b",
    ),
    _cue(
        RCT,
        4,
        "blind blinded doubleblind doubleblinded tripleblind singleblind",
        r"\b(?:double|triple|single)-?\s?blind(?:ed)?\b",
    ),
    # Animal studies also assign groups at random, so bare randomisation is a weaker cue.
    _cue(
        RCT,
        3,
        "randomised randomized randomisation randomization randomly placebo crossover cross rct "
        "rcts",
        r"(?<!non-)(?<!non)\brandomi[sz](?:ed|ation)\b",
        r"\brandomly\s+(?:assigned|allocated)\b",
        r"\bplacebo\b",
        r"\b(?:crossover|cross-over)\s+(?:design|study|trial)\b",
        r"\brcts?\b",
    ),
    # non_randomised_trial: humans dosed by the investigators, not randomised
    _cue(
        NRT,
        4.5,
        "open openlabel arm group singlearm singlegroup nonrandomised nonrandomized randomised "
        "randomized unblinded blinding randomisation randomization control uncontrolled",
        r"\bopen-?\s?label\b",
        r"\bsingle-?\s?(?:arm|group)\s+(?:\w+\s+)?(?:trial|study|design)\b",
        r"\bnon-?\s?randomi[sz]ed\b",
        r"\b(?:not|without)\s+(?:being\s+)?randomi[sz]ed\b",
        r"\bunblinded\b",
        r"\bwithout\s+(?:blinding|randomi[sz]ation|a\s+control\s+group)\b",
        r"\buncontrolled\s+(?:trial|study)\b",
        negatable=False,
    ),
    _cue(
        NRT,
        3.5,
        "phase healthy administered given dosed",
        r"\bphase\s+(?:1|i|one|2|ii|two|1/2|i/ii)[ab]?\s+(?:clinical\s+)?(?:study|trial)\b",
        r"\bhealthy\s+(?:\w+\s+){0,2}(?:volunteers|participants|subjects|adults|men|women)\b",
        r"\b(?:administered|given|dosed)\s+(?:\w+\s+){0,3}to\s+(?:\w+\s+){0,3}(?:volunteers|"
        r"participants|subjects|adults|patients)\b",
    ),
    _cue(
        NRT,
        3,
        "laboratory sessions session pharmacokinetic pharmacokinetics human",
        r"\b(?:human\s+laboratory|laboratory\s+sessions?|dosing\s+sessions?|experimental\s+"
        r"sessions?)\b",
        r"\bclinical\s+pharmacokinetic",
        r"\bpharmacokinetics?\s+(?:\w+\s+){0,3}in\s+(?:\w+\s+){0,2}(?:humans|volunteers|"
        r"participants|subjects|adults)\b",
        r"\bfirst-in-human\b",
    ),
    # cohort: people followed over time
    _cue(
        COH,
        5,
        "cohort",
        r"\bcohort\s+(?:study|studies|design|analysis)\b",
        r"\b(?:prospective|retrospective|longitudinal|population-based|birth|matched|"
        r"historical|inception|registry-based)\s+cohort\b",
    ),
    _cue(
        COH,
        4.5,
        "cohort followed follow followup hazard kaplan kaplanmeier cox person personyears",
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
        "follow followup longitudinal longitudinally prospective prospectively",
        r"\bfollow-?\s?up\s+(?:period|visits?|assessments?|interviews?|surveys?|rates?|data)\b",
        r"\blongitudinal(?:ly)?\s+(?:study|studies|data|analysis|design|survey|panel|"
        r"assessments?)\b",
        r"\bprospective(?:ly)?\s+(?:study|studies|followed|enrolled|recruited|collected|"
        r"observational)\b",
    ),
    # case_control: cases with the outcome compared with controls without it
    _cue(
        CC,
        5,
        "control controls casecontrol",
        r"\bcase-?\s?control\b",
        r"\bcases\s+and\s+(?:\w+\s+)?controls\b",
        r"\bmatched\s+controls?\b",
        r"\bcontrols\s+(?:were\s+)?matched\s+(?:for|on|by)\b",
    ),
    # cross_sectional: one-time surveys, population data, report databases
    _cue(CS, 5, "sectional crosssectional", r"\bcross-?\s?sectional\b"),
    _cue(
        CS,
        4,
        "national nsduh nhanes monitoring brfss yrbs yrbss global nesarc npds poison faers "
        "adverse vaers caers medwatch toxic toxicology drug nflis vigibase eudravigilance "
        "pharmacovigilance disproportionality reporting spontaneous individual nationwide nhamcs "
        "nvdrs cdc nationally weighted",
        r"\b(?:national\s+survey\s+on\s+drug\s+use\s+and\s+health|nsduh|nhanes|monitoring\s+the"
        r"\s+future|brfss|yrbss?|global\s+drug\s+survey|nesarc|national\s+health\s+interview"
        r"\s+survey)\b",
        r"\b(?:national\s+poison\s+data\s+system|npds|poison\s+(?:control\s+|information\s+)?"
        r"(?:cent(?:er|re)s?)|faers|adverse\s+event\s+reporting\s+system|vaers|caers|medwatch|"
        r"toxic(?:ology)?\s+surveillance|drug\s+abuse\s+warning\s+network|nflis)\b",
        r"\b(?:vigibase|eudravigilance|pharmacovigilance|disproportionality|reporting\s+odds\s+"
        r"ratios?|spontaneous\s+reports|individual\s+case\s+safety\s+reports)\b",
        r"\b(?:nationwide\s+emergency\s+department\s+sample|national\s+(?:inpatient|emergency\s+"
        r"department)\s+sample|nhamcs|nvdrs|cdc\s+wonder|national\s+vital\s+statistics|"
        r"nationally\s+representative|weighted\s+(?:national\s+)?estimates)\b",
    ),
    # A survey is a tool; it implies a cross-sectional design unless people are followed up.
    _cue(
        CS,
        3.5,
        "survey surveys questionnaire questionnaires scale scales inventory inventories instrument "
        "instruments factor cronbach consistency psychometric retest validity turk mturk",
        r"\bsurveys?\s+(?:[\w-]+\s+){0,6}(?:was|were)\s+(?:conducted|completed|administered|"
        r"distributed|carried\s+out|fielded|deployed|launched|performed|sent|posted)\b",
        r"\b(?:conducted|administered|completed|distributed|fielded|launched|answered|"
        r"responded\s+to|took)\s+(?:a|an|the|our)\s+(?:[\w-]+\s+){0,6}(?:survey|questionnaire|"
        r"scale|inventory|instrument)s?\b",
        r"\b(?:(?:exploratory|confirmatory)\s+factor\s+analys[ie]s|cronbach|internal\s+"
        r"consistency|psychometric\s+(?:properties|evaluation|validation)|test-retest|"
        r"(?:construct|convergent|discriminant)\s+validity)\b",
        r"\b(?:online|web-based|internet|anonymous|national|nationwide|household|telephone|postal|"
        r"crowdsourced|community-based|clinical|self-administered|structured|population-based)"
        r"\s+(?:[\w-]+\s+)?(?:surveys?|questionnaires?)\b",
        r"\b(?:amazon\s+)?mechanical\s+turk\b",
        r"\bmturk\b",
    ),
    _cue(
        CS,
        3,
        "identified included analyzed analysed reviewed reported",
        # "A total of 52 exposure cases were identified": a series analysed as a population.
        r"\b(?:exposures|exposure\s+cases|cases|calls|deaths|reports|decedents)\s+(?:were|was)\s+"
        r"(?:\w+\s+)?(?:identified|included|analy[sz]ed|reviewed)\b",
        r"\b(?:exposures?|cases|calls|reports|deaths)\s+(?:\w+\s+){0,3}reported\s+to\b",
    ),
    _cue(CS, 3, "survey surveys", r"\bsurveys?\b", where="title"),
    _cue(
        CS,
        3,
        "respondents respondent survey retrospective examiner coroner coroners autopsy "
        "certificates "
        "postmortem toxicology",
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
        "survey surveys convenience snowball quota stratified probability snowballing",
        r"\bsurveys?\b",
        r"\b(?:convenience|snowball|quota|stratified|probability)\s+sampl(?:e|es|ing)\b",
        r"\bsnowballing\b",
        where="abstract",
    ),
    # qualitative: interviews, focus groups, analysis of texts and online posts
    _cue(
        QUAL,
        5,
        "qualitative structured semistructured depth focus grounded phenomenological phenomenology "
        "ethnography ethnographic ethnographically inquiry framework",
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
        "thematic thematically themes theme content inductive inductively",
        r"\bthematic(?:ally)?\s+(?:analysis|analy[sz]ed|coding|synthesis)\b",
        r"\bthemes?\s+(?:that\s+)?(?:emerged|were\s+(?:identified|generated|developed|derived))\b",
        r"\banaly[sz]ed\s+(?:\w+\s+){0,2}for\s+themes\b",
        r"\bcontent\s+analysis\b",
        r"\binductive(?:ly)?\s+(?:coded|coding|analysis)\b",
    ),
    # Analyses of online posts are qualitative by rule, even when they count posts.
    _cue(
        QUAL,
        4.5,
        "reddit subreddit subreddits twitter tweets youtube facebook instagram tiktok bluelight "
        "erowid forum forums discussion discussions social community communities cybercommunity "
        "cybercommunities generated experience trip posts comments threads messages mentions "
        "narratives testimonials",
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
        2,
        "qualitative interviews interviewed",
        r"\bqualitative\b(?!ly)",
        r"\binterview(?:s|ed)\b",
    ),
    # case_report: one patient or a small series of described patients
    _cue(
        CASE,
        5,
        "case report",
        r"\bcase\s+(?:report|study|series|presentation|description|vignette)s?\b",
        r"\ba\s+case\s+of\b",
        r"\breport\s+of\s+(?:a|an|two|three|four|five)\s+(?:\w+\s+)?cases?\b",
        where="title",
    ),
    _cue(
        CASE,
        4,
        "case report present describe discuss",
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
        "old his her newborn neonate infant",
        # "a 52-year-old man": one person described, unlike "adults aged 18 years or older".
        r"\b(?:a|an)\s+(?:\d{1,3}|[a-z]+(?:-[a-z]+)?)[-\s]?(?:year|month|week|day)s?-?\s?old\s+"
        r"(?:[\w-]+\s+){0,2}(?:man|woman|male|female|boy|girl|patient|gentleman|lady|infant|"
        r"neonate|veteran|mother|caucasian|african|white|hispanic|asian)\b",
        r"\b(?:a|an)\s+(?:\w+\s+)?(?:man|woman|male|female|patient)\s+in\s+(?:his|her)\s+(?:\d0s|"
        r"twenties|thirties|forties|fifties|sixties|seventies|eighties)\b",
        r"\b(?:a|one)\s+(?:newborn|neonate|term\s+infant|preterm\s+infant|infant)\s+"
        r"(?:\w+\s+){0,2}(?:was|who|presented|with|born)\b",
    ),
    _cue(CASE, 3, "case", r"\bcase\s+(?:series|report)\b", where="abstract"),
    _cue(
        CASE,
        2.5,
        "presented autopsy postmortem",
        r"\bpresented\s+to\s+(?:the|our|an)\s+(?:[\w-]+\s+){0,2}(?:department|clinic|hospital|"
        r"ed|er|emergency)\b",
        r"\bpresented\s+with\s+(?:a\s+)?(?:[\w-]+\s+){0,3}(?:history|symptoms|signs|"
        r"complaints?|pain|seizures?)\b",
        r"\bautopsy\s+(?:findings|revealed|showed)\b",
        r"\bpostmortem\s+(?:blood|femoral|peripheral|concentrations?)\b",
    ),
    # narrative_review: a review without a stated systematic search
    _cue(
        NREV,
        4,
        "review reviews",
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
        "review reviewed reviews summarize summarise summarized summarised discuss discussed "
        "discusses highlight highlighted overview summarizes summarises describes outlines "
        "provides update synthesis",
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
        "review synthesis overview summary",
        r"\b(?:review|synthesis|overview|summary)\s+of\s+(?:the\s+)?(?:available|current|"
        r"existing|published|recent)\s+(?:literature|evidence|research|studies|data|knowledge)\b",
    ),
    _cue(
        NREV,
        2.5,
        "overview state current directions update primer",
        r"\b(?:overview|state\s+of\s+the\s+(?:art|science)|current\s+(?:knowledge|evidence|"
        r"perspectives?|understanding|status)|future\s+directions|an\s+update|primer)\b",
        where="title",
    ),
    # animal: in vivo experiments on non-human animals
    _cue(
        ANIMAL,
        4,
        _SPECIES_WORDS,
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
        _SPECIES_WORDS + " model models vivo",
        r"\b(?:male|female|adult|adolescent|juvenile|pregnant|neonatal|young|aged|naive|"
        r"wild-type|knockout|transgenic)\s+(?:and\s+female\s+)?(?:[\w/()-]+\s+){0,3}"
        + _SPECIES
        + r"\b"
        + _TISSUE_AFTER,
        r"\bin\s+" + _SPECIES + r"\b" + _TISSUE_AFTER,
        r"\b(?:animal|rodent|mouse|mice|rat|murine|zebrafish|invertebrate|in\s+vivo|preclinical|"
        r"canine|primate)\s+models?\b",
        r"\bin\s+vivo\b",
    ),
    _cue(
        ANIMAL,
        3.5,
        "tail tailflick hot hotplate tailpinch forced forcedswim open openfield elevated morris "
        "place "
        "self discrimination intellicage rotarod novel light marble von writhing catalepsy "
        "sucrose passive step climbing jumping",
        r"\b(?:tail-?\s?flick|hot-?\s?plate|tail-?\s?pinch|forced-?\s?swim(?:ming)?|tail-?\s?"
        r"suspension|open-?\s?field|elevated\s+plus-?\s?maze|morris\s+water\s+maze|(?:conditioned"
        r"\s+)?place\s+(?:preference|conditioning|aversion)|self-administration\s+(?:paradigm|"
        r"procedure|model)|drug\s+discrimination|intellicage|rotarod|novel\s+object|light-dark\s+"
        r"box|marble-?\s?burying|von\s+frey|writhing\s+test|catalepsy|sucrose\s+preference|"
        r"passive\s+avoidance|step-down|climbing\s+behavio(?:u)?r|jumping\s+behavio(?:u)?r)\b",
    ),
    _cue(
        ANIMAL,
        2.5,
        "kg i s intraperitoneal intraperitoneally intracerebroventricular "
        "intracerebroventricularly "
        "intragastric intragastrically gavage",
        r"\b(?:mg|µg|μg|microg)/kg\b",
        r"\b(?:i\.p\.|s\.c\.|i\.c\.v\.)",
        r"\b(?:intraperitoneal(?:ly)?|intracerebroventricular(?:ly)?|intragastric(?:ally)?|"
        r"oral\s+gavage|by\s+gavage)\b",
    ),
    _cue(ANIMAL, 2, _SPECIES_WORDS, r"\b" + _SPECIES + r"\b" + _TISSUE_AFTER),
    # in_vitro: cells, receptors, enzymes, chemistry, products, computation
    _cue(
        INVITRO,
        4.5,
        "silico docking dynamics dynamic quantum density b3lyp qsar pharmacophore computational",
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
        "developed validated established optimized optimised detection quantification "
        "quantitation lloq",
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
        "vitro ileum deferens membranes homogenate homogenates slices organ twitch electrically "
        "vivo "
        "xenopus products product samples sample supplements supplement preparations preparation "
        "sequenced genome transcriptome transcriptomes transcriptomic transcriptomics dna "
        "phylogenetic metabolomics networking testing",
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
    ),
    _cue(
        INVITRO,
        3,
        "cell cells hek hek293 hek293t cho hepg2 hela pc pc12 sy5y caco hcmec hepatocytes oocytes "
        "transfected mtt assay assays ic50 ec50 ki emax radioligand gtp arrestin forskolin patch "
        "clamp patchclamp concentration",
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
    ),
    _cue(
        INVITRO,
        2.5,
        "binding receptor affinity affinities partial full recombinant cytochrome enzyme "
        "inhibitory synthesized synthesised synthetic structure semi semisynthetic "
        "semisynthesis alkaloid alkaloidal chemical phytochemical elemental metal chemotype "
        "chemotypes heavy extraction cytotoxic cytotoxicity antioxidant antibacterial "
        "antimicrobial antifungal antiviral disc disk agar minimum extract extracts compound "
        "compounds alkaloids fraction fractions",
        r"\bbinding\s+affinit(?:y|ies)\b",
        r"\breceptor-?\s?binding\b",
        r"\baffinit(?:y|ies)\s+(?:for|at|to)\b",
        r"\b(?:partial|full)\s+agonis[mt]\b",
        r"\brecombinant\b",
        r"\bcytochrome\s+p450\b",
        r"\benzyme\s+(?:activity|activities|inhibition|kinetics)\b",
        r"\binhibitory\s+(?:effects?|activit(?:y|ies)|potency)\b",
        r"\bsynthesi[sz]ed\b",
        r"\bsynthetic\s+(?:route|method|strategy)\b",
        r"\bstructure-activity\b",
        r"\bsemi-?synthe\w+",
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
        "lc hplc uplc uhplc gc hrms mass chromatography chromatographic nmr icp inductively "
        "spectroscopy spectroscopic tlc hptlc",
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
    # opinion: editorials, comments, letters without new data
    _cue(
        OPINION,
        6,
        "commentary editorial comment letter response reply correspondence viewpoint perspective "
        "opinion in re author",
        r"^(?:commentary|editorial|comment|letter|response|reply|correspondence|viewpoint|"
        r"perspective|opinion|in\s+reply|re|author\s+reply)\b\s*[:.-]",
        where="title",
    ),
    _cue(
        OPINION,
        4.5,
        "commentary editorial viewpoint piece position essay brief letter interest dear response",
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
        "argue contend call expert action",
        r"\b(?:we|i)\s+(?:argue|contend)\b",
        r"\bwe\s+call\s+(?:for|on)\b",
        r"\bexpert\s+(?:forum|panel|meeting|opinion|roundtable)\b",
        r"\bcalls?\s+to\s+action\b",
    ),
    _cue(
        OPINION,
        4.5,
        "issue colleagues",
        r"\bin\s+this\s+issue\b",
        r"\band\s+colleagues\s+(?:report|describe|present|show)\b",
    ),
    _cue(
        OPINION,
        2.5,
        "commentary editorial viewpoint why should case time call",
        r"\b(?:commentary|editorial|viewpoint)\b",
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
        "protocol",
        # "...: protocol for a randomised trial", "a study protocol"; not "a dosing protocol".
        r"\bprotocol\s+(?:for|of)\s+(?:a|an|the)\b",
        r"\b(?:study|trial|review)\s+protocol\b",
        r"^(?:a\s+)?protocol\b",
        r"\ba\s+protocol\W*$",
        where="title",
        role="protocol",
    ),
    _cue(
        OTHER,
        4.5,
        "protocol",
        r"\b(?:this|the\s+present|our)\s+(?:study\s+|trial\s+)?protocol\b",
        r"\bprotocol\s+(?:for|of)\s+(?:a|an)\s+(?:[\w-]+\s+){0,5}(?:trial|study|review)\b",
        r"\bstudy\s+protocol\b",
        role="protocol",
    ),
    _cue(
        OTHER,
        3,
        "will",
        # Future tense describes a study not yet done.
        r"\bwill\s+be\s+(?:\w+\s+)?(?:recruited|randomi[sz]ed|enrolled|assessed|measured|"
        r"collected|conducted|analy[sz]ed|allocated|assigned|followed|compared|evaluated|invited|"
        r"performed|administered)\b",
        r"\bwe\s+will\s+(?:recruit|randomi[sz]e|enrol|enroll|assess|measure|collect|conduct|"
        r"analy[sz]e|compare|evaluate|examine|test|use)\b",
        negatable=False,
        role="future",
    ),
    _cue(
        OTHER,
        4.5,
        "guideline guidelines consensus delphi",
        r"\bguidelines?\b",
        r"\bconsensus\s+(?:statement|recommendations)\b",
        r"\bdelphi\b",
        where="title",
    ),
    # Horticultural and agronomic experiments on the plant itself fit no listed design.
    _cue(
        OTHER,
        4.5,
        "fertilizer fertilizers fertiliser fertilisers greenhouse horticulture horticultural "
        "vegetatively propagation agronomic agronomy irrigation growth photosynthesis "
        "photosynthetic",
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
    ),
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
    "observational study": ((COH, 2), (CS, 2)),
    "case reports": ((CASE, 4.5),),
    "review": ((NREV, 3),),
    "editorial": ((OPINION, 6),),
    "comment": ((OPINION, 4.5),),
    "letter": ((OPINION, 4),),
    "news": ((OPINION, 6),),
    "clinical trial protocol": ((OTHER, 6),),
    "practice guideline": ((OTHER, 5),),
    "guideline": ((OTHER, 5),),
    "published erratum": ((OTHER, 6),),
    "retraction of publication": ((OTHER, 6),),
}

# MeSH descriptors (lowercased, without qualifiers or stars) -> (label, weight).
MESH_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "animals": ((ANIMAL, 2),),
    "disease models, animal": ((ANIMAL, 3.5),),
    "zebrafish": ((ANIMAL, 3.5),),
    "dogs": ((ANIMAL, 3.5),),
    "caenorhabditis elegans": ((ANIMAL, 3.5),),
    "cross-sectional studies": ((CS, 5),),
    "health surveys": ((CS, 3.5),),
    "surveys and questionnaires": ((CS, 3),),
    "cohort studies": ((COH, 5),),
    "prospective studies": ((COH, 4),),
    "longitudinal studies": ((COH, 4),),
    "follow-up studies": ((COH, 4),),
    "case-control studies": ((CC, 5),),
    "qualitative research": ((QUAL, 5),),
    "focus groups": ((QUAL, 5),),
    "social media": ((QUAL, 3),),
    "double-blind method": ((RCT, 4),),
    "cross-over studies": ((RCT, 3),),
    "random allocation": ((RCT, 4),),
    "in vitro techniques": ((INVITRO, 3),),
    "cells, cultured": ((INVITRO, 3),),
    "molecular docking simulation": ((INVITRO, 4),),
    "microsomes, liver": ((INVITRO, 3),),
}
# Families of MeSH descriptors: "Rats, Sprague-Dawley", "Mice, Inbred C57BL".
MESH_PREFIX_CUES: tuple[tuple[str, str, float], ...] = (
    ("mice", ANIMAL, 3.5),
    ("rats", ANIMAL, 3.5),
    ("chromatography", INVITRO, 2),
)


def _index(where: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """Word -> the (cue, pattern) pairs allowed in `where` that need this word."""
    index: dict[str, list[tuple[int, int]]] = {}
    for i, cue in enumerate(CUES):
        if cue.where in ("any", where):
            for j, (_, words) in enumerate(cue.patterns):
                for word in words:
                    # Words are matched against the record's words, whose digits read as 0.
                    index.setdefault(word.translate(DIGITS), []).append((i, j))
    return {word: tuple(pairs) for word, pairs in index.items()}


TITLE_INDEX = _index("title")
ABSTRACT_INDEX = _index("abstract")
