"""The verdicts: one grading rule, its flip check, the stored runs, missing files handled."""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from regviz import store
from regviz.config import CANONICAL_DROPOUT, SEEDS, RunConfig
from regviz.registry import SWEEPS
from regviz.verdict import (
    CLAIMS,
    COLUMNS,
    COVERAGE_COLUMNS,
    DOES_NOT_HOLD,
    HOLDS,
    JUDGED,
    NOT_MEASURED,
    PARTLY,
    VERDICTS,
    Criterion,
    Verdict,
    article_verdicts,
    clearly_worse,
    climb_start,
    count_line,
    grade,
    grade_criteria,
    grade_scaled,
    judge,
    markdown,
    mc_coverage_table,
    verdict_table,
)
from regviz.verdict.thresholds import PAIRED_MARGIN

# --- the grading rule on synthetic numbers ----------------------------------------------


def crit(value: float, threshold: float = 1.0, at_least: bool = True) -> Criterion:
    return Criterion("x", "here", value, threshold, at_least)


def test_all_some_or_no_criteria_passing_give_the_three_verdicts():
    assert grade([True, True]) == HOLDS
    assert grade([True, False]) == PARTLY
    assert grade([False, False]) == DOES_NOT_HOLD
    with pytest.raises(ValueError, match="at least one"):
        grade([])


def test_a_value_exactly_at_its_threshold_passes_with_zero_margin_and_flips():
    for at_least in (True, False):
        c = crit(0.1, 0.1, at_least)
        assert c.passes()
        assert c.margin == 0.0
        assert not c.passes(c.stricter)
        assert c.passes(c.looser)
        v = judge("k", "claim", "judged", [c], "measured")
        assert (v.verdict, v.at_stricter, v.at_looser) == (HOLDS, DOES_NOT_HOLD, HOLDS)
        assert v.flips and v.flip_text == "yes: does not hold if 20 % stricter"


def test_margin_is_relative_and_signed_by_passing():
    assert crit(1.5, 1.0).margin == pytest.approx(0.5)
    assert crit(0.5, 1.0).margin == pytest.approx(-0.5)
    assert crit(0.05, 0.1, at_least=False).margin == pytest.approx(0.5)
    assert crit(0.15, 0.1, at_least=False).margin == pytest.approx(-0.5)


def test_a_value_that_is_not_a_number_never_passes():
    c = crit(float("nan"))
    assert not c.passes() and not c.passes(c.looser)
    assert math.isnan(c.margin)
    assert judge("k", "c", "j", [c], "m").verdict == DOES_NOT_HOLD


def test_far_from_the_threshold_the_verdict_does_not_flip():
    v = judge("k", "c", "j", [crit(2.0), crit(0.2, 1.0, at_least=False)], "m")
    assert v.verdict == HOLDS and not v.flips and v.flip_text == "no"
    assert v.margin_text == "2 of 2 pass; nearest: x (here), +80 %"


def test_partly_can_flip_either_way():
    criteria = [crit(1.1), crit(0.85)]
    v = judge("k", "c", "j", criteria, "m")
    assert (v.verdict, v.at_stricter, v.at_looser) == (PARTLY, DOES_NOT_HOLD, HOLDS)
    assert v.flip_text == "yes: does not hold if 20 % stricter, holds if 20 % looser"


@pytest.mark.parametrize("seed", range(20))
def test_stricter_and_looser_bound_every_uniform_scaling(seed):
    """Moving all thresholds ×0.8 or ×1.2 never gives a verdict outside the two regrades."""
    rng = np.random.default_rng(seed)
    criteria = [crit(float(rng.uniform(0.5, 1.5)), 1.0, bool(rng.integers(2))) for _ in range(4)]
    order = {DOES_NOT_HOLD: 0, PARTLY: 1, HOLDS: 2}
    low, high = grade_criteria(criteria, "stricter"), grade_criteria(criteria, "looser")
    for factor in (0.8, 1.0, 1.2):
        assert order[low] <= order[grade_scaled(criteria, factor)] <= order[high]


def test_a_verdict_records_thresholds_values_and_what_was_judged():
    criteria = [crit(0.3, 0.1, at_least=False), Criterion("y", "there", 2.0, 1.5, True)]
    v = judge("key", "a claim", "the curve", criteria, "text", {"extra": 1.0})
    assert v.key == "key" and v.judged == "the curve" and v.criteria == tuple(criteria)
    assert v.threshold_text == "x ≤ 0.1; y ≥ 1.5"
    assert v.evidence == {"x, here": 0.3, "y, there": 2.0, "extra": 1.0}
    assert v.verdict == PARTLY and v.passed == 1
    with pytest.raises(ValueError, match="stricter"):
        grade_criteria(criteria, "harder")


def test_clearly_worse_needs_every_seed_up_by_the_margin_and_no_overlap():
    base = {0: 0.10, 1: 0.12, 2: 0.14}
    up = 1 + PAIRED_MARGIN
    assert clearly_worse({0: 0.15, 1: 0.19, 2: 0.30}, base)
    # paired: every seed ≥ 10 % up, but the ranges overlap (0.13 < 0.14)
    assert not clearly_worse({0: 0.13, 1: 0.16, 2: 0.20}, base)
    # no overlap, but seed 2 rose by less than the margin
    assert not clearly_worse({0: 0.145, 1: 0.145, 2: 0.145}, base)
    # exactly at the margin and touching the range: counts (thresholds pass when met)
    assert clearly_worse({0: 0.14 * up, 1: 0.14 * up, 2: 0.14 * up}, {0: 0.14, 1: 0.14, 2: 0.14})


def test_climb_start_brackets_the_first_clearly_worse_value():
    base = {0: 0.10, 1: 0.12, 2: 0.14}
    sweep = {
        0.0: base,
        1e-3: {0: 0.13, 1: 0.16, 2: 0.20},
        1e-2: {0: 0.15, 1: 0.19, 2: 0.30},
        1e-1: {0: 0.7, 1: 0.8, 2: 0.9},
    }
    assert climb_start(sweep) == (1e-3, 1e-2)
    assert climb_start({0.0: base, 1.0: base}) is None
    assert climb_start({}) is None


def test_count_line_and_markdown_escape_pipes():
    verdicts = [
        judge("a", "claim |x|", "j", [crit(2.0)], "m | n"),
        judge("b", "c", "j", [crit(0.1)], "m"),
        judge("c", "c", "j", [crit(2.0), crit(0.1)], "m"),
    ]
    assert count_line(verdicts) == "1 holds, 1 partly, 1 does not"
    text = markdown(verdicts)
    assert "claim \\|x\\|" in text and "m \\| n" in text
    header, _rule, *rows = text.splitlines()[:5]
    assert header.count(" | ") == len(COLUMNS) - 1
    assert all(row.replace("\\|", "").count("|") == len(COLUMNS) + 1 for row in rows)


# --- the stored runs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return store.load_views()


@pytest.fixture(scope="module")
def verdicts(shipped):
    return by_claim(article_verdicts(shipped))


def by_claim(verdicts):
    return {v.key: v for v in verdicts}


def edited(pretrained, setting, edit):
    """A copy of `pretrained` whose runs of `setting` (every seed) went through `edit`."""
    runs = dict(pretrained.runs)
    for seed in SEEDS:
        run_id = setting.with_seed(seed).run_id
        runs[run_id] = edit(runs[run_id])
    return dataclasses.replace(pretrained, runs=runs)


def with_metrics(**changes):
    return lambda view: dataclasses.replace(view, metrics={**view.metrics, **changes})


def regrade(pretrained, key):
    return by_claim(article_verdicts(pretrained))[key]


def test_every_claim_is_judged_once_in_order_with_criteria(shipped):
    found = article_verdicts(shipped)
    assert len(found) >= 11
    assert [v.key for v in found] == list(CLAIMS)
    assert [v.claim for v in found] == list(CLAIMS.values())
    for v in found:
        assert isinstance(v, Verdict)
        assert v.verdict in VERDICTS and v.verdict != NOT_MEASURED, v.measured
        assert v.judged == JUDGED[v.key]
        assert v.criteria and v.measured
        assert v.verdict == grade([c.passes() for c in v.criteria])
        assert all(np.isfinite(c.threshold) and c.threshold > 0 for c in v.criteria)
        assert all(isinstance(x, float) for x in v.evidence.values())


def test_verdict_table_has_the_page_columns(verdicts):
    table = verdict_table(list(verdicts.values()))
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == len(CLAIMS)
    assert table["Flips at ±20 %?"].str.match(r"^(no|yes: .+)$").all()


def test_shipped_runs_give_the_verdicts_we_report(verdicts):
    """What the page and the README say today (test_claims.py pins the numbers behind them)."""
    assert {key: v.verdict for key, v in verdicts.items()} == {
        "turning_point": HOLDS,
        "mean_at_large_l2": PARTLY,
        "delta_at_l2_1": HOLDS,
        "small_l2_params": PARTLY,
        "l2_slower_drop": PARTLY,
        "shaky_p01": HOLDS,
        "fuzzy_p02_03": DOES_NOT_HOLD,
        "mean_at_p06": DOES_NOT_HOLD,
        "initial_at_p1": HOLDS,
        "dropout_wider": PARTLY,
        "p_barely_changes": DOES_NOT_HOLD,
        "adam_share": DOES_NOT_HOLD,
        "bias_ramp": HOLDS,
        "small_data": DOES_NOT_HOLD,
    }


def test_measured_text_quotes_the_numbers_from_the_runs(shipped, verdicts):
    p06 = [shipped.runs[RunConfig(dropout=0.6, seed=s).run_id] for s in SEEDS]
    vov = np.mean([v.metrics["final_val_mse_over_var"] for v in p06])
    assert f"scores {vov:.2f} × Var(y)" in verdicts["mean_at_p06"].measured
    (_, at_mean) = verdicts["mean_at_p06"].criteria
    assert at_mean.value == pytest.approx(abs(vov - 1))
    l2_1 = [shipped.runs[RunConfig(l2=1.0, seed=s).run_id] for s in SEEDS]
    near = np.mean([v.metrics["weight_fraction_near_zero"] for v in l2_1])
    assert f"{100 * near:.1f} % of the weights" in verdicts["delta_at_l2_1"].measured
    assert verdicts["delta_at_l2_1"].criteria[0].value == pytest.approx(1 - near)


def test_the_same_mean_rule_judges_large_lambda_and_p06(verdicts):
    rules = {key: [c.rule for c in verdicts[key].criteria] for key in ("mean_at_large_l2",)}
    p06 = [c.rule for c in verdicts["mean_at_p06"].criteria]
    assert rules["mean_at_large_l2"] == p06 * 2
    assert [c.where for c in verdicts["mean_at_large_l2"].criteria] == [
        "λ = 0.1",
        "λ = 0.1",
        "λ = 1",
        "λ = 1",
    ]


def flatten(view):
    level = np.full_like(view.prediction, view.prediction.mean())
    metrics = {"prediction_std_ratio": 0.0, "final_val_mse_over_var": 1.01}
    return dataclasses.replace(view, prediction=level, metrics={**view.metrics, **metrics})


def test_mean_rules_follow_the_runs(shipped):
    changed = edited(shipped, RunConfig(dropout=0.6), flatten)
    verdict = regrade(changed, "mean_at_p06")
    assert verdict.verdict == HOLDS
    assert "The first mean-like setting is p = 0.6" in verdict.measured
    assert regrade(edited(shipped, RunConfig(l2=0.1), flatten), "mean_at_large_l2").verdict == HOLDS
    kept = with_metrics(prediction_std_ratio=0.7, final_val_mse_over_var=0.4)
    assert regrade(edited(shipped, RunConfig(l2=1.0), kept), "mean_at_large_l2").verdict == (
        DOES_NOT_HOLD
    )


def test_spike_verdict_follows_the_share_of_weights_at_zero(shipped):
    changed = edited(shipped, RunConfig(l2=1.0), with_metrics(weight_fraction_near_zero=0.6))
    assert regrade(changed, "delta_at_l2_1").verdict == PARTLY


def test_turning_point_moves_with_the_validation_losses(shipped):
    """If λ = 1e-5 were clearly worse than λ = 0, the flat stretch would end at once."""
    worse = lambda view: dataclasses.replace(  # noqa: E731
        view, metrics={**view.metrics, "final_val_mse": 2 * view.metrics["final_val_mse"]}
    )
    verdict = regrade(edited(shipped, RunConfig(l2=1e-5), worse), "turning_point")
    assert verdict.evidence["first clearly worse λ"] == 1e-5
    assert "the climb starts between λ = 0 and 1e-05" in verdict.measured


def test_page_prose_and_verdict_place_the_turning_point_alike(shipped, verdicts):
    from regviz.ui import findings

    turn = findings.turning_point(shipped.runs, "l2")
    assert verdicts["turning_point"].evidence["last flat λ"] == turn.last_good
    assert verdicts["turning_point"].evidence["first clearly worse λ"] == turn.first_bad


def test_shaky_verdict_reads_the_curve_and_the_pass_with_dropout_on(shipped):
    plain = {s: shipped.runs[RunConfig(seed=s).run_id].prediction for s in SEEDS}

    def smooth_curve(view):
        return dataclasses.replace(view, prediction=plain[view.config.seed])

    def smooth_both(view):
        mc = {**view.mc, "sample": plain[view.config.seed]}
        return dataclasses.replace(view, prediction=plain[view.config.seed], mc=mc)

    curve_only = regrade(edited(shipped, RunConfig(dropout=0.1), smooth_curve), "shaky_p01")
    assert curve_only.verdict == PARTLY
    assert "eval-mode curve is not shaky and the pass with dropout on is shaky" in (
        curve_only.measured
    )
    both = regrade(edited(shipped, RunConfig(dropout=0.1), smooth_both), "shaky_p01")
    assert both.verdict == DOES_NOT_HOLD


def test_fuzzy_verdict_holds_when_the_band_widens_and_covers_near_x11(shipped):
    def fuzzy(view):
        m = view.metrics
        return dataclasses.replace(
            view,
            metrics={
                **m,
                "mc_relative_hard": 2 * m["mc_relative_control"],
                "clean_coverage_hard": m["clean_coverage_elsewhere"],
                "clean_coverage_pct_hard": m["clean_coverage_pct_elsewhere"],
            },
        )

    both = edited(edited(shipped, RunConfig(dropout=0.2), fuzzy), RunConfig(dropout=0.3), fuzzy)
    assert regrade(both, "fuzzy_p02_03").verdict == HOLDS
    assert regrade(edited(shipped, RunConfig(dropout=0.2), fuzzy), "fuzzy_p02_03").verdict == (
        PARTLY
    )


def test_p1_verdict_compares_the_weights_with_the_init_files(shipped):
    def nudge_one(view):
        parameters = view.parameters.copy()
        parameters[0] += 1e-3
        return dataclasses.replace(view, parameters=parameters)

    def retrain(view):
        return dataclasses.replace(view, parameters=view.parameters * 1.5 + 0.01)

    setting = RunConfig(dropout=1.0)
    one = regrade(edited(shipped, setting, nudge_one), "initial_at_p1")
    assert one.verdict == HOLDS, "one weight in 8,384 is under the 1 % bar"
    assert "Other parameters moved" in one.measured
    assert regrade(edited(shipped, setting, retrain), "initial_at_p1").verdict == DOES_NOT_HOLD
    no_inits = regrade(dataclasses.replace(shipped, inits={}), "initial_at_p1")
    assert no_inits.verdict == HOLDS and "stored metric" in no_inits.measured


def test_dropout_spread_verdict_reads_every_dropout_run(shipped):
    narrow = edited(shipped, RunConfig(dropout=0.5), with_metrics(weight_std=1e-6))
    assert regrade(narrow, "dropout_wider").verdict == PARTLY
    narrower = edited(narrow, RunConfig(dropout=0.5), with_metrics(weight_iqr=1e-9))
    assert regrade(narrower, "dropout_wider").verdict == DOES_NOT_HOLD


def test_p_verdict_holds_when_every_p_has_the_same_weights(shipped):
    same = {s: shipped.runs[RunConfig(dropout=0.5, seed=s).run_id] for s in SEEDS}

    def copy(view):
        model = same[view.config.seed]
        return dataclasses.replace(
            view,
            weight_counts=model.weight_counts,
            metrics={**view.metrics, "weight_std": model.metrics["weight_std"]},
        )

    changed = shipped
    for p in (0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9):
        changed = edited(changed, RunConfig(dropout=p), copy)
    assert regrade(changed, "p_barely_changes").verdict == HOLDS


def test_optimiser_verdict_holds_when_sgd_piles_up_weights_too(shipped):
    changed = shipped
    for value in (1e-5, 1e-4, 1e-3):
        adam = {s: shipped.runs[RunConfig(l2=value, seed=s).run_id] for s in SEEDS}

        def like_adam(view, adam=adam):
            near = adam[view.config.seed].metrics["weight_fraction_near_zero"]
            return dataclasses.replace(
                view, metrics={**view.metrics, "weight_fraction_near_zero": near}
            )

        changed = edited(changed, SWEEPS["sgd"].config(value), like_adam)
    assert regrade(changed, "adam_share").verdict == HOLDS


def test_ramp_verdict_fails_the_tilt_when_the_prediction_is_constant(shipped):
    def constant(view):
        return dataclasses.replace(view, prediction=np.full_like(view.prediction, 4.0))

    changed = edited(shipped, SWEEPS["l2b"].config(1.0), constant)
    verdict = regrade(changed, "bias_ramp")
    assert verdict.verdict == PARTLY
    assert [c.passes() for c in verdict.criteria] == [True, False, True]


def test_small_data_verdict_holds_when_the_best_value_halves_the_error(shipped):
    from regviz.registry import SMALL_DATA

    changed = shipped
    for (kind, n), sweep in SMALL_DATA.items():
        if n < 8000:
            best = {"l2": 1e-3, "p": 0.1}[kind]
            halve = with_metrics(final_val_mse=0.01)
            changed = edited(changed, sweep.config(best), halve)
    verdict = regrade(changed, "small_data")
    assert verdict.verdict == HOLDS
    assert "best λ = 0.001" in verdict.measured and "best p = 0.1" in verdict.measured


def test_a_missing_run_marks_only_the_claims_that_need_it(shipped):
    run_id = RunConfig(l2=1.0, seed=2).run_id
    file = shipped.manifest["runs"][run_id]["file"]
    runs = {k: v for k, v in shipped.runs.items() if k != run_id}
    problem = store.Problem(f"pretrained/{file}", "missing", store.rebuild_command(run_id))
    found = by_claim(article_verdicts(dataclasses.replace(shipped, runs=runs, problems=[problem])))
    need = {
        "turning_point",
        "mean_at_large_l2",
        "delta_at_l2_1",
        "l2_slower_drop",
        "dropout_wider",
        "bias_ramp",
    }
    for key, verdict in found.items():
        if key in need:
            assert verdict.verdict == NOT_MEASURED, key
            assert f"pretrained/{file}" in verdict.measured
            assert f"--only {run_id}" in verdict.measured
            assert verdict.criteria == () and verdict.flip_text == "–"
        else:
            assert verdict.verdict != NOT_MEASURED, key


def test_missing_data_file_only_stops_the_claims_that_need_the_signal(shipped):
    found = by_claim(article_verdicts(dataclasses.replace(shipped, data=None)))
    stopped = {key for key, v in found.items() if v.verdict == NOT_MEASURED}
    assert stopped == {"small_l2_params", "shaky_p01", "bias_ramp"}
    assert all(shipped.manifest["data"]["file"] in found[key].measured for key in stopped)


def test_a_deleted_file_on_disk_is_reported_not_raised(shipped, tmp_path):
    copy = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, copy)
    run_id = RunConfig(dropout=0.6, seed=1).run_id
    (copy / shipped.manifest["runs"][run_id]["file"]).unlink()
    found = by_claim(article_verdicts(store.load_views(copy)))
    for key in ("mean_at_p06", "dropout_wider", "p_barely_changes"):
        assert found[key].verdict == NOT_MEASURED
        assert run_id in found[key].measured
    assert (
        found["turning_point"].verdict
        == by_claim(article_verdicts(shipped))["turning_point"].verdict
    ), "the L2 claims do not need the missing dropout run"


def test_no_manifest_gives_every_claim_not_measured(tmp_path):
    found = article_verdicts(store.load_views(tmp_path))
    assert [v.verdict for v in found] == [NOT_MEASURED] * len(CLAIMS)
    assert all("manifest.json" in v.measured for v in found)
    assert count_line(found) == f"0 hold, 0 partly, 0 do not, {len(CLAIMS)} not measured"
    assert "not measured" in markdown(found)


# --- the MC dropout coverage table -------------------------------------------------------


def test_coverage_table_has_one_row_per_dropout_setting_from_the_metrics(shipped):
    table = mc_coverage_table(shipped)
    assert list(table.columns) == list(COVERAGE_COLUMNS)
    assert table["p"].tolist() == [p for p in CANONICAL_DROPOUT if p > 0]
    assert (table["seeds"] == len(SEEDS)).all()
    row = table.set_index("p").loc[0.3]
    views = [shipped.runs[RunConfig(dropout=0.3, seed=s).run_id] for s in SEEDS]
    coverage = [v.metrics["mc_coverage"] for v in views]
    assert row["inside ±2σ, mean (%)"] == pytest.approx(100 * np.mean(coverage))
    assert row["inside ±2σ, lowest seed (%)"] == pytest.approx(100 * min(coverage))
    assert row["±2σ near x = 11"] == pytest.approx(
        2 * np.mean([v.metrics["mc_hard_std"] for v in views])
    )
    for column, metric, scale in (
        ("clean signal inside ±2σ near x = 11 (%)", "clean_coverage_hard", 100),
        ("clean signal inside ±2σ elsewhere (%)", "clean_coverage_elsewhere", 100),
        ("σ / mean near x = 11", "mc_relative_hard", 1),
        ("σ / mean, level-matched control", "mc_relative_control", 1),
    ):
        assert row[column] == pytest.approx(scale * np.mean([v.metrics[metric] for v in views]))
    numbers = table.drop(columns=["note"]).iloc[:-1]
    assert np.isfinite(numbers.to_numpy(dtype=float)).all()


def test_coverage_with_data_noise_is_never_far_below_the_bare_band(shipped):
    table = mc_coverage_table(shipped).iloc[:-1]
    widened = table["inside ±2σ with data noise added, mean (%)"]
    # Sample-based, so allow a few points of sampling error below the full-set metric.
    assert (widened >= table["inside ±2σ, mean (%)"] - 5).all()


def test_coverage_table_says_p1_has_no_band_and_survives_missing_runs(shipped):
    last = mc_coverage_table(shipped).iloc[-1]
    assert last["p"] == 1.0 and last["±2σ elsewhere"] == 0.0
    assert "no band" in last["note"]
    runs = {k: v for k, v in shipped.runs.items() if not k.startswith("l2-0_p-0.4_s")}
    table = mc_coverage_table(dataclasses.replace(shipped, runs=runs)).set_index("p")
    assert table.loc[0.4, "seeds"] == 0 and table.loc[0.4, "note"] == "runs not loaded"
    assert isinstance(table, pd.DataFrame)


def test_verdicts_stay_off_torch_scipy_and_sklearn():
    code = (
        "import sys; from regviz import store, verdict; "
        "verdict.article_verdicts(store.load_views()); "
        "verdict.mc_coverage_table(store.load_views()); "
        "print(any(m in sys.modules for m in ('torch', 'scipy', 'sklearn', 'streamlit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_run_without_a_metric_it_needs_is_not_measured_not_raised(shipped):
    def strip(view):
        metrics = {k: v for k, v in view.metrics.items() if k != "mc_relative_hard"}
        return dataclasses.replace(view, metrics=metrics)

    found = by_claim(article_verdicts(edited(shipped, RunConfig(dropout=0.2), strip)))
    assert found["fuzzy_p02_03"].verdict == NOT_MEASURED
    assert "mc_relative_hard" in found["fuzzy_p02_03"].measured
    assert sum(v.verdict == NOT_MEASURED for v in found.values()) == 1
