"""Section 6: dropout across its canonical p values, and the band MC dropout draws."""

from __future__ import annotations

import streamlit as st

from regviz import charts
from regviz.data import NOISE_STD
from regviz.ui import findings, resources, show, sweeps, tables
from regviz.verdict import mc_coverage_table

GAL_URL = "https://proceedings.mlr.press/v48/gal16.html"
#: Columns of `regviz.verdict.mc_coverage_table` worth a reader's screen space.
COVERAGE_SHOWN = (
    "p",
    "inside ±2σ, mean (%)",
    "inside ±2σ, lowest seed (%)",
    "inside ±2σ, highest seed (%)",
    "inside ±2σ with data noise added, mean (%)",
    "±2σ near x = 11",
    "±2σ elsewhere",
    "note",
)
NOISY_COVERAGE = "inside ±2σ with data noise added, mean (%)"


def _with_noise(table, p: float) -> float | None:
    """Coverage in % of the band widened by the data's noise at `p`, when the table has it."""
    if NOISY_COVERAGE not in table.columns or "p" not in table.columns:
        return None
    rows = table[table["p"] == p]
    value = float(rows[NOISY_COVERAGE].iloc[0]) if len(rows) else float("nan")
    return value if value == value else None


def draw(directory: str) -> None:
    st.header("6. Dropout", anchor="dropout")
    st.markdown(
        "Dropout leaves the cost alone and changes the network instead: on every training step "
        "each hidden unit is switched off with probability p, and the survivors are scaled by "
        "1/(1 − p) so the layer's output keeps its size. No unit can count on a particular "
        "partner being present, so the network has to spread what it knows across many units. "
        "At evaluation every unit is on. Because our training loss is recorded with dropout "
        "active, it sits above the validation loss in these charts."
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    focus = sweeps.picker("p", "Focus on one p")
    sweeps.draw_views(directory, "p", focus)
    _story(directory, focus)
    _uncertainty(directory, focus)


def _story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    val = findings.stats_by_value(runs, "p", "val_mse")
    train = findings.stats_by_value(runs, "p", "train_mse")
    swing = findings.stats_by_value(runs, "p", "prediction_std_ratio")
    spread = findings.stats_by_value(runs, "p", "weight_std")
    parts = []
    if focus in val:
        parts.append(
            f"**At p = {focus:g}** the validation MSE is {val[focus].format()} and the "
            f"prediction swings {swing[focus].mean:.0%} as much as the clean signal."
        )
    active = [p for p in val if p and p in train]
    above = [p for p in active if train[p].mean > val[p].mean]
    if active:
        parts.append(
            f"For {len(above)} of the {len(active)} values of p > 0 the training loss ends above "
            "the validation loss: the training number is measured on a thinned-out network."
        )
    turn = findings.turning_point(runs, "p")
    if turn is not None:
        parts.append(
            f"**Where it breaks.** Up to p = {turn.last_good:g} the validation MSE, "
            f"{turn.last_good_mse.format()}, overlaps the unregularised "
            f"{turn.unregularised_mse.format()}. At p = {turn.first_bad:g} every seed is worse: "
            f"{turn.first_bad_mse.format()}. Past that point the "
            "prediction is damped rather than flattened: "
            + ", ".join(
                f"at p = {p:g} it swings {swing[p].mean:.0%} as much as the signal"
                for p in (0.6, 0.9)
                if p in swing
            )
            + "."
        )
    if 0.0 in spread and 0.2 in spread:
        parts.append(
            f"**Wider, not narrower.** Unlike L2, dropout does not pull the weights towards "
            f"zero. At p = 0.2 their spread is {spread[0.2].mean:.3g} against "
            f"{spread[0.0].mean:.3g} without dropout: each unit works with noisy inputs, and "
            "larger weights keep its signal above that noise."
        )
    unchanged = findings.setting_stats(runs, "p", 1.0, "weights_unchanged")
    if unchanged.n and 1.0 in val:
        parts.append(
            f"**p = 1** switches every hidden unit off on every step, so no gradient reaches "
            f"the hidden weights: {unchanged.mean:.0%} of the weights end exactly where they "
            f"started, and the validation MSE is {val[1.0].format()}. The density is the "
            "initialisation itself."
        )
    st.markdown("\n\n".join(parts))


@st.cache_resource(show_spinner=False)
def _band(directory: str, focus: float):
    pre = resources.pretrained(directory)
    views = tables.seed_views(pre.runs, tables.canonical("p", focus).config)
    band = tables.band_table(views[0]) if views else None
    if band is None:
        return None
    points, _ = sweeps.sample_and_clean(directory)
    figure = charts.band_chart(
        points,
        band,
        hard=tables.HARD_REGION,
        label=f"p = {focus:g}, mean ± 2σ",
        title=f"Monte Carlo dropout at p = {focus:g}",
        subtitle=f"seed {views[0].config.seed}: 100 forward passes with dropout left on",
    )
    return charts.to_spec(figure)


@st.cache_resource(show_spinner=False)
def _coverage(directory: str):
    return mc_coverage_table(resources.pretrained(directory))


def _uncertainty(directory: str, focus: float) -> None:
    st.subheader("How unsure is a dropout network?", anchor="uncertainty")
    st.markdown(
        "The article promised a follow-up on dropout and uncertainty. Here is the simplest "
        "version: keep dropout switched on at prediction time, run the same x through the "
        "network many times, and look at the spread of the answers. Gal and Ghahramani "
        f"([Dropout as a Bayesian Approximation, 2016]({GAL_URL})) showed that this "
        "*Monte Carlo dropout* can be read as approximate Bayesian inference over the weights."
    )
    if not focus:
        st.info("p = 0 has no dropout and so no band: pick a p above 0 with the slider above.")
    else:
        figure = _band(directory, focus)
        if figure is None:
            show.missing(f"The band for p = {focus:g}")
        else:
            show.chart(figure)
    table = _coverage(directory)
    if len(table):
        shown = [name for name in COVERAGE_SHOWN if name in table.columns]
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_order=shown or None,
            column_config={
                name: st.column_config.NumberColumn(format="%.3g")
                for name in table.columns
                if name not in ("p", "seeds", "note")
            },
        )
    runs = resources.pretrained(directory).runs
    coverage = findings.stats_by_value(runs, "p", "mc_coverage")
    hard = findings.stats_by_value(runs, "p", "mc_hard_std")
    easy = findings.stats_by_value(runs, "p", "mc_easy_std")
    values = [p for p in coverage if p and p < 1 and p in hard and p in easy]
    if not values:
        return
    wider = [p for p in values if hard[p].mean > easy[p].mean]
    best = max(values, key=lambda p: coverage[p].mean)
    worst = max(values)
    noisy, noisy_worst = _with_noise(table, best), _with_noise(table, worst)
    noise_note = ""
    if noisy is not None and noisy_worst is not None:
        noise_note = (
            f" Widen the band by the data's own noise and it holds {noisy:.0f} % at "
            f"p = {best:g}"
            + (", so what it missed there was mostly that noise" if noisy >= 90 else "")
            + (
                f"; at p = {worst:g} it still holds only {noisy_worst:.0f} %, because there the "
                "curve itself is in the wrong place."
                if noisy_worst < 80
                else "."
            )
        )
    st.markdown(
        f"**How honest is the band?** A band of ±2σ around a good estimate should hold about "
        f"95 % of new points. Ours holds at most {coverage[best].mean:.0%} of the validation "
        f"points (at p = {best:g}) and falls as p grows"
        + f", to {coverage[worst].mean:.0%} at p = {worst:g}"
        + "."
        + noise_note
        + " Does it widen near x = 11, where the fit is worst, as the article suspected? "
        f"For {len(wider)} of the {len(values)} values of p below 1 the mean σ there is larger "
        "than elsewhere"
        + (
            ", so mostly not: the band tracks where dropout shakes the curve, which is not "
            "the same as where the curve is wrong."
            if len(wider) <= len(values) / 2
            else "."
        )
    )
    st.markdown(
        "**What the band is not.** It measures how much the prediction moves when random "
        "units are dropped, for a p that we chose; it is not a calibrated posterior. It leaves "
        f"out the noise in y (σ = {NOISE_STD:g} here), so it should be "
        "expected to miss noisy points; its width follows p rather than how much data supports "
        "each region; and it does not shrink the way a posterior would as data grow "
        "(Osband, *Risk versus Uncertainty in Deep Learning*, 2016, discusses this). "
        "Treat it as a hint of where the model is fragile, not as an error bar."
    )
