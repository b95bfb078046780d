"""The labelled files the classifier is trained and evaluated on, relative to the repository
root (where `kratom-watch train` and `evaluate` run). Their own module, free of imports, so
the command line can name them in its help without loading the classifier."""

from pathlib import Path

DEV = Path("tests/fixtures/dev.jsonl")  # our hand-labelled kratom papers
# Another team's corpus: its terms keep its rows out of this repository.
EXTERNAL = Path("../shared/corpus/external/studytypeteller-train.jsonl")
# Our depression labels for 150 of its abstracts, labelled blind (PMIDs and labels only).
EXTERNAL_RELEVANCE = Path("docs/data/external-relevance-labels.jsonl")
