"""The measured verdict: computed from the runs, every claim present, missing files handled."""

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from regviz import store
from regviz.config import CANONICAL_DROPOUT, SEEDS, RunConfig
from regviz.verdict import (
    CLAIMS,
    COVERAGE_COLUMNS,
    DOES_NOT_HOLD,
    HOLDS,
    NOT_MEASURED,
    PARTLY,
    VERDICTS,
    Verdict,
    article_verdicts,
    hard_region,
    mc_coverage_table,
    verdict_table,
)
from regviz.views import PREDICTION_GRID


@pytest.fixture(scope="module")
def shipped():
    return store.load_views()


def by_claim(verdicts):
    found = {v.claim: v for v in verdicts}
    return {key: found[text] for key, text in CLAIMS.items()}


def edited(pretrained, setting, edit):
    """A copy of `pretrained` whose runs of `setting` (every seed) went through `edit`."""
    runs = dict(pretrained.runs)
    for seed in SEEDS:
        run_id = setting.with_seed(seed).run_id
        runs[run_id] = edit(runs[run_id])
    return dataclasses.replace(pretrained, runs=runs)


def with_metrics(**changes):
    return lambda view: dataclasses.replace(view, metrics={**view.metrics, **changes})


def test_every_claim_is_judged_once_in_order_with_a_known_verdict(shipped):
    verdicts = article_verdicts(shipped)
    assert [v.claim for v in verdicts] == list(CLAIMS.values())
    for v in verdicts:
        assert isinstance(v, Verdict)
        assert v.verdict in VERDICTS and v.verdict != NOT_MEASURED
        assert v.measured and v.evidence
        assert all(isinstance(x, float) and np.isfinite(x) for x in v.evidence.values())


def test_shipped_checkpoints_give_the_verdicts_we_report(shipped):
    """The verdicts the page shows today (see test_claims.py for the numbers behind them)."""
    verdicts = {key: v.verdict for key, v in by_claim(article_verdicts(shipped)).items()}
    assert verdicts == {
        "turning_point": HOLDS,
        "flat_at_large_l2": HOLDS,
        "delta_at_l2_1": HOLDS,
        "shaky_p01": HOLDS,
        "fuzzy_p02_03": DOES_NOT_HOLD,
        "mean_at_p06": DOES_NOT_HOLD,
        "initial_at_p1": HOLDS,
        "dropout_wider": HOLDS,
    }


def test_measured_text_quotes_the_numbers_from_the_runs(shipped):
    verdicts = by_claim(article_verdicts(shipped))
    p06 = [shipped.runs[RunConfig(dropout=0.6, seed=s).run_id] for s in SEEDS]
    vov = np.mean([v.metrics["val_mse_over_var"] for v in p06])
    assert f"{vov:.2f}" in verdicts["mean_at_p06"].measured
    assert verdicts["mean_at_p06"].evidence["val MSE / Var(y), p=0.6"] == pytest.approx(vov)
    l2_1 = [shipped.runs[RunConfig(l2=1.0, seed=s).run_id] for s in SEEDS]
    near = np.mean([v.metrics["weight_fraction_near_zero"] for v in l2_1])
    assert f"{near:.1%}" in verdicts["delta_at_l2_1"].measured


def test_p06_verdict_flips_when_its_runs_predict_the_mean(shipped):
    def flatten(view):
        level = np.full_like(view.prediction, view.prediction.mean())
        return dataclasses.replace(
            view,
            prediction=level,
            metrics={**view.metrics, "prediction_std_ratio": 0.0, "val_mse_over_var": 1.01},
        )

    verdict = by_claim(article_verdicts(edited(shipped, RunConfig(dropout=0.6), flatten)))
    assert verdict["mean_at_p06"].verdict == HOLDS
    assert "The first mean-like setting is p = 0.6" in verdict["mean_at_p06"].measured


def test_delta_verdict_follows_the_share_of_weights_at_zero(shipped):
    setting = RunConfig(l2=1.0)
    for share, expected in ((0.6, PARTLY), (0.05, DOES_NOT_HOLD)):
        changed = edited(shipped, setting, with_metrics(weight_fraction_near_zero=share))
        assert by_claim(article_verdicts(changed))["delta_at_l2_1"].verdict == expected


def test_flat_line_verdict_flips_when_the_large_l2_curve_keeps_its_shape(shipped):
    changed = edited(
        shipped, RunConfig(l2=1.0), with_metrics(prediction_std_ratio=0.7, val_mse_over_var=0.4)
    )
    assert by_claim(article_verdicts(changed))["flat_at_large_l2"].verdict == DOES_NOT_HOLD
    changed = edited(shipped, RunConfig(l2=1.0), with_metrics(val_mse_over_var=1.5))
    assert by_claim(article_verdicts(changed))["flat_at_large_l2"].verdict == PARTLY


def test_turning_point_moves_with_the_validation_losses(shipped):
    """If λ = 1e-3 were clearly worse than λ = 0, the climb would start a decade early."""
    changed = edited(shipped, RunConfig(l2=1e-3), with_metrics(val_mse=1.0))
    verdict = by_claim(article_verdicts(changed))["turning_point"]
    assert verdict.verdict == PARTLY
    assert verdict.evidence["first clearly worse λ"] == 1e-3
    changed = edited(changed, RunConfig(l2=1e-5), with_metrics(val_mse=1.0))
    assert by_claim(article_verdicts(changed))["turning_point"].verdict == DOES_NOT_HOLD


def test_shaky_verdict_reads_the_stored_prediction_arrays(shipped):
    """Give the p = 0.1 runs the unregularised curves: no longer shakier than themselves."""
    smooth = {s: shipped.runs[RunConfig(seed=s).run_id].prediction for s in SEEDS}

    def copy_plain(view):
        return dataclasses.replace(view, prediction=smooth[view.config.seed])

    changed = edited(shipped, RunConfig(dropout=0.1), copy_plain)
    assert by_claim(article_verdicts(changed))["shaky_p01"].verdict == DOES_NOT_HOLD


def test_fuzzy_verdict_holds_when_band_and_seeds_widen_near_x11(shipped):
    hard = hard_region(PREDICTION_GRID)

    def fuzzy(view):
        bump = np.where(hard, 0.5 * (view.config.seed + 1), 0.0)
        return dataclasses.replace(
            view,
            prediction=view.prediction + bump,
            metrics={**view.metrics, "mc_hard_std": 2 * view.metrics["mc_easy_std"]},
        )

    changed = shipped
    for p in (0.2, 0.3):
        changed = edited(changed, RunConfig(dropout=p), fuzzy)
    assert by_claim(article_verdicts(changed))["fuzzy_p02_03"].verdict == HOLDS
    only_p02 = edited(shipped, RunConfig(dropout=0.2), fuzzy)
    assert by_claim(article_verdicts(only_p02))["fuzzy_p02_03"].verdict == PARTLY


def test_p1_verdict_compares_the_weights_with_the_init_files(shipped):
    def nudge_one(view):
        parameters = view.parameters.copy()
        parameters[0] += 1e-3
        return dataclasses.replace(view, parameters=parameters)

    def retrain(view):
        return dataclasses.replace(view, parameters=view.parameters * 1.5 + 0.01)

    setting = RunConfig(dropout=1.0)
    one = by_claim(article_verdicts(edited(shipped, setting, nudge_one)))["initial_at_p1"]
    assert one.verdict == PARTLY
    assert "other parameters moved" in one.measured.lower()
    moved = by_claim(article_verdicts(edited(shipped, setting, retrain)))["initial_at_p1"]
    assert moved.verdict == DOES_NOT_HOLD


def test_p1_verdict_falls_back_to_the_metric_without_init_files(shipped):
    no_inits = dataclasses.replace(shipped, inits={})
    verdict = by_claim(article_verdicts(no_inits))["initial_at_p1"]
    assert verdict.verdict == HOLDS
    assert "stored metric" in verdict.measured


def test_dropout_spread_verdict_flips_when_one_dropout_run_is_narrow(shipped):
    changed = edited(shipped, RunConfig(dropout=0.5), with_metrics(weight_std=1e-4))
    assert by_claim(article_verdicts(changed))["dropout_wider"].verdict == PARTLY
    changed = edited(changed, RunConfig(dropout=0.5), with_metrics(weight_iqr=1e-6))
    assert by_claim(article_verdicts(changed))["dropout_wider"].verdict == DOES_NOT_HOLD


def test_a_missing_run_marks_only_the_claims_that_need_it(shipped):
    run_id = RunConfig(l2=1.0, seed=2).run_id
    file = shipped.manifest["runs"][run_id]["file"]
    runs = {k: v for k, v in shipped.runs.items() if k != run_id}
    problem = store.Problem(f"pretrained/{file}", "missing", store.rebuild_command(run_id))
    broken = dataclasses.replace(shipped, runs=runs, problems=[problem])
    verdicts = by_claim(article_verdicts(broken))
    for key in ("turning_point", "flat_at_large_l2", "delta_at_l2_1", "dropout_wider"):
        assert verdicts[key].verdict == NOT_MEASURED
        assert f"pretrained/{file}" in verdicts[key].measured
        assert f"--only {run_id}" in verdicts[key].measured
        assert verdicts[key].evidence == {}
    for key in ("shaky_p01", "fuzzy_p02_03", "mean_at_p06", "initial_at_p1"):
        assert verdicts[key].verdict != NOT_MEASURED


def test_missing_data_file_only_stops_the_claim_that_needs_the_signal(shipped):
    verdicts = by_claim(article_verdicts(dataclasses.replace(shipped, data=None)))
    assert verdicts["shaky_p01"].verdict == NOT_MEASURED
    assert shipped.manifest["data"]["file"] in verdicts["shaky_p01"].measured
    assert sum(v.verdict == NOT_MEASURED for v in verdicts.values()) == 1


def test_a_deleted_file_on_disk_is_reported_not_raised(shipped, tmp_path):
    copy = tmp_path / "pretrained"
    shutil.copytree(store.PRETRAINED_DIR, copy)
    run_id = RunConfig(dropout=0.6, seed=1).run_id
    (copy / shipped.manifest["runs"][run_id]["file"]).unlink()
    verdicts = by_claim(article_verdicts(store.load_views(copy)))
    assert verdicts["mean_at_p06"].verdict == NOT_MEASURED
    assert run_id in verdicts["mean_at_p06"].measured
    assert verdicts["turning_point"].verdict == HOLDS


def test_no_manifest_gives_every_claim_not_measured(tmp_path):
    verdicts = article_verdicts(store.load_views(tmp_path))
    assert [v.verdict for v in verdicts] == [NOT_MEASURED] * len(CLAIMS)
    assert all("manifest.json" in v.measured for v in verdicts)


def test_verdict_table_has_readable_columns(shipped):
    table = verdict_table(article_verdicts(shipped))
    assert list(table.columns) == ["The article's claim", "What we measured", "Verdict"]
    assert len(table) == len(CLAIMS)


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
    hard = np.mean([v.metrics["mc_hard_std"] for v in views])
    assert row["±2σ near x = 11"] == pytest.approx(2 * hard)
    numbers = table.drop(columns=["note"]).iloc[:-1]
    assert np.isfinite(numbers.to_numpy(dtype=float)).all()


def test_coverage_with_data_noise_is_never_below_the_bare_band(shipped):
    table = mc_coverage_table(shipped).iloc[:-1]
    widened = table["inside ±2σ with data noise added, mean (%)"]
    # Sample-based, so allow a few points of sampling error below the full-set metric.
    assert (widened >= table["inside ±2σ, mean (%)"] - 5).all()


def test_coverage_table_says_p1_has_no_band(shipped):
    last = mc_coverage_table(shipped).iloc[-1]
    assert last["p"] == 1.0 and last["±2σ elsewhere"] == 0.0
    assert "no band" in last["note"]


def test_coverage_table_follows_the_runs_and_survives_missing_ones(shipped):
    changed = edited(shipped, RunConfig(dropout=0.2), with_metrics(mc_coverage=0.5))
    row = mc_coverage_table(changed).set_index("p").loc[0.2]
    assert row["inside ±2σ, mean (%)"] == pytest.approx(50.0)
    runs = {k: v for k, v in shipped.runs.items() if not k.startswith("l2-0_p-0.4_")}
    table = mc_coverage_table(dataclasses.replace(shipped, runs=runs)).set_index("p")
    assert table.loc[0.4, "seeds"] == 0 and table.loc[0.4, "note"] == "runs not loaded"
    assert isinstance(table, pd.DataFrame)


def test_verdict_module_stays_off_torch_scipy_and_sklearn():
    code = (
        "import sys; from regviz import store, verdict; "
        "verdict.article_verdicts(store.load_views()); "
        "verdict.mc_coverage_table(store.load_views()); "
        "print(any(m in sys.modules for m in ('torch', 'scipy', 'sklearn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_hard_region_matches_the_metrics_definition():
    assert hard_region(np.array([9.9, 10.0, 11.0, 12.0, 12.1])).tolist() == [
        False,
        True,
        True,
        True,
        False,
    ]
