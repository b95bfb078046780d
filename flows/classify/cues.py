"""The precise rule cues: method phrases that say what a paper did.

Each cue is a few alternative regexes over the lowercased text, each with the words its
matches begin with ("randomised randomized", "suicid*": see text.FirstWords). A regex is
tried only when one of those words occurs, and then only where it starts: a regex that
opens with \\b or an alternation is otherwise tried at every character of the abstract.
Where the first words are common ("in", "the"), the words after " / " are words one of
which every match holds ("in / vitro"): the regex is not tried unless one occurs.
tests/test_classify_designs.py checks that these words never hide a match. Topic words
("opioid", "liver", "withdrawal") are never cues.

The model (model.py) reads each label's cue score as a feature, so how far a cue is trusted
is learned; rules.py applies the hard cases of docs/study-designs.md on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.classify.text import FirstWords, words_within
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
class Pattern:
    regex: re.Pattern[str]
    first: FirstWords  # the words its matches begin with: it is tried only where they start
    # Words one of which every match holds, when the first words are common ("in" of "in
    # vitro"): without one of them in the text the pattern is not tried at all.
    needs: FirstWords | None = None


def _pattern(words: str, regex: str) -> Pattern:
    """A pattern from "its first words / words one of which it holds" and its regex."""
    first, _, needs = words.partition("/")
    return Pattern(
        re.compile(regex), FirstWords.parse(first), FirstWords.parse(needs) if needs else None
    )


@dataclass(frozen=True)
class Cue:
    label: str
    weight: float
    patterns: tuple[Pattern, ...]  # alternative wordings, tried in order
    where: str = "any"  # "any", "title" or "abstract"
    negatable: bool = True  # False when the pattern itself is a negation ("not randomized")
    veto_before: re.Pattern[str] | None = None  # searched in the 40 characters before
    veto_after: re.Pattern[str] | None = None  # matched right after
    role: str = ""  # what the cue shows, for rules that need more than a score ("search")


def _cue(
    label: str,
    weight: float,
    *patterns: tuple[str, str],
    where: str = "any",
    negatable: bool = True,
    veto_before: str | None = None,
    veto_after: str | None = None,
    role: str = "",
) -> Cue:
    """One piece of evidence for a label; the patterns, each (its first words, its regex),
    are alternative wordings of it."""
    return Cue(
        label,
        weight,
        tuple(_pattern(words, regex) for words, regex in patterns),
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
_SPECIES = (
    r"(?:mice|mouse|murine|rats?|rodents?|zebrafish|danio\s+rerio|dogs?|beagles?|canines?|"
    r"monkeys?|macaques?|rhesus|(?:non-?human\s+)?primates|cynomolgus|guinea[- ]pigs?|"
    r"rabbits?|hamsters?|gerbils?|piglets?|swine|minipigs?|sheep|goats?|ferrets?|c\.\s?elegans|"
    r"caenorhabditis(?:\s+elegans)?|nematodes?|drosophila|fruit\s+flies|larvae|animals)"
)
_SPECIES_WORDS = (  # the words a match of _SPECIES begins with
    "animals beagle beagles c caenorhabditis canine canines cynomolgus "
    "danio dog dogs drosophila ferret ferrets fruit gerbil gerbils goat "
    "goats guinea hamster hamsters larvae macaque macaques mice minipig "
    "minipigs monkey monkeys mouse murine nematode nematodes non nonhuman "
    "piglet piglets primates rabbit rabbits rat rats rhesus rodent rodents "
    "sheep swine zebrafish"
)
# Tissue taken from an animal and studied in a dish is in vitro work, not an animal study.
_TISSUE_AFTER = (
    r"(?!\s*(?:'s\s+)?(?:ileum|brain|liver|tissues?|cells?|microsomes|hepatocytes|"
    r"vas\s+deferens|plasma|membranes?|neurons|slices|homogenates?|synaptosomes|oocytes))"
)
_HUMAN_SUBJECTS = (
    r"(?:participants|volunteers|subjects|adults|patients|individuals|people|persons|men|women|"
    r"smokers|users|students|children|adolescents|infants|mothers|caregivers|veterans|"
    r"residents|workers|employees|couples|families|athletes|outpatients|inpatients|survivors)"
)
_HUMAN_SUBJECT_WORDS = (
    "adults individuals men participants patients people persons smokers subjects users "
    "volunteers women students children adolescents infants mothers caregivers veterans "
    "residents workers employees couples families athletes outpatients inpatients survivors"
)

CUES: tuple[Cue, ...] = (
    # systematic_review: a stated, reproducible search and selection. A database search alone
    # is not enough (role "search"): rules.py asks for stated criteria too ("selection").
    _cue(
        SR,
        5,
        (
            "systematic systematically",
            r"\bsystematic(?:ally)?\s+(?:literature\s+)?(?:reviews?|reviewed|searche?d?)\b",
        ),
        role="systematic",
    ),
    _cue(
        SR,
        5,
        (
            "meta metaanalysed metaanalyses metaanalysing metaanalysis metaanalyzed "
            "metaanalyzes metaanalyzing metaanalyzis",
            r"\bmeta-?analy[sz](?:is|es|ed|ing)\b",
        ),
        ("prisma", r"\bprisma\b"),
        role="systematic",
    ),
    _cue(
        SR,
        4.5,
        ("mapping rapid scoping umbrella", r"\b(?:scoping|umbrella|rapid|mapping)\s+review\b"),
        role="systematic",
    ),
    _cue(
        SR,
        4.5,
        ("data / source sources", r"\bdata\s+sources?\s*:"),
        ("design", r"\bdesign\s*:\s*systematic\b"),
        role="systematic",
    ),
    _cue(
        SR,
        3,
        (
            "jbi newcastle risk / bias ottawa appraisal",
            r"\b(?:risk\s+of\s+bias|newcastle-ottawa|jbi\s+critical\s+appraisal)\b",
        ),
        (
            "pooled",
            r"\bpooled\s+(?:estimates?|prevalence|analys[ie]s|odds|risks?|effects?|means?|data)\b",
        ),
        role="systematic",
    ),
    _cue(
        SR,
        3.5,
        # "An electronic search was performed using five major databases", "searched PubMed".
        (
            "electronic electronically literature review search searched searches searching "
            "/ database databases pubmed medline embase scopus web psycinfo "
            "psycarticles cinahl cochrane google ovid lilacs proquest sciencedirect "
            "ebscohost",
            r"\b(?:searched|searching|search(?:es)?\s+(?:was|were)\s+(?:performed|conducted|"
            r"carried\s+out|run)|electronic(?:ally)?\s+search\w*|literature\s+search\w*|"
            r"search\s+of|review\s+of\s+the)\b[^.]{0,120}?\b" + _DATABASES + r"\b",
        ),
        (
            "cinahl cochrane database databases ebscohost embase google lilacs "
            "medline ovid proquest psycarticles psycinfo pubmed sciencedirect "
            "scopus web",
            r"\b" + _DATABASES + r"\b[^.]{0,80}?\b(?:(?:was|were)\s+searched|searched)\b",
        ),
        role="search",
    ),
    _cue(
        SR,
        3,
        (
            "full search study titles / strategy strategies selection abstracts text",
            r"\b(?:search\s+strateg(?:y|ies)|study\s+selection|titles\s+and\s+abstracts|full-text\s+"
            r"(?:screening|review|articles))\b",
        ),
        (
            "articles papers publications records reports studies / screened met",
            r"\b(?:studies|articles|records|papers|publications|reports)\s+(?:were\s+)?(?:screened|"
            r"met\s+(?:the\s+)?(?:inclusion|eligibility)\s+criteria)\b",
        ),
        # "77 articles were retrieved, and 11 ... were analyzed": a count of what the search
        # found (27 of 28 such papers in dev and the external corpus are systematic reviews).
        (
            "articles papers publications records reports studies "
            "/ retrieved identified included selected eligible",
            r"\b(?:studies|articles|records|papers|publications|reports)\s+(?:were\s+)?"
            r"(?:retrieved|identified|included|selected|eligible)\b",
        ),
        role="selection",
    ),
    _cue(
        SR,
        2,
        (
            "eligibility inclusion pre predefined",
            r"\b(?:inclusion\s+and\s+exclusion|inclusion|eligibility|predefined|pre-defined)\s+"
            r"criteria\b",
        ),
        role="selection",
    ),
    # rct: random allocation or placebo control in humans
    _cue(
        RCT,
        5,
        (
            "randomised randomized",
            r"(?<!non-)(?<!non)\brandomi[sz]ed,?\s+(?:[\w-]+,?\s+){0,2}?(?:controlled|clinical|"
            r"placebo|double|single|triple|crossover|cross-over|trial|parallel|blinded|"
            r"within-subjects?|between-subjects?)\b",
        ),
        ("placebo placebocontrolled", r"\bplacebo-?\s?controlled\b"),
        (
            # "448 patients with schizophrenia (73%) or schizoaffective disorder (27%) were
            # randomized": up to ten words between, none ending a sentence. "The students were
            # randomly divided into two groups" is the same allocation.
            _HUMAN_SUBJECT_WORDS + " / randomised randomized randomly",
            r"\b" + _HUMAN_SUBJECTS + r"\s+(?:[^\s;]*[^\s.;]\s+){0,10}?(?:were|was)\s+"
            r"(?:randomi[sz]ed|randomly\s+(?:assigned|allocated|divided|distributed|split))\b",
        ),
        # Allocation at random to an arm or to placebo, in one clause: animal studies give
        # vehicle, not placebo (20 such papers in dev and the external corpus, 19 of them RCTs
        # and one a trial protocol).
        (
            "randomised randomized randomly / placebo",
            r"(?<!non-)(?<!non)\b(?:randomi[sz]ed|randomly\s+(?:assigned|allocated))\s+(?:to|into|"
            r"in)\s+[^.;]{0,100}?\bplacebo\b",
        ),
        # "They were randomized to blindly either receive propofol ... or not", "patients
        # randomized to either routine or selective testing": the arms named (20 papers in
        # dev and the external corpus: 17 RCTs, two protocols, both still labelled `other`,
        # and one rat study).
        (
            "randomised randomized randomly / either",
            r"(?<!non-)(?<!non)\b(?:randomi[sz]ed|randomly\s+(?:assigned|allocated))\s+"
            r"(?:\w+\s+){0,2}(?:to|into)\s+(?:\w+\s+){0,2}either\b",
        ),
        (
            "placebo / randomised randomized randomly",
            r"\bplacebo\b[^.;]{0,100}?(?<!non-)(?<!non)\b(?:randomi[sz]ed|randomly\s+"
            r"(?:assigned|allocated))\b",
        ),
    ),
    _cue(
        RCT,
        4,
        (
            "double doubleblind doubleblinded single singleblind singleblinded "
            "triple tripleblind tripleblinded",
            r"\b(?:double|triple|single)-?\s?blind(?:ed)?\b",
        ),
        (
            "assessor assessors rater raters evaluator evaluators observer observers",
            r"\b(?:assessor|rater|evaluator|observer)s?[- ](?:blind(?:ed)?|masked)\b",
        ),
        # A wait-list control group is the comparison arm of a trial of a treatment.
        (
            "wait waitlist waitlisted / control condition group",
            r"\bwait-?\s?list(?:ed)?\s+(?:control|condition|group)\b",
        ),
    ),
    # Animal studies also assign groups at random, so bare randomisation is a weaker cue.
    _cue(
        RCT,
        3,
        (
            "randomisation randomised randomization randomized",
            r"(?<!non-)(?<!non)\brandomi[sz](?:ed|ation)\b",
        ),
        ("randomly", r"\brandomly\s+(?:assigned|allocated)\b"),
        ("placebo", r"\bplacebo\b"),
        ("cross crossover", r"\b(?:crossover|cross-over)\s+(?:design|study|trial)\b"),
        ("rct rcts", r"\brcts?\b"),
        # Mendelian randomisation is genetic epidemiology, not allocation.
        veto_before=r"mendelian\s+$",
    ),
    # non_randomised_trial: humans dosed by the investigators, not randomised
    _cue(
        NRT,
        4.5,
        ("open openlabel", r"\bopen-?\s?label\b"),
        (
            "single singlearm singlegroup",
            r"\bsingle-?\s?(?:arm|group)\s+(?:\w+\s+)?(?:trial|study|design)\b",
        ),
        ("non nonrandomised nonrandomized", r"\bnon-?\s?randomi[sz]ed\b"),
        (
            "not without / randomised randomized",
            r"\b(?:not|without)\s+(?:being\s+)?randomi[sz]ed\b",
        ),
        ("unblinded", r"\bunblinded\b"),
        (
            "without / blinding randomisation randomization control",
            r"\bwithout\s+(?:blinding|randomi[sz]ation|a\s+control\s+group)\b",
        ),
        ("uncontrolled", r"\buncontrolled\s+(?:trial|study)\b"),
        negatable=False,
    ),
    _cue(
        NRT,
        3.5,
        (
            "phase",
            r"\bphase\s+(?:1|i|one|2|ii|two|1/2|i/ii)[ab]?\s+(?:clinical\s+)?(?:study|trial)\b",
        ),
        (
            "healthy / volunteers participants subjects adults men women",
            r"\bhealthy\s+(?:\w+\s+){0,2}(?:volunteers|participants|subjects|adults|men|women)\b",
        ),
        (
            "administered dosed given / volunteers participants subjects adults patients",
            r"\b(?:administered|given|dosed)\s+(?:\w+\s+){0,3}to\s+(?:\w+\s+){0,3}(?:volunteers|"
            r"participants|subjects|adults|patients)\b",
        ),
    ),
    _cue(
        NRT,
        3,
        (
            "dosing experimental human laboratory / laboratory session sessions",
            r"\b(?:human\s+laboratory|laboratory\s+sessions?|dosing\s+sessions?|experimental\s+"
            r"sessions?)\b",
        ),
        ("clinical / pharmacokinetic*", r"\bclinical\s+pharmacokinetic"),
        (
            "pharmacokinetic pharmacokinetics / humans volunteers participants subjects adults",
            r"\bpharmacokinetics?\s+(?:\w+\s+){0,3}in\s+(?:\w+\s+){0,2}(?:humans|volunteers|"
            r"participants|subjects|adults)\b",
        ),
        ("first / human", r"\bfirst-in-human\b"),
    ),
    # cohort: people followed over time
    _cue(
        COH,
        5,
        ("cohort", r"\bcohort\s+(?:study|studies|design|analysis)\b"),
        (
            "birth historical inception longitudinal matched population prospective "
            "registry retrospective "
            "/ cohort",
            r"\b(?:prospective|retrospective|longitudinal|population-based|birth|matched|"
            r"historical|inception|registry-based)\s+cohort\b",
        ),
    ),
    _cue(
        COH,
        4.5,
        (
            "a / cohort",
            r"\ba\s+cohort\s+of\s+(?:\d[\d,]*\s+)?(?:\w+\s+){0,2}(?:patients|participants|adults|"
            r"people|individuals|users|veterans|women|men|children|adolescents|infants)\b",
        ),
        ("were / followed", r"\bwere\s+followed(?:\s+up)?\b(?!\s+by\b)"),
        ("followed", r"\bfollowed\s+(?:up\s+)?(?:prospectively|longitudinally)\b"),
        ("lost", r"\blost\s+to\s+follow-?\s?up\b"),
        (
            "average mean median / follow followup",
            r"\b(?:median|mean|average)\s+(?:duration\s+of\s+)?follow-?\s?up\b",
        ),
        ("hazard", r"\bhazard\s+ratios?\b"),
        ("kaplan kaplanmeier", r"\bkaplan-?\s?meier\b"),
        ("cox", r"\bcox\s+(?:proportional|regression|model)\b"),
        ("person personyears", r"\bperson-?\s?years\b"),
    ),
    _cue(
        COH,
        3,
        (
            "follow followup",
            r"\bfollow-?\s?up\s+(?:period|visits?|assessments?|interviews?|surveys?|rates?|data)\b",
        ),
        (
            "longitudinal longitudinally",
            r"\blongitudinal(?:ly)?\s+(?:study|studies|data|analysis|design|survey|panel|"
            r"assessments?)\b",
        ),
        (
            "prospective prospectively",
            r"\bprospective(?:ly)?\s+(?:study|studies|followed|enrolled|recruited|collected|"
            r"observational)\b",
        ),
    ),
    # case_control: cases with the outcome compared with controls without it
    _cue(
        CC,
        5,
        ("case casecontrol", r"\bcase-?\s?control\b"),
        ("cases / controls", r"\bcases\s+and\s+(?:\w+\s+)?controls\b"),
        ("matched", r"\bmatched\s+controls?\b"),
        ("controls", r"\bcontrols\s+(?:were\s+)?matched\s+(?:for|on|by)\b"),
    ),
    # cross_sectional: one-time surveys, population data, report databases
    _cue(CS, 5, ("cross crosssectional", r"\bcross-?\s?sectional\b")),
    _cue(
        CS,
        4,
        (
            "brfss global monitoring national nesarc nhanes nsduh yrbs yrbss "
            "/ nsduh nhanes future brfss yrbs yrbss survey nesarc",
            r"\b(?:national\s+survey\s+on\s+drug\s+use\s+and\s+health|nsduh|nhanes|monitoring\s+the"
            r"\s+future|brfss|yrbss?|global\s+drug\s+survey|nesarc|national\s+health\s+interview"
            r"\s+survey)\b",
        ),
        (
            "adverse caers drug faers medwatch national nflis npds poison toxic toxicology vaers "
            "/ poison npds faers reporting vaers caers medwatch surveillance "
            "warning nflis",
            r"\b(?:national\s+poison\s+data\s+system|npds|poison\s+(?:control\s+|information\s+)?"
            r"(?:cent(?:er|re)s?)|faers|adverse\s+event\s+reporting\s+system|vaers|caers|medwatch|"
            r"toxic(?:ology)?\s+surveillance|drug\s+abuse\s+warning\s+network|nflis)\b",
        ),
        (
            "disproportionality eudravigilance individual pharmacovigilance "
            "reporting spontaneous vigibase "
            "/ vigibase eudravigilance pharmacovigilance disproportionality odds "
            "reports",
            r"\b(?:vigibase|eudravigilance|pharmacovigilance|disproportionality|reporting\s+odds\s+"
            r"ratios?|spontaneous\s+reports|individual\s+case\s+safety\s+reports)\b",
        ),
        (
            "cdc national nationally nationwide nhamcs nvdrs weighted",
            r"\b(?:nationwide\s+emergency\s+department\s+sample|national\s+(?:inpatient|emergency\s+"
            r"department)\s+sample|nhamcs|nvdrs|cdc\s+wonder|national\s+vital\s+statistics|"
            r"nationally\s+representative|weighted\s+(?:national\s+)?estimates)\b",
        ),
    ),
    # A survey is a tool; it implies a cross-sectional design unless people are followed up.
    _cue(
        CS,
        3.5,
        (
            "survey surveys",
            r"\bsurveys?\s+(?:[\w-]+\s+){0,6}(?:was|were)\s+(?:conducted|completed|administered|"
            r"distributed|carried\s+out|fielded|deployed|launched|performed|sent|posted)\b",
        ),
        (
            "administered answered completed conducted distributed fielded launched responded took "
            "/ survey surveys questionnaire questionnaires scale scales inventory "
            "inventorys instrument instruments",
            r"\b(?:conducted|administered|completed|distributed|fielded|launched|answered|"
            r"responded\s+to|took)\s+(?:a|an|the|our)\s+(?:[\w-]+\s+){0,6}(?:survey|questionnaire|"
            r"scale|inventory|instrument)s?\b",
        ),
        (
            "confirmatory construct convergent cronbach discriminant exploratory "
            "internal psychometric test "
            "/ factor cronbach consistency properties evaluation validation retest "
            "validity",
            r"\b(?:(?:exploratory|confirmatory)\s+factor\s+analys[ie]s|cronbach|internal\s+"
            r"consistency|psychometric\s+(?:properties|evaluation|validation)|test-retest|"
            r"(?:construct|convergent|discriminant)\s+validity)\b",
        ),
        (
            "anonymous clinical community crowdsourced household internet national "
            "nationwide online population postal self structured telephone web "
            "/ survey surveys questionnaire questionnaires",
            r"\b(?:online|web-based|internet|anonymous|national|nationwide|household|telephone|postal|"
            r"crowdsourced|community-based|clinical|self-administered|structured|population-based)"
            r"\s+(?:[\w-]+\s+)?(?:surveys?|questionnaires?)\b",
        ),
        ("amazon mechanical", r"\b(?:amazon\s+)?mechanical\s+turk\b"),
        ("mturk", r"\bmturk\b"),
    ),
    _cue(
        CS,
        3,
        # "A total of 52 exposure cases were identified": a series analysed as a population.
        (
            "calls cases deaths decedents exposure exposures reports "
            "/ identified included analysed analyzed reviewed",
            r"\b(?:exposures|exposure\s+cases|cases|calls|deaths|reports|decedents)\s+(?:were|was)\s+"
            r"(?:\w+\s+)?(?:identified|included|analy[sz]ed|reviewed)\b",
        ),
        (
            "calls cases deaths exposure exposures reports / reported",
            r"\b(?:exposures?|cases|calls|reports|deaths)\s+(?:\w+\s+){0,3}reported\s+to\b",
        ),
    ),
    _cue(CS, 3, ("survey surveys", r"\bsurveys?\b"), where="title"),
    _cue(
        CS,
        3,
        ("respondent respondents", r"\brespondents?\b"),
        ("survey", r"\bsurvey\s+(?:data|responses|results)\b"),
        # Poison-centre / FAERS / medical-examiner series are cross-sectional by rule.
        ("retrospective", r"\bretrospective\s+(?:analysis|review|study|evaluation|examination)\b"),
        (
            "autopsy coroner coroners death medical postmortem toxicology "
            "/ examiner coroner coroners reports cases records database "
            "certificates",
            r"\b(?:medical\s+examiner|coroners?|autopsy\s+(?:reports|cases|records|database)|death\s+"
            r"certificates|postmortem\s+(?:toxicology\s+)?(?:reports|cases|records)|toxicology\s+"
            r"(?:reports|records|database))\b",
        ),
    ),
    _cue(
        CS,
        2,
        ("survey surveys", r"\bsurveys?\b"),
        (
            "convenience probability quota snowball stratified",
            r"\b(?:convenience|snowball|quota|stratified|probability)\s+sampl(?:e|es|ing)\b",
        ),
        ("snowballing", r"\bsnowballing\b"),
        where="abstract",
    ),
    # qualitative: interviews, focus groups, analysis of texts and online posts
    _cue(
        QUAL,
        5,
        (
            "qualitative",
            r"\bqualitative\s+(?:study|studies|research|interviews?|approach|methods?|methodology|"
            r"design|inquiry|data|analys[ie]s|component|descriptive|exploration|exploratory|"
            r"content|thematic|case\s+study)\b",
        ),
        ("semi semistructured", r"\bsemi-?\s?structured\s+(?:\w+\s+)?interviews?\b"),
        ("in / depth", r"\bin-depth\s+(?:\w+\s+)?interviews?\b"),
        ("focus", r"\bfocus\s+groups?\b"),
        ("grounded", r"\bgrounded\s+theory\b"),
        ("interpretative interpretive", r"\binterpre(?:ta)?tive\s+phenomenolog\w+\b"),
        ("ethnograph*", r"\bethnograph\w+\b"),
        ("narrative", r"\bnarrative\s+inquiry\b"),
        ("framework", r"\bframework\s+analysis\b"),
        # "qualitative analysis of alkaloids" is chemistry.
        veto_after=r"\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:alkaloids?|compounds?|constituents|"
        r"extracts?|samples?|metabolites?|mitragynine)",
    ),
    _cue(
        QUAL,
        4.5,
        (
            "thematic thematically",
            r"\bthematic(?:ally)?\s+(?:analysis|analy[sz]ed|coding|synthesis)\b",
        ),
        (
            "theme themes",
            r"\bthemes?\s+(?:that\s+)?(?:emerged|were\s+(?:identified|generated|developed|derived))\b",
        ),
        ("analysed analyzed", r"\banaly[sz]ed\s+(?:\w+\s+){0,2}for\s+themes\b"),
        ("content", r"\bcontent\s+analysis\b"),
        ("inductive inductively", r"\binductive(?:ly)?\s+(?:coded|coding|analysis)\b"),
    ),
    # Analyses of online posts are qualitative by rule, even when they count posts.
    _cue(
        QUAL,
        4.5,
        (
            "bluelight cybercommunities cybercommunity discussion drugs erowid "
            "experience facebook forum instagram internet online reddit social "
            "subreddit subreddits tiktok trip tweets twitter user youtube "
            "/ reddit subreddit subreddits twitter tweets youtube facebook "
            "instagram tiktok bluelight erowid forum forums board boards thread "
            "threads posts media community communities cybercommunity "
            "cybercommunities discussions comments narratives testimonials "
            "generated reports",
            r"\b(?:reddit|subreddits?|twitter|tweets|youtube|facebook|instagram|tiktok|bluelight|"
            r"erowid(?:\.org)?|drugs-forum|online\s+forums?|internet\s+forums?|discussion\s+(?:forums?|"
            r"boards?|threads?)|forum\s+posts|social\s+media\s+(?:posts|data|content|platforms?|"
            r"discussions?)|online\s+communit(?:y|ies)|cybercommunit(?:y|ies)|online\s+(?:posts|"
            r"discussions|comments|narratives|testimonials)|user-generated|experience\s+reports|"
            r"trip\s+reports)\b",
        ),
        (
            "comments mentions messages narratives posts testimonials threads",
            r"\b(?:posts|comments|threads|messages|mentions|narratives|testimonials)\s+(?:on|from|"
            r"posted|were\s+(?:collected|analy[sz]ed|coded|extracted))\b",
        ),
    ),
    _cue(
        QUAL,
        2,
        ("qualitative", r"\bqualitative\b(?!ly)"),
        ("interviewed interviews", r"\binterview(?:s|ed)\b"),
    ),
    # case_report: one patient or a small series of described patients
    _cue(
        CASE,
        5,
        ("case", r"\bcase\s+(?:report|study|series|presentation|description|vignette)s?\b"),
        ("a / case", r"\ba\s+case\s+of\b"),
        ("report", r"\breport\s+of\s+(?:a|an|two|three|four|five)\s+(?:\w+\s+)?cases?\b"),
        where="title",
    ),
    _cue(
        CASE,
        4,
        (
            "a our the this / case",
            r"\b(?:this|our|the\s+present|the\s+current|a)\s+case\s+(?:report|series|study|"
            r"presentation)\b",
        ),
        (
            "case / report description presentation summary history",
            r"\bcase\s+(?:report|description|presentation|summary|history)\s*:",
        ),
        ("in / case", r"\bin\s+(?:this|our)\s+case\b"),
        (
            "this / case report",
            r"\bthis\s+(?:case|report)\s+(?:describes|presents|highlights|illustrates|underscores|"
            r"demonstrates)\b",
        ),
        (
            "we / report present describe discuss",
            r"\bwe\s+(?:report|present|describe|discuss)\s+(?:a|an|the|two|three|four|five|one|our|"
            r"\d)\s+(?:[\w-]+\s+){0,5}?(?:case|cases|patient|patients|man|woman|male|female|boy|"
            r"girl|infant|neonate|newborn|child|adolescent|individual|death|fatality|fatalities|"
            r"mother)\b",
        ),
        (
            "describe present report / case cases",
            r"\b(?:report|present|describe)\s+(?:the\s+)?(?:first\s+)?cases?\s+of\b",
        ),
        ("this / first", r"\bthis\s+is\s+the\s+first\s+(?:case\s+)?report\b"),
    ),
    _cue(
        CASE,
        3.5,
        # "a 52-year-old man": one person described, unlike "adults aged 18 years or older".
        (
            "a an / ~old",
            r"\b(?:a|an)\s+(?:\d{1,3}|[a-z]+(?:-[a-z]+)?)[-\s]?(?:year|month|week|day)s?-?\s?old\s+"
            r"(?:[\w-]+\s+){0,2}(?:man|woman|male|female|boy|girl|patient|gentleman|lady|infant|"
            r"neonate|veteran|mother|caucasian|african|white|hispanic|asian)\b",
        ),
        (
            "a an / his her",
            r"\b(?:a|an)\s+(?:\w+\s+)?(?:man|woman|male|female|patient)\s+in\s+(?:his|her)\s+(?:\d0s|"
            r"twenties|thirties|forties|fifties|sixties|seventies|eighties)\b",
        ),
        (
            "a one / newborn neonate infant",
            r"\b(?:a|one)\s+(?:newborn|neonate|term\s+infant|preterm\s+infant|infant)\s+"
            r"(?:\w+\s+){0,2}(?:was|who|presented|with|born)\b",
        ),
    ),
    _cue(CASE, 3, ("case", r"\bcase\s+(?:series|report)\b"), where="abstract"),
    _cue(
        CASE,
        2.5,
        (
            "presented / department clinic hospital ed er emergency",
            r"\bpresented\s+to\s+(?:the|our|an)\s+(?:[\w-]+\s+){0,2}(?:department|clinic|hospital|"
            r"ed|er|emergency)\b",
        ),
        (
            "presented / history symptoms signs complaint complaints pain seizure seizures",
            r"\bpresented\s+with\s+(?:a\s+)?(?:[\w-]+\s+){0,3}(?:history|symptoms|signs|"
            r"complaints?|pain|seizures?)\b",
        ),
        ("autopsy", r"\bautopsy\s+(?:findings|revealed|showed)\b"),
        ("postmortem", r"\bpostmortem\s+(?:blood|femoral|peripheral|concentrations?)\b"),
    ),
    # narrative_review: a review without a stated systematic search
    _cue(
        NREV,
        4,
        ("review reviews", r"\breviews?\b"),
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
        (
            "brief briefreview clinical clinicalreview comprehensive "
            "comprehensivereview critical criticalreview historical "
            "historicalreview insight insightreview literature literaturereview "
            "mini minireview narrative narrativereview selective selectivereview "
            "updated updatedreview "
            "/ review briefreview clinicalreview comprehensivereview criticalreview "
            "historicalreview insightreview literaturereview minireview "
            "narrativereview selectivereview updatedreview",
            r"\b(?:narrative|literature|comprehensive|critical|mini|brief|clinical|historical|"
            r"selective|updated|insight)-?\s?review\b",
        ),
        (
            "our present the this / review",
            r"\b(?:this|the\s+present|the\s+current|our|present)\s+(?!retrospective|chart|record|"
            r"systematic|scoping|umbrella|rapid)(?:\w+\s+)?review\b",
        ),
        (
            "we "
            "/ reviewed review summarised summarized summarise summarize discuss "
            "discussed highlight highlighted overview",
            r"\bwe\s+(?:have\s+)?(?:aim\s+to\s+|will\s+)?(?:review(?:ed)?|summari[sz]ed?|"
            r"discuss(?:ed)?|highlight(?:ed)?|overview)\b",
        ),
        (
            "will / discuss review summarise summarize highlight",
            r"\bwill\s+(?:discuss|review|summari[sz]e|highlight)\b",
        ),
        (
            "our the this / article paper manuscript chapter overview",
            r"\b(?:this|the\s+present|the\s+current|our)\s+(?:article|paper|manuscript|chapter|"
            r"overview)\s+(?:reviews|summari[sz]es|discusses|describes|outlines|provides\s+an?"
            r"\s+(?:overview|update|summary|synthesis))\b",
        ),
        (
            "present presents provide provides providing / overview update synthesis",
            r"\b(?:provide|provides|providing|present|presents)\s+an?\s+(?:brief\s+|comprehensive\s+"
            r"|integrated\s+|updated\s+|critical\s+|concise\s+)?(?:overview|update|synthesis)\b",
        ),
        veto_before=r"systematic\s+$",
        # "we reviewed the medical records" is a chart review, not a literature review.
        veto_after=r"\s+(?:the\s+)?(?:medical\s+|electronic\s+|health\s+)?(?:records|charts|"
        r"files|case\s+notes)",
    ),
    _cue(
        NREV,
        3,
        (
            "overview review summary synthesis / available current existing published recent",
            r"\b(?:review|synthesis|overview|summary)\s+of\s+(?:the\s+)?(?:available|current|"
            r"existing|published|recent)\s+(?:literature|evidence|research|studies|data|knowledge)\b",
        ),
    ),
    _cue(
        NREV,
        2.5,
        (
            "an current future overview primer state",
            r"\b(?:overview|state\s+of\s+the\s+(?:art|science)|current\s+(?:knowledge|evidence|"
            r"perspectives?|understanding|status)|future\s+directions|an\s+update|primer)\b",
        ),
        where="title",
    ),
    # animal: in vivo experiments on non-human animals
    _cue(
        ANIMAL,
        4,
        (
            _SPECIES_WORDS,
            r"\b" + _SPECIES + r"\s+(?:\(\w+\)\s+)?(?:were|was)\s+(?:[\w-]+\s+){0,3}(?:treated|"
            r"administered|given|injected|dosed|exposed|fed|gavaged|pretreated|trained|tested|"
            r"implanted|rendered|randomly|divided|assigned|housed|subjected|allocated|sacrificed|"
            r"euthani[sz]ed|decapitated|an(?:a)?esthetized|used)\b",
        ),
        (
            _SPECIES_WORDS,
            r"\b" + _SPECIES + r"\s+(?:received|receiving|treated\s+with|exposed\s+to|injected\s+"
            r"with)\b",
        ),
    ),
    _cue(
        ANIMAL,
        3.5,
        (
            "adolescent adult aged female juvenile knockout male naive neonatal "
            "pregnant transgenic wild young / " + _SPECIES_WORDS,
            r"\b(?:male|female|adult|adolescent|juvenile|pregnant|neonatal|young|aged|naive|"
            r"wild-type|knockout|transgenic)\s+(?:and\s+female\s+)?(?:[\w/()-]+\s+){0,3}"
            + _SPECIES
            + r"\b"
            + _TISSUE_AFTER,
        ),
        (
            "in / " + _SPECIES_WORDS,
            r"\bin\s+" + _SPECIES + r"\b" + _TISSUE_AFTER,
        ),
        (
            "animal canine in invertebrate mice mouse murine preclinical primate "
            "rat rodent zebrafish "
            "/ model models",
            r"\b(?:animal|rodent|mouse|mice|rat|murine|zebrafish|invertebrate|in\s+vivo|preclinical|"
            r"canine|primate)\s+models?\b",
        ),
        ("in / vivo", r"\bin\s+vivo\b"),
    ),
    _cue(
        ANIMAL,
        3.5,
        (
            "catalepsy climbing conditioned drug elevated forced forcedswim "
            "forcedswimming hot hotplate intellicage jumping light marble "
            "marbleburying morris novel open openfield passive place rotarod self "
            "step sucrose tail tailflick tailpinch tailsuspension von writhing "
            "/ flick tailflick plate hotplate pinch tailpinch swim swimming "
            "forcedswim forcedswimming suspension tailsuspension field openfield "
            "maze plusmaze preference conditioning aversion administration "
            "discrimination intellicage rotarod object dark box burying "
            "marbleburying frey writhing catalepsy avoidance down behavior "
            "behaviour",
            r"\b(?:tail-?\s?flick|hot-?\s?plate|tail-?\s?pinch|forced-?\s?swim(?:ming)?|tail-?\s?"
            r"suspension|open-?\s?field|elevated\s+plus-?\s?maze|morris\s+water\s+maze|(?:conditioned"
            r"\s+)?place\s+(?:preference|conditioning|aversion)|self-administration\s+(?:paradigm|"
            r"procedure|model)|drug\s+discrimination|intellicage|rotarod|novel\s+object|light-dark\s+"
            r"box|marble-?\s?burying|von\s+frey|writhing\s+test|catalepsy|sucrose\s+preference|"
            r"passive\s+avoidance|step-down|climbing\s+behavio(?:u)?r|jumping\s+behavio(?:u)?r)\b",
        ),
    ),
    _cue(
        ANIMAL,
        2.5,
        ("mg microg µg μg", r"\b(?:mg|µg|μg|microg)/kg\b"),
        ("i s / ~i.p. ~s.c. ~i.c.v.", r"\b(?:i\.p\.|s\.c\.|i\.c\.v\.)"),
        (
            "by intracerebroventricular intracerebroventricularly intragastric "
            "intragastrically intraperitoneal intraperitoneally oral "
            "/ gavage intraperitoneal intraperitoneally intracerebroventricular "
            "intracerebroventricularly intragastric intragastrically",
            r"\b(?:intraperitoneal(?:ly)?|intracerebroventricular(?:ly)?|intragastric(?:ally)?|"
            r"oral\s+gavage|by\s+gavage)\b",
        ),
    ),
    _cue(
        ANIMAL,
        2,
        (
            _SPECIES_WORDS,
            r"\b" + _SPECIES + r"\b" + _TISSUE_AFTER,
        ),
    ),
    # in_vitro: cells, receptors, enzymes, chemistry, products, computation
    _cue(
        INVITRO,
        4.5,
        ("in / silico", r"\bin\s+silico\b"),
        ("molecular", r"\bmolecular\s+docking\b"),
        ("docking", r"\bdocking\s+(?:studies|study|simulations?|analys[ie]s|scores?)\b"),
        ("molecular", r"\bmolecular\s+dynamics?\b"),
        ("dynamic", r"\bdynamic\s+simulations?\b"),
        ("quantum", r"\bquantum\s+chemical\b"),
        ("density", r"\bdensity\s+functional\b"),
        ("b0lyp", r"\bb3lyp\b"),
        ("qsar", r"\bqsar\b"),
        ("pharmacophore", r"\bpharmacophore\b"),
        (
            "computational",
            r"\bcomputational\s+(?:study|analysis|model(?:ing|ling)?|approach|methods?)\b",
        ),
    ),
    _cue(
        INVITRO,
        4,
        (
            "method methods / developed validated established optimised optimized",
            r"\bmethods?\s+(?:was|were|has\s+been|have\s+been)\s+(?:\w+\s+)?(?:developed|validated|"
            r"established|optimi[sz]ed)\b",
        ),
        (
            "developed validated / method assay",
            r"\b(?:developed|validated)\s+(?:and\s+validated\s+)?(?:a|an)\s+(?:[\w/-]+\s+){0,5}"
            r"(?:method|assay)\b",
        ),
        ("limit limits", r"\blimits?\s+of\s+(?:detection|quantification|quantitation)\b"),
        ("lower / quantification", r"\blower\s+limit\s+of\s+quantification\b"),
        ("lloq", r"\blloq\b"),
        ("validated", r"\bvalidated\s+(?:[\w/-]+\s+){0,2}method\b"),
        ("successfully", r"\bsuccessfully\s+validated\b"),
    ),
    _cue(
        INVITRO,
        3.5,
        ("in / vitro", r"\bin\s+vitro\b"),
        # Organoids are grown in a dish (11 papers in dev and the external corpus, all in vitro).
        ("organoid organoids", r"\borganoids?\b"),
        (
            "guinea guineapig isolated mouse rat "
            "/ ileum vas membranes homogenate homogenates slices",
            r"\b(?:isolated\s+)?(?:guinea-?\s?pig|rat|mouse)\s+(?:ileum|vas\s+deferens|brain\s+"
            r"(?:membranes|homogenates?|slices))\b",
        ),
        ("ileum", r"\bileum\b"),
        ("vas", r"\bvas\s+deferens\b"),
        ("organ", r"\borgan\s+bath\b"),
        ("twitch", r"\btwitch\s+contraction\b"),
        (
            "electrically electricallyinduced electricallystimulated",
            r"\belectrically-?\s?(?:stimulated|induced)\b",
        ),
        ("ex", r"\bex\s+vivo\b"),
        ("xenopus", r"\bxenopus\b"),
        (
            "commercial commercially marketed online purchased retail",
            r"\b(?:commercial(?:ly)?|marketed|retail|purchased|online)\s+(?:available\s+)?"
            r"(?:[\w-]+\s+){0,2}(?:products?|samples?|supplements?|preparations?)\s+(?:were|was)\s+"
            r"(?:\w+\s+)?(?:analy[sz]ed|tested|purchased|obtained|evaluated|screened|examined)\b",
        ),
        ("product products", r"\bproducts?\s+(?:were|was)\s+(?:purchased|analy[sz]ed|tested)\b"),
        (
            "dna genome molecular phylogenetic sequenced transcriptom* untargeted",
            r"\b(?:sequenced|genome\s+(?:sequencing|assembly)|transcriptom\w+|dna\s+barcod\w+|"
            r"phylogenetic\s+analys[ie]s|untargeted\s+metabolomics|molecular\s+networking)\b",
        ),
        ("product", r"\bproduct\s+(?:analys[ie]s|testing)\b"),
        (
            "independent laboratory third / testing",
            r"\b(?:laboratory|third-party|independent)\s+(?:[\w-]+\s+)?testing\b",
        ),
    ),
    _cue(
        INVITRO,
        3,
        ("cell", r"\bcell\s+lines?\b"),
        ("cells", r"\bcells\s+(?:were|was)\b"),
        (
            # "cultured rat oligodendrocyte precursor cells"
            "cultured primary / cells neurons astrocytes microglia oligodendrocytes fibroblasts "
            "cardiomyocytes hepatocytes explants culture cultures",
            r"\b(?:cultured|primary)\s+(?:[\w-]+\s+){0,3}?(?:cells|neurons|astrocytes|microglia|"
            r"oligodendrocytes|fibroblasts|cardiomyocytes|hepatocytes|explants|cultures?)\b",
        ),
        ("cell", r"\bcell\s+(?:cultures?|viability|death|proliferation)\b"),
        ("hek hek000*", r"\bhek-?\s?293\w*"),
        ("cho", r"\bcho(?:-k1)?\s+cells\b"),
        ("hepg0", r"\bhepg2\b"),
        ("hela", r"\bhela\b"),
        ("pc pc00", r"\bpc-?12\b"),
        ("sh", r"\bsh-sy5y\b"),
        ("caco", r"\bcaco-2\b"),
        ("hcmec", r"\bhcmec/d3\b"),
        ("hepatocytes", r"\bhepatocytes\b"),
        ("oocytes", r"\boocytes\b"),
        ("transfected", r"\btransfected\b"),
        ("mtt", r"\bmtt\b"),
        (
            "bidirectional binding bret calcium camp competition cytotoxicity "
            "displacement enzymatic enzyme functional high luminescence radioligand "
            "reporter transport uptake "
            "/ assay assays",
            r"\b(?:binding|functional|luminescence|enzyme|enzymatic|radioligand|competition|"
            r"displacement|cytotoxicity|transport|uptake|reporter|calcium|camp|bret|high-throughput|"
            r"bidirectional\s+transport)\s+assays?\b",
        ),
        ("assay assays", r"\bassays?\s+(?:were|was)\b"),
        ("ic00", r"\bic50\b"),
        ("ec00", r"\bec50\b"),
        ("ki", r"\bki\s+values?\b"),
        ("emax", r"\bemax\b"),
        ("radioligand", r"\bradioligand\b"),
        ("gtp gtpgs", r"\bgtp[γg]s\b"),
        ("β beta betaarrestin*", r"\b(?:β|beta)-?arrestin\w*"),
        ("forskolin", r"\bforskolin\b"),
        ("patch patchclamp", r"\bpatch-?\s?clamp\b"),
        (
            "concentration concentrationdependent concentrationresponse",
            r"\bconcentration-?\s?(?:dependent|response)\b",
        ),
    ),
    _cue(
        INVITRO,
        2.5,
        ("binding", r"\bbinding\s+affinit(?:y|ies)\b"),
        ("receptor receptorbinding", r"\breceptor-?\s?binding\b"),
        ("affinities affinity", r"\baffinit(?:y|ies)\s+(?:for|at|to)\b"),
        ("full partial", r"\b(?:partial|full)\s+agonis[mt]\b"),
        ("recombinant", r"\brecombinant\b"),
        ("cytochrome", r"\bcytochrome\s+p450\b"),
        ("enzyme", r"\benzyme\s+(?:activity|activities|inhibition|kinetics)\b"),
        ("inhibitory", r"\binhibitory\s+(?:effects?|activit(?:y|ies)|potency)\b"),
        ("synthesised synthesized", r"\bsynthesi[sz]ed\b"),
        (
            "total asymmetric enantioselective stereoselective concise formal "
            "/ syntheses synthesis",
            r"\b(?:total|asymmetric|enantioselective|stereoselective|concise|formal)\s+"
            r"synthes[ie]s\b",
        ),
        ("synthetic", r"\bsynthetic\s+(?:route|method|strategy)\b"),
        ("structure", r"\bstructure-activity\b"),
        ("semi semisynthe*", r"\bsemi-?synthe\w+"),
        (
            "alkaloid alkaloidal chemical elemental metal phytochemical",
            r"\b(?:alkaloid(?:al)?|chemical|phytochemical|elemental|metal)\s+(?:content|contents|"
            r"profiles?|composition|impurities)\b",
        ),
        ("chemotype chemotypes", r"\bchemotypes?\b"),
        ("heavy", r"\bheavy\s+metals?\b"),
        ("extraction", r"\bextraction\b"),
        ("cytotoxic cytotoxicity", r"\bcytotoxic(?:ity)?\b"),
        ("antioxidant", r"\bantioxidant\s+activity\b"),
        (
            "antibacterial antifungal antimicrobial antiviral",
            r"\b(?:antibacterial|antimicrobial|antifungal|antiviral)\s+(?:activity|effects?|"
            r"properties)\b",
        ),
        ("agar disc disk", r"\b(?:disc|disk|agar\s+well)\s+diffusion\b"),
        ("minimum", r"\bminimum\s+inhibitory\s+concentrations?\b"),
        (
            "alkaloid alkaloids compound compounds extract extracts fraction fractions "
            "/ tested screened assayed",
            r"\b(?:extracts?|compounds?|alkaloids?|fractions?)\s+(?:were|was)\s+(?:\w+\s+)?(?:tested|"
            r"screened|assayed)\s+(?:for|against|in|on|using)\b",
        ),
    ),
    _cue(
        INVITRO,
        2,
        ("lc lcms", r"\blc-?ms(?:/ms)?\b"),
        ("hplc", r"\bhplc\b"),
        ("uhplc uplc", r"\bu(?:h)?plc\b"),
        ("gc gcms", r"\bgc-?ms\b"),
        ("hrms", r"\bhrms\b"),
        ("mass", r"\bmass\s+spectromet\w+"),
        ("chromatograph*", r"\bchromatograph\w+"),
        ("nmr", r"\bnmr\b"),
        ("icp icpms", r"\bicp-?ms\b"),
        ("inductively", r"\binductively\s+coupled\b"),
        ("spectroscop*", r"\bspectroscop\w+"),
        ("hptlc htlc ptlc tlc", r"\bh?p?tlc\b"),
    ),
    # opinion: editorials, comments, letters without new data
    _cue(
        OPINION,
        6,
        (
            "author comment commentary correspondence editorial in letter opinion "
            "perspective re reply response viewpoint",
            r"^(?:commentary|editorial|comment|letter|response|reply|correspondence|viewpoint|"
            r"perspective|opinion|in\s+reply|re|author\s+reply)\b\s*[:.-]",
        ),
        where="title",
    ),
    _cue(
        OPINION,
        4.5,
        (
            "a our this / commentary editorial viewpoint opinion perspective position essay policy",
            r"\b(?:a|this|our)\s+(?:commentary|editorial|viewpoint|opinion\s+piece|perspective\s+"
            r"piece|position\s+(?:statement|paper)|essay|policy\s+brief)\b",
        ),
        ("letter", r"\bletter\s+to\s+the\s+editor\b"),
        ("we / interest", r"\bwe\s+read\s+with\s+(?:great\s+)?interest\b"),
        ("dear", r"\bdear\s+editor\b"),
        (
            "in / response",
            r"\bin\s+response\s+to\s+(?:the\s+)?(?:article|letter|paper|commentary)\b",
        ),
    ),
    _cue(
        OPINION,
        3,
        ("i we / argue contend", r"\b(?:we|i)\s+(?:argue|contend)\b"),
        ("we / call", r"\bwe\s+call\s+(?:for|on)\b"),
        ("expert", r"\bexpert\s+(?:forum|panel|meeting|opinion|roundtable)\b"),
        ("call calls", r"\bcalls?\s+to\s+action\b"),
    ),
    _cue(
        OPINION,
        4.5,
        ("in / issue", r"\bin\s+this\s+issue\b"),
        ("and / colleagues", r"\band\s+colleagues\s+(?:report|describe|present|show)\b"),
    ),
    _cue(
        OPINION,
        2.5,
        ("commentary editorial viewpoint", r"\b(?:commentary|editorial|viewpoint)\b"),
        # Argument in the title: "Why ...", "... should ...", "The case against ...".
        ("why", r"^why\b"),
        ("should", r"\bshould\b"),
        ("the / case", r"\bthe\s+case\s+(?:for|against)\b"),
        ("time", r"\btime\s+to\b"),
        ("a / call", r"\ba\s+call\s+(?:for|to)\b"),
        where="title",
    ),
    # other: protocols, guidelines, plant science, anything else
    _cue(
        OTHER,
        5.5,
        # "...: protocol for a randomised trial", "a study protocol"; not "a dosing protocol".
        ("protocol", r"\bprotocol\s+(?:for|of)\s+(?:a|an|the)\b"),
        ("review study trial / protocol", r"\b(?:study|trial|review)\s+protocol\b"),
        ("a protocol / protocol", r"^(?:a\s+)?protocol\b"),
        ("a / protocol", r"\ba\s+protocol\W*$"),
        where="title",
        role="protocol",
    ),
    _cue(
        OTHER,
        4.5,
        (
            "our the this / protocol",
            r"\b(?:this|the\s+present|our)\s+(?:study\s+|trial\s+)?protocol\b",
        ),
        (
            "protocol",
            r"\bprotocol\s+(?:for|of)\s+(?:a|an)\s+(?:[\w-]+\s+){0,5}(?:trial|study|review)\b",
        ),
        ("study / protocol", r"\bstudy\s+protocol\b"),
        role="protocol",
    ),
    _cue(
        OTHER,
        3,
        # Future tense describes a study not yet done.
        (
            "will "
            "/ recruited randomised randomized enrolled assessed measured collected "
            "conducted analysed analyzed allocated assigned followed compared "
            "evaluated invited performed administered",
            r"\bwill\s+be\s+(?:\w+\s+)?(?:recruited|randomi[sz]ed|enrolled|assessed|measured|"
            r"collected|conducted|analy[sz]ed|allocated|assigned|followed|compared|evaluated|invited|"
            r"performed|administered)\b",
        ),
        (
            "we / will",
            r"\bwe\s+will\s+(?:recruit|randomi[sz]e|enrol|enroll|assess|measure|collect|conduct|"
            r"analy[sz]e|compare|evaluate|examine|test|use)\b",
        ),
        negatable=False,
        role="future",
    ),
    _cue(
        OTHER,
        4.5,
        ("guideline guidelines", r"\bguidelines?\b"),
        ("consensus", r"\bconsensus\s+(?:statement|recommendations)\b"),
        ("delphi", r"\bdelphi\b"),
        where="title",
    ),
    # Horticultural and agronomic experiments on the plant itself fit no listed design.
    _cue(
        OTHER,
        4.5,
        ("fertiliser fertilisers fertilizer fertilizers", r"\bfertili[sz]ers?\b"),
        ("greenhouse", r"\bgreenhouse\b"),
        ("horticultur*", r"\bhorticultur\w*"),
        ("vegetatively", r"\bvegetatively\s+propagated\b"),
        ("propagation", r"\bpropagation\b"),
        ("agronom*", r"\bagronom\w*"),
        ("irrigation", r"\birrigation\b"),
        ("plant", r"\bplant\s+growth\b"),
        ("growth", r"\bgrowth\s+(?:rates?|parameters|performance)\b"),
        ("photosynth*", r"\bphotosynth\w*"),
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


@dataclass(frozen=True)
class CueIndex:
    """The patterns allowed in one place (title or abstract), by the words one of which must
    occur for each: its `needs` when it has them (they are the rarer words), else its first
    words. Words and word beginnings ("ethnograph*") are keys of text.Text.positions.

    Patterns are numbered in table order (cue by cue, each cue's patterns in turn) and
    `entries[k]` is pattern k with its cue: sorting the numbers of the patterns found is
    sorting them into the order they are tried in.
    """

    entries: tuple[tuple[int, Cue, Pattern], ...]  # (cue number in CUES, cue, pattern)
    by_word: dict[str, tuple[int, ...]]  # by word or word beginning
    words: frozenset[str]
    # The patterns gated by text in `low`, each with the words that text holds whole
    # (words_within): without them in the text, the text is not looked for.
    by_literal: tuple[tuple[str, frozenset[str], int], ...]
    by_ascii_literal: tuple[tuple[str, frozenset[str], int], ...]  # those that are ASCII


def _index(where: str) -> CueIndex:
    entries: list[tuple[int, Cue, Pattern]] = []
    by_word: dict[str, list[int]] = {}
    by_literal = []
    for i, cue in enumerate(CUES):
        if cue.where not in ("any", where):
            continue
        for pattern in cue.patterns:
            k = len(entries)
            entries.append((i, cue, pattern))
            gate = pattern.needs or pattern.first
            if gate.common or gate.common_prefixes:
                # Text.positions does not hold them: the pattern would never be tried.
                raise ValueError(f"{gate}: a cue cannot be gated on text.UNSCANNED words")
            for word in (*gate.words, *gate.prefix_keys):
                by_word.setdefault(word, []).append(k)
            by_literal += [(literal, words_within(literal), k) for literal in gate.literals]
    return CueIndex(
        tuple(entries),
        {word: tuple(numbers) for word, numbers in by_word.items()},
        frozenset(by_word),
        tuple(by_literal),
        tuple(entry for entry in by_literal if entry[0].isascii()),
    )


TITLE_INDEX = _index("title")
ABSTRACT_INDEX = _index("abstract")
