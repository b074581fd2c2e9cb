"""The article's claims about dropout, judged by the same criteria and grading as L2's."""

from __future__ import annotations

import itertools

import numpy as np

from regviz.analysis import MC_PASSES
from regviz.data import NOISE_STD
from regviz.layout import N_PARAMETERS, weight_mask
from regviz.verdict import spread
from regviz.verdict.claims import CLAIMS, JUDGED
from regviz.verdict.grading import Criterion, Verdict, judge
from regviz.verdict.l2 import mean_like, mean_like_words
from regviz.verdict.runs import Missing, Runs, hard_region, range_ratio, roughness, stats_of
from regviz.verdict.thresholds import (
    ANY_L2,
    COVERAGE_RATIO,
    DROPOUT_TRAINED,
    FUZZY_P,
    FUZZY_RATIO,
    MOVED_SHARE,
    RANGE_RATIO,
    SEED_NOISE_RATIO,
    SHAKY_RATIO,
)
from regviz.verdict.words import compare, pct, split


def _verdict(key: str, criteria, measured: str, evidence=None) -> Verdict:
    return judge(key, CLAIMS[key], JUDGED[key], criteria, measured, evidence)


def _ratio_min(a: dict[int, float], b: dict[int, float]) -> float:
    """Seed by seed: the smallest a[s] / b[s]."""
    return float(min(a[s] / b[s] for s in a))


def shaky_p01(runs: Runs) -> Verdict:
    """Roughness away from x = 11 of the eval-mode curve and of one pass with dropout on.

    Roughness is the mean squared second difference on the grid (`roughness`),
    reported relative to the clean signal's over the same stretch. The hard
    region is left out: there bending is correct. Both curves are compared with
    the unregularised fit, seed by seed (≥ SHAKY_RATIO) and by range.
    """
    smooth = ~hard_region()
    reference = roughness(runs.signal(), smooth)
    plain = {v.config.seed: roughness(v.prediction, smooth) / reference for v in runs.at("p", 0.0)}
    light = runs.at("p", 0.1)
    if any("sample" not in v.mc for v in light):
        raise Missing([runs.label(v.config.run_id) + ": no pass with dropout on" for v in light])
    curve = {v.config.seed: roughness(v.prediction, smooth) / reference for v in light}
    one = {v.config.seed: roughness(v.mc["sample"], smooth) / reference for v in light}
    criteria = [
        Criterion(
            "roughness / unregularised fit's (smallest seed)",
            "eval-mode curve, p = 0.1",
            _ratio_min(curve, plain),
            SHAKY_RATIO,
            True,
        ),
        Criterion(
            "lowest seed / highest unregularised seed",
            "eval-mode curve, p = 0.1",
            range_ratio(curve, plain),
            RANGE_RATIO,
            True,
        ),
        Criterion(
            "roughness / unregularised fit's (smallest seed)",
            "pass with dropout on, p = 0.1",
            _ratio_min(one, plain),
            SHAKY_RATIO,
            True,
        ),
        Criterion(
            "lowest seed / highest unregularised seed",
            "pass with dropout on, p = 0.1",
            range_ratio(one, plain),
            RANGE_RATIO,
            True,
        ),
    ]
    c, o, b = stats_of(curve), stats_of(one), stats_of(plain)
    eval_shaky = criteria[0].passes() and criteria[1].passes()
    pass_shaky = criteria[2].passes() and criteria[3].passes()
    jitter = stats_of([float(np.std(v.mc["sample"] - v.mc["mean"])) for v in light])
    measured = (
        f"Away from x = 11, relative to the clean signal's bending: the eval-mode p = 0.1 curve "
        f"bends {c.format(2)}×, the unregularised fit {b.format(2)}×; one pass with dropout on "
        f"(a new mask at every x) {o.format(3)}×, jittering by σ ≈ {jitter.mean:.2f} around the "
        f"band's mean (the data's noise: σ = {NOISE_STD:g}). By the {SHAKY_RATIO:g}× bar the "
        f"eval-mode curve is {'shaky' if eval_shaky else 'not shaky'} and the pass with "
        f"dropout on is {'shaky' if pass_shaky else 'not shaky'}."
    )
    return _verdict("shaky_p01", criteria, measured, {"pass jitter σ, p=0.1": jitter.mean})


def _mean(views, metric: str) -> float:
    return float(np.mean([v.metrics[metric] for v in views]))


def fuzzy_p02_03(runs: Runs) -> Verdict:
    """Near x = 11 against elsewhere: σ / level (vs a level-matched control) and coverage.

    Dropout's noise is multiplicative, and x = 11 sits in a trough, so σ alone
    follows the output level; σ / mean is compared with points of the same level
    (`regviz.data.control_region`). Coverage of the clean signal by ±2σ and by the
    2.5–97.5 % range of the passes says whether the band widens where the fit
    goes wrong. Ratios are of the seeds' means.
    """
    criteria, parts = [], []
    for p in FUZZY_P:
        views = runs.at("p", p)
        relative = _mean(views, "mc_relative_hard") / _mean(views, "mc_relative_control")
        sigma_hard, sigma_else = (
            _mean(views, f"clean_coverage_{w}") for w in ("hard", "elsewhere")
        )
        pct_hard, pct_else = (
            _mean(views, f"clean_coverage_pct_{w}") for w in ("hard", "elsewhere")
        )
        where = f"p = {p:g}"
        criteria += [
            Criterion(
                "σ/mean near x = 11 / level-matched control", where, relative, FUZZY_RATIO, True
            ),
            Criterion(
                "clean signal inside ±2σ, near x = 11 / elsewhere",
                where,
                sigma_hard / sigma_else,
                COVERAGE_RATIO,
                True,
            ),
            Criterion(
                "clean signal inside 2.5–97.5 %, near x = 11 / elsewhere",
                where,
                pct_hard / pct_else,
                COVERAGE_RATIO,
                True,
            ),
        ]
        parts.append(
            f"p = {p:g}: σ/mean {relative:.2f}× the control's "
            f"({compare(relative, 1, 'wider', 'narrower', 'as wide')} near x = 11), clean signal "
            f"inside ±2σ {pct(sigma_hard)} near x = 11 against {pct(sigma_else)} elsewhere, "
            f"inside the 2.5–97.5 % range {pct(pct_hard)} against {pct(pct_else)}"
        )
    measured = (
        f"Monte Carlo band, {MC_PASSES} passes with dropout on. "
        + "; ".join(parts)
        + f". Fuzzier near x = 11 by the {FUZZY_RATIO:g}× bar: "
        + split({p: criteria[3 * i].passes() for i, p in enumerate(FUZZY_P)}, "p").removeprefix(
            "at "
        )
        + "."
    )
    return _verdict("fuzzy_p02_03", criteria, measured)


def mean_at_p06(runs: Runs) -> Verdict:
    """p = 0.6: flat and at the mean, the same two criteria as for λ > 0.01."""
    criteria = mean_like(runs, "p", 0.6, "p = 0.6")
    words = mean_like_words(runs, "p", 0.6, "p")
    measured = f"{words[0].upper()}{words[1:]}; a line at the mean keeps 0 % and scores 1."
    found = []
    for p in DROPOUT_TRAINED:
        try:
            found.append((p, all(c.passes() for c in mean_like(runs, "p", p, f"p = {p:g}"))))
        except Missing:
            continue
    first = next((p for p, ok in found if ok), None)
    if first is not None:
        measured += f" The first mean-like setting is p = {first:g}."
    elif found:
        measured += f" No p from {found[0][0]:g} to {found[-1][0]:g} is mean-like by this rule."
    return _verdict("mean_at_p06", criteria, measured)


def initial_at_p1(runs: Runs) -> Verdict:
    """Share of weights that moved from the initialisation, in the seed that moved most.

    Read from the shipped init files when they loaded (and which parameters
    moved at all), else from the stored `weights_unchanged` metric. With every
    hidden unit dropped in training, only the output bias can get a gradient.
    """
    views = runs.at("p", 1.0)
    mask = weight_mask()
    moved, where = [], {"nothing": [], "only the output bias": [], "other parameters": []}
    from_files = True
    for view in views:
        init = runs.pretrained.inits.get(view.config.seed, {}).get("parameters")
        params = view.parameters
        if init is None or params is None or np.size(init) != N_PARAMETERS:
            from_files = False
            moved.append(1 - float(view.metrics["weights_unchanged"]))
            continue
        same = np.asarray(params) == np.asarray(init)
        moved.append(1 - float(same[mask].mean()))
        changed = np.flatnonzero(~same).tolist()
        key = "nothing" if not changed else "only the output bias"
        key = key if changed in ([], [N_PARAMETERS - 1]) else "other parameters"
        where[key].append(view.config.seed)
    worst = max(moved)
    criteria = [
        Criterion(
            "share of weights moved (seed that moved most)", "p = 1", worst, MOVED_SHARE, False
        )
    ]
    source = "the init files" if from_files else "the stored metric (init files not loaded)"
    if worst == 0:
        measured = f"Every weight of all {len(views)} seeds is bit-identical to its initial value"
    else:
        measured = (
            f"In the seed that moved most, {pct(worst, 2)} of the weights left their initial values"
        )
    measured += f" (checked against {source})."
    if from_files:
        moves = [
            f"{what} moved in seed(s) {', '.join(map(str, s))}" for what, s in where.items() if s
        ]
        text = "; ".join(moves)
        measured += f" {text[0].upper()}{text[1:]}."
    vov = stats_of(runs.per_seed("p", 1.0, "final_val_mse_over_var"))
    network = "the untrained network's (up to its output bias)" if worst == 0 else "this network's"
    measured += (
        f" With dropout off at prediction time the curve is {network}: validation MSE "
        f"{vov.low:.2f}–{vov.high:.2f} × Var(y)."
    )
    return _verdict("initial_at_p1", criteria, measured)


def dropout_wider(runs: Runs) -> Verdict:
    """Weight std and IQR of every trained dropout run against every run at each λ > 0.

    By range (the narrowest dropout run over the widest run at that λ), which
    implies the seed-by-seed comparison. Weights only: the unpenalised biases grow
    under strong L2 and would blur an all-parameter comparison.
    """
    drop = {
        m: {(p, v.config.seed): v.metrics[m] for p in DROPOUT_TRAINED for v in runs.at("p", p)}
        for m in ("weight_std", "weight_iqr")
    }
    criteria, wider = [], {}
    for value in ANY_L2:
        pair = []
        for metric, name in (("weight_std", "std"), ("weight_iqr", "IQR")):
            at = runs.per_seed("l2", value, metric)
            pair.append(
                Criterion(
                    f"narrowest dropout {name} / widest L2 {name}",
                    f"λ = {value:g}",
                    range_ratio(drop[metric], at),
                    RANGE_RATIO,
                    True,
                )
            )
        criteria += pair
        wider[value] = all(c.passes() for c in pair)
    std = stats_of(list(drop["weight_std"].values()))
    base = stats_of(runs.per_seed("p", 0.0, "weight_std"))
    light = stats_of(runs.per_seed("p", DROPOUT_TRAINED[0], "weight_std"))
    l2_std = {v: stats_of(runs.per_seed("l2", v, "weight_std")) for v in ANY_L2}
    measured = (
        f"Weight std of the dropout runs (p = {DROPOUT_TRAINED[0]:g}–{DROPOUT_TRAINED[-1]:g}): "
        f"{std.low:.3g}–{std.high:.3g}; with L2 "
        + ", ".join(f"λ = {v:g}: {s.low:.2g}–{s.high:.2g}" for v, s in l2_std.items())
        + ". Every dropout run is wider (std and IQR) "
        + split(wider, "λ")
        + f". Light dropout {compare(light.mean, base.mean, 'widens', 'narrows', 'keeps')} the "
        f"weights against no regularisation (p = {DROPOUT_TRAINED[0]:g}: {light.mean:.3f}, "
        f"none: {base.mean:.3f})."
    )
    return _verdict("dropout_wider", criteria, measured)


def p_barely_changes(runs: Runs) -> Verdict:
    """Across 0 < p < 1: the density and the weight std change no more than between seeds."""
    width = spread.sweep_width(runs.at("p", 0.0))
    views = {p: runs.at("p", p) for p in DROPOUT_TRAINED}
    curves = {p: [spread.run_curve(v, width) for v in vs] for p, vs in views.items()}
    across, pair = 0.0, (DROPOUT_TRAINED[0], DROPOUT_TRAINED[0])
    for a, b in itertools.combinations(DROPOUT_TRAINED, 2):
        d = max(spread.distance(x, y) for x, y in zip(curves[a], curves[b], strict=True))
        if d > across:
            across, pair = d, (a, b)
    luck = max(
        spread.distance(x, y) for c in curves.values() for x, y in itertools.combinations(c, 2)
    )
    std = {p: [v.metrics["weight_std"] for v in vs] for p, vs in views.items()}
    std_across = max(
        abs(x - y)
        for a, b in itertools.combinations(DROPOUT_TRAINED, 2)
        for x, y in zip(std[a], std[b], strict=True)
    )
    std_luck = max(max(s) - min(s) for s in std.values())
    criteria = [
        Criterion(
            "largest change across p / largest between seeds",
            f"weight density, p = {DROPOUT_TRAINED[0]:g}–{DROPOUT_TRAINED[-1]:g}",
            across / luck,
            SEED_NOISE_RATIO,
            False,
        ),
        Criterion(
            "largest change across p / largest between seeds",
            f"weight std, p = {DROPOUT_TRAINED[0]:g}–{DROPOUT_TRAINED[-1]:g}",
            std_across / std_luck,
            SEED_NOISE_RATIO,
            False,
        ),
    ]
    means = {p: float(np.mean(s)) for p, s in std.items()}
    low, high = min(means, key=means.get), max(means, key=means.get)
    measured = (
        f"Seed by seed, the weight density moves by up to {across:.3f} (total variation, "
        f"p = {pair[0]:g} against {pair[1]:g}) as p changes, against up to {luck:.3f} between "
        f"two seeds of one p: {across / luck:.1f}× the luck of the seed. The weight std runs from "
        f"{means[low]:.3f} (p = {low:g}) to {means[high]:.3f} (p = {high:g}); one seed to "
        f"another it differs by at most {std_luck:.3f}. p changes the distribution "
        f"{compare(across / luck, 1, 'more', 'less', 'as much')} than the seed does by shape "
        f"and {compare(std_across / std_luck, 1, 'more', 'less', 'as much')} by spread."
    )
    return _verdict("p_barely_changes", criteria, measured, {"bandwidth": width})
