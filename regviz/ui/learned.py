"""Section 8: the measured numbers per setting and the article's claims against them."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from regviz.ui import findings, ready, resources, settings, show
from regviz.verdict import article_verdicts, count_line, verdict_table
from regviz.verdict.grading import FLIP_SHIFT

VERDICT_MARK = {
    "holds": "✓ holds",
    "partly": "◐ partly",
    "does not hold": "✗ does not hold",
    "not measured": "– not measured",
}


@ready.cached
def _learned(directory: str):
    pre = resources.pretrained(directory)
    return findings.learned_table(pre.runs, settings.comparable_settings())


@ready.cached
def _seeds(directory: str) -> int:
    """How many seeds the summary table counts (0: no comparable run is stored)."""
    return int(_learned(directory)["seeds"].sum())


@dataclass(frozen=True)
class VerdictTable:
    """The verdict table as the page shows it (Markdown), with the numbers its text cites."""

    markdown: str
    count: str
    rows: int
    ours: int


@ready.cached
def _verdicts(directory: str) -> VerdictTable:
    verdicts = article_verdicts(resources.pretrained(directory))
    table = verdict_table(verdicts)
    table["Verdict"] = table["Verdict"].map(lambda v: VERDICT_MARK.get(v, v))
    return VerdictTable(
        markdown=show.markdown_table(table),
        count=count_line(verdicts),
        rows=len(table),
        ours=sum(claim.startswith("Ours") for claim in table["The article says"]),
    )


def draw(directory: str) -> None:
    st.header("8. What we learned", anchor="learned")
    st.markdown(
        "Every setting in one table (open it below): the mean over the seeds, with the lowest "
        "and highest seed in brackets. A validation MSE divided by Var(y) near 1 means the "
        "model does no better than predicting the average."
    )
    if _seeds(directory) == 0:
        show.missing("The summary table")
    elif show.deep_dive(["Every setting's numbers"], key="learned_table"):
        table = _learned(directory)
        st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 2)
    st.subheader("The article's claims, checked", anchor="verdict")
    verdicts = _verdicts(directory)
    shift = f"{100 * FLIP_SHIFT:.0f} %"
    if verdicts.rows:
        st.markdown(
            f"Each claim the article makes (and {verdicts.ours} of our own), next to what our "
            f"runs show: **{verdicts.count}**. Every claim is read at the settings the article "
            "names and judged by one or more numbers against a threshold; it *holds* when every "
            "number passes, holds *partly* when some do, and *does not hold* when none does, the "
            "same rule for L2 and dropout. *Margin* says how many passed and how far the nearest "
            f"one lies from its threshold; *flips at ±{shift}* whether moving the thresholds by "
            f"{shift} would change the verdict. Computed from the stored runs when the page "
            "loads; the thresholds and the reasons for them are in regviz/verdict/thresholds.py."
        )
        st.markdown(verdicts.markdown)
