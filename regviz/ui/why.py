"""Section 1: why regularise at all, and whose pictures this page retells."""

from __future__ import annotations

import streamlit as st

from regviz.config import SEEDS
from regviz.registry import SWEEPS, stored_settings

ARTICLE_URL = (
    "https://towardsdatascience.com/"
    "a-visual-intuition-for-regularization-in-deep-learning-fe904987abbb"
)
ARTICLE = f"[A Visual Intuition For Regularization in Deep Learning]({ARTICLE_URL})"


def draw() -> None:
    st.title("Regularisation you can see")
    st.caption("What L2, dropout and their relatives do to a small network: measured, not drawn.")
    st.header("1. Why regularise", anchor="why")
    article = {SWEEPS[kind].config(v) for kind in ("l2", "p") for v in SWEEPS[kind].values}
    ours = len(stored_settings()) - len(article)
    st.markdown(
        "Give a network enough parameters and it can thread its curve through every training "
        "point, the noise included. What it learns then is the sample, not the process behind "
        "it: train it again on a fresh draw of the same data and the curve comes out visibly "
        "different. That sensitivity is what *high variance* means, and it shows up as a model "
        "that scores well on the points it saw and worse on new ones.\n\n"
        "Regularisation is any change to training that gives up some of that flexibility in "
        "exchange for a model that generalises: a price on large weights (L2, L1, weight "
        "decay), or switching random units off while training (dropout). Too little does "
        "nothing; too much leaves a model too stiff to follow the signal. The interesting part "
        "is what happens in between."
    )
    st.markdown(
        f"This page follows Kelvin Lee's article {ARTICLE} (Towards Data Science, 2020), which "
        "looks at one small network through three views: its loss curves, its prediction, and "
        "the distribution of its parameters. We rebuilt the experiment from scratch and "
        f"trained each of its {len(article)} settings, and {ours} more of our own, with "
        f"{len(SEEDS)} seeds. Every chart is drawn "
        "from those runs and every number in the text is read from them, so where our results "
        "differ from the article's, the page says so (section 8) instead of repeating it."
    )
