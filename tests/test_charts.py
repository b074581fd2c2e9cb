"""Chart builders: valid Vega-Lite with the expected encodings, one theme, small payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from regviz import charts, store
from regviz.config import RunConfig
from regviz.ui import tables

ROOT = Path(__file__).resolve().parent.parent
HARD = (10.0, 12.0)


@pytest.fixture(scope="module")
def pretrained() -> store.Pretrained:
    return store.load_views()


@pytest.fixture(scope="module")
def l2_groups(pretrained):
    return [(s.label, tables.seed_views(pretrained.runs, s.config)) for s in tables.sweep("l2")]


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def units(spec: dict) -> list[dict]:
    """Every single-mark view in a (possibly nested) layered spec."""
    if "layer" not in spec:
        return [spec]
    return [unit for layer in spec["layer"] for unit in units(layer)]


def encodings(spec: dict, channel: str) -> list[dict]:
    return [
        layer["encoding"][channel] for layer in layers(spec) if channel in layer.get("encoding", {})
    ]


def payload(spec: dict) -> int:
    """Bytes a browser receives: the spec as JSON plus each dataset as Arrow IPC."""
    data = spec.get("datasets", {})
    rest = {k: v for k, v in spec.items() if k != "datasets"}
    size = len(json.dumps(rest))
    for table in data.values():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        size += sink.getvalue().size
    return size


def test_the_regviz_theme_is_active_and_styles_every_chart():
    spec = charts.live_loss_chart(tables.history_table([1.0, 0.5], [1.2, 0.6])).to_dict()
    assert spec["config"]["font"] == charts.FONT
    assert spec["config"]["legend"]["orient"] == "bottom"
    assert spec["config"]["view"]["stroke"] is None


def test_loss_chart_draws_log_mse_per_epoch_with_dashed_training_and_a_seed_band(l2_groups):
    chart = charts.loss_chart(
        tables.loss_table(l2_groups),
        order=[g[0] for g in l2_groups],
        focus="λ = 0.01",
        floor=0.0625,
    )
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    band, line = layers(spec)[:2]
    assert band["mark"]["type"] == "area"
    assert band["encoding"]["y"]["field"] == "low" and band["encoding"]["y2"]["field"] == "high"
    assert "focus" in band["transform"][0]["filter"]
    assert line["encoding"]["y"]["field"] == "mean"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert band["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["strokeDash"]["field"] == "split"
    assert line["encoding"]["color"]["scale"]["domain"] == [g[0] for g in l2_groups]
    assert spec["params"] == [{"name": "focus", "value": "λ = 0.01"}]
    floor = [layer for layer in layers(spec) if layer["mark"]["type"] == "rule"]
    assert floor, "the noise floor is drawn"


def test_prediction_chart_marks_the_hard_region_and_draws_focus_seeds_and_context(l2_groups):
    chart = charts.prediction_chart(
        pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}),
        tables.prediction_table(l2_groups),
        order=[g[0] for g in l2_groups],
        hard=HARD,
        focus="λ = 1",
    )
    spec = charts.to_spec(chart)
    chart.to_dict()  # and the same chart validates
    rect = next(layer for layer in layers(spec["layer"][0]) if layer["mark"]["type"] == "rect")
    assert rect["encoding"]["x"]["field"] == "x0" and rect["encoding"]["x2"]["field"] == "x1"
    hard_table = next(t for t in spec["datasets"].values() if "x0" in t.column_names)
    assert hard_table.to_pydict()["x0"] == [10.0] and hard_table.to_pydict()["x1"] == [12.0]
    lines = [unit for unit in units(spec) if "transform" in unit and unit["mark"]["type"] == "line"]
    filters = " | ".join(unit["transform"][0]["filter"] for unit in lines)
    assert filters.count("focus") == 3  # context, seed and main lines all follow the focus
    widths = sorted(layer["mark"]["strokeWidth"] for layer in lines)
    assert widths[-1] > widths[0], "the focused line is drawn bolder"


@pytest.mark.parametrize("scale", ["clip", "log"])
def test_kde_chart_clips_tall_peaks_or_uses_a_log_axis(pretrained, scale):
    views = tables.seed_views(pretrained.runs, RunConfig(l2=1.0))
    base = tables.seed_views(pretrained.runs, RunConfig())
    dens = tables.kde_table(
        [("λ = 0", [v.kde["all"] for v in base]), ("λ = 1", [v.kde["all"] for v in views])]
    )
    assert dens.clip < dens.table["density"].max(), "λ = 1's spike is taller than the clip"
    spec = charts.kde_chart(
        dens.table,
        order=["λ = 0", "λ = 1"],
        scale=scale,
        clip=dens.clip,
        floor=dens.floor,
        x_domain=dens.x_domain,
    ).to_dict()
    y = encodings(spec, "y")[0]
    assert y["field"] == "density"
    if scale == "clip":
        assert y["scale"]["domain"] == [0, dens.clip] and y["scale"]["clamp"] is True
    else:
        assert y["scale"]["type"] == "log" and y["scale"]["domainMin"] == dens.floor
    assert encodings(spec, "x")[0]["scale"]["domain"] == list(dens.x_domain)


def test_data_chart_colours_samples_by_split_with_a_legend_under_the_clean_curve(pretrained):
    spec = charts.data_chart(
        tables.sample_table(pretrained.data, n=None, with_split=True),
        tables.clean_table(pretrained.data),
        HARD,
    ).to_dict()
    color = next(c for c in encodings(spec, "color") if c.get("field") == "split")
    assert color["scale"]["domain"] == ["training", "validation"]
    assert any(layer.get("mark", {}).get("type") == "line" for layer in layers(spec))


def test_band_chart_draws_mean_and_two_sigma_band(pretrained):
    view = tables.seed_views(pretrained.runs, RunConfig(dropout=0.3))[0]
    band = tables.band_table(view)
    spec = charts.band_chart(
        tables.sample_table(pretrained.data), band, hard=HARD, label="p = 0.3"
    ).to_dict()
    area = next(layer for layer in layers(spec) if layer.get("mark", {}).get("type") == "area")
    assert area["encoding"]["y"]["field"] == "low" and area["encoding"]["y2"]["field"] == "high"
    step = tables.stride(view.mc_std.size)
    np.testing.assert_allclose(band["high"] - band["low"], 4 * view.mc_std[::step], rtol=1e-5)


def test_to_spec_moves_every_table_into_named_arrow_datasets(l2_groups):
    chart = charts.loss_chart(tables.loss_table(l2_groups), order=[g[0] for g in l2_groups])
    spec = charts.to_spec(chart)
    assert spec["datasets"] and all(isinstance(t, pa.Table) for t in spec["datasets"].values())
    names = set(spec["datasets"])
    referenced = {layer.get("data", {}).get("name") for layer in layers(spec)} | {
        spec.get("data", {}).get("name")
    }
    assert referenced - {None} <= names
    assert set(charts.to_spec(chart)["datasets"]) == names, "names depend on content only"


def test_with_focus_changes_the_parameter_and_title_and_leaves_the_original(l2_groups):
    chart = charts.loss_chart(
        tables.loss_table(l2_groups),
        order=[g[0] for g in l2_groups],
        focus="λ = 0",
        title="Loss, λ = 0 in bold",
    )
    spec = charts.to_spec(chart)
    moved = charts.with_focus(spec, "λ = 0.1", "Loss, λ = 0.1 in bold")
    assert moved["params"] == [{"name": "focus", "value": "λ = 0.1"}]
    assert moved["title"]["text"] == "Loss, λ = 0.1 in bold"
    assert spec["params"] == [{"name": "focus", "value": "λ = 0"}]
    assert moved["datasets"] is spec["datasets"]


def test_sweep_charts_stay_small(l2_groups, pretrained):
    order = [g[0] for g in l2_groups]
    built = [
        charts.loss_chart(tables.loss_table(l2_groups), order=order, focus=order[0]),
        charts.prediction_chart(
            tables.sample_table(pretrained.data),
            tables.prediction_table(l2_groups),
            order=order,
            hard=HARD,
            focus=order[0],
        ),
    ]
    for chart in built:
        assert payload(charts.to_spec(chart)) < 120_000


def test_charts_module_imports_neither_torch_nor_streamlit():
    code = (
        "import sys, regviz.charts; "
        "print(sorted(m for m in ('torch', 'streamlit', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
