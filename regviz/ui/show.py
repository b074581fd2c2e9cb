"""Small drawing helpers every section shares, so all charts and notices look alike."""

from __future__ import annotations

import altair as alt
import streamlit as st

from regviz import charts


def chart(figure: alt.TopLevelMixin | dict) -> None:
    """Draw a chart at the container's width with the regviz theme (not Streamlit's).

    Takes an Altair chart or, cheaper on every rerun, the dict `charts.to_spec` made
    from one (the cached sections pass dicts).
    """
    spec = figure if isinstance(figure, dict) else charts.to_spec(figure)
    st.vega_lite_chart(spec, width="stretch", theme=None)


def three_views(prediction: dict, loss: dict, density: dict) -> None:
    """The article's three views: the prediction across, losses and densities side by side."""
    chart(prediction)
    left, right = st.columns(2)
    with left:
        chart(loss)
    with right:
        chart(density)


def missing(what: str) -> None:
    """Say that a part of the page has no data, pointing at the error that explains why."""
    st.info(
        f"{what} cannot be drawn: the stored runs it needs are missing or damaged "
        "(see the error at the top of the page for the file and the command that rebuilds it).",
        icon=":material/info:",
    )
