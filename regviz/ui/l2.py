"""Section 5: the L2 penalty across its canonical λ values."""

from __future__ import annotations

import streamlit as st

from regviz.ui import findings, resources, sweeps
from regviz.verdict import FLAT_STD_RATIO, MEAN_TOLERANCE


def draw(directory: str) -> None:
    st.header("5. L2 regularisation", anchor="l2")
    st.markdown(
        "L2 regularisation adds the squared size of the weights to the cost, so every weight "
        "now has to earn its magnitude by lowering the error by more than it costs. The "
        "strength λ sets the exchange rate. In our runs the penalty covers the four weight "
        "matrices and leaves the biases free:"
    )
    st.latex(
        r"J(\theta) = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2"
        r" + \lambda \sum_{l=1}^{4} \lVert W_l \rVert_F^2"
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    sweeps.section(directory, "l2", "Focus on one λ", lambda focus: _story(directory, focus))


def _story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    base = findings.baseline(runs, "val_mse")
    focused = findings.setting_stats(runs, "l2", focus, "val_mse")
    near = findings.setting_stats(runs, "l2", focus, "weight_fraction_near_zero")
    parts = []
    if focused.n:
        parts.append(
            f"**At λ = {focus:g}** the validation MSE is {focused.format()}, against "
            f"{base.mean:.3g} without the penalty, and {near.mean:.1%} of the weights lie within "
            "0.001 of zero."
        )
    turn = findings.turning_point(runs, "l2")
    if turn is not None:
        parts.append(
            f"**The turning point.** Up to λ = {turn.last_good:g} the fit is as good as "
            f"without the penalty: validation MSE {turn.last_good_mse.format()} against "
            f"{turn.unregularised_mse.format()} at λ = 0, ranges that overlap. At "
            f"λ = {turn.first_bad:g} every seed does worse than every unregularised one: "
            f"{turn.first_bad_mse.format()}, {turn.jump:.1f}× the step before. The penalty "
            "now outweighs the detail of the signal."
        )
    strongest = max(findings.stats_by_value(runs, "l2", "val_mse"), default=None)
    if strongest:
        parts.append(_collapse(runs, strongest))
    st.markdown("\n\n".join(parts))


def _collapse(runs, strongest: float) -> str:
    ratio = findings.setting_stats(runs, "l2", strongest, "prediction_std_ratio")
    over_var = findings.setting_stats(runs, "l2", strongest, "val_mse_over_var")
    level = findings.flat_prediction(runs, "l2", strongest)
    near = findings.setting_stats(runs, "l2", strongest, "weight_fraction_near_zero")
    near_base = findings.baseline(runs, "weight_fraction_near_zero")
    std = findings.setting_stats(runs, "l2", strongest, "weight_std")
    std_base = findings.baseline(runs, "weight_std")
    bias = findings.setting_stats(runs, "l2", strongest, "bias_std")
    flat = ratio.mean < FLAT_STD_RATIO
    shape = "a flat line" if flat else "a heavily damped curve"
    simplest = (
        "The network has been squeezed into the simplest model there is; because the biases "
        "are not penalised, that model is a constant (penalising them too would tilt it into "
        "a straight ramp in x).\n\n"
        if flat
        else "\n\n"
    )
    return (
        f"**Collapse towards a constant.** At λ = {strongest:g} the prediction is {shape} "
        f"around ŷ ≈ {level:.2f}: its swing is {ratio.mean:.2g} times the clean signal's, and its "
        f"validation MSE is {over_var.mean:.2f}× the variance of y"
        + (
            ", about what predicting the mean would score. "
            if abs(over_var.mean - 1) <= MEAN_TOLERANCE
            else ". "
        )
        + simplest
        + f"**A spike at zero.** The weights pile up on zero: {near.mean:.1%} of them lie within "
        f"0.001 of it (without the penalty: {near_base.mean:.1%}), and their spread falls from "
        f"{std_base.mean:.3g} to {std.mean:.2g}. The biases keep a spread of "
        f"{bias.mean:.2g}, which is the small shoulder that remains in the density."
    )
