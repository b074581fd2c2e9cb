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
    url,
    why,
)

WARM_UP_DELAY_S = 8.0

st.set_page_config(page_title="regviz: regularisation you can see", page_icon="📉")

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
beyond.draw(directory)
learned.draw(directory)

# Readers who train a custom run later should not wait for torch to import; the
# delay keeps the import off the CPU while the first reader's browser draws.
resources.training_service(resources.max_trainings()).warm_up(delay=WARM_UP_DELAY_S)
