"""Section 5: the L2 penalty across its canonical λ values, how it acts over training, and why."""

from __future__ import annotations

import streamlit as st

from regviz.analysis import NEAR_ZERO
from regviz.config import DEFAULT_LR
from regviz.ui import biases, findings, optimiser, overtime, resources, show, sweeps
from regviz.verdict import FLAT_STD_RATIO, MEAN_TOLERANCE

DEEP_DIVES = ["Over training", "Adam against SGD", "Biases penalised too"]


def draw(directory: str) -> None:
    st.header("5. L2 regularisation", anchor="l2")
    st.markdown(
        "L2 regularisation adds the squared size of the weights to the cost, so every weight "
        "now has to earn its magnitude by lowering the error by more than it costs. The "
        "strength λ sets the exchange rate. In our runs the penalty covers the four weight "
        "matrices and leaves the biases free (a tab below penalises them too):"
    )
    st.markdown(
        "**J(θ) = (1/n) Σᵢ (ŷᵢ − yᵢ)² + λ Σₗ₌₁⁴ ‖Wₗ‖²**, where ‖Wₗ‖² is the sum of the squared "
        "entries of layer l's weight matrix."
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    focus, epoch = sweeps.section(
        directory, "l2", "Focus on one λ", lambda f, e: _story(directory, f, e)
    )
    st.markdown(_why_spike(directory))
    chosen = show.deep_dive(DEEP_DIVES, key="l2_deep")
    if chosen == DEEP_DIVES[0]:
        overtime.draw(directory, "l2", focus)
    elif chosen == DEEP_DIVES[1]:
        optimiser.draw(directory, focus, epoch)
    elif chosen == DEEP_DIVES[2]:
        biases.draw(directory)


def _story(directory: str, focus: float, epoch: int) -> None:
    runs = resources.pretrained(directory).runs
    base = findings.baseline(runs, findings.FINAL)
    focused = findings.setting_stats(runs, "l2", focus, findings.FINAL)
    near = findings.setting_stats(runs, "l2", focus, "weight_fraction_near_zero")
    parts = []
    if focused.n:
        parts.append(
            f"**At λ = {focus:g}** the validation MSE (mean of the last 10 epochs) is "
            f"{focused.format()}, against {base.mean:.3g} without the penalty, and "
            f"{near.mean:.1%} of the weights end within {NEAR_ZERO:g} of zero."
        )
    turn = findings.turning_point_text(runs, "l2")
    if turn:
        parts.append(turn)
    strongest = max(findings.stats_by_value(runs, "l2", findings.FINAL), default=None)
    if strongest:
        parts.append(_collapse(runs, strongest))
    st.markdown("\n\n".join(parts))


def _collapse(runs, strongest: float) -> str:
    ratio = findings.setting_stats(runs, "l2", strongest, "prediction_std_ratio")
    over_var = findings.setting_stats(runs, "l2", strongest, "final_val_mse_over_var")
    level = findings.flat_prediction(runs, "l2", strongest)
    near = findings.setting_stats(runs, "l2", strongest, "weight_fraction_near_zero")
    near_base = findings.baseline(runs, "weight_fraction_near_zero")
    std = findings.setting_stats(runs, "l2", strongest, "weight_std")
    std_base = findings.baseline(runs, "weight_std")
    bias = findings.setting_stats(runs, "l2", strongest, "bias_std")
    bias_base = findings.baseline(runs, "bias_std")
    flat = ratio.mean <= FLAT_STD_RATIO
    at_mean = abs(over_var.mean - 1) <= MEAN_TOLERANCE
    shape = "a flat line" if flat else "a damped curve"
    mean_words = (
        ", about what predicting the mean would score" if at_mean else ", not what the mean scores"
    )
    bias_words = "wider" if bias.mean > bias_base.mean else "narrower"
    return (
        f"**At λ = {strongest:g}** the prediction is {shape} around ŷ ≈ {level:.2f}: its swing "
        f"is {ratio.mean:.2g} times the clean signal's, and its validation MSE is "
        f"{over_var.mean:.2f}× the variance of y{mean_words}. {near.mean:.1%} of the weights "
        f"lie within {NEAR_ZERO:g} of zero (without the penalty: {near_base.mean:.1%}) and "
        f"their spread falls from {std_base.mean:.3g} to {std.mean:.2g}: with one bandwidth for "
        "every λ, that is the tallest spike of the sweep. The biases, which the penalty leaves "
        f"alone, end {bias_words} than without it (spread {bias.mean:.2g} against "
        f"{bias_base.mean:.2g}); switch the sidebar to *biases* to see them."
    )


def _why_spike(directory: str) -> str:
    """Where a reader first meets the spike: why it forms at tiny λ under Adam."""
    runs = resources.pretrained(directory).runs
    near = findings.stats_by_value(runs, "l2", "weight_fraction_near_zero")
    val = findings.stats_by_value(runs, "l2", findings.FINAL)
    small = [value for value in sorted(near) if 0 < value <= 1e-3]
    if 0.0 not in near or not small:
        return ""
    listed = ", ".join(f"{near[v].mean:.0%} at λ = {v:g}" for v in small)
    return (
        "**Why the spike appears at tiny λ.** Weights within "
        f"{NEAR_ZERO:g} of zero: {near[0.0].mean:.1%} without the penalty, {listed}, while "
        f"the validation MSE moves from {val[0.0].mean:.3g} to "
        + ", ".join(f"{val[v].mean:.3g}" for v in small)
        + ". The optimiser is part of the story. Adam divides every gradient, the "
        "penalty's included, by a running estimate of its size. A weight that the data hardly "
        "use has a tiny loss gradient, so the penalty's gradient dominates and Adam turns it "
        f"into a step of about the learning rate ({DEFAULT_LR:g}) towards zero, however small "
        "λ is. With plain gradient descent the same penalty only shrinks each weight by a "
        "fraction proportional to λ per step. So part of the spike is Adam's doing "
        "(Loshchilov and Hutter, *Decoupled Weight Decay Regularization*, 2019); *Adam "
        "against SGD* below measures how much."
    )
