"""The article's claims, checked on the shipped checkpoints, each by its own rule.

Each test states a claim, the rule the verdict uses for it (`regviz.verdict`) and
what we measured, recomputed here from the stored arrays and metrics rather than
through the verdict code, so a slip in one shows up against the other. Where our
reproduction disagrees with the article, the test pins down what we measured and
says so: thresholds are never bent to make the article right (their reasons are in
`regviz/verdict/thresholds.py`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from regviz import density, store
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, SEEDS, RunConfig
from regviz.layout import N_PARAMETERS, PARAMETER_LAYOUT, weight_mask
from regviz.registry import SMALL_DATA, SWEEPS
from regviz.verdict import hard_region, roughness
from regviz.verdict import thresholds as t
from regviz.views import PREDICTION_GRID


@pytest.fixture(scope="module")
def shipped():
    pretrained = store.load_views()
    assert pretrained.problems == []
    return pretrained


def runs(shipped, kind="l2", value=0.0, sweep=None):
    config = (sweep or SWEEPS[kind]).config(value)
    return [shipped.runs[config.with_seed(seed).run_id] for seed in SEEDS]


def per_seed(views, metric):
    return np.array([v.metrics[metric] for v in views], dtype=float)


def density_peak(views, width):
    """The page's weight density of a setting (seeds pooled) at the sweep's bandwidth."""
    curves = [density.smooth(v.weight_counts, density.VALUE_CENTRES, width) for v in views]
    return float(np.max(np.mean(curves, axis=0)))


# --- the baseline ------------------------------------------------------------------------


def test_unregularised_model_fits_close_to_the_noise_floor(shipped):
    """No regularisation: the validation MSE (last 10 epochs) sits near the noise floor.

    The error above the floor is under 5 % of the variance the signal explains (a
    conventional "R² > 0.95"), every seed; and no run beats the floor: 2,000
    validation points estimate it to ±3 %, so 0.9 × floor is three of those below.
    """
    data = shipped.manifest["data"]
    floor, var = data["noise_floor_mse"], data["val_variance"]
    assert floor == pytest.approx(0.0625)
    val = per_seed(runs(shipped), "final_val_mse")
    assert np.all((val - floor) / (var - floor) < 0.05)
    assert min(v.metrics["final_val_mse"] for v in shipped.runs.values()) > 0.9 * floor


def test_unregularised_fit_is_worst_in_the_hard_region(shipped):
    """The fast wiggle at x = 11 is where the fit errs most: over twice the error elsewhere
    for every seed (the noise alone would make both equal to the floor)."""
    views = runs(shipped)
    assert np.all(per_seed(views, "hard_region_mse") > 2 * per_seed(views, "easy_region_mse"))


# --- L2 -----------------------------------------------------------------------------------


def test_the_climb_starts_between_001_and_01(shipped):
    """Rule: "clearly worse" = every seed ≥ 10 % above its own λ = 0 seed and above all of them.

    Measured: below 0.01 every λ fails (seed 1, the worst unregularised seed, rises by
    at most 4 %, and each value's lowest seed stays below the highest unregularised one);
    λ = 0.01 fails by one seed (+9.1 %, though its lowest seed is 1.09× the highest
    unregularised one); λ = 0.1 and 1 pass by far (≥ +558 %). The climb starts between
    0.01 and 0.1: around 0.01, as the article says. Three seeds make this fragile: a
    regenerated set on the same code once put the start at 1e-4.
    """
    base = per_seed(runs(shipped), "final_val_mse")

    def clearly_worse(value):
        mse = per_seed(runs(shipped, "l2", value), "final_val_mse")
        return np.all(mse / base - 1 >= t.PAIRED_MARGIN) and mse.min() >= base.max()

    assert [clearly_worse(v) for v in CANONICAL_L2[1:]] == [False] * 4 + [True] * 2
    at_turn = per_seed(runs(shipped, "l2", 0.01), "final_val_mse")
    assert np.all(at_turn > base) and at_turn.min() > base.max()


def test_only_the_largest_lambda_predicts_the_mean(shipped):
    """Rule for "predicts the mean", the same for λ and p: the curve keeps ≤ 10 % of the clean
    signal's std and scores within 5 % of Var(y). λ = 1 does (0 %, 1.00); λ = 0.1, also
    above the article's 0.01, keeps about two thirds of the signal's variation."""
    top = runs(shipped, "l2", 1.0)
    assert np.all(per_seed(top, "prediction_std_ratio") <= t.FLAT_STD_RATIO)
    assert np.all(np.abs(per_seed(top, "final_val_mse_over_var") - 1) <= t.MEAN_TOLERANCE)
    for view in top:
        assert np.ptp(view.prediction) < 0.05 * np.ptp(shipped.data["signal"])
    assert np.all(per_seed(runs(shipped, "l2", 0.1), "prediction_std_ratio") > 0.5)


def test_l2_1_weights_collapse_to_a_spike_that_is_the_tallest_of_the_sweep(shipped):
    """λ = 1: over 99 % of the weights within 1e-3 of zero (under 1 % at λ = 0), on the stored
    parameter vectors. With one bandwidth for the sweep (Scott's rule on λ = 0, pooled),
    the λ = 1 weight density peaks higher than every other λ's (measured: 14.0 against
    12.7 at λ = 0.1). The unpenalised biases stay away from zero."""
    mask = weight_mask()
    for view in runs(shipped, "l2", 1.0):
        weights, biases = view.parameters[mask], view.parameters[~mask]
        near = np.mean(np.abs(weights) < 1e-3)
        assert near > 0.99 and near == pytest.approx(view.metrics["weight_fraction_near_zero"])
        assert np.mean(np.abs(biases) < 1e-3) < 0.5
    assert np.all(per_seed(runs(shipped), "weight_fraction_near_zero") < 0.01)
    width = density.bandwidth_from_counts(
        [v.weight_counts for v in runs(shipped)], density.VALUE_CENTRES
    )
    peaks = {lam: density_peak(runs(shipped, "l2", lam), width) for lam in CANONICAL_L2}
    assert max(peaks, key=peaks.get) == 1.0


def test_small_lambda_moves_the_weights_more_than_the_fit(shipped):
    """λ < 0.01: Adam with a tiny penalty pushes a tenth to a half of the weights to within
    1e-3 of zero (measured 12 %, 33 %, 57 % against 0.7 %), while the validation MSE stays
    within the unregularised seeds' reach (no λ < 0.01 is clearly worse, above)."""
    base = per_seed(runs(shipped), "weight_fraction_near_zero")
    shares = [per_seed(runs(shipped, "l2", lam), "weight_fraction_near_zero") for lam in t.SMALL_L2]
    assert all(share.min() > 10 * base.max() for share in shares)
    assert all(a.mean() < b.mean() for a, b in itertools.pairwise(shares))


def drop(view):
    """Training loss after epoch 1 over training loss after epoch 10."""
    epochs = list(view.epoch_numbers)
    return view.train_loss[epochs.index(1)] / view.train_loss[epochs.index(10)]


def test_strong_l2_flattens_the_early_fall_of_the_training_loss(shipped):
    """From epoch 1 to 10 the training loss falls 3.4–4.5× without L2. At λ = 0.1 and 1 every
    seed falls at least 10 % less than its own unregularised seed and less than every
    one of them; at λ = 1e-5 to 0.01 not (at 0.01 one seed even falls 5.1×)."""
    base = np.array([drop(v) for v in runs(shipped)])
    slower = {
        lam: bool(np.all(base / ds - 1 >= t.PAIRED_MARGIN) and base.min() >= ds.max())
        for lam in t.ANY_L2
        for ds in [np.array([drop(v) for v in runs(shipped, "l2", lam)])]
    }
    assert slower == {1e-5: False, 1e-4: False, 1e-3: False, 1e-2: False, 0.1: True, 1.0: True}


# --- dropout ------------------------------------------------------------------------------


def test_p01_curve_and_a_pass_with_dropout_on_are_shakier_than_the_plain_fit(shipped):
    """Away from x = 11 (the signal is smooth there), every p = 0.1 eval-mode curve bends at
    least 1.5× as much as its own seed's unregularised fit, and more than every
    unregularised one; one pass with dropout on bends thousands of times as much."""
    smooth = ~hard_region(PREDICTION_GRID)
    plain = np.array([roughness(v.prediction, smooth) for v in runs(shipped)])
    light = runs(shipped, "p", 0.1)
    curve = np.array([roughness(v.prediction, smooth) for v in light])
    one = np.array([roughness(v.mc["sample"], smooth) for v in light])
    assert np.all(curve / plain >= t.SHAKY_RATIO) and curve.min() > plain.max()
    assert np.all(one / plain > 1000)


@pytest.mark.parametrize("p", t.FUZZY_P)
def test_dropout_band_is_not_fuzzier_near_x11_at_p_02_03(shipped, p):
    """Disagreement with the article. Relative to the output level (σ / mean; x = 11 is a
    trough and dropout's noise is multiplicative), the band near x = 11 is less than
    1.25× as wide as at points of the same level elsewhere (measured 1.09× at p = 0.2,
    0.51× at 0.3), and it covers the clean signal less often there than elsewhere
    (69 % against 81 % at p = 0.2; 46 % against 71 % at 0.3), by ±2σ and by the
    2.5–97.5 % range alike: the band does not widen where the fit goes wrong."""
    views = runs(shipped, "p", p)
    mean = {m: per_seed(views, m).mean() for m in views[0].metrics}
    assert mean["mc_relative_hard"] / mean["mc_relative_control"] < t.FUZZY_RATIO
    assert mean["clean_coverage_hard"] < mean["clean_coverage_elsewhere"]
    assert mean["clean_coverage_pct_hard"] < mean["clean_coverage_pct_elsewhere"]


def test_p06_prediction_is_not_the_mean(shipped):
    """Disagreement with the article: p = 0.6 keeps about half the signal's variation and
    explains about half the variance; no p below 1 is mean-like by the λ rule."""
    views = runs(shipped, "p", 0.6)
    assert np.all(per_seed(views, "prediction_std_ratio") > 0.4)
    assert np.all(per_seed(views, "final_val_mse_over_var") < 0.7)
    for p in CANONICAL_DROPOUT[1:-1]:
        assert per_seed(runs(shipped, "p", p), "prediction_std_ratio").mean() > t.FLAT_STD_RATIO


@pytest.mark.parametrize("seed", SEEDS)
def test_p1_weights_are_bit_identical_to_their_initialisation(shipped, seed):
    """p = 1 drops every hidden unit in training, so no weight gets a gradient; only the output
    bias (the last parameter) can move. Compared bit for bit with the shipped init file."""
    view = shipped.runs[RunConfig(dropout=1.0, seed=seed).run_id]
    init = shipped.inits[seed]["parameters"]
    mask = weight_mask()
    assert view.metrics["weights_unchanged"] == 1.0
    assert np.array_equal(view.parameters[mask], init[mask])
    assert set(np.flatnonzero(view.parameters != init)) <= {N_PARAMETERS - 1}
    assert PARAMETER_LAYOUT[-1][0] == "9.bias"


def test_dropout_is_wider_than_l2_from_lambda_0001_but_not_below(shipped):
    """Every trained dropout run (0 < p < 1) has a larger weight std and IQR than every run
    with λ ≥ 1e-3; at λ = 1e-5 and 1e-4 the ranges overlap (p = 0.9's std 0.109–0.113
    against up to 0.15 at λ = 1e-5)."""
    dropout = [v for p in t.DROPOUT_TRAINED for v in runs(shipped, "p", p)]
    for lam in t.ANY_L2:
        wider = all(
            per_seed(dropout, m).min() >= per_seed(runs(shipped, "l2", lam), m).max()
            for m in ("weight_std", "weight_iqr")
        )
        assert wider == (lam >= 1e-3), lam


def test_p_changes_the_weight_spread_more_than_the_seed_does(shipped):
    """Disagreement with the article: the weight std falls from about 0.28 (p = 0.1–0.2) to
    0.11 (p = 0.9), while two seeds of one p differ by at most 0.06."""
    stds = {p: per_seed(runs(shipped, "p", p), "weight_std") for p in t.DROPOUT_TRAINED}
    across = max(s.mean() for s in stds.values()) - min(s.mean() for s in stds.values())
    assert across > 2 * max(np.ptp(s) for s in stds.values())


# --- ours ---------------------------------------------------------------------------------


def test_near_zero_pile_at_small_lambda_is_adams_doing(shipped):
    """Plain SGD with momentum at the same λ < 0.01 adds under 1 % of weights near zero over
    its own λ = 0 run; Adam adds over 5 % (measured 10–13 % at λ = 1e-5, up to 59 % at
    1e-3), each seed against its own λ = 0 seed."""
    for lam in t.SMALL_L2:
        for opt, bound in (("l2", 0.05), ("sgd", 0.01)):
            excess = per_seed(runs(shipped, opt, lam), "weight_fraction_near_zero") - per_seed(
                runs(shipped, opt, 0.0), "weight_fraction_near_zero"
            )
            assert np.all(excess > bound) if opt == "l2" else np.all(excess < bound)


def test_penalising_the_biases_too_turns_lambda_1_into_a_ramp(shipped):
    """λ = 1 with the biases penalised: a straight line (R² > 0.99) rising about 0.14 per unit
    x, every seed; with the weights only the λ = 1 curve is flat (checked above)."""
    for view in runs(shipped, "l2b", 1.0):
        slope, intercept = np.polyfit(PREDICTION_GRID, view.prediction, 1)
        residual = view.prediction - (slope * PREDICTION_GRID + intercept)
        assert 1 - residual.var() / view.prediction.var() > 0.99
        assert slope * np.ptp(PREDICTION_GRID) > t.FLAT_STD_RATIO * np.std(shipped.data["signal"])


def beats_on_every_seed(shipped, kind: str, n: int) -> list[float]:
    """The values > 0 of a small-data sweep that beat none on every seed by the paired margin."""
    sweep = SMALL_DATA[(kind, n)]
    base = per_seed(runs(shipped, sweep=sweep), "final_val_mse")
    return [
        value
        for value in sweep.values
        if value > 0
        and np.all(
            base / per_seed(runs(shipped, value=value, sweep=sweep), "final_val_mse") - 1
            >= t.PAIRED_MARGIN
        )
    ]


def test_with_30_points_l2_beats_none_on_every_seed_and_no_dropout_does(shipped):
    """With 30 points (12,500 steps) the unregularised net overfits: training MSE ≈ 0.025
    against validation ≈ 0.23. λ = 1e-2 beats none by at least 10 % on every seed; no p
    from 0.1 up does, at any n: dropout's noise costs more training fit than it saves."""
    assert 1e-2 in beats_on_every_seed(shipped, "l2", 30)
    for n in (30, 100, 300, 1000):
        assert beats_on_every_seed(shipped, "p", n) == [], n


@pytest.mark.parametrize("n", [300, 1000])
def test_from_300_points_on_no_lambda_beats_none_on_every_seed(shipped, n):
    assert beats_on_every_seed(shipped, "l2", n) == []
