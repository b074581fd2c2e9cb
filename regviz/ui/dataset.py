"""Section 2: the signal, its noise, and the train/validation split."""

from __future__ import annotations

import streamlit as st

from regviz import charts
from regviz.data import (
    HARD_CENTRE,
    HARD_REGION,
    N_POINTS,
    N_TRAIN,
    NOISE_STD,
    X_MAX,
    X_MIN,
    make_signal,
)
from regviz.ui import ready, resources, show, tables


@ready.cached
def _chart(directory: str):
    pre = resources.pretrained(directory)
    if pre.data is None:
        return None, 0
    samples = tables.sample_table(pre.data, n=None, with_split=True)
    figure = charts.data_chart(samples, tables.clean_table(pre.data), HARD_REGION)
    return charts.to_spec(figure), len(samples)


def _numbers(values) -> str:
    return ", ".join(f"{float(v):g}" for v in values)


def draw(directory: str) -> None:
    st.header("2. The data", anchor="data")
    signal = make_signal()
    values = signal.coefficients()
    st.markdown(
        "The article's formula was an image that no longer loads, so we wrote our own in the "
        "same spirit: a sum of a few sine waves with similar, randomly drawn amplitudes, "
        "frequencies and phases, plus noise. Because the frequencies are close, the terms "
        "drift in and out of step and the sum looks irregular. We added one short, fast "
        f"wiggle centred on x = {HARD_CENTRE:g}, where the article's model struggled, so that "
        "the hard part is a property of the data rather than of luck."
    )
    st.markdown(
        f"**{signal.formula()}**\n\n"
        f"A = ({_numbers(values['A'])}), B = ({_numbers(values['B'])}), "
        f"C = ({_numbers(values['C'])}); c = {values['c']:g}, H = {values['H']:g}, "
        f"ω = {values['omega']:g}, x₀ = {values['x0']:g}, w = {values['w']:g}, "
        f"σ = {values['sigma']:g}."
    )
    figure, shown = _chart(directory)
    if figure is None:
        show.missing("The data chart")
    else:
        show.chart(figure)
    n_val = N_POINTS - N_TRAIN
    floor = tables.noise_floor()
    st.markdown(
        f"There are {N_POINTS:,} points, evenly spaced over x ∈ [{X_MIN:g}, {X_MAX:g}]. A fixed "
        f"random {N_TRAIN / N_POINTS:.0%} of them ({N_TRAIN:,}) train the network; the other "
        f"{n_val:,} are held out to validate it"
        + (f" (the chart shows a sample of {shown:,})." if shown else ".")
        + f" The noise has σ = {NOISE_STD:g}, so even the clean curve itself would score a mean "
        f"squared error of σ² = {floor:g} on new points. No honest validation loss can stay "
        "below that **noise floor**; the loss charts draw it as a dotted line. The shaded band "
        "marks the hard region around the fast wiggle."
    )
