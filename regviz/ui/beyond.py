"""Beyond the article: training your own setting, comparing two, L1, AdamW and the layers.

Each part opens from a row of pills with nothing picked at first (`show.deep_dive`), so
a reader who has not asked for a deep dive does not wait for it, and no training worker
starts until someone opens *Train your own*.
"""

from __future__ import annotations

import streamlit as st

from regviz.ui import compare, custom, layers, penalties, show, takeaway

TABS = (
    "Train your own",
    "Compare two settings",
    "L1",
    "AdamW (decoupled decay)",
    "Layer by layer",
    "Take it away",
)


def draw(directory: str) -> None:
    st.header("Beyond the article", anchor="beyond")
    st.markdown(
        "The article stops at one run per setting of two regularisers. Each of these goes a step "
        "further: train any λ and p yourself, put any two settings side by side, see two other "
        "penalties (L1 and decoupled weight decay) through the same three views, and split the "
        "parameter density by layer, or take the data and the code home."
    )
    drawers = (
        custom.draw,
        compare.draw,
        penalties.draw_l1,
        penalties.draw_adamw,
        layers.draw,
        takeaway.draw,
    )
    chosen = show.deep_dive(list(TABS), key="beyond_tab")
    for label, draw_part in zip(TABS, drawers, strict=True):
        if chosen == label:
            draw_part(directory)
