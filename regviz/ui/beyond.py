"""Beyond the article: training your own setting, comparing two, L1, AdamW and the layers.

These live in tabs. Streamlit draws only the open tab's charts, so a reader who has
not asked for a deep dive does not wait for its charts while the page loads.
"""

from __future__ import annotations

import streamlit as st

from regviz.ui import compare, custom, layers, penalties, takeaway

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
        "The article stops at one run per setting of two regularisers. Each tab goes a step "
        "further: train any λ and p yourself, put any two settings side by side, see two other "
        "penalties (L1 and decoupled weight decay) through the same three views, and split the "
        "parameter density by layer, or take the data and the code home."
    )
    own, pair, l1, adamw, by_layer, take_away = st.tabs(list(TABS))
    with own:
        custom.draw(directory)
    with pair:
        compare.draw(directory)
    with l1:
        penalties.draw_l1(directory)
    with adamw:
        penalties.draw_adamw(directory)
    with by_layer:
        layers.draw(directory)
    with take_away:
        takeaway.draw(directory)
