"""Section 6: dropout across its canonical p values, and the band MC dropout draws."""

from __future__ import annotations

import streamlit as st

from regviz import charts
from regviz.data import HARD_REGION, NOISE_STD
from regviz.registry import SWEEPS
from regviz.ui import findings, overtime, ready, resources, settings, show, sweeps, tables
from regviz.verdict import mc_coverage_table

GAL_URL = "https://proceedings.mlr.press/v48/gal16.html"
#: Columns of `regviz.verdict.mc_coverage_table` worth a reader's screen space.
COVERAGE_SHOWN = (
    "p",
    "inside ±2σ, mean (%)",
    "inside ±2σ with data noise added, mean (%)",
    "clean signal inside ±2σ near x = 11 (%)",
    "clean signal inside ±2σ elsewhere (%)",
    "σ / mean near x = 11",
    "σ / mean, level-matched control",
    "note",
)


def draw(directory: str) -> None:
    st.header("6. Dropout", anchor="dropout")
    st.markdown(
        "Dropout leaves the cost alone and changes the network instead: on every training step "
        "each hidden unit is switched off with probability p, and the survivors are scaled by "
        "1/(1 − p) so the layer's output keeps its size. No unit can count on a particular "
        "partner being present, so the network has to spread what it knows across many units. "
        "At evaluation every unit is on, and that is the curve the three views below draw. "
        "Because our training loss is recorded with dropout active, it sits above the "
        "validation loss in these charts."
    )
    _focused(directory)


@st.fragment
def _focused(directory: str) -> None:
    focus, _ = sweeps.section(directory, "p", "Focus on one p", lambda f, e: _story(directory, f))
    if show.deep_dive(["Over training"], key="p_deep"):
        overtime.draw(directory, "p", focus)
    _uncertainty(directory, focus)


def _story(directory: str, focus: float) -> None:
    runs = resources.pretrained(directory).runs
    val = findings.stats_by_value(runs, "p", findings.FINAL)
    train = findings.stats_by_value(runs, "p", "final_train_mse")
    swing = findings.stats_by_value(runs, "p", "prediction_std_ratio")
    spread = findings.stats_by_value(runs, "p", "weight_std")
    parts = []
    if focus in val:
        parts.append(
            f"**At p = {focus:g}** the validation MSE (last 10 epochs) is {val[focus].format()} "
            f"and the prediction swings {swing[focus].mean:.0%} as much as the clean signal."
        )
    active = [p for p in val if p and p in train]
    above = [p for p in active if train[p].mean > val[p].mean]
    if active:
        parts.append(
            f"For {len(above)} of the {len(active)} values of p > 0 the training loss ends above "
            "the validation loss: the training number is measured on a thinned-out network."
        )
    turn = findings.turning_point_text(runs, "p")
    if turn:
        damped = [p for p in (0.6, 0.9) if p in swing]
        parts.append(
            turn
            + (
                " Past that point the prediction keeps "
                + ", ".join(
                    f"{swing[p].mean:.0%} of the signal's swing at p = {p:g}" for p in damped
                )
                + "."
                if damped
                else ""
            )
        )
    trained = [p for p in spread if 0 < p < 1]
    if 0.0 in spread and trained:
        wider = [p for p in trained if spread[p].mean > spread[0.0].mean]
        narrower = [p for p in trained if spread[p].mean < spread[0.0].mean]
        parts.append(
            f"**The weights' spread.** Without dropout their standard deviation is "
            f"{spread[0.0].mean:.3g}; with dropout it ranges from "
            f"{min(spread[p].mean for p in trained):.3g} to "
            f"{max(spread[p].mean for p in trained):.3g}. It is wider at p = "
            f"{', '.join(f'{p:g}' for p in wider) or 'none'} and narrower at p = "
            f"{', '.join(f'{p:g}' for p in narrower) or 'none'}. Unlike L2, no p collapses "
            "the weights onto zero."
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


@ready.cached
def _band(directory: str, focus: float):
    pre = resources.pretrained(directory)
    views = settings.seed_views(pre.runs, SWEEPS["p"].config(focus))
    band = tables.band_table(views[0]) if views else None
    if band is None:
        return None
    points, _ = sweeps.sample_and_clean(directory)
    figure = charts.band_chart(
        points,
        band,
        hard=HARD_REGION,
        title=f"Dropout left on at prediction time, p = {focus:g}",
        subtitle=f"seed {views[0].config.seed}; band: mean ± 2σ of 100 passes, dashed: their "
        "2.5–97.5 % range",
    )
    return charts.to_spec(figure)


@ready.cached
def _coverage(directory: str) -> str:
    """The coverage table as the page shows it (Markdown; empty without dropout runs)."""
    table = mc_coverage_table(resources.pretrained(directory))
    if not len(table):
        return ""
    shown = [name for name in COVERAGE_SHOWN if name in table.columns]
    formats = {name: ".3g" for name in shown if name not in ("p", "note")} | {"p": "g"}
    return show.markdown_table(table[shown], formats)


def _uncertainty(directory: str, focus: float) -> None:
    st.subheader("How unsure is a dropout network?", anchor="uncertainty")
    st.markdown(
        "The article describes light dropout as a shaky curve that follows the noise, and "
        "p = 0.2–0.3 as a fuzzy one, as if the model were telling us it is unsure. Those "
        "words fit a network that keeps dropping units while it predicts, so this chart draws "
        "three curves: the prediction with dropout off (what the views above show), one pass "
        "with dropout on, where every x gets its own random mask, and the spread of 100 such "
        "passes. Gal and Ghahramani "
        f"([Dropout as a Bayesian Approximation, 2016]({GAL_URL})) read that spread, *Monte "
        "Carlo dropout*, as approximate Bayesian inference over the weights. The verdicts in "
        "section 8 say which of these curves each claim is judged on."
    )
    if not focus:
        st.info("p = 0 has no dropout and so no band: pick a p above 0 with the slider above.")
    else:
        figure = _band(directory, focus)
        if figure is None:
            show.missing(f"The band for p = {focus:g}")
        else:
            show.chart(figure)
    coverage = _coverage(directory)
    if coverage:
        st.markdown(coverage)
    st.markdown(_honesty(directory))
    st.markdown(
        "**What the band is not.** It measures how much the prediction moves when random "
        "units are dropped, for a p that we chose; it is not a calibrated posterior. It leaves "
        f"out the noise in y (σ = {NOISE_STD:g} here), so it should be expected to miss noisy "
        "points; its width follows p and the output level rather than how much data supports "
        "each region; and it does not shrink the way a posterior would as data grow "
        "(Osband, *Risk versus Uncertainty in Deep Learning*, 2016, discusses this). "
        "Treat it as a hint of where the model is fragile, not as an error bar."
    )


def _honesty(directory: str) -> str:
    runs = resources.pretrained(directory).runs
    coverage = findings.stats_by_value(runs, "p", "mc_coverage")
    near = findings.stats_by_value(runs, "p", "mc_relative_hard")
    control = findings.stats_by_value(runs, "p", "mc_relative_control")
    clean_hard = findings.stats_by_value(runs, "p", "clean_coverage_hard")
    clean_else = findings.stats_by_value(runs, "p", "clean_coverage_elsewhere")
    values = [p for p in coverage if 0 < p < 1 and p in near and p in control]
    if not values:
        return ""
    best = max(values, key=lambda p: coverage[p].mean)
    worst = max(values)
    wider = [p for p in values if near[p].mean > control[p].mean]
    light = [p for p in (0.2, 0.3) if p in clean_hard and p in clean_else]
    text = (
        f"**How honest is the band?** A ±2σ band around a good estimate should hold about "
        f"95 % of new points. Ours holds at most {coverage[best].mean:.0%} of the validation "
        f"points (at p = {best:g}) and {coverage[worst].mean:.0%} at p = {worst:g}. Dropout's "
        "noise is multiplicative, so σ grows with the output level, and x = 11 sits in a "
        "trough; measured relative to the level (σ / mean), the band is wider near x = 11 "
        f"than at points of the same level elsewhere for {len(wider)} of the {len(values)} "
        "values of p below 1."
    )
    if light:
        misses_more = all(clean_hard[p].mean < clean_else[p].mean for p in light)
        text += (
            " It covers the clean signal "
            + "; ".join(
                f"{clean_hard[p].mean:.0%} of the time near x = 11 and {clean_else[p].mean:.0%} "
                f"elsewhere at p = {p:g}"
                for p in light
            )
            + (": where the fit is worst, the band misses the truth most." if misses_more else ".")
        )
    return text
