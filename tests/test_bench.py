"""The benchmark runs end to end and reports what it claims; it never asserts a timing."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from benchmarks import page as pagebench
from benchmarks import trainer as bench
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, RunConfig
from regviz.data import make_dataset
from regviz.train import fit, flush_denormals


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        # one thread: two threads on a CPU shared with other jobs can be 20x slower
        [
            sys.executable,
            "-m",
            "benchmarks.trainer",
            "--smoke",
            "--threads",
            "1",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(path.read_text()), done.stdout


def test_smoke_benchmark_writes_every_contestant_with_a_finite_validation_mse(smoke_report):
    report, _ = smoke_report
    rows = {(row["contestant"], row["device"]): row for row in report["rows"]}
    assert {("plain", "cpu"), ("fit", "cpu"), ("fit_many", "cpu")} <= set(rows)
    for row in rows.values():
        assert math.isfinite(row["val_mse_mean"]) and row["val_mse_mean"] > 0
        assert all(math.isfinite(v) for v in row["val_mse"].values())
        assert len(row["seconds_per_model"]["repeats"]) == report["repeats"] == 1
        assert row["seconds_per_model"]["median"] > 0
        assert math.isfinite(row["speedup_vs_plain_cpu"])
    assert rows[("plain", "cpu")]["goal"] is None
    assert rows[("fit", "cpu")]["goal"] == bench.GOALS["fit"]
    assert rows[("fit_many", "cpu")]["goal"] == bench.GOALS["fit_many"]


def test_smoke_benchmark_trains_the_same_configs_for_every_contestant(smoke_report):
    report, _ = smoke_report
    run_ids = [row["run_ids"] for row in report["rows"]]
    assert all(ids == run_ids[0] for ids in run_ids)
    assert report["epochs"] == 2
    assert all(run_id.endswith("_ep-2_s0") for run_id in run_ids[0])


def test_smoke_benchmark_records_the_machine_and_the_denormal_choice(smoke_report):
    report, stdout = smoke_report
    machine = report["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and machine["torch_threads"] >= 1
    assert machine["torch"].startswith("2.") and machine["torch_threads"] == 1
    assert any("set_flush_denormal" in note for note in report["notes"])
    assert "regviz.fit_many" in stdout and ("PASS" in stdout or "FAIL" in stdout)


def test_quick_plan_gives_all_three_contestants_the_same_work():
    plan = bench.make_plan("quick")
    assert plan.single == plan.many
    assert len(plan.many) == len(CANONICAL_L2) + len(CANONICAL_DROPOUT) - 1
    assert {c.epochs for c in plan.many} == {plan.epochs}
    assert plan.repeats >= 3


def test_full_plan_times_fit_many_on_the_whole_canonical_sweep():
    plan = bench.make_plan("full")
    assert len(plan.many) == 51
    assert {c.epochs for c in plan.many + plan.single} == {100}
    assert {c.run_id for c in plan.single} <= {c.run_id for c in plan.many}
    assert not any(c.l2 and c.dropout for c in plan.many)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_plain_loop_optimises_the_same_objective_as_fit(one_thread):
    """Same model, data, penalty and optimiser: only the batch order differs, so after a
    few epochs the two land close together (speed-ups never come from doing less)."""
    dataset = make_dataset()
    for config in (RunConfig(l2=0.0, epochs=3), RunConfig(l2=1.0, epochs=3)):
        with flush_denormals():
            plain = bench.plain_fit(config, dataset)
        ours = fit(config, dataset=dataset).history.val_loss[-1]
        assert plain == pytest.approx(ours, rel=0.15), config.run_id


def test_bench_rejects_a_non_positive_repeat_count(capsys):
    assert bench.main(["--smoke", "--repeats", "0"]) == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err


def test_page_bench_finds_the_canonical_values_behind_a_pickers_labels():
    picker = SimpleNamespace(  # just enough of an AppTest select_slider
        options=["λ = 0", "λ = 1e-05", "λ = 0.01", "custom"],
        format_func=lambda value: value if value == "custom" else f"λ = {value:g}",
    )
    assert pagebench._canonical_values(picker) == [
        ("λ = 0", 0.0),
        ("λ = 1e-05", 1e-05),
        ("λ = 0.01", 0.01),
    ]
