"""Section 7: the same network on less data, where L2 and dropout have overfitting to remove.

The numbers come from `regviz.smalldata` (the functions the tests and the verdict
call); this module only words and lays them out. What a reader sees at first: why
the section exists, how small-n runs are trained, what the runs say, the best λ
and p per n, and the curves against λ. The curves against p, the heatmaps and the
three views for one n sit in tabs that run only when opened.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import streamlit as st

from regviz import charts, smalldata
from regviz.data import N_POINTS, N_TRAIN
from regviz.layout import N_PARAMETERS
from regviz.registry import SMALL_DATA_N
from regviz.ui import ready, resources, show, sweeps, tables, url
from regviz.urlstate import BEST, PageState
from regviz.views import RunView

TABS = ["Against λ", "Against p", "Heatmaps", "One n up close"]
TABS_KEY = "small_data_tabs"
#: The URL parameters of the "One n up close" tab.
PICKERS = ("n", "nreg", "nfocus")
_LINKED = "_small_data_linked"


def draw(directory: str) -> None:
    st.header("7. When regularisation helps", anchor="small-data")
    why, budget, findings = _prose(directory)
    st.markdown(why)
    st.markdown(budget)
    if not _stored(directory):
        show.missing("The small-data sweeps")
        return
    st.markdown(findings)
    st.markdown(
        "**The best λ and the best p for each n.** *Improvement*: the share of the "
        "unregularised validation MSE that the best value removes (negative: even the best "
        "value is worse than none). *Seeds it wins*: on how many seeds it beats the "
        "unregularised run of the same seed, which shares its initialisation, minibatch "
        "order and training points."
    )
    st.markdown(_best_table(directory))
    _explore(directory)


# -- the numbers behind the prose (pure functions of the runs) ---------------------------------


@ready.cached
def _prose(directory: str) -> tuple[str, str, str]:
    """Worded once per server: recomputed, they cost 3/4 of every rerun's server time."""
    runs = resources.pretrained(directory).runs
    findings = [_overfitting(runs), *(_findings(runs, kind) for kind in smalldata.KINDS)]
    return _why(runs), _budget(runs), "\n\n".join(findings)


def _why(runs: Mapping[str, RunView]) -> str:
    train, val = smalldata.gap(runs, N_TRAIN)
    full = [
        f"the best {b.symbol} > 0 scores {_improvement_words(b)}" for b in _best_at(runs, N_TRAIN)
    ]
    text = f"Sections 5 and 6 retell the article on all {N_TRAIN:,} training points."
    if full:
        text += " There, " + " and ".join(full) + "."
    text += (
        " L2 and dropout trade some fit on the training points for a model that leans less on "
        "their noise, which can pay only where there is overfitting to remove. The network "
        f"has {N_PARAMETERS:,} parameters and {N_TRAIN:,} training points"
    )
    if train.n and val.n:
        text += (
            f": without regularisation it ends with a training MSE of {_mse(train.mean)} and a "
            f"validation MSE of {_mse(val.mean)}, {val.mean / train.mean - 1:+.0%} relative to "
            f"training (noise alone costs σ² = {tables.noise_floor():.3g} on both)."
        )
    else:
        text += "."
    sizes = ", ".join(f"{n:,}" for n in SMALL_DATA_N if n != N_TRAIN)
    n_val = N_POINTS - N_TRAIN
    return text + (
        f" So this section takes data away: the same network, trained on n = {sizes} of the "
        f"{N_TRAIN:,} training points (a random subset drawn once, each set inside the next, "
        f"the same for every seed and setting) and judged on the same {n_val:,} validation "
        "points, with every λ and p of the sweeps and three seeds each."
    )


def _best_at(runs: Mapping[str, RunView], n: int) -> list[smalldata.BestSetting]:
    return [b for kind in smalldata.KINDS for b in smalldata.best_by_n(runs, kind) if b.n == n]


def _budget(runs: Mapping[str, RunView]) -> str:
    budgets = smalldata.budgets(runs)
    full = next(b for b in budgets if b.n == N_TRAIN)
    smallest = budgets[0]
    short = full.epochs * smallest.steps_per_epoch
    listed = "; ".join(
        f"n = {b.n:,}: {b.epochs:,} epochs of {b.steps_per_epoch} "
        f"minibatch{'es' if b.steps_per_epoch > 1 else ''} ({b.steps:,} steps)"
        for b in budgets
    )
    return (
        "**Why small n trains for more epochs.** An epoch is one pass over the training "
        f"points, so on fewer points it is fewer optimiser steps. Kept at {full.epochs:,} "
        f"epochs, the n = {smallest.n:,} runs would stop after {short:,} "
        f"steps instead of {full.steps:,}, and a network stopped early looks smooth for the "
        "wrong reason: under-training would pass for regularisation. So every run gets about "
        f"the same number of Adam steps: {listed}. The validation MSE quoted below is the "
        "mean over the last 10 % of the recorded epochs; the training MSE is measured once, "
        "on the run's own n points with the final weights and dropout off."
    )


def _mse(x: float) -> str:
    return f"{x:.3f}"


def _improvement_words(best: smalldata.BestSetting) -> str:
    change = best.val.mean / best.baseline.mean - 1
    direction = "lower" if change < 0 else "higher"
    return (
        f"{_mse(best.val.mean)} against {_mse(best.baseline.mean)} without "
        f"({abs(change):.1%} {direction}; below the unregularised run on "
        f"{best.paired_wins} of {best.seeds} seeds)"
    )


def _overfitting(runs: Mapping[str, RunView]) -> str:
    """The gap there is to close, per n, without regularisation."""
    rows = [(n, *smalldata.gap(runs, n)) for n in SMALL_DATA_N]
    rows = [(n, train, val) for n, train, val in rows if train.n and val.n]
    if not rows:
        return ""
    floor = tables.noise_floor()
    listed = "; ".join(
        f"n = {n:,}: {_mse(train.mean)} and {_mse(val.mean)}" for n, train, val in rows
    )
    widest = smalldata.widest_gap(runs)
    below = [n for n, train, _ in rows if train.mean < floor]
    text = (
        "**The overfitting there is to remove.** Without regularisation, the training and "
        f"validation MSE: {listed}. The gap is widest at n = {widest:,}."
    )
    if below:
        text += (
            f" A training MSE below the noise's σ² = {floor:.4g} means the network fits some "
            f"of the noise: it does at n = {', '.join(f'{n:,}' for n in below)}."
        )
    else:
        text += f" No training MSE falls below the noise's σ² = {floor:.4g}."
    return text


def _findings(runs: Mapping[str, RunView], kind: str) -> str:
    best = smalldata.best_by_n(runs, kind)
    if not best:
        return ""
    symbol = smalldata.sweep(kind, SMALL_DATA_N[0]).symbol
    name = smalldata.KIND_NAMES[kind]
    per_n = "; ".join(f"at n = {b.n:,}, {b.label}: {_improvement_words(b)}" for b in best)
    text = (
        f"**{name[0].upper() + name[1:]}.** The {symbol} > 0 with the lowest mean validation "
        f"MSE, per n: {per_n}."
    )
    winners = smalldata.every_seed_winners(runs, kind)
    helped = [n for n, won in winners.items() if won]
    stops = smalldata.stops_helping(runs, kind)
    if not helped:
        return (
            text
            + f" At no stored n does a {symbol} > 0 beat none on every seed."
            + _cost(runs, kind)
        )
    listed = "; ".join(
        f"{', '.join(smalldata.value_label(kind, v) for v in winners[n])} at n = {n:,}"
        for n in sorted(helped)
    )
    text += f" Beating none on every seed: {listed}."
    if stops is None:
        text += f" Even at n = {max(winners):,} some {symbol} > 0 does."
    else:
        text += f" From n = {stops:,} on, no {symbol} > 0 does."
    return text


def _cost(runs: Mapping[str, RunView], kind: str) -> str:
    """Why nothing helped: the gentlest value's cost in fit against the gap it could close."""
    n = smalldata.widest_gap(runs)
    gentlest = min((v for v in smalldata.values(kind) if v > 0), default=None)
    if n is None or gentlest is None:
        return ""
    train, val = smalldata.gap(runs, n)
    cost = smalldata.train_cost(runs, kind, n, gentlest)
    if not np.isfinite(cost):
        return ""
    label = smalldata.value_label(kind, gentlest)
    compared = "more than" if cost > val.mean - train.mean else "less than"
    return (
        f" At n = {n:,}, where the unregularised gap between validation and training MSE is "
        f"widest ({_mse(val.mean - train.mean)}), the gentlest setting on the grid, {label}, "
        f"raises the training MSE (measured with dropout off) by {_mse(cost)}: {compared} the "
        "whole gap it could close."
    )


# -- cached tables and charts (keyed on the directory; no Streamlit elements inside) -----------


@ready.cached
def _stored(directory: str) -> bool:
    """Whether any small-data setting has a stored run."""
    runs = resources.pretrained(directory).runs
    return any(not smalldata.settings_table(runs, kind).empty for kind in smalldata.KINDS)


@ready.cached
def _best(directory: str, kind: str) -> list[smalldata.BestSetting]:
    return smalldata.best_by_n(resources.pretrained(directory).runs, kind)


def _order(kind: str) -> list[str]:
    return [smalldata.value_label(kind, v) for v in smalldata.values(kind)]


@ready.cached
def _curves(directory: str, kind: str) -> dict:
    table = smalldata.curve_table(resources.pretrained(directory).runs, kind)
    sweep = smalldata.sweep(kind, SMALL_DATA_N[0])
    figure = charts.gap_chart(
        table,
        x_order=_order(kind),
        n_order=[smalldata.n_label(n) for n in SMALL_DATA_N],
        x_title=f"{smalldata.KIND_NAMES[kind]} strength {sweep.symbol}",
        floor=tables.noise_floor(),
        title=f"Validation and training MSE against {sweep.symbol}, per training-set size",
        subtitle="solid: validation, dashed: training (final weights, dropout off); "
        "band: range over three seeds",
    )
    return charts.to_spec(figure)


@ready.cached
def _heatmap(directory: str, kind: str) -> dict:
    table = smalldata.heatmap_table(resources.pretrained(directory).runs, kind)
    sweep = smalldata.sweep(kind, SMALL_DATA_N[0])
    figure = charts.ratio_heatmap(
        table,
        x_order=_order(kind),
        y_order=[smalldata.n_label(n) for n in SMALL_DATA_N],
        x_title=sweep.symbol,
        title=f"{smalldata.KIND_NAMES[kind]}: validation MSE ÷ the same n's at {sweep.symbol} = 0",
        subtitle="mean over three seeds; below 1 (blue): better than no regularisation; "
        "outlined: better on every seed",
    )
    return charts.to_spec(figure)


# -- what the reader sees -----------------------------------------------------------------------


@ready.cached
def _best_table(directory: str) -> str:
    """The best λ and p per n as the page shows it (Markdown)."""
    best = [b for kind in smalldata.KINDS for b in _best(directory, kind)]
    formats = {"validation MSE": ".3f", "without regularisation": ".3f", "improvement": "+.1%"}
    return show.markdown_table(smalldata.best_table(best), {"n": ",", **formats})


@st.fragment
def _explore(directory: str) -> None:
    # show.lazy_tabs, plus a default: a link that names an n, a regulariser or a focus
    # opens on the tab that shows them.
    lam, p, heat, close = st.tabs(TABS, key=TABS_KEY, on_change="rerun", default=_default_tab())
    for tab, kind in ((lam, "l2"), (p, "p")):
        if tab.open:
            with tab:
                show.chart(_curves(directory, kind))
    if heat.open:
        with heat:
            st.markdown(
                "Each cell divides a setting's validation MSE by that of the same n without "
                "regularisation: the raw numbers fall so much with n that one colour scale "
                "would show only the data size. Hover a cell for the raw MSE and on how many "
                "seeds it beats none."
            )
            for kind in smalldata.KINDS:
                show.chart(_heatmap(directory, kind))
    if close.open:
        with close:
            _up_close(directory)


def _default_tab() -> str | None:
    """The up-close tab when the session began with a link that sets its pickers, else the first."""
    if _LINKED not in st.session_state:
        now, start = url.current(), PageState()
        st.session_state[_LINKED] = any(now[name] != start[name] for name in PICKERS)
    return TABS[-1] if st.session_state[_LINKED] else None


def _focus_options(directory: str, kind: str, n: int) -> tuple[list[str], float | None]:
    """The focus picker's options ('best' first) and the value 'best' stands for at this n."""
    best = next((b.value for b in _best(directory, kind) if b.n == n), None)
    return [BEST, *(f"{v:g}" for v in smalldata.values(kind))], best


def focus_value(token: str, best: float | None) -> float | None:
    """The value a focus token names: the best value for 'best', else the number itself."""
    return best if token == BEST else float(token)


def _kind_changed() -> None:
    """Switching regulariser: a focus that is not a value of the new one goes back to 'best'."""
    kind = st.session_state[url.KEYS["nreg"]]
    allowed = {f"{v:g}" for v in smalldata.values(kind)}
    if st.session_state.get(url.KEYS["nfocus"]) not in allowed:
        st.session_state[url.KEYS["nfocus"]] = BEST
    url.write()


def _up_close(directory: str) -> None:
    state = st.session_state
    left, right = st.columns(2)
    with left:
        n = st.radio(
            "Training points",
            list(SMALL_DATA_N),
            format_func=lambda v: f"{v:,}",
            horizontal=True,
            key=url.KEYS["n"],
            on_change=url.write,
        )
    with right:
        kind = st.radio(
            "Regulariser",
            list(smalldata.KINDS),
            format_func=smalldata.KIND_NAMES.get,
            horizontal=True,
            key=url.KEYS["nreg"],
            on_change=_kind_changed,
        )
    options, best = _focus_options(directory, kind, n)
    if state.get(url.KEYS["nfocus"]) not in options:
        state[url.KEYS["nfocus"]] = BEST
        url.write()
    sweep = smalldata.sweep(kind, n)

    def label(token: str) -> str:
        if token != BEST:
            return sweep.label(float(token))
        return f"the best ({sweep.label(best)})" if best is not None else "the best"

    token = st.select_slider(
        f"Focus on one {sweep.symbol}",
        options=options,
        format_func=label,
        key=url.KEYS["nfocus"],
        on_change=url.write,
    )
    value = focus_value(token, best)
    if value is None:
        show.missing(f"The {sweep.name} sweep")
        return
    sweeps.draw_views(directory, sweep.key, value, None)
    st.markdown(_focus_story(resources.pretrained(directory).runs, kind, n, value))


def _focus_story(runs: Mapping[str, RunView], kind: str, n: int, value: float) -> str:
    sweep = smalldata.sweep(kind, n)
    val = smalldata.per_seed(runs, sweep.config(value), smalldata.VAL)
    train = smalldata.per_seed(runs, sweep.config(value), smalldata.TRAIN)
    base_train, base_val = smalldata.gap(runs, n)
    if not val or not base_val.n:
        return ""
    mean_val = sum(val.values()) / len(val)
    text = (
        f"**n = {n:,}, {sweep.label(value)}.** Validation MSE {_mse(mean_val)}"
        f" (without regularisation {_mse(base_val.mean)})"
    )
    if train:
        mean_train = sum(train.values()) / len(train)
        text += f", training MSE {_mse(mean_train)} (without {_mse(base_train.mean)})"
    if value:
        wins, seeds = smalldata.paired(
            val, smalldata.per_seed(runs, sweep.config(0.0), smalldata.VAL)
        )
        text += f"; below the unregularised run on {wins} of {seeds} seeds"
    return text + "."
