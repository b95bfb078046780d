"""What a reader of earlier digests should hear about a paper that changed since.

Pure functions over two versions of a paper; the store notes the updates of reported papers
in the same transaction that stores the new version (flows.store), so a run that fails after
storing cannot lose them.
"""

from __future__ import annotations

from flows.designs import design
from flows.models import NOTICE_KINDS, Paper

# What can happen to a paper after an earlier digest listed it, most serious first.
UPDATE_KINDS: dict[str, str] = {
    "retracted": "Retracted",
    "erratum": "Erratum",
    "comment": "Comment",
    "relabelled": "Label changed",
}


def changes(old: Paper, new: Paper) -> list[tuple[str, str]]:
    """(kind, detail) for each change between two versions of a paper worth telling."""
    found = []
    for notice in new.notices:
        if notice not in old.notices:
            kind, introduction = NOTICE_KINDS[notice[0]]
            found.append((kind, f"{introduction}: {notice[1]}"))
    newly_retracted = "Retracted Publication" in (
        set(new.publication_types) - set(old.publication_types)
    )
    if newly_retracted and not any(kind == "retracted" for kind, _ in found):
        found.append(("retracted", "PubMed now marks it retracted"))
    if old.design != new.design:
        before, after = design(old.design).heading, design(new.design).heading
        found.append(("relabelled", f"{before} → {after}"))
    return found
