"""Claims of our own that the article's pictures raise, judged like the article's."""

from __future__ import annotations

import numpy as np

from regviz import smalldata
from regviz.analysis import NEAR_ZERO
from regviz.data import N_TRAIN
from regviz.registry import SMALL_DATA, SWEEPS, Sweep
from regviz.verdict.claims import CLAIMS, JUDGED
from regviz.verdict.grading import Criterion, Verdict, judge
from regviz.verdict.runs import FINAL, Runs, line_fit, paired_excess, range_ratio, stats_of
from regviz.verdict.thresholds import (
    FLAT_STD_RATIO,
    OPTIMISER_SHARE,
    PAIRED_MARGIN,
    RANGE_RATIO,
    SMALL_L2,
)
from regviz.verdict.words import compare, pct, split
from regviz.views import PREDICTION_GRID


def _verdict(key: str, criteria, measured: str, evidence=None) -> Verdict:
    return judge(key, CLAIMS[key], JUDGED[key], criteria, measured, evidence)


def adam_share(runs: Runs) -> Verdict:
    """Adam against SGD at the same small λ: how much of the near-zero pile SGD makes too.

    Each optimiser's excess of weights within 1e-3 of zero over its own λ = 0 run,
    seed by seed; the criterion is SGD's mean excess over Adam's. Where Adam
    makes no excess at all the ratio is undefined and the criterion fails.
    """
    criteria, parts, penalty = [], [], {}
    near = "weight_fraction_near_zero"
    adam0, sgd0 = runs.per_seed("l2", 0.0, near), runs.per_seed("sgd", 0.0, near)
    for value in SMALL_L2:
        adam = runs.per_seed("l2", value, near)
        sgd = runs.per_seed("sgd", value, near)
        a = float(np.mean([adam[s] - adam0[s] for s in adam]))
        b = float(np.mean([sgd[s] - sgd0[s] for s in sgd]))
        ratio = b / a if a > 0 else float("nan")
        criteria.append(
            Criterion(
                "SGD's excess near zero / Adam's", f"λ = {value:g}", ratio, OPTIMISER_SHARE, True
            )
        )
        penalty[value] = criteria[-1].passes()
        share = f"Adam's share {pct(1 - ratio)}" if a > 0 else "Adam makes no excess"
        parts.append(f"λ = {value:g}: Adam {100 * a:+.1f} %, SGD {100 * b:+.1f} % ({share})")
    measured = (
        f"Weights within {NEAR_ZERO:g} of zero beyond each optimiser's own λ = 0 run (mean of "
        "the seeds' paired differences): "
        + "; ".join(parts)
        + f". SGD makes at least {pct(OPTIMISER_SHARE)} of Adam's pile "
        + split(penalty, "λ")
        + "."
    )
    return _verdict("adam_share", criteria, measured)


def bias_ramp(runs: Runs) -> Verdict:
    """λ = 1 with biases penalised: a straight line (small residual) that is visibly tilted,
    where the weights-only λ = 1 run is flat."""
    signal_std = float(np.std(runs.signal()))
    both = SWEEPS["l2b"]
    top = max(both.values)
    views = runs.views(both.config(top))
    fits = [line_fit(v.prediction) for v in views]
    residual = float(np.mean([f[2] for f in fits])) / signal_std
    tilt = float(np.mean([abs(f[0]) for f in fits])) * float(np.std(PREDICTION_GRID)) / signal_std
    flat = stats_of(runs.per_seed("l2", top, "prediction_std_ratio"))
    criteria = [
        Criterion(
            "distance from its straight line / signal std",
            f"λ = {top:g}, biases too",
            residual,
            FLAT_STD_RATIO,
            False,
        ),
        Criterion(
            "the line's std / signal std", f"λ = {top:g}, biases too", tilt, FLAT_STD_RATIO, True
        ),
        Criterion(
            "prediction std / signal std",
            f"λ = {top:g}, weights only",
            flat.mean,
            FLAT_STD_RATIO,
            False,
        ),
    ]
    slopes = stats_of([f[0] for f in fits])
    r2 = stats_of([f[1] for f in fits])
    other = [v for v in both.values if v != top]
    extra = ""
    if other:
        low = [line_fit(v.prediction) for v in runs.views(both.config(other[0]))]
        extra = (
            f" At λ = {other[0]:g} with the biases penalised the closest line explains "
            f"{pct(float(np.mean([f[1] for f in low])))} of the curve's variation."
        )
    measured = (
        f"With the biases penalised, the straight line closest to the λ = {top:g} prediction "
        f"rises {slopes.mean:+.3f} per unit x (seeds {slopes.low:+.3f}–{slopes.high:+.3f}) and "
        f"keeps {pct(tilt)} of the signal's std; it explains {pct(r2.mean, 1)} of the curve's "
        f"variation (the curve strays from it by {pct(residual, 1)} of the signal's std). With "
        f"the weights only the λ = {top:g} prediction keeps {pct(flat.mean)} of the signal's std."
        + extra
    )
    return _verdict("bias_ramp", criteria, measured)


def best_by_n(runs: Runs, kind: str) -> dict[int, tuple[float, dict[int, float], dict[int, float]]]:
    """n → (best value > 0, its per-seed MSE, the unregularised per-seed MSE), n < 8,000.

    The best value is `regviz.smalldata.best_by_n`'s (lowest mean validation MSE;
    the page's small-data section shows the same one). Every run of the sweep must
    be present: a missing one raises `Missing` rather than changing which is best.
    """
    mse = {
        n: {value: _per_seed(runs, sweep, value) for value in smalldata.values(kind)}
        for (k, n), sweep in SMALL_DATA.items()
        if k == kind and n < N_TRAIN
    }
    best = {b.n: b.value for b in smalldata.best_by_n(runs.pretrained.runs, kind)}
    return {n: (best[n], mse[n][best[n]], mse[n][0.0]) for n in sorted(mse)}


def _per_seed(runs: Runs, sweep: Sweep, value: float) -> dict[int, float]:
    return {v.config.seed: float(v.metrics[FINAL]) for v in runs.views(sweep.config(value))}


def small_data(runs: Runs) -> Verdict:
    """At each n < 8,000: the best λ > 0 and the best p > 0 against none, every seed.

    "Best" is `regviz.smalldata.best_by_n`'s pick by the mean validation MSE, on
    the same validation set it is then judged on; with 2,000 validation points
    that choice adds little, but it leans towards "beats".
    """
    criteria, beats, parts = [], {}, []
    for kind, symbol in (("l2", "λ"), ("p", "p")):
        for n, (best, mse, base) in best_by_n(runs, kind).items():
            where = f"n = {n:,}, {symbol} = {best:g}"
            pair = (
                Criterion(
                    "none's MSE / best's, every seed − 1",
                    where,
                    paired_excess(base, mse),
                    PAIRED_MARGIN,
                    True,
                ),
                Criterion(
                    "lowest MSE of none / highest of best",
                    where,
                    range_ratio(base, mse),
                    RANGE_RATIO,
                    True,
                ),
            )
            criteria += pair
            beats[(kind, n)] = all(c.passes() for c in pair)
            gain = 1 - stats_of(mse).mean / stats_of(base).mean
            parts.append(
                f"n = {n:,}: best {symbol} = {best:g}, {stats_of(mse).format()} against "
                f"{stats_of(base).format()} without ({pct(abs(gain))} "
                f"{compare(gain, 0, 'lower', 'higher', 'equal')})"
            )
    won = [f"{'λ' if k == 'l2' else 'p'} at n = {n:,}" for (k, n), ok in beats.items() if ok]
    lost = [f"{'λ' if k == 'l2' else 'p'} at n = {n:,}" for (k, n), ok in beats.items() if not ok]
    measured = (
        "Validation MSE (last 10 epochs): "
        + "; ".join(parts)
        + ". Better on every seed by ≥ "
        + pct(PAIRED_MARGIN)
        + " and beyond the seed range: "
        + (", ".join(won) if won else "none")
        + (f"; not: {', '.join(lost)}" if lost else "")
        + "."
    )
    return _verdict("small_data", criteria, measured)
