"""The chart beside each digest: papers per publication year, stacked by design group.

Thirteen designs make an unreadable legend, so the chart groups them. The groups name
labels from flows.designs (the one table of labels) and are checked against it at import:
a label added there without a group here fails loudly.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from flows.designs import LABELS
from flows.models import Paper, YearDesign

# Group name -> labels, in the order the stack is drawn (bottom first) and the legend read.
DESIGN_GROUPS: dict[str, tuple[str, ...]] = {
    "Reviews": ("systematic_review", "narrative_review"),
    "Trials": ("rct", "non_randomised_trial"),
    "Observational & qualitative": ("cohort", "case_control", "cross_sectional", "qualitative"),
    "Case reports": ("case_report",),
    "Preclinical": ("animal", "in_vitro"),
    "Opinion & other": ("opinion", "other"),
}
GROUP_OF: dict[str, str] = {
    label: group for group, labels in DESIGN_GROUPS.items() for label in labels
}
if sorted(GROUP_OF) != sorted(LABELS) or len(GROUP_OF) != sum(map(len, DESIGN_GROUPS.values())):
    raise RuntimeError("DESIGN_GROUPS must put each label of flows.designs in exactly one group")

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#999999")


def tally(papers: Iterable[Paper | YearDesign]) -> list[YearDesign]:
    """Papers counted by publication year and design (YearDesign rows are already counts)."""
    counts: Counter[tuple[int | None, str]] = Counter()
    for p in papers:
        counts[p.pub_year, p.design] += p.papers if isinstance(p, YearDesign) else 1
    return [YearDesign(year, label, n) for (year, label), n in counts.items()]


def papers_per_year(papers: Iterable[Paper | YearDesign]) -> pd.DataFrame:
    """Rows: every publication year from the first to the last; columns: the design groups."""
    rows = [
        (p.pub_year, GROUP_OF[p.design], p.papers) for p in tally(papers) if p.pub_year and p.design
    ]
    frame = pd.DataFrame(rows, columns=["year", "group", "papers"])
    table = frame.pivot_table(
        index="year", columns="group", values="papers", aggfunc="sum", fill_value=0
    ).reindex(columns=list(DESIGN_GROUPS), fill_value=0)
    if not table.empty:
        years = range(int(table.index.min()), int(table.index.max()) + 1)
        table = table.reindex(years, fill_value=0)
    table.index.name = "year"
    return table.astype(int)


def design_chart_png(
    papers: Iterable[Paper | YearDesign], title: str = "All papers in the store"
) -> bytes:
    """The chart as PNG bytes, identical for identical papers (no date or software stamp)."""
    counted = tally(papers)
    table = papers_per_year(counted)
    total = sum(p.papers for p in counted)
    undated = sum(p.papers for p in counted if not p.pub_year)
    # The Figure API without pyplot: no global state, safe in Prefect's worker threads.
    figure = Figure(figsize=(8, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if table.empty:
        ax.text(0.5, 0.5, "No papers with a publication year yet", ha="center", va="center")
        ax.set_axis_off()
    else:
        table.plot.bar(
            ax=ax, stacked=True, color=list(COLOURS), width=0.85, edgecolor="white", linewidth=0.3
        )
        ax.set_xlabel("Publication year")
        ax.set_ylabel("Papers")
        ax.yaxis.get_major_locator().set_params(integer=True)
        step = -(-len(table) // 12)  # at most about 12 year labels
        ax.set_xticks(range(0, len(table), step), [str(y) for y in table.index[::step]])
        ax.tick_params(axis="x", labelrotation=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        # Legend beside the plot, top entry = top of the stack.
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1],
            labels[::-1],
            title="Study design",
            frameon=False,
            fontsize=8,
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    figure.suptitle(f"{title}, by publication year and study design", fontsize=11)
    note = f"; {undated} without a year not shown" if undated else ""
    ax.set_title(f"{total - undated} papers{note}", fontsize=8, color="#555555", loc="left")
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
