"""The article's claims next to what our checkpoints measure, with a verdict for each.

Every verdict is computed from the loaded runs each time it is asked for; no
number in here is typed in except the thresholds below, each with the reason
for its value. A claim is judged on the mean over its three seeds and, where two
settings are compared, on whether *every* seed of one lies beyond *every* seed
of the other ("clearly", i.e. the seeds' min–max ranges do not overlap): with
three seeds a difference inside that range may be the luck of one
initialisation. A claim whose run files are missing is returned as
"not measured", naming the files, instead of raising.

numpy and pandas only: this runs on the page's reading path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, SEEDS, RunConfig
from regviz.data import HARD_CENTRE, HARD_HALF_WIDTH, NOISE_STD
from regviz.layout import N_PARAMETERS, weight_mask
from regviz.store import Pretrained, rebuild_command
from regviz.summary import Stats, by_setting, metric_stats, setting_of
from regviz.views import PREDICTION_GRID, RunView

HOLDS, PARTLY, DOES_NOT_HOLD, NOT_MEASURED = "holds", "partly", "does not hold", "not measured"
VERDICTS = (HOLDS, PARTLY, DOES_NOT_HOLD, NOT_MEASURED)

#: The λ where the article sees validation error start to climb.
ARTICLE_TURN_L2 = 0.01
#: A line "looks flat" when it keeps under 10 % of the clean signal's standard
#: deviation: on a chart whose y-axis spans the data that is a barely visible wiggle.
FLAT_STD_RATIO = 0.1
#: A constant c scores Var(y) + (c − ȳ)² on the validation set, so a validation
#: MSE within 5 % of Var(y) puts the line within 0.22 σ_y of the data's mean.
MEAN_TOLERANCE = 0.05
#: "A spike at zero": 90 % of the weights within 1e-3 of zero (at initialisation
#: under 1 % are; the KDE of such a set is one narrow peak).
DELTA_FRACTION = 0.9
#: With a majority at zero the density is a spike with a visible shoulder: partly.
DELTA_PARTLY = 0.5
#: "Shaky": the curve bends at least 50 % more than the unregularised fit where
#: the truth is smooth; less than that is hard to see on the page's chart.
SHAKY_RATIO = 1.5
#: "Fuzzy near x = 11": the band (or the seed-to-seed spread) there is at least
#: 25 % wider than elsewhere; smaller differences drown in the seed spread.
FUZZY_RATIO = 1.25
#: Share of weights that must be bit-identical to the initialisation for
#: "partly": a handful of moved weights would not change the KDE's shape.
UNCHANGED_PARTLY = 0.99

#: Dropout settings compared with strong L2. p = 1 is left out: it never trains,
#: so its spread is just the initialisation's (that is a claim of its own).
DROPOUT_TRAINED = tuple(p for p in CANONICAL_DROPOUT if 0 < p < 1)
#: "Strong" L2: from the article's turning point on.
STRONG_L2 = tuple(value for value in CANONICAL_L2 if value >= ARTICLE_TURN_L2)
FUZZY_P = (0.2, 0.3)

#: The article's claims in our words, keyed for code; `article_verdicts` returns
#: them in this order.
CLAIMS: dict[str, str] = {
    "turning_point": (
        "Validation error barely moves for small λ and starts to climb around λ = 0.01."
    ),
    "flat_at_large_l2": ("A large λ flattens the prediction into a line at the data's mean level."),
    "delta_at_l2_1": "At λ = 1 the weights pile up at zero: their density becomes a spike.",
    "shaky_p01": "Even light dropout (p = 0.1) makes the fitted curve shaky.",
    "fuzzy_p02_03": "At p = 0.2–0.3 the fit turns fuzzy in the hard region near x = 11.",
    "mean_at_p06": "By p = 0.6 the prediction has collapsed to the mean of the data.",
    "initial_at_p1": (
        "At p = 1 nothing is learnt: the parameters keep their uniform-looking initial values."
    ),
    "dropout_wider": "Dropout leaves the parameters spread far wider than strong L2 does.",
}


@dataclass(frozen=True)
class Verdict:
    """One claim of the article, what we measured, and how the two compare."""

    claim: str
    measured: str
    verdict: str
    evidence: dict[str, float] = field(default_factory=dict)


class _Missing(Exception):
    """A claim needs files that did not load."""

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)
        super().__init__("; ".join(self.labels))


class _Runs:
    """The loaded runs grouped by setting, with missing files turned into `_Missing`."""

    def __init__(self, pretrained: Pretrained):
        self.pretrained = pretrained
        self.groups = by_setting(pretrained.runs)

    def views(self, setting: RunConfig) -> list[RunView]:
        """All seeds of a setting; raises `_Missing` naming any seed that did not load."""
        views = self.groups.get(setting_of(setting), [])
        present = {view.config.seed for view in views}
        missing = [setting.with_seed(seed).run_id for seed in SEEDS if seed not in present]
        if missing:
            raise _Missing([self._label(run_id) for run_id in missing])
        return [view for view in views if view.config.seed in SEEDS]

    def stats(self, setting: RunConfig, metric: str) -> Stats:
        return metric_stats(self.views(setting), metric)

    def signal(self) -> np.ndarray:
        data = self.pretrained.data
        if data is None or "signal" not in data:
            raise _Missing([self._label(None)])
        return np.asarray(data["signal"], dtype=np.float64)

    def _label(self, run_id: str | None) -> str:
        """Where a run's (or, for None, the data's) file is and how to rebuild it."""
        needle = f"/{run_id}." if run_id else "/data."
        for problem in self.pretrained.problems:
            if needle in problem.path or "manifest" in problem.path:
                return f"{problem.path} ({problem.reason}; rebuild: {problem.command})"
        manifest = self.pretrained.manifest
        entry = manifest.get("runs", {}).get(run_id) if run_id else manifest.get("data")
        what = f"pretrained/{entry['file']}" if entry and "file" in entry else run_id or "data"
        return f"{what} (not loaded; rebuild: {rebuild_command(run_id)})"


# --- shared measures -------------------------------------------------------------


def _l2(value: float) -> RunConfig:
    return RunConfig(l2=value)


def _p(value: float) -> RunConfig:
    return RunConfig(dropout=value)


def clearly_above(high: Stats, low: Stats) -> bool:
    """Every seed of `high` lies above every seed of `low` (their ranges do not overlap)."""
    return high.low > low.high


def _stats_of(values: Sequence[float]) -> Stats:
    array = np.asarray(values, dtype=float)
    return Stats(float(array.mean()), float(array.min()), float(array.max()), int(array.size))


def roughness(curve: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean squared second difference of a curve on `PREDICTION_GRID`.

    `where` selects grid points (a boolean mask over the grid); a second
    difference counts when its centre point is selected. It measures how much
    the curve bends from one grid step to the next: a shaky curve bends a lot.
    """
    second = np.diff(np.asarray(curve, dtype=np.float64), 2) ** 2
    if where is not None:
        second = second[np.asarray(where)[1:-1]]
    return float(second.mean())


def hard_region(x: np.ndarray = PREDICTION_GRID) -> np.ndarray:
    """Mask of the hard region |x − 11| ≤ 1 around the signal's fast wiggle."""
    return np.abs(np.asarray(x) - HARD_CENTRE) <= HARD_HALF_WIDTH


def _mean_like(std_ratio: float, val_over_var: float) -> tuple[bool, bool]:
    return std_ratio <= FLAT_STD_RATIO, abs(val_over_var - 1.0) <= MEAN_TOLERANCE


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f} %"


def _seeds(seeds: Sequence[int]) -> str:
    word = "seed" if len(seeds) == 1 else "seeds"
    return f"{word} " + ", ".join(str(s) for s in seeds)


# --- the claims -------------------------------------------------------------------


def _turning_point(runs: _Runs) -> Verdict:
    """Where validation MSE starts to climb along the λ sweep.

    The first λ that is *clearly* worse than λ = 0 (every seed above every
    unregularised seed) ends the flat stretch; the climb starts between the λ
    before it and it. Holds when that bracket contains 0.01, partly when it is
    within one decade of 0.01 (the sweep steps by decades), else does not hold.
    """
    stats = {value: runs.stats(_l2(value), "val_mse") for value in CANONICAL_L2}
    base = stats[0.0]
    evidence = {f"val_mse mean, λ={value:g}": s.mean for value, s in stats.items()}
    evidence["val_mse highest seed, λ=0"] = base.high
    worse = [value for value in CANONICAL_L2[1:] if clearly_above(stats[value], base)]
    if not worse:
        return Verdict(
            CLAIMS["turning_point"],
            f"No λ up to {CANONICAL_L2[-1]:g} is clearly worse than λ = 0 "
            f"(validation MSE {base.format()} over the seeds).",
            DOES_NOT_HOLD,
            evidence,
        )
    first = worse[0]
    last_flat = CANONICAL_L2[CANONICAL_L2.index(first) - 1]
    evidence |= {"last flat λ": last_flat, "first clearly worse λ": first}
    if last_flat <= ARTICLE_TURN_L2 <= first:
        verdict = HOLDS
    elif first >= ARTICLE_TURN_L2 / 10 and last_flat <= ARTICLE_TURN_L2 * 10:
        verdict = PARTLY
    else:
        verdict = DOES_NOT_HOLD
    flat = stats[last_flat]
    change = flat.mean / base.mean - 1
    measured = (
        f"Up to λ = {last_flat:g} validation MSE is not clearly worse than without L2 "
        f"(at {last_flat:g}: {flat.mean:.3g}, seeds {flat.low:.3g}–{flat.high:.3g}, "
        f"{100 * change:+.0f} %; at λ = 0: {base.mean:.3g}, seeds {base.low:.3g}–{base.high:.3g}). "
        f"From λ = {first:g} every seed is worse than every unregularised one "
        f"({stats[first].mean:.3g}, {stats[first].mean / base.mean:.1f}× the λ = 0 mean). "
        f"The climb starts between λ = {last_flat:g} and {first:g}."
    )
    return Verdict(CLAIMS["turning_point"], measured, verdict, evidence)


def _flat_at_large_l2(runs: _Runs) -> Verdict:
    """At the largest λ: is the prediction flat (std ratio) and at the mean (MSE ≈ Var(y))?"""
    top, below = CANONICAL_L2[-1], CANONICAL_L2[-2]
    std = runs.stats(_l2(top), "prediction_std_ratio")
    vov = runs.stats(_l2(top), "val_mse_over_var")
    std_below = runs.stats(_l2(below), "prediction_std_ratio")
    flat, at_mean = _mean_like(std.mean, vov.mean)
    verdict = HOLDS if flat and at_mean else PARTLY if flat or at_mean else DOES_NOT_HOLD
    measured = (
        f"At λ = {top:g} the prediction keeps {_pct(std.mean)} of the clean signal's variation "
        f"and its validation MSE is {vov.mean:.3f} × Var(y) (a line at the mean scores 1); "
        f"one step earlier, at λ = {below:g}, the curve is only damped "
        f"({_pct(std_below.mean)} of the variation)."
    )
    evidence = {
        f"prediction std ratio, λ={top:g}": std.mean,
        f"val MSE / Var(y), λ={top:g}": vov.mean,
        f"prediction std ratio, λ={below:g}": std_below.mean,
    }
    return Verdict(CLAIMS["flat_at_large_l2"], measured, verdict, evidence)


def _delta_at_l2_1(runs: _Runs) -> Verdict:
    """Share of weights within 1e-3 of zero at λ = 1 (biases are not penalised, see train.py)."""
    top = CANONICAL_L2[-1]
    near = runs.stats(_l2(top), "weight_fraction_near_zero")
    near_base = runs.stats(_l2(0.0), "weight_fraction_near_zero")
    bias = runs.stats(_l2(top), "bias_std")
    bias_base = runs.stats(_l2(0.0), "bias_std")
    verdict = (
        HOLDS
        if near.mean >= DELTA_FRACTION
        else PARTLY
        if near.mean >= DELTA_PARTLY
        else DOES_NOT_HOLD
    )
    measured = (
        f"At λ = {top:g}, {near.mean:.1%} of the weights lie within 0.001 of zero "
        f"(seeds {near.low:.1%}–{near.high:.1%}; {near_base.mean:.1%} without L2). "
        f"The biases, which our penalty leaves alone, spread out instead "
        f"(std {bias.mean:.2f} against {bias_base.mean:.2f} without L2)."
    )
    evidence = {
        f"weights near zero, λ={top:g}": near.mean,
        "weights near zero, λ=0": near_base.mean,
        f"bias std, λ={top:g}": bias.mean,
        "bias std, λ=0": bias_base.mean,
    }
    return Verdict(CLAIMS["delta_at_l2_1"], measured, verdict, evidence)


def _shaky_p01(runs: _Runs) -> Verdict:
    """Roughness of the p = 0.1 curve where the truth is smooth (away from x = 11).

    Roughness is the mean squared second difference of the stored prediction on
    the grid (`roughness`), compared with the unregularised fit's and with the
    clean signal's over the same stretch. The hard region is left out because
    there bending is correct: the signal itself wiggles fast. Holds when every
    p = 0.1 seed is rougher than every unregularised seed and the mean is at
    least `SHAKY_RATIO` times theirs; partly when only rougher on average.
    """
    smooth = ~hard_region()
    reference = roughness(runs.signal(), smooth)
    dropout = _stats_of([roughness(v.prediction, smooth) / reference for v in runs.views(_p(0.1))])
    base = _stats_of([roughness(v.prediction, smooth) / reference for v in runs.views(_p(0.0))])
    ratio = dropout.mean / base.mean
    if clearly_above(dropout, base) and ratio >= SHAKY_RATIO:
        verdict = HOLDS
    elif ratio > 1:
        verdict = PARTLY
    else:
        verdict = DOES_NOT_HOLD
    measured = (
        f"Away from x = 11, where the true curve is smooth, the p = 0.1 curve bends "
        f"{dropout.mean:.1f}× as much as the clean signal (seeds {dropout.low:.1f}–"
        f"{dropout.high:.1f}), against {base.mean:.1f}× ({base.low:.1f}–{base.high:.1f}) "
        f"without dropout: {ratio:.1f}× the unregularised fit's roughness."
    )
    evidence = {
        "roughness / signal, p=0.1": dropout.mean,
        "roughness / signal, p=0": base.mean,
        "roughness ratio p=0.1 / p=0": ratio,
    }
    return Verdict(CLAIMS["shaky_p01"], measured, verdict, evidence)


def seed_spread_ratio(views: Sequence[RunView]) -> float:
    """Seed-to-seed spread of the predictions near x = 11 over the spread elsewhere."""
    spread = np.vstack([np.asarray(v.prediction, dtype=np.float64) for v in views]).std(0)
    hard = hard_region()
    return float(spread[hard].mean() / spread[~hard].mean())


def _fuzzy_p02_03(runs: _Runs) -> Verdict:
    """Is the fit less certain near x = 11 than elsewhere at p = 0.2 and 0.3?

    "Fuzzy" is measured twice: the Monte Carlo dropout band (σ of 100 passes with
    dropout on; `mc_hard_std` against `mc_easy_std`) and the seed-to-seed spread
    of the predictions, each near x = 11 over elsewhere. Holds when all four
    ratios reach `FUZZY_RATIO`, partly when some do, else does not hold. The
    hard-region error ratio is reported for context: the fit can be worse there
    without the band saying so.
    """
    evidence: dict[str, float] = {}
    parts = []
    ratios = []
    for p in FUZZY_P:
        views = runs.views(_p(p))
        band = metric_stats(views, "mc_hard_std").mean / metric_stats(views, "mc_easy_std").mean
        seeds = seed_spread_ratio(views)
        error = (
            metric_stats(views, "hard_region_mse").mean
            / metric_stats(views, "easy_region_mse").mean
        )
        ratios += [band, seeds]
        evidence |= {
            f"band σ near/elsewhere, p={p:g}": band,
            f"seed spread near/elsewhere, p={p:g}": seeds,
            f"MSE near/elsewhere, p={p:g}": error,
            f"band σ elsewhere, p={p:g}": metric_stats(views, "mc_easy_std").mean,
        }
        parts.append(f"p = {p:g}: band {band:.2f}×, seed spread {seeds:.2f}×, error {error:.1f}×")
    base_seeds = seed_spread_ratio(runs.views(_p(0.0)))
    evidence["seed spread near/elsewhere, p=0"] = base_seeds
    reached = sum(r >= FUZZY_RATIO for r in ratios)
    verdict = HOLDS if reached == len(ratios) else PARTLY if reached else DOES_NOT_HOLD
    easy = [evidence[f"band σ elsewhere, p={p:g}"] for p in FUZZY_P]
    measured = (
        "Near x = 11 against elsewhere: "
        + "; ".join(parts)
        + f". The dropout band is wide everywhere (σ ≈ {min(easy):.2f}–{max(easy):.2f} away "
        f"from x = 11, the noise's σ is {NOISE_STD:g}), not specially near x = 11, while "
        f"the unregularised seeds disagree {base_seeds:.1f}× as much there as elsewhere."
    )
    return Verdict(CLAIMS["fuzzy_p02_03"], measured, verdict, evidence)


def _mean_at_p06(runs: _Runs) -> Verdict:
    """Is p = 0.6 mean-like (flat and at the mean level, same thresholds as for large λ)?"""
    std = runs.stats(_p(0.6), "prediction_std_ratio")
    vov = runs.stats(_p(0.6), "val_mse_over_var")
    flat, at_mean = _mean_like(std.mean, vov.mean)
    verdict = HOLDS if flat and at_mean else PARTLY if flat or at_mean else DOES_NOT_HOLD
    measured = (
        f"At p = 0.6 the prediction keeps {_pct(std.mean)} of the signal's variation "
        f"(seeds {_pct(std.low)}–{_pct(std.high)}) and its validation MSE is "
        f"{vov.mean:.2f} ({vov.low:.2f}–{vov.high:.2f}) × Var(y); "
        "a line at the mean would keep 0 % and score 1."
    )
    evidence = {"prediction std ratio, p=0.6": std.mean, "val MSE / Var(y), p=0.6": vov.mean}
    candidates = []
    for p in DROPOUT_TRAINED:
        try:
            s = runs.stats(_p(p), "prediction_std_ratio")
            v = runs.stats(_p(p), "val_mse_over_var")
        except _Missing:
            continue
        candidates.append((p, s.mean, v.mean))
    first = next((c for c in candidates if all(_mean_like(c[1], c[2]))), None)
    if first is not None:
        measured += f" The first mean-like setting is p = {first[0]:g}."
        evidence["first mean-like p"] = first[0]
    elif candidates:
        p, s, v = min(candidates, key=lambda c: c[1])
        measured += (
            f" No p below 1 is mean-like; the flattest, p = {p:g}, keeps {_pct(s)} "
            f"(validation MSE {v:.2f} × Var(y))."
        )
        evidence |= {"flattest p below 1": p, "its prediction std ratio": s}
    return Verdict(CLAIMS["mean_at_p06"], measured, verdict, evidence)


def _initial_at_p1(runs: _Runs) -> Verdict:
    """Are the p = 1 weights still their initial values, bit for bit?

    Checked against the shipped init files when they loaded (the weights, and
    which parameters moved at all), else from the stored `weights_unchanged`
    metric. With every hidden unit dropped in training, only the output bias can
    receive a gradient.
    """
    views = runs.views(_p(1.0))
    mask = weight_mask()
    identical, moved_none, moved_bias, moved_other = [], [], [], []
    from_files = True
    for view in views:
        init = runs.pretrained.inits.get(view.config.seed, {}).get("parameters")
        params = view.parameters
        if init is None or params is None or np.size(init) != N_PARAMETERS:
            from_files = False
            identical.append(float(view.metrics["weights_unchanged"]))
            continue
        same = np.asarray(params) == np.asarray(init)
        identical.append(float(same[mask].mean()))
        changed = np.flatnonzero(~same)
        if changed.size == 0:
            moved_none.append(view.config.seed)
        elif changed.tolist() == [N_PARAMETERS - 1]:  # the last entry is the output bias
            moved_bias.append(view.config.seed)
        else:
            moved_other.append(view.config.seed)
    lowest = min(identical)
    verdict = HOLDS if lowest == 1.0 else PARTLY if lowest >= UNCHANGED_PARTLY else DOES_NOT_HOLD
    source = "the init files" if from_files else "the stored metric (init files not loaded)"
    if lowest == 1.0:
        measured = f"Every weight of all {len(views)} seeds is bit-identical to its initial value"
    else:
        measured = (
            f"In the seed that moved most, {lowest:.2%} of the weights are still "
            "bit-identical to their initial values"
        )
    measured += f" (checked against {source})."
    if from_files:
        moves = []
        if moved_none:
            moves.append(f"nothing moved in {_seeds(moved_none)}")
        if moved_bias:
            moves.append(f"only the output bias moved in {_seeds(moved_bias)}")
        if moved_other:
            moves.append(f"other parameters moved in {_seeds(moved_other)}")
        text = "; ".join(moves)
        measured += f" {text[0].upper()}{text[1:]}."
    vov = runs.stats(_p(1.0), "val_mse_over_var")
    measured += (
        f" With dropout off at prediction time the curve is an untrained network's: "
        f"validation MSE {vov.low:.2f}–{vov.high:.2f} × Var(y)."
    )
    evidence = {
        "weights identical to init, lowest seed": lowest,
        "seeds where only the output bias moved": float(len(moved_bias)),
        "val MSE / Var(y), p=1": vov.mean,
    }
    return Verdict(CLAIMS["initial_at_p1"], measured, verdict, evidence)


def _dropout_wider(runs: _Runs) -> Verdict:
    """Weight spread of the trained dropout models (p = 0.1–0.9) against L2 with λ ≥ 0.01.

    Two measures of spread: the weights' standard deviation and their
    interquartile range (robust to a few large weights). We use the weights, the
    part L2 acts on: the unpenalised biases grow under strong L2 (see
    `_delta_at_l2_1`), which would blur an all-parameter comparison. Holds when
    both measures put every dropout run above every strong-L2 run, partly when
    one does, else does not hold.
    """
    found = {}
    for metric in ("weight_std", "weight_iqr"):
        drop = [v.metrics[metric] for p in DROPOUT_TRAINED for v in runs.views(_p(p))]
        strong = [v.metrics[metric] for lam in STRONG_L2 for v in runs.views(_l2(lam))]
        found[metric] = (_stats_of(drop), _stats_of(strong))
    clear = [clearly_above(d, s) for d, s in found.values()]
    verdict = HOLDS if all(clear) else PARTLY if any(clear) else DOES_NOT_HOLD
    (std_d, std_s), (iqr_d, iqr_s) = found["weight_std"], found["weight_iqr"]
    base = runs.stats(_p(0.0), "weight_std")
    light = runs.stats(_p(DROPOUT_TRAINED[0]), "weight_std")
    measured = (
        f"Weight std over all dropout runs (p = {DROPOUT_TRAINED[0]:g}–{DROPOUT_TRAINED[-1]:g}) "
        f"is {std_d.low:.3g}–{std_d.high:.3g}, over L2 with λ ≥ {STRONG_L2[0]:g} "
        f"{std_s.low:.2g}–{std_s.high:.2g}; the interquartile range {iqr_d.low:.2g}–"
        f"{iqr_d.high:.2g} against {iqr_s.low:.2g}–{iqr_s.high:.2g}. Light dropout even "
        f"widens the weights beyond no regularisation (p = {DROPOUT_TRAINED[0]:g}: "
        f"{light.mean:.2f}, none: {base.mean:.2f})."
    )
    evidence = {
        "weight std, narrowest dropout run": std_d.low,
        "weight std, widest strong-L2 run": std_s.high,
        "weight IQR, narrowest dropout run": iqr_d.low,
        "weight IQR, widest strong-L2 run": iqr_s.high,
        "weight std, no regularisation": base.mean,
    }
    return Verdict(CLAIMS["dropout_wider"], measured, verdict, evidence)


_JUDGES: dict[str, Callable[[_Runs], Verdict]] = {
    "turning_point": _turning_point,
    "flat_at_large_l2": _flat_at_large_l2,
    "delta_at_l2_1": _delta_at_l2_1,
    "shaky_p01": _shaky_p01,
    "fuzzy_p02_03": _fuzzy_p02_03,
    "mean_at_p06": _mean_at_p06,
    "initial_at_p1": _initial_at_p1,
    "dropout_wider": _dropout_wider,
}


def article_verdicts(pretrained: Pretrained) -> list[Verdict]:
    """One verdict per claim in `CLAIMS`, in that order, computed from the loaded runs."""
    runs = _Runs(pretrained)
    verdicts = []
    for key, judge in _JUDGES.items():
        try:
            verdicts.append(judge(runs))
        except _Missing as missing:
            verdicts.append(
                Verdict(
                    CLAIMS[key],
                    "Not measured: missing " + "; ".join(missing.labels),
                    NOT_MEASURED,
                    {},
                )
            )
    return verdicts


def verdict_table(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """Claim, measured and verdict as a table for `st.dataframe`."""
    return pd.DataFrame(
        {
            "The article's claim": [v.claim for v in verdicts],
            "What we measured": [v.measured for v in verdicts],
            "Verdict": [v.verdict for v in verdicts],
        }
    )


# --- MC dropout coverage -----------------------------------------------------------

COVERAGE_COLUMNS = (
    "p",
    "seeds",
    "inside ±2σ, mean (%)",
    "inside ±2σ, lowest seed (%)",
    "inside ±2σ, highest seed (%)",
    "±2σ near x = 11",
    "±2σ elsewhere",
    "near / elsewhere",
    "inside ±2σ with data noise added, mean (%)",
    "val MSE / Var(y)",
    "note",
)


def _validation_sample(pretrained: Pretrained) -> tuple[np.ndarray, np.ndarray] | None:
    """The validation points among the shipped data sample, or None without the data file."""
    data = pretrained.data
    if data is None or not {"sample/x", "sample/y", "sample/is_train"} <= set(data):
        return None
    val = np.asarray(data["sample/is_train"]) == 0
    return (
        np.asarray(data["sample/x"], dtype=np.float64)[val],
        np.asarray(data["sample/y"], dtype=np.float64)[val],
    )


def coverage_with_noise(view: RunView, x: np.ndarray, y: np.ndarray, noise_std: float) -> float:
    """Share of (x, y) inside mc_mean ± 2·√(σ² + noise²), the band read off the grid.

    Widening the dropout band by the data's own noise separates the two reasons
    it misses points: a band that ignores the noise (fixed by this) and a curve
    that sits in the wrong place (not fixed by it).
    """
    if view.mc_mean is None or view.mc_std is None:
        return float("nan")
    mean = np.interp(x, PREDICTION_GRID, np.asarray(view.mc_mean, dtype=np.float64))
    std = np.interp(x, PREDICTION_GRID, np.asarray(view.mc_std, dtype=np.float64))
    return float(np.mean(np.abs(y - mean) <= 2 * np.sqrt(std**2 + noise_std**2)))


def mc_coverage_table(pretrained: Pretrained) -> pd.DataFrame:
    """How honest the Monte Carlo dropout band is, one row per canonical p > 0.

    Coverage is the share of validation points inside mean ± 2σ of 100 forward
    passes with dropout on (a calibrated Gaussian band would hold about 95 %;
    this one reflects dropout's own noise only, not the data's σ = 0.25).
    The band columns are the half-width 2σ, averaged over validation points
    near x = 11 (|x − 11| ≤ 1) and elsewhere. "inside with data noise" widens
    the band to ±2√(σ² + σ_noise²) (`coverage_with_noise`); it is read off the
    stored grid at the validation points of the shipped data sample (a subset of
    the validation set), so it is an estimate. Means over the seeds that loaded;
    `seeds` says how many did.
    """
    groups = by_setting(pretrained.runs)
    sample = _validation_sample(pretrained)
    noise_std = float(pretrained.manifest.get("data", {}).get("noise_std", NOISE_STD))
    rows = []
    for p in CANONICAL_DROPOUT:
        if p == 0:
            continue
        views = [v for v in groups.get(_p(p), []) if "mc_coverage" in v.metrics]
        coverage = metric_stats(views, "mc_coverage")
        hard = metric_stats(views, "mc_hard_std").mean
        easy = metric_stats(views, "mc_easy_std").mean
        spread = metric_stats(views, "mc_mean_std")
        if not views:
            note = "runs not loaded"
        elif spread.high == 0:
            note = "no band: every pass gives the same output"
        else:
            note = ""
        ratio = hard / easy if easy > 0 else float("nan")
        with_noise = float("nan")
        if sample is not None and views:
            with_noise = float(np.mean([coverage_with_noise(v, *sample, noise_std) for v in views]))
        rows.append(
            (
                p,
                len(views),
                100 * coverage.mean,
                100 * coverage.low,
                100 * coverage.high,
                2 * hard,
                2 * easy,
                ratio,
                100 * with_noise,
                metric_stats(views, "val_mse_over_var").mean,
                note,
            )
        )
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
