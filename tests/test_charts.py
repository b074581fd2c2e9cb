"""Chart builders: valid Vega-Lite with the expected encodings, one theme, small payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from regviz import charts, store
from regviz.charts.band import BAND_LINES
from regviz.config import RunConfig
from regviz.registry import SWEEPS
from regviz.ui import densities, settings, tables

ROOT = Path(__file__).resolve().parent.parent
HARD = (10.0, 12.0)


@pytest.fixture(scope="module")
def pretrained() -> store.Pretrained:
    return store.load_views()


@pytest.fixture(scope="module")
def l2_groups(pretrained):
    sweep = SWEEPS["l2"]
    return [
        (sweep.label(v), settings.seed_views(pretrained.runs, sweep.config(v)))
        for v in sweep.values
    ]


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
    assert spec["config"]["font"] == charts.base.FONT
    assert spec["config"]["legend"]["orient"] == "bottom"
    assert spec["config"]["view"]["stroke"] is None


def test_group_loss_chart_draws_log_mse_per_epoch_with_dashed_training_and_a_seed_band(
    l2_groups,
):
    chart = charts.loss_chart(
        tables.loss_table(l2_groups[:2]), order=[g[0] for g in l2_groups[:2]], floor=0.0625
    )
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    band, line = layers(spec)[:2]
    assert band["mark"]["type"] == "area"
    assert band["encoding"]["y"]["field"] == "low" and band["encoding"]["y2"]["field"] == "high"
    assert line["encoding"]["y"]["field"] == "mean"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["strokeDash"]["field"] == "split"
    floor = [layer for layer in layers(spec) if layer["mark"]["type"] == "rule"]
    assert floor, "the noise floor is drawn"


def sweep_specs(pretrained, l2_groups) -> tuple[dict, dict, dict, dict]:
    order = [g[0] for g in l2_groups]
    loss_context, loss_focus = tables.loss_tables(l2_groups)
    pred_context, pred_focus = tables.prediction_tables(l2_groups)
    options = densities.DensityOptions()
    width = densities.bandwidth(l2_groups[0][1], options)
    table = densities.density_table(
        {label: densities.setting_density(v, options, width) for label, v in l2_groups},
        options,
        width,
    )
    loss = charts.sweep_loss_chart(loss_context, order=order, floor=0.0625, epoch=10)
    prediction = charts.sweep_prediction_chart(
        tables.sample_table(pretrained.data),
        pred_context,
        order=order,
        hard=HARD,
        clean=tables.clean_table(pretrained.data),
    )
    dens = charts.sweep_density_chart(
        table.table,
        order=order,
        x_title="θ",
        x_domain=table.x_domain,
        log_y=False,
        floor=1e-3,
    )
    focus = {
        "loss": loss_focus["λ = 1"],
        "prediction": pred_focus["λ = 1"],
        "density": {"main": table.table[table.table["setting"] == "λ = 1"]},
    }
    return (
        {"loss": loss, "prediction": prediction, "density": dens},
        {
            name: charts.to_spec(chart)
            for name, chart in (("loss", loss), ("prediction", prediction), ("density", dens))
        },
        focus,
        {"order": order},
    )


def test_sweep_charts_draw_the_focus_from_named_datasets_without_row_filters(pretrained, l2_groups):
    built, specs, focus, _ = sweep_specs(pretrained, l2_groups)
    for name, spec in specs.items():
        filled = charts.with_datasets(spec, focus[name])
        named = {unit["data"]["name"] for unit in units(filled) if "name" in unit.get("data", {})}
        assert set(focus[name]) <= named <= set(filled["datasets"]), name
        assert not any("filter" in str(unit.get("transform", "")) for unit in units(filled)), name
        assert set(focus[name]) - set(spec["datasets"]), "the cached spec stays without focus"
        widths = [
            unit["mark"].get("strokeWidth")
            for unit in units(filled)
            if unit["mark"].get("type") == "line" and unit["mark"].get("strokeWidth")
        ]
        assert max(widths) > min(widths), "the focused line is drawn bolder"
    built["loss"].to_dict()  # the layered charts validate against the schema
    built["density"].to_dict()


def test_the_loss_chart_marks_the_epoch_the_other_views_show(pretrained, l2_groups):
    _, specs, _, _ = sweep_specs(pretrained, l2_groups)
    rules = [u for u in units(specs["loss"]) if u["mark"]["type"] == "rule"]
    tables_of = [specs["loss"]["datasets"][u["data"]["name"]].to_pydict() for u in rules]
    assert {"epoch": [10]} in tables_of


def test_prediction_chart_marks_the_hard_region(pretrained, l2_groups):
    _, specs, _, _ = sweep_specs(pretrained, l2_groups)
    spec = specs["prediction"]
    rect = next(unit for unit in units(spec) if unit["mark"]["type"] == "rect")
    assert rect["encoding"]["x"]["field"] == "x0" and rect["encoding"]["x2"]["field"] == "x1"
    hard_table = next(t for t in spec["datasets"].values() if "x0" in t.column_names)
    assert hard_table.to_pydict()["x0"] == [10.0] and hard_table.to_pydict()["x1"] == [12.0]


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_kde_chart_shows_every_peak_on_a_linear_or_log_axis(pretrained, scale):
    views = settings.seed_views(pretrained.runs, RunConfig(l2=1.0))
    base = settings.seed_views(pretrained.runs, RunConfig())
    options = densities.DensityOptions(scale=scale)
    width = densities.bandwidth(base, options)
    table = densities.density_table(
        {
            "λ = 0": densities.setting_density(base, options, width),
            "λ = 1": densities.setting_density(views, options, width),
        },
        options,
        width,
    )
    frame = table.table.assign(line=table.table["setting"], role="curve", rank=0)
    spec = charts.kde_chart(
        frame,
        order=["λ = 0", "λ = 1"],
        scale=scale,
        floor=densities.DENSITY_FLOOR,
        x_domain=table.x_domain,
    ).to_dict()
    y = encodings(spec, "y")[0]
    assert y["field"] == "density"
    if scale == "linear":
        assert "domain" not in y["scale"], "no clipping: the tallest peak stays whole"
    else:
        assert y["scale"]["type"] == "log" and y["scale"]["domainMin"] == densities.DENSITY_FLOOR
    assert encodings(spec, "x")[0]["scale"]["domain"] == list(table.x_domain)


def test_data_chart_colours_samples_by_split_with_a_legend_under_the_clean_curve(pretrained):
    spec = charts.data_chart(
        tables.sample_table(pretrained.data, n=None, with_split=True),
        tables.clean_table(pretrained.data),
        HARD,
    ).to_dict()
    color = next(c for c in encodings(spec, "color") if c.get("field") == "split")
    assert color["scale"]["domain"] == ["training", "validation"]
    assert any(layer.get("mark", {}).get("type") == "line" for layer in layers(spec))


def test_band_chart_draws_the_band_its_percentiles_one_pass_and_the_eval_curve(pretrained):
    view = settings.seed_views(pretrained.runs, RunConfig(dropout=0.3))[0]
    band = tables.band_table(view)
    chart = charts.band_chart(tables.sample_table(pretrained.data), band, hard=HARD)
    spec = chart.to_dict()
    area = next(layer for layer in layers(spec) if layer.get("mark", {}).get("type") == "area")
    assert area["encoding"]["y"]["field"] == "low" and area["encoding"]["y2"]["field"] == "high"
    step = tables.stride(view.mc_std.size)
    np.testing.assert_allclose(band["high"] - band["low"], 4 * view.mc_std[::step], rtol=1e-4)
    legend = next(c for c in encodings(spec, "color") if c.get("field") == "line")
    assert set(legend["scale"]["domain"]) == set(BAND_LINES.values())


def test_heatmap_and_norm_charts_validate(pretrained):
    from regviz.ui import overtime

    views = settings.seed_views(pretrained.runs, RunConfig(l2=0.01))
    options = densities.DensityOptions()
    table = overtime.heatmap_table(views, options, 0.03)
    assert set(table["epoch"]) == set(views[0].snapshot_epochs)
    assert (table["x1"] > table["x0"]).all()
    charts.density_heatmap(table, x_title="θ").to_dict()
    groups = [
        (f"λ = {v:g}", settings.seed_views(pretrained.runs, RunConfig(l2=v))) for v in (0.0, 1.0)
    ]
    norms = overtime.norm_table(groups, "weights")
    assert set(norms["layer"]) == {"layer 1", "layer 2", "layer 3", "layer 4"}
    assert norms["epoch"].max() == 100 and norms["epoch"].min() == 0
    charts.norms_chart(norms, order=[g[0] for g in groups], y_title="‖W‖").to_dict()


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


def test_sweep_charts_stay_small(pretrained, l2_groups):
    _, specs, focus, _ = sweep_specs(pretrained, l2_groups)
    for name, spec in specs.items():
        assert payload(charts.with_datasets(spec, focus[name])) < 80_000, name


def test_charts_module_imports_neither_torch_nor_streamlit():
    code = (
        "import sys, regviz.charts; "
        "print(sorted(m for m in ('torch', 'streamlit', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
