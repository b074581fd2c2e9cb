"""Section 7: the measured numbers per setting and the article's claims against them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from regviz.ui import findings, resources, show, tables
from regviz.verdict import article_verdicts

VERDICT_MARK = {
    "holds": "✓ holds",
    "partly": "◐ partly",
    "does not hold": "✗ does not hold",
    "not measured": "– not measured",
}


@st.cache_resource(show_spinner=False)
def _learned(directory: str):
    pre = resources.pretrained(directory)
    return findings.learned_table(pre.runs, tables.comparable_settings())


@st.cache_resource(show_spinner=False)
def _verdicts(directory: str) -> pd.DataFrame:
    rows = [
        {
            "The article says": verdict.claim,
            "We measured": verdict.measured,
            "Verdict": VERDICT_MARK.get(verdict.verdict, verdict.verdict),
        }
        for verdict in article_verdicts(resources.pretrained(directory))
    ]
    return pd.DataFrame(rows)


def draw(directory: str) -> None:
    st.header("7. What we learned", anchor="learned")
    table = _learned(directory)
    st.markdown(
        "Every setting in one table: the mean over the seeds, with the lowest and highest seed "
        "in brackets. A validation MSE divided by Var(y) near 1 means the model does no better "
        "than predicting the average."
    )
    if table["seeds"].sum() == 0:
        show.missing("The summary table")
    else:
        st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 2)
    st.subheader("The article's claims, checked", anchor="verdict")
    verdicts = _verdicts(directory)
    if len(verdicts):
        st.markdown(
            "Each claim the article makes, next to what our runs show. The verdicts are "
            "computed from the stored runs when the page loads, not written by hand."
        )
        st.table(verdicts, hide_index=True, border="horizontal")
