"""Beyond the article: any two settings side by side, both kept in the URL (`a` and `b`)."""

from __future__ import annotations

import streamlit as st

from regviz.ui import pair, settings, url
from regviz.urlstate import CUSTOM


def draw(directory: str) -> None:
    st.subheader("Compare two settings", anchor="compare")
    st.markdown(
        "Scrolling between sections is a poor way to compare. Pick any two settings, "
        "including your own run from the *Train your own* tab, and see them on the same axes. "
        "The table gives the numbers of B next to A and how far apart they are."
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    shown = {s.token: s.label for s in settings.comparable_settings()}
    shown[CUSTOM] = "your custom run"
    left, right = st.columns(2)
    for column, side in ((left, "a"), (right, "b")):
        column.selectbox(
            f"Setting {side.upper()}",
            list(shown),
            format_func=shown.__getitem__,
            key=url.KEYS[side],
            on_change=url.write,
        )
    state = url.current()
    pair.draw(directory, state.a, state.b)
