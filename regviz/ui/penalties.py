"""Beyond the article: L1 and decoupled (AdamW) weight decay, the same three views as L2."""

from __future__ import annotations

import math

import streamlit as st

from regviz.config import DEFAULT_LR, DEFAULT_STEPS
from regviz.ui import findings, overtime, resources, show, sweeps


def draw_l1(directory: str) -> None:
    st.subheader("L1: a price on absolute size", anchor="l1")
    st.markdown(
        "L2 is one way to put a price on weights; we trained two relatives with the same three "
        "seeds. L1 charges |w| instead of w². Its pull towards zero has the same strength for a "
        "tiny weight as for a large one, whereas L2's pull fades as a weight shrinks. So L1 can "
        "afford to push the least useful weights all the way down while leaving the useful "
        "ones large: it prefers *sparse* networks."
    )
    st.markdown("**J(θ) = (1/n) Σᵢ (ŷᵢ − yᵢ)² + λ₁ Σₗ₌₁⁴ Σⱼₖ |Wₗ,ⱼₖ|**")
    _l1(directory)


def draw_adamw(directory: str) -> None:
    st.subheader("Decoupled weight decay (AdamW)", anchor="adamw")
    st.markdown(
        "Section 5 showed that L2 inside Adam is not weight decay: Adam rescales the "
        "penalty's gradient weight by weight. Decoupled weight decay (Loshchilov and Hutter's "
        "AdamW) takes the shrinking out of the gradient: at every step, before the Adam "
        "update, each weight is multiplied by (1 − lr·decay), whatever its gradients."
    )
    _adamw(directory)


@st.fragment
def _l1(directory: str) -> None:
    focus, _ = sweeps.section(
        directory, "l1", "Focus on one λ₁", lambda f, e: _l1_story(directory, f)
    )
    _over_training(directory, "l1", focus)


@st.fragment
def _adamw(directory: str) -> None:
    focus, _ = sweeps.section(
        directory, "wd", "Focus on one decay rate", lambda f, e: _adamw_story(directory, f)
    )
    _over_training(directory, "wd", focus)


def _over_training(directory: str, kind: str, focus: float) -> None:
    if show.deep_dive(["Over training"], key=f"{kind}_deep"):
        overtime.draw(directory, kind, focus)


def _closest_l2(runs, val_mse: float) -> float | None:
    """The λ whose mean validation MSE is closest (in ratio) to `val_mse`."""
    l2 = findings.stats_by_value(runs, "l2", findings.FINAL)
    if not l2:
        return None
    return min(l2, key=lambda value: abs(math.log(l2[value].mean / val_mse)))


def _matched(runs, kind: str, focus: float, name: str) -> str | None:
    val = findings.setting_stats(runs, kind, focus, findings.FINAL)
    near = findings.setting_stats(runs, kind, focus, "weight_fraction_near_zero")
    if not val.n:
        return None
    twin = _closest_l2(runs, val.mean)
    if twin is None:
        return None
    twin_val = findings.setting_stats(runs, "l2", twin, findings.FINAL)
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
        if largest_exact >= 0.01:
            parts.append(
                f"**Exact zeros.** At λ₁ = {most:g}, {near[most].mean:.1%} of the weights sit "
                f"within 0.001 of zero, and up to {largest_exact:.2%} of the parameters are "
                "exactly zero."
            )
        else:
            parts.append(_near_not_at_zero(most, near[most].mean, largest_exact))
    turn = findings.turning_point_text(runs, "l1")
    if turn:
        parts.append(turn)
    st.markdown("\n\n".join(parts))


def _near_not_at_zero(most: float, share: float, largest_exact: float) -> str:
    return (
        f"**Near zero, not at zero.** At λ₁ = {most:g}, {share:.1%} of the weights sit within "
        "0.001 of zero, yet across every L1 run the largest share of parameters that are "
        f"*exactly* zero is {largest_exact:.2%}. That is Adam again: each step moves a weight "
        f"by roughly the learning rate ({DEFAULT_LR:g}) whatever the size of its gradient, so "
        "a weight that the penalty drives across zero is pushed straight back, and it ends up "
        "jittering in a narrow band around zero. Exact zeros need a step that can stop at "
        "zero (a proximal or soft-threshold update), which plain gradient methods do not take."
    )


def _adamw_story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    parts = [text for text in [_matched(runs, "wd", focus, "decay")] if text]
    steps = DEFAULT_STEPS
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
        if most < most_l2 / 2:
            parts.append(
                f"**No spike.** Across the decay sweep at most {most:.1%} "
                f"of the weights end near zero, against up to {most_l2:.1%} "
                "for L2: decoupled decay shrinks all weights together instead of letting "
                "Adam's scaling single out the quiet ones, so the density narrows as a whole "
                "rather than collapsing onto zero."
            )
        else:
            parts.append(
                f"**A spike too.** Up to {most:.1%} of the weights end near zero across the "
                f"decay sweep, against up to {most_l2:.1%} for L2."
            )
    turn = findings.turning_point_text(runs, "wd")
    if turn:
        parts.append(turn)
    st.markdown("\n\n".join(parts))
