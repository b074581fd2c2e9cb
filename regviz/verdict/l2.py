"""The article's claims about L2, each judged by criteria (`regviz.verdict.grading`)."""

from __future__ import annotations

import itertools

import numpy as np

from regviz.analysis import NEAR_ZERO
from regviz.config import CANONICAL_L2
from regviz.verdict import spread
from regviz.verdict.claims import CLAIMS, JUDGED
from regviz.verdict.grading import Criterion, Verdict, judge
from regviz.verdict.runs import (
    FINAL,
    FINAL_OVER_VAR,
    Runs,
    climb_start,
    paired_excess,
    range_ratio,
    stats_of,
)
from regviz.verdict.thresholds import (
    ANY_L2,
    ARTICLE_TURN_L2,
    EARLY_EPOCHS,
    FLAT_STD_RATIO,
    LARGE_L2,
    MEAN_TOLERANCE,
    PAIRED_MARGIN,
    RANGE_RATIO,
    SEED_NOISE_RATIO,
    SMALL_L2,
    SPIKE_OUTSIDE_SHARE,
    TALLEST_RATIO,
)
from regviz.verdict.words import compare, pct, signed_pct, split, values


def _verdict(key: str, criteria, measured: str, evidence=None) -> Verdict:
    return judge(key, CLAIMS[key], JUDGED[key], criteria, measured, evidence)


def mean_like(runs: Runs, kind: str, value: float, label: str) -> tuple[Criterion, Criterion]:
    """Flat (std ratio ≤ FLAT_STD_RATIO) and at the mean (|MSE/Var(y) − 1| ≤ MEAN_TOLERANCE).

    The same two criteria for any regulariser: λ > 0.01 and p = 0.6 alike.
    """
    std = stats_of(runs.per_seed(kind, value, "prediction_std_ratio"))
    vov = stats_of(runs.per_seed(kind, value, FINAL_OVER_VAR))
    return (
        Criterion("prediction std / clean signal's", label, std.mean, FLAT_STD_RATIO, False),
        Criterion("|val MSE / Var(y) − 1|", label, abs(vov.mean - 1), MEAN_TOLERANCE, False),
    )


def mean_like_words(runs: Runs, kind: str, value: float, symbol: str) -> str:
    std = stats_of(runs.per_seed(kind, value, "prediction_std_ratio"))
    vov = stats_of(runs.per_seed(kind, value, FINAL_OVER_VAR))
    return (
        f"at {symbol} = {value:g} the prediction keeps {pct(std.mean)} of the clean signal's "
        f"variation (seeds {pct(std.low)}–{pct(std.high)}) and scores {vov.mean:.2f} × Var(y) "
        f"({vov.low:.2f}–{vov.high:.2f})"
    )


def turning_point(runs: Runs) -> Verdict:
    """Flat below λ = 0.01 and clearly worse by λ = 0.1, seed by seed and by range."""
    mse = {value: runs.per_seed("l2", value, FINAL) for value in CANONICAL_L2}
    base = mse[0.0]
    paired = {value: paired_excess(mse[value], base) for value in SMALL_L2}
    ranges = {value: range_ratio(mse[value], base) for value in SMALL_L2}
    worst_paired = max(paired, key=paired.get)
    worst_range = max(ranges, key=ranges.get)
    climbed = LARGE_L2[0]
    small = f"λ = {SMALL_L2[0]:g}–{SMALL_L2[-1]:g}"
    criteria = [
        Criterion(
            "rise every seed shares over its own λ = 0 run",
            f"{small} (largest at {worst_paired:g})",
            paired[worst_paired],
            PAIRED_MARGIN,
            False,
        ),
        Criterion(
            "lowest seed / highest λ = 0 seed",
            f"{small} (largest at {worst_range:g})",
            ranges[worst_range],
            RANGE_RATIO,
            False,
        ),
        Criterion(
            "rise every seed shares over its own λ = 0 run",
            f"λ = {climbed:g}",
            paired_excess(mse[climbed], base),
            PAIRED_MARGIN,
            True,
        ),
        Criterion(
            "lowest seed / highest λ = 0 seed",
            f"λ = {climbed:g}",
            range_ratio(mse[climbed], base),
            RANGE_RATIO,
            True,
        ),
    ]
    turn = climb_start(mse)
    base_stats = stats_of(base)
    turn_rise = paired_excess(mse[ARTICLE_TURN_L2], base)
    turn_range = range_ratio(mse[ARTICLE_TURN_L2], base)
    high = stats_of(mse[climbed])
    measured = (
        f"Validation MSE (last 10 epochs) without L2: {base_stats.format()}. Below λ = "
        f"{ARTICLE_TURN_L2:g} the largest rise that every seed shares is "
        f"{signed_pct(paired[worst_paired])} (λ = {worst_paired:g}); at λ = {ARTICLE_TURN_L2:g} "
        f"every seed is {signed_pct(turn_rise)} or more above its own unregularised run, the "
        f"lowest {turn_range:.2f}× the highest unregularised seed; at λ = {climbed:g} every "
        f"seed is {signed_pct(criteria[2].value)} or more above its own unregularised run "
        f"(mean {high.mean:.3g}, seeds {high.low:.3g}–{high.high:.3g}). "
    )
    if turn is None:
        measured += (
            f"No λ is clearly worse than λ = 0 (every seed ≥ {pct(PAIRED_MARGIN)} above its own "
            "unregularised run and above all of them)."
        )
        evidence = {}
    else:
        last, first = turn
        measured += (
            f"By the page's rule (every seed ≥ {pct(PAIRED_MARGIN)} above its own unregularised "
            f"run and above all of them) the climb starts between λ = {last:g} and {first:g}: "
            f"{stats_of(mse[first]).mean / stats_of(mse[last]).mean:.1f}× the step before."
        )
        evidence = {"last flat λ": last, "first clearly worse λ": first}
    return _verdict("turning_point", criteria, measured, evidence)


def mean_at_large_l2(runs: Runs) -> Verdict:
    """Every λ above the article's turn: flat and at the mean, the same rule as p = 0.6."""
    criteria, passed, parts = [], {}, []
    for value in LARGE_L2:
        pair = mean_like(runs, "l2", value, f"λ = {value:g}")
        criteria += pair
        passed[value] = all(c.passes() for c in pair)
        parts.append(mean_like_words(runs, "l2", value, "λ"))
    measured = (
        "; ".join(parts)[0].upper()
        + "; ".join(parts)[1:]
        + ". A line at the mean keeps 0 % and scores 1. Mean-like "
        + split(passed, "λ")
        + "."
    )
    return _verdict("mean_at_large_l2", criteria, measured)


def spike_at_l2_1(runs: Runs) -> Verdict:
    """≥ 90 % of the weights within 1e-3 of zero, and the tallest peak of the sweep."""
    top = CANONICAL_L2[-1]
    near = stats_of(runs.per_seed("l2", top, "weight_fraction_near_zero"))
    near_base = stats_of(runs.per_seed("l2", 0.0, "weight_fraction_near_zero"))
    width = spread.sweep_width(runs.at("l2", 0.0))
    peaks = {value: spread.peak(runs.at("l2", value), width) for value in CANONICAL_L2}
    rival = max((v for v in CANONICAL_L2 if v != top), key=peaks.get)
    criteria = [
        Criterion(
            f"share of weights further than {NEAR_ZERO:g} from 0",
            f"λ = {top:g}",
            1 - near.mean,
            SPIKE_OUTSIDE_SHARE,
            False,
        ),
        Criterion(
            f"λ = {top:g} peak / tallest other peak",
            f"λ = {top:g} vs {rival:g}",
            peaks[top] / peaks[rival],
            TALLEST_RATIO,
            True,
        ),
    ]
    bias = stats_of(runs.per_seed("l2", top, "bias_std"))
    bias_base = stats_of(runs.per_seed("l2", 0.0, "bias_std"))
    measured = (
        f"At λ = {top:g}, {pct(near.mean, 1)} of the weights lie within {NEAR_ZERO:g} of zero "
        f"(seeds {pct(near.low, 1)}–{pct(near.high, 1)}; {pct(near_base.mean, 1)} without L2). "
        f"With one bandwidth for the sweep ({width:.3g}, Scott's rule on λ = 0) the λ = {top:g} "
        f"weight density peaks at {peaks[top]:.3g}, "
        f"{compare(peaks[top], peaks[rival], 'above', 'below', 'at')} "
        f"the tallest other peak ({peaks[rival]:.3g} at λ = {rival:g}). The biases, which our "
        f"penalty leaves alone, have std {bias.mean:.2f} against {bias_base.mean:.2f} without L2 "
        f"({compare(bias.mean, bias_base.mean, 'wider', 'narrower', 'the same')})."
    )
    evidence = {f"density peak, λ={v:g}": h for v, h in peaks.items()} | {"bandwidth": width}
    return _verdict("delta_at_l2_1", criteria, measured, evidence)


def _shift(a, b, scale: float) -> float:
    """Root-mean-square distance between two predictions on the grid, over `scale`."""
    diff = np.asarray(a.prediction, dtype=np.float64) - np.asarray(b.prediction, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2))) / scale


def small_l2_params(runs: Runs) -> Verdict:
    """Every λ < 0.01, each seed against its own λ = 0 run, both halves against the same
    yardstick, the luck of the seed: the prediction moves no more than it does between two
    unregularised seeds, the weight density moves more than it does between them."""
    signal_std = float(np.std(runs.signal()))
    base = runs.at("l2", 0.0)
    width = spread.sweep_width(base)
    luck = spread.seed_distance(base, width)
    luck_shift = max(_shift(a, b, signal_std) for a, b in itertools.combinations(base, 2))
    criteria, moved, changed = [], {}, {}
    for value in SMALL_L2:
        views = runs.at("l2", value)
        moved[value] = max(_shift(v, b, signal_std) for v, b in zip(views, base, strict=True))
        changed[value] = min(spread.paired_distance(views, base, width)) / luck
        criteria += [
            Criterion(
                "prediction shift / seed-to-seed shift (largest seed)",
                f"λ = {value:g}",
                moved[value] / luck_shift,
                SEED_NOISE_RATIO,
                False,
            ),
            Criterion(
                "density change / seed-to-seed change (smallest seed)",
                f"λ = {value:g}",
                changed[value],
                SEED_NOISE_RATIO,
                True,
            ),
        ]
    steady = {v: moved[v] / luck_shift <= SEED_NOISE_RATIO for v in SMALL_L2}
    visible = {v: changed[v] >= SEED_NOISE_RATIO for v in SMALL_L2}
    measured = (
        "Each seed against its own λ = 0 run: the prediction moves by "
        + ", ".join(pct(moved[v]) for v in SMALL_L2)
        + f" of the signal's std at {values(SMALL_L2)} (largest seed), against up to "
        + f"{pct(luck_shift)} between two unregularised seeds: within the luck of the seed "
        + split(steady, "λ")
        + ". The weight density moves "
        + ", ".join(f"{changed[v]:.1f}×" for v in SMALL_L2)
        + f" as far as between two unregularised seeds (total variation {luck:.3f}): beyond "
        + "that luck "
        + split(visible, "λ")
        + "."
    )
    evidence = {"seed-to-seed density distance, λ=0": luck, "seed-to-seed shift, λ=0": luck_shift}
    return _verdict("small_l2_params", criteria, measured, evidence)


def early_drop(view) -> float:
    """How many times the training loss falls from epoch EARLY_EPOCHS[0] to EARLY_EPOCHS[1].

    NaN when the history did not record both epochs (runs that record every k-th epoch).
    """
    epochs = list(np.asarray(view.epoch_numbers).tolist())
    if not all(e in epochs for e in EARLY_EPOCHS):
        return float("nan")
    first, last = (epochs.index(e) for e in EARLY_EPOCHS)
    loss = np.asarray(view.train_loss, dtype=np.float64)
    return float(loss[first] / loss[last])


def _times(per_seed: dict[int, float]) -> str:
    """'3.8× (seeds 3.4–4.5×)'."""
    st = stats_of(per_seed)
    return f"{st.mean:.2g}× (seeds {st.low:.2g}–{st.high:.2g}×)"


def l2_slower_drop(runs: Runs) -> Verdict:
    """Every λ > 0: a smaller early fall than λ = 0's, seed by seed and by range."""
    drop = {
        value: {v.config.seed: early_drop(v) for v in runs.at("l2", value)}
        for value in CANONICAL_L2
    }
    base = drop[0.0]
    criteria, slower = [], {}
    for value in ANY_L2:
        pair = (
            Criterion(
                "fall without L2 / with, every seed − 1",
                f"λ = {value:g}",
                paired_excess(base, drop[value]),
                PAIRED_MARGIN,
                True,
            ),
            Criterion(
                "smallest fall without L2 / largest with",
                f"λ = {value:g}",
                range_ratio(base, drop[value]),
                RANGE_RATIO,
                True,
            ),
        )
        criteria += pair
        slower[value] = all(c.passes() for c in pair)
    first, last = EARLY_EPOCHS
    measured = (
        f"From epoch {first} to {last} the training loss falls {_times(base)} without L2; with "
        + "; ".join(f"λ = {v:g}: {_times(drop[v])}" for v in ANY_L2)
        + ". Less steep on every seed and beyond the seed range "
        + split(slower, "λ")
        + "."
    )
    return _verdict("l2_slower_drop", criteria, measured)
