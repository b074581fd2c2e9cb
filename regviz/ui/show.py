"""Small drawing helpers every section shares, so all charts and notices look alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from regviz import charts

if TYPE_CHECKING:
    import altair as alt


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


def deep_dive(labels: list[str], key: str) -> str | None:
    """A row of buttons that opens one deep dive at a time; nothing runs until one is picked.

    Tabs always have one panel open (and run it); a section's extra views should cost a
    reader nothing until asked for, so they sit behind pills with no default.
    """
    return st.pills("Go deeper", labels, selection_mode="single", default=None, key=key)


def lazy_tabs(labels: list[str], key: str) -> list:
    """Tabs whose closed panels do not run: draw into a tab only when `tab.open` is True.

    With `on_change="rerun"` Streamlit reports which tab is shown, so a section can
    skip building the charts of the tabs a reader has not opened.
    """
    return list(st.tabs(labels, key=key, on_change="rerun"))


def markdown_table(table, formats: dict[str, str] | None = None) -> str:
    """A table as GitHub-flavoured Markdown, numbers formatted per column (`formats`).

    The page draws its small tables this way: `st.table` and `st.dataframe` load a table
    renderer (with Arrow cell formatting: about 0.85 MB of JavaScript) into the reader's
    browser, while Markdown is rendered by code the page loads anyway.
    """
    formats = formats or {}

    def cell(column: str, value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        text = format(value, formats[column]) if column in formats else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(str(column) for column in table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    rows = [
        "| " + " | ".join(cell(column, row[column]) for column in table.columns) + " |"
        for _, row in table.iterrows()
    ]
    return "\n".join([header, rule, *rows])
