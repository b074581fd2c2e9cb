"""regviz: what regularisation does to a small network, told in the order a reader meets it.

Each section lives in `regviz/ui/`; this file only sets the order. Run it with
`streamlit run streamlit_app.py`.
"""

import streamlit as st

from regviz.ui import (
    baseline,
    beyond,
    dataset,
    dropout,
    frame,
    l2,
    learned,
    network,
    resources,
    small_data,
    url,
    why,
)

st.set_page_config(page_title="regviz: regularisation you can see", page_icon=frame.PAGE_ICON)

directory = resources.pretrained_dir()
stored = resources.pretrained(directory)
frame.problems(stored)
url.start()
frame.sidebar()

why.draw()
dataset.draw(directory)
network.draw(directory)
baseline.draw(directory)
l2.draw(directory)
dropout.draw(directory)
small_data.draw(directory)
beyond.draw(directory)
learned.draw(directory)
resources.settle_heap()

# No warm-up here: the custom-run tab starts a training worker (and PyTorch in it)
# when a reader opens it, not on every page load.
