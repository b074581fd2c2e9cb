"""Beyond the article: the data behind the page as downloads, and a snippet to reproduce a run.

Its own tab: the highlighted code block is one of the costlier elements for a
browser to draw, and a closed tab is not drawn until it is opened.
"""

from __future__ import annotations

import streamlit as st

from regviz import export
from regviz.config import RunConfig
from regviz.ui import pair, resources, show


def draw(directory: str) -> None:
    st.subheader("Take it away", anchor="downloads")
    st.markdown(
        "Every number on this page comes from files you can take with you: the loss "
        "histories and predictions of all stored runs as CSV, any run's weights as a "
        "safetensors file that loads into `regviz.build_mlp`, and the few lines of Python "
        "that bring a run back in a notebook."
    )
    pre = resources.pretrained(directory)
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
    # The code block is drawn on request: a highlighted code element costs a new
    # reader's browser about 0.35 s even in a closed tab (measured with the page bench).
    if st.toggle("Show the Python that reproduces this run", key="show_snippet"):
        st.code(export.reproduce_snippet(view.config), language="python")
        if custom is not None:
            st.markdown("…and your custom run:")
            st.code(export.reproduce_snippet(custom), language="python")
