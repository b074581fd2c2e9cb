"""Beyond the article: L1 and decoupled (AdamW) weight decay, the same three views as L2."""

from __future__ import annotations

import math

import streamlit as st

from regviz.config import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LR
from regviz.data import N_TRAIN
from regviz.ui import findings, resources, sweeps


def draw_l1(directory: str) -> None:
    st.subheader("L1: a price on absolute size", anchor="l1")
    st.markdown(
        "L2 is one way to put a price on weights; we trained two relatives with the same three "
        "seeds. L1 charges |w| instead of w². Its pull towards zero has the same strength for a "
        "tiny weight as for a large one, whereas L2's pull fades as a weight shrinks. So L1 can "
        "afford to push the least useful weights all the way down while leaving the useful "
        "ones large: it prefers *sparse* networks."
    )
    st.latex(
        r"J(\theta) = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2"
        r" + \lambda_1 \sum_{l=1}^{4} \sum_{j,k} \lvert W_{l,jk} \rvert"
    )
    _l1(directory)


def draw_adamw(directory: str) -> None:
    st.subheader("Decoupled weight decay (AdamW)", anchor="adamw")
    st.markdown(
        "With plain gradient descent, adding λ‖θ‖² to the cost and shrinking the weights by a "
        "fixed fraction each step are the same thing. Under Adam they are not: Adam divides "
        "every gradient, the penalty's included, by a running estimate of its size. A weight "
        "whose loss gradient is small therefore feels the L2 penalty at full force, and one "
        "with large gradients hardly at all. Decoupled weight decay (Loshchilov and Hutter's "
        "AdamW) takes the shrinking out of the gradient: after each Adam step every weight is "
        "multiplied by (1 − lr·decay), whatever its gradients."
    )
    _adamw(directory)


@st.fragment
def _l1(directory: str) -> None:
    sweeps.section(directory, "l1", "Focus on one λ₁", lambda focus: _l1_story(directory, focus))


@st.fragment
def _adamw(directory: str) -> None:
    sweeps.section(
        directory, "wd", "Focus on one decay rate", lambda focus: _adamw_story(directory, focus)
    )


def _closest_l2(runs, val_mse: float) -> float | None:
    """The λ whose mean validation MSE is closest (in ratio) to `val_mse`."""
    l2 = findings.stats_by_value(runs, "l2", "val_mse")
    if not l2:
        return None
    return min(l2, key=lambda value: abs(math.log(l2[value].mean / val_mse)))


def _matched(runs, kind: str, focus: float, name: str) -> str | None:
    val = findings.setting_stats(runs, kind, focus, "val_mse")
    near = findings.setting_stats(runs, kind, focus, "weight_fraction_near_zero")
    if not val.n:
        return None
    twin = _closest_l2(runs, val.mean)
    if twin is None:
        return None
    twin_val = findings.setting_stats(runs, "l2", twin, "val_mse")
    twin_near = findings.setting_stats(runs, "l2", twin, "weight_fraction_near_zero")
    return (
        f"**At {name} = {focus:g}** the validation MSE is {val.format()} and {near.mean:.1%} of "
        f"the weights lie within 0.001 of zero. The L2 run that fits about as well is "
        f"λ = {twin:g} (validation MSE {twin_val.mean:.3g}); there {twin_near.mean:.1%} of the "
        "weights are that close to zero."
    )


def _l1_story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    parts = [text for text in [_matched(runs, "l1", focus, "λ₁")] if text]
    exact = findings.stats_by_value(runs, "l1", "fraction_exact_zero")
    near = findings.stats_by_value(runs, "l1", "weight_fraction_near_zero")
    if exact and near:
        most = max(near, key=lambda value: near[value].mean)
        largest_exact = max(stats.high for stats in exact.values())
        parts.append(
            f"**Near zero, not at zero.** At λ₁ = {most:g}, {near[most].mean:.1%} of the weights "
            f"sit within 0.001 of zero, yet across every L1 run the largest share of parameters "
            f"that are *exactly* zero is {largest_exact:.2%}. That is Adam again: each step "
            f"moves a weight by roughly the learning rate ({DEFAULT_LR:g}) whatever the size of "
            "its gradient, so a weight that the penalty drives across zero is pushed straight "
            "back, and it ends up jittering in a narrow band around zero. Exact zeros need a "
            "step that can stop at zero (a proximal or soft-threshold update), which plain "
            "gradient methods do not take. In the density this shows as a tall, narrow spike "
            "rather than the L2 sweep's gradual narrowing."
        )
    turn = findings.turning_point(runs, "l1")
    if turn is not None:
        parts.append(
            f"The fit holds up to λ₁ = {turn.last_good:g} and breaks at λ₁ = {turn.first_bad:g}"
            f", where the validation MSE is {turn.first_bad_mse.format()}."
        )
    st.markdown("\n\n".join(parts))


def _adamw_story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    parts = [text for text in [_matched(runs, "wd", focus, "decay")] if text]
    steps = DEFAULT_EPOCHS * math.ceil(N_TRAIN / DEFAULT_BATCH_SIZE)
    if focus:
        shrink = steps * -math.log1p(-DEFAULT_LR * focus)
        parts.append(
            f"Each step multiplies the weights by 1 − {DEFAULT_LR:g} × {focus:g} = "
            f"{1 - DEFAULT_LR * focus:.4g}. Left to itself over the {steps:,} steps of a run "
            f"that alone would shrink a weight to e^−{shrink:.3g} of its size; the loss "
            "gradient has to keep rebuilding the weights that matter."
        )
    near = findings.stats_by_value(runs, "wd", "weight_fraction_near_zero")
    l2_near = findings.stats_by_value(runs, "l2", "weight_fraction_near_zero")
    if near and l2_near:
        most = max(s.mean for s in near.values())
        most_l2 = max(s.mean for s in l2_near.values())
        parts.append(
            f"**No spike.** Across the decay sweep at most {most:.1%} "
            f"of the weights end near zero, against up to {most_l2:.1%} "
            "for L2: decoupled decay shrinks all weights together instead of letting Adam's "
            "scaling single out the quiet ones, so the density narrows as a whole rather than "
            "collapsing onto zero."
        )
    turn = findings.turning_point(runs, "wd")
    if turn is not None:
        parts.append(
            f"The fit holds up to decay = {turn.last_good:g} and breaks at decay = "
            f"{turn.first_bad:g}, where the validation MSE is {turn.first_bad_mse.format()}."
        )
    st.markdown("\n\n".join(parts))
