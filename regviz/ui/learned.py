"""Section 7: the measured numbers per setting, the article's claims against them, and downloads."""

from __future__ import annotations

import streamlit as st

from regviz.config import RunConfig
from regviz.store import Pretrained
from regviz.ui import findings, pair, resources, show, tables

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
def _verdicts(directory: str):
    """The verdict table, or None while `regviz.verdict` is not available."""
    try:
        from regviz.verdict import article_verdicts
    except ImportError:
        return None
    import pandas as pd

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
    pre = resources.pretrained(directory)
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
    if verdicts is None:
        st.info("The verdict table is not available in this build.", icon=":material/info:")
    elif len(verdicts):
        st.markdown(
            "Each claim the article makes, next to what our runs show. The verdicts are "
            "computed from the stored runs when the page loads, not written by hand."
        )
        st.table(verdicts, hide_index=True, border="horizontal")
    _downloads(pre)


def _downloads(pre: Pretrained) -> None:
    st.subheader("Take it away", anchor="downloads")
    try:
        from regviz import export
    except ImportError:
        st.info("Downloads are not available in this build.", icon=":material/info:")
        return
    views = list(pre.runs.values())
    if not views:
        show.missing("The downloads")
        return
    left, right = st.columns(2)
    left.download_button(
        "Loss histories (CSV)",
        data=lambda: export.history_csv(views),
        file_name="regviz-histories.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        "Predictions (CSV)",
        data=lambda: export.predictions_csv(views),
        file_name="regviz-predictions.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
    choices = {view.config.run_id: view for view in views}
    custom = st.session_state.get(pair.CUSTOM_CONFIG)
    run_id = st.selectbox(
        "Run to download or reproduce",
        list(choices),
        index=list(choices).index(RunConfig(l2=0.01).run_id)
        if RunConfig(l2=0.01).run_id in choices
        else 0,
        key="download_run",
    )
    view = choices[run_id]
    st.download_button(
        f"Weights of {run_id} (safetensors)",
        data=lambda: export.weights_file(view),
        file_name=f"{run_id}.safetensors",
        mime="application/octet-stream",
        on_click="ignore",
        icon=":material/download:",
    )
    st.markdown("Reproduce this run on your own machine with the public API:")
    st.code(export.reproduce_snippet(view.config), language="python")
    if custom is not None:
        st.markdown("…and your custom run:")
        st.code(export.reproduce_snippet(custom), language="python")
