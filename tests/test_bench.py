"""The benchmarks run end to end and report what they claim; they never assert a timing."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from benchmarks import load as loadbench
from benchmarks import page as pagebench
from benchmarks import report, same_content
from benchmarks import trainer as bench
from regviz.config import CANONICAL_DROPOUT, CANONICAL_L2, RunConfig
from regviz.data import make_dataset
from regviz.pretrain import cpu_description
from regviz.train import fit, flush_denormals
from tests.support import appserver

ROOT = Path(__file__).resolve().parents[1]


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
    assert machine["cpu"] == cpu_description()["model"]
    assert machine["cores"] >= 1 and machine["torch_threads"] >= 1
    assert machine["torch"].startswith("2.") and machine["torch_threads"] == 1
    assert any("set_flush_denormal" in note for note in report["notes"])
    assert "regviz.fit_many" in stdout and ("PASS" in stdout or "FAIL" in stdout)
    assert (
        f"machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}" in stdout
    )
    assert 0 <= machine["other_processes_cpu_share"] <= 1


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


def test_trainer_benchmark_has_no_page_mode(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--smoke", "--page"])
    assert exit_.value.code == 2


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_benchmarks_share_only_helper_modules_and_import_no_other_benchmark():
    """report (machine facts, JSON, verdicts) and streamlit_client (the websocket reader)
    are shared; a benchmark never imports another one."""
    for name in ("trainer", "page", "load"):
        others = {f"benchmarks.{other}" for other in ("trainer", "page", "load") if other != name}
        imports = _imports(ROOT / "benchmarks" / f"{name}.py")
        assert not imports & others, name
        assert "benchmarks.report" in imports, name


def test_the_cpu_model_is_read_in_one_place():
    readers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("regviz", "benchmarks", "tests", "deploy")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve() and "/proc/cpuinfo" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["regviz/pretrain.py"]


def test_every_benchmark_writes_its_report_into_docs():
    docs = ROOT / "docs"
    assert bench.DEFAULT_JSON == {"full": docs / "bench.json", "quick": docs / "bench_quick.json"}
    assert pagebench.DEFAULT_JSON == docs / "bench_page.json"
    assert loadbench.DEFAULT_JSON == docs / "loadtest.json"


def test_report_json_round_trips_unicode(tmp_path):
    path = report.write_json({"λ": 0.01, "rows": [1, 2]}, tmp_path / "deep" / "r.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"λ": 0.01, "rows": [1, 2]}
    assert "λ" in path.read_text(encoding="utf-8")


def test_a_busy_machine_is_named_next_to_the_table():
    facts = {"cpu": "Some CPU", "cores": 2, "torch": "2.x", "torch_threads": 2}
    quiet = report.machine_lines({**facts, "other_processes_cpu_share": 0.02})
    busy = report.machine_lines({**facts, "other_processes_cpu_share": 0.4})
    assert quiet == [
        "machine: Some CPU, 2 cores, torch 2.x (2 threads), other processes' CPU share 2%"
    ]
    assert len(busy) == 2 and "not final" in busy[1]


def test_percentiles_interpolate_between_order_statistics():
    assert report.percentile([], 95) is None
    assert report.percentile([3.0], 95) == 3.0
    assert report.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert report.percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)
    assert report.verdict(0.2, 0.3) == "PASS" and report.verdict(0.4, 0.3) == "FAIL"
    assert report.verdict(None, 0.3) == "n/a"


def test_interference_never_counts_our_own_work_as_others():
    interference = report.Interference()
    sum(i * i for i in range(2_000_000))  # busy in this process only
    share = interference.share()
    assert share is None or 0 <= share <= 1


#: A child that burns CPU while its parent (our child) sleeps, then is orphaned: the parent
#: exits without waiting for it, as Chromium's browser process can leave its zygote.
ORPHAN = """
import os, time
if os.fork() == 0:
    while time.process_time() < 1.5:
        pass
    os._exit(0)
time.sleep(1.0)
os._exit(0)
"""


def test_a_process_that_leaves_our_tree_still_counts_as_ours_for_the_time_it_was_seen():
    own = report._OwnCpu(interval=0.05)
    own.start()
    try:
        before, tree_before = own.seconds(), appserver.tree_cpu_seconds(os.getpid())
        subprocess.run([sys.executable, "-c", ORPHAN], check=True)
        counted = own.seconds() - before
        tree = appserver.tree_cpu_seconds(os.getpid()) - tree_before
    finally:
        own.stop()
    # The grandchild burned CPU for the second its parent slept; one reading of the tree
    # at the end cannot see it (reaped by init, not by us), the sampler did.
    assert counted >= 0.3
    assert tree < counted


def test_the_bare_page_draws_as_many_line_charts_as_asked_and_nothing_else(tmp_path):
    from streamlit.testing.v1 import AppTest

    app = pagebench.write_bare_app(tmp_path, charts=3)
    assert (tmp_path / ".streamlit" / "config.toml").is_file()  # our theme and server settings
    at = AppTest.from_file(str(app), default_timeout=60)
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3
    assert all(json.loads(chart.proto.spec)["mark"]["type"] == "line" for chart in charts)
    assert len(at.main.children) == 1 + 3  # a title and the charts


def test_the_same_content_page_draws_our_first_screens_text_and_charts_identically(tmp_path):
    from streamlit.testing.v1 import AppTest

    items = same_content.capture(ROOT / "streamlit_app.py")
    ours = [item for item in items if item["kind"] == "chart"]
    texts = [item["body"] for item in items if item["kind"] != "chart"]
    assert len(ours) == same_content.chart_count(items) >= 10 and len(texts) >= 20
    app = same_content.write_app(tmp_path, items)
    assert "regviz" not in app.read_text()  # plain Streamlit: none of our code runs
    at = AppTest.from_file(str(app), default_timeout=60).run()
    assert not at.exception
    replayed = at.get("vega_lite_chart")
    assert [chart.proto.spec for chart in replayed] == [item["spec"] for item in ours]
    assert [
        {entry.name: bytes(entry.data.data) for entry in chart.proto.datasets} for chart in replayed
    ] == [item["datasets"] for item in ours]
    elements = [at.main.children[index] for index in sorted(at.main.children)]
    drawn = [el.proto.body for el in elements if type(el.proto).__name__ in ("Heading", "Markdown")]
    assert drawn == texts
    kinds = {type(el.proto).__name__ for el in elements}
    assert kinds == {"Heading", "Markdown", "VegaLiteChart"}  # no widget, column or tab


def test_a_same_content_page_that_would_draw_other_charts_than_ours_is_refused():
    items = [{"kind": "markdown", "body": "text"}]
    with pytest.raises(RuntimeError, match="like for like"), pagebench._same_content_app(items, 1):
        pass


def _loads(*seconds):
    return [{"load_s": value, "app_bytes": 600_000} for value in seconds]


def test_page_report_splits_the_gap_into_content_and_our_code_when_it_has_the_same_content_page():
    browser = {
        "new_browser": {
            "ours": _loads(3.0, 3.0),
            "bare": _loads(2.0, 2.0),
            "same": _loads(2.5, 2.5),
        },
        "fresh_server": {"ours": _loads(5.0), "bare": _loads(4.0)},
        "custom_runs": [],
    }
    summary = pagebench.summarise(browser)
    assert summary["new_browser"]["same_over_bare"] == pytest.approx(1.25)
    assert summary["new_browser"]["ours_over_same"] == pytest.approx(1.2)
    assert "same_median_s" not in summary["fresh_server"]  # an older report without it
    assert "first_run" not in summary


def test_page_report_gives_each_pages_first_script_run_beside_the_fresh_server_row():
    browser = {
        "new_browser": {"ours": _loads(3.0), "bare": _loads(2.0)},
        "fresh_server": {"ours": _loads(5.0), "bare": _loads(4.0)},
        "first_run_s": {"ours": [1.2, 1.0, 1.4], "bare": [0.9, 0.8, 1.0], "same": [0.3, 0.2, 0.4]},
        "custom_runs": [],
    }
    assert pagebench.summarise(browser)["first_run"] == {
        "ours_median_s": 1.2,
        "bare_median_s": 0.9,
        "same_median_s": 0.3,
    }


def test_the_first_script_run_is_timed_in_a_fresh_interpreter(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("import sys, streamlit as st\nst.write(sorted(sys.modules)[:1])\n")
    seconds = pagebench.first_run_seconds(app)
    assert 0 < seconds < 60
    (tmp_path / "broken.py").write_text("raise ValueError('boom')\n")
    with pytest.raises(RuntimeError, match="boom"):
        pagebench.first_run_seconds(tmp_path / "broken.py")


def test_page_report_gives_medians_and_ratios_against_the_bare_page():
    browser = {
        "new_browser": {"ours": _loads(3.0, 3.2, 9.0), "bare": _loads(2.0, 2.5, 2.4)},
        "fresh_server": {"ours": _loads(5.0, 5.2), "bare": _loads(4.0, 4.0)},
        "custom_runs": [
            {"first_feedback_s": 0.2, "finished_s": 12.0, "bare_fit": {"fit_s": 10.0}},
            {"first_feedback_s": None, "finished_s": 14.0, "bare_fit": {"fit_s": 10.0}},
        ],
    }
    summary = pagebench.summarise(browser)
    assert summary["new_browser"] == {
        "ours_median_s": 3.2,
        "bare_median_s": 2.4,
        "ratio": pytest.approx(3.2 / 2.4),
    }
    assert summary["fresh_server"]["ratio"] == pytest.approx(5.1 / 4.0)
    assert summary["custom"]["first_feedback_median_s"] == 0.2
    assert summary["custom"]["ratio"] == pytest.approx(1.3)
    assert summary["page_mb"] == pytest.approx(0.6)


def _reader_sample(load_s: float) -> dict:
    return {
        "load_s": load_s,
        "app_bytes": 600_000,
        "framework_http_bytes": 6_000_000,
        "console_errors": [],
        "page_errors": [],
        "exception_boxes": 0,
    }


def test_page_report_prints_every_figure_and_goal():
    browser = {
        "charts_at_load": 12,
        "bare_page": {"charts": 12, "points_per_chart": 1000},
        "same_content_page": {"charts": 12, "texts": 40},
        "new_browser": {
            "ours": [_reader_sample(3.0)],
            "bare": [_reader_sample(2.0)],
            "same": [_reader_sample(2.4)],
        },
        "fresh_server": {"ours": [_reader_sample(5.0)], "bare": [_reader_sample(4.0)]},
        "first_run_s": {"ours": [1.5], "bare": [0.9], "same": [0.3]},
        "framework_gzip_bytes": 2_000_000,
        "browser_reruns": [{"option": "λ = 0", "ms": 300.0, "websocket_bytes": 70_000}],
        "custom_runs": [
            {
                "l2": "0.0037",
                "dropout": "0.15",
                "epochs": "100",
                "seed": "0",
                "first_feedback_s": 0.25,
                "finished_s": 12.0,
                "page_says": "Trained on CPU (1 threads) in 11.5 s.",
                "bare_fit": {"fit_s": 10.0, "runs": [{"threads": 1, "fit_s": 10.0}]},
                "worker_time": {"worker_run_s": 10.5, "worker_wait_s": 0.75, "server_run_s": 0.5},
            }
        ],
        "custom_runs_no_browser": [
            {"seed": "100", "finished_s": 11.0, "bare_fit": {"fit_s": 10.0}},
            {"seed": "101", "finished_s": 11.4, "bare_fit": {"fit_s": 9.5}},
        ],
        "server_peak_memory_bytes": {
            "server_hwm": 250_000_000,
            "children_sampled_peak": 600_000_000,
            "children": [{"pid": 1, "command": "python worker", "peak_bytes": 600_000_000}],
        },
    }
    at = {
        "widget": "select_slider 'λ'",
        "first_run_s": 1.0,
        "first_visits": [{"option": "λ = 0", "ms": 80.0}],
        "revisits": [{"option": "λ = 0", "ms": 70.0}],
    }
    summary = pagebench.summarise(browser)
    goals = {
        name: {"value": 1.0, "goal": goal, "passed": True} for name, goal in pagebench.GOALS.items()
    }
    machine = {"cpu": "Some CPU", "cores": 2, "torch": "2.x", "torch_threads": 2}
    text = pagebench.format_report(
        {
            **browser,
            "app": "streamlit_app.py",
            "machine": machine,
            "summary": summary,
            "apptest": at,
            "goals": goals,
            "drawn": "drawn",
            "custom_contract": "contract",
        }
    )
    for expected in ("machine: Some CPU, 2 cores", "1.50×", "1.25×", "≤ 1.2×", "≤ 1.3×", "1.20×"):
        assert expected in text
    assert "Trained on CPU (1 threads)" in text and "12 Altair line charts" in text
    assert "same content, plain Streamlit 2.40 s" in text and "1.25× the same content" in text
    assert "40 headings and texts and 12 charts" in text
    assert "fresh interpreter (AppTest, median of 1): ours 1.50 s, bare 0.90 s" in text
    assert "the training process ran 10.50 s" in text and "waited 0.75 s for a core" in text
    assert "the other 0.75 s are the press" in text
    assert "against a bare fit with one torch thread, as the page's worker trains" in text
    assert "10.00 s, 1.20× (information" in text
    assert (
        "the same without a browser on these cores (a websocket client that reruns the live "
        "view as the page does; seeds 100, 101): 11.20 s against a bare fit 9.75 s: 1.15×"
    ) in text
    assert summary["custom"]["ratio_no_browser"] == pytest.approx(11.2 / 9.75)


def test_custom_run_time_is_split_into_the_workers_run_and_wait_and_the_rest():
    server, worker, old, idle = 100, 200, 150, 300
    before = {
        (server, 1): (5.0, 1.0),
        (worker, 2): (1.0, 0.25),
        (idle, 3): (0.5, 0.0),
        (old, 4): (9.0, 0.0),  # gone by the end: not counted
    }
    after = {
        (server, 1): (5.5, 1.25),
        (worker, 2): (4.0, 0.75),  # ran 3 s, waited 0.5 s
        (idle, 3): (0.75, 0.0),
        (old, 5): (1.0, 0.5),  # a new process with a reused pid counts from zero
    }
    split = pagebench.worker_time(before, after, server)
    assert split == {"worker_run_s": 3.0, "worker_wait_s": 0.5, "server_run_s": 0.5}
    assert (
        pagebench.worker_time({(server, 1): (0.0, 0.0)}, {(server, 1): (1.0, 0.0)}, server) is None
    )
    runs = [
        {
            "first_feedback_s": 0.2,
            "finished_s": 4.0,
            "bare_fit": {"fit_s": 3.0},
            "worker_time": split,
        },
        {
            "first_feedback_s": 0.2,
            "finished_s": 5.0,
            "bare_fit": {"fit_s": 3.0},
            "worker_time": None,
        },
    ]
    browser = {
        "new_browser": {"ours": _loads(3.0), "bare": _loads(2.0)},
        "fresh_server": {"ours": _loads(3.0), "bare": _loads(2.0)},
        "custom_runs": runs,
    }
    custom = pagebench.summarise(browser)["custom"]
    assert custom["worker_run_median_s"] == 3.0 and custom["worker_wait_median_s"] == 0.5
    assert custom["rest_median_s"] == pytest.approx(0.5)


def test_load_report_prints_goals_next_to_the_figures():
    empty = {"count": 0, "median": None, "p95": None, "max": None}
    figures = loadbench.Figures(
        sessions=20,
        slider_readers=12,
        interactions=100,
        script_runs_finished=100,
        trainings_submitted=8,
        trainings_run=6,
        trainings_from_cache=2,
        trainings_refused_busy=0,
        trainings_unaccounted=0,
        max_trainings=1,
        max_concurrent_seen=1,
        queue_wait_s={"median": 2.0, "max": 5.0},
        rerun_while_training_s={"count": 3, "median": 0.2, "p95": 0.5, "max": 1.5},
        rerun_while_idle_s=empty,
        abandoned_mid_training=True,
        returner_got_full_result=True,
        returner_trained_fresh=False,
        browser_checked=True,
        memory=loadbench._memory(
            {
                "server_hwm": 300_000_000,
                "tree_sampled_peak": 850_000_000,
                "children_sampled_peak": 500_000_000,
                "children": [{"pid": 7, "command": "python worker", "peak_bytes": 500_000_000}],
            }
        ),
        seconds=50.0,
        errors=[],
    )
    text = "\n".join(figures.lines())
    assert "goal ≤ 0.3 s PASS (median)" in text and "goal ≤ 1 s FAIL (max)" in text
    assert "goal ≤ 350 MB PASS" in text and "goal ≤ 690 MB FAIL" in text
    assert figures.peak_with_children_mb == pytest.approx(850.0)  # sampled above 300 + 500
    assert {name for name in figures.goals()} == set(loadbench.GOALS)
