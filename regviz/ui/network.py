"""Section 3: the network, where dropout sits, and how it is trained."""

from __future__ import annotations

import math

import streamlit as st

from regviz.config import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LR
from regviz.data import N_TRAIN
from regviz.layout import N_PARAMETERS
from regviz.ui import ready, resources, show, tables


@ready.cached
def _architecture(directory: str) -> str:
    """The layer table as Markdown: what the page draws, without pandas on a first run."""
    return show.markdown_table(tables.architecture_table())


def draw(directory: str) -> None:
    st.header("3. The model", anchor="model")
    count = N_PARAMETERS
    pre = resources.pretrained(directory)
    stored = {int(arrays["parameters"].size) for arrays in pre.inits.values()}
    st.markdown(
        "A small fully connected network: one input (x), three hidden layers of 64 units and "
        "one output (ŷ). Hidden layers use a leaky ReLU; the output goes through a ReLU, so the "
        "network can only predict values ≥ 0 (the data are lifted above zero for that reason). "
        "When dropout is on, it acts after each hidden activation."
    )
    st.markdown(_architecture(directory))
    check = f" (the stored initial weights hold {stored.pop():,} values each)" if stored else ""
    steps = math.ceil(N_TRAIN / DEFAULT_BATCH_SIZE)
    st.markdown(
        f"That is **{count:,} parameters**{check}. They start from PyTorch's default "
        "initialisation: each weight and bias drawn uniformly from ±1/√fan-in, which is ±1 for "
        f"the first layer and ±{1 / math.sqrt(tables.WIDTHS[1]):g} for the others. Unless a "
        "section says otherwise (the comparison with plain SGD in section 5, fewer training "
        f"points in section 7), every run trains with Adam (learning rate {DEFAULT_LR:g}) on "
        f"minibatches of {DEFAULT_BATCH_SIZE} for {DEFAULT_EPOCHS} epochs ({steps} steps "
        "per epoch), minimising the mean squared error plus whatever penalty the section "
        "adds. A seed fixes the initialisation, the batch order and the dropout masks; the "
        "data never change."
    )
