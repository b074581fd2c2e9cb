"""Take-away files: CSVs that parse back, weights that load into the model, a snippet that runs."""

import dataclasses
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.numpy import load as load_safetensors

import regviz
from regviz import store
from regviz.config import RunConfig
from regviz.export import (
    SETTING_COLUMNS,
    history_csv,
    predictions_csv,
    reproduce_snippet,
    weights_file,
)
from regviz.layout import N_PARAMETERS, PARAMETER_LAYOUT
from regviz.views import PREDICTION_GRID
from tests.support.machine import FORWARD_RTOL, same_machine_as_pretrained

SETTINGS = list(SETTING_COLUMNS)


@pytest.fixture(scope="module")
def shipped():
    return store.load_views()


@pytest.fixture(scope="module")
def views(shipped):
    ids = [RunConfig(l2=0.01, seed=0).run_id, RunConfig(dropout=0.3, seed=2).run_id]
    return [shipped.runs[i] for i in ids]


def read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


def test_history_csv_is_long_format_with_one_row_per_run_and_epoch(views):
    table = read_csv(history_csv(views))
    expected = [*SETTINGS, "epoch", "train_mse", "val_mse"]
    assert list(table.columns) == expected
    assert len(table) == sum(len(v.train_loss) for v in views)
    for view in views:
        rows = table[table["run_id"] == view.config.run_id]
        assert rows["epoch"].tolist() == list(range(1, len(view.val_loss) + 1))
        assert (rows["l2"] == view.config.l2).all() and (rows["seed"] == view.config.seed).all()
        assert (rows["dropout"] == view.config.dropout).all()
        # float32 values survive the trip through text exactly.
        np.testing.assert_array_equal(rows["val_mse"].to_numpy(np.float32), view.val_loss)
        np.testing.assert_array_equal(rows["train_mse"].to_numpy(np.float32), view.train_loss)


def test_predictions_csv_has_the_grid_per_run_and_mc_columns_where_present(views):
    table = read_csv(predictions_csv(views))
    assert list(table.columns) == [*SETTINGS, "x", "prediction", "mc_mean", "mc_std"]
    assert len(table) == len(views) * PREDICTION_GRID.size
    plain, dropout = (table[table["run_id"] == v.config.run_id] for v in views)
    np.testing.assert_allclose(plain["x"], PREDICTION_GRID)
    np.testing.assert_array_equal(plain["prediction"].to_numpy(np.float32), views[0].prediction)
    assert plain["mc_mean"].isna().all() and plain["mc_std"].isna().all()
    np.testing.assert_array_equal(dropout["mc_std"].to_numpy(np.float32), views[1].mc_std)


def test_predictions_csv_leaves_out_mc_columns_when_no_run_has_them(views):
    table = read_csv(predictions_csv(views[:1]))
    assert "mc_mean" not in table.columns and len(table) == PREDICTION_GRID.size


def test_empty_selection_gives_header_only_csvs():
    assert read_csv(history_csv([])).empty
    assert list(read_csv(predictions_csv([])).columns) == [*SETTINGS, "x", "prediction"]


def test_the_numpy_layout_is_the_models_state_dict():
    assert N_PARAMETERS == 8513
    state = regviz.build_mlp(0.5).state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == list(PARAMETER_LAYOUT)


@pytest.mark.parametrize("index", [0, 1])
def test_weights_file_loads_into_build_mlp_and_reproduces_the_prediction(views, index):
    view = views[index]
    data = weights_file(view)
    arrays = load_safetensors(data)
    assert {k: v.shape for k, v in arrays.items()} == dict(PARAMETER_LAYOUT)
    model = regviz.build_mlp(view.config.dropout)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    model.eval()
    with torch.no_grad():
        grid = torch.from_numpy(PREDICTION_GRID.astype(np.float32)).unsqueeze(1)
        prediction = model(grid).numpy().reshape(-1)
    # nn.Module's kernels against the trainer's: a few ulps on the CPU that made
    # `pretrained/`, the cross-CPU tolerance on any other.
    rtol = 1e-6 if same_machine_as_pretrained() else FORWARD_RTOL
    np.testing.assert_allclose(prediction, view.prediction, rtol=rtol, atol=1e-6)


def test_weights_file_metadata_holds_the_config(views):
    data = weights_file(views[1])
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    metadata = header["__metadata__"]
    assert RunConfig.from_dict(json.loads(metadata["config"])) == views[1].config
    assert metadata["run_id"] == views[1].config.run_id
    assert json.loads(metadata["metrics"])["val_mse"] == views[1].metrics["val_mse"]


def test_weights_file_needs_parameters(views):
    bare = dataclasses.replace(views[0], parameters=None)
    with pytest.raises(ValueError, match="no stored parameters"):
        weights_file(bare)
    short = dataclasses.replace(views[0], parameters=np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError, match="8513"):
        weights_file(short)


def run_snippet(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace


def test_canonical_snippet_loads_the_shipped_run(capsys):
    config = RunConfig(l2=0.01, seed=1)
    code = reproduce_snippet(config)
    assert "regviz.load_pretrained(l2=0.01, dropout=0.0, seed=1)" in code
    assert "regviz.fit(config)" in code
    namespace = run_snippet(code)
    assert isinstance(namespace["run"], regviz.TrainedRun)
    assert namespace["config"] == config
    assert namespace["y"].shape == (401,)
    assert "validation MSE" in capsys.readouterr().out


def test_canonical_l1_and_weight_decay_snippets_name_their_setting():
    assert "l1=0.001" in reproduce_snippet(RunConfig(l1=1e-3, seed=2))
    code = reproduce_snippet(RunConfig(weight_decay=0.1))
    assert "load_pretrained(l2=0.0, dropout=0.0, weight_decay=0.1, seed=0)" in code
    run = run_snippet(code)["run"]
    assert run.config == RunConfig(weight_decay=0.1)


def test_custom_snippet_trains_and_yields_a_trained_run(capsys):
    config = RunConfig(l2=0.003, dropout=0.2, seed=5, epochs=40, lr=0.002)
    code = reproduce_snippet(config)
    assert "load_pretrained" not in code
    assert "epochs=40" in code and "lr=0.002" in code
    namespace = run_snippet(code.replace("epochs=40", "epochs=1"))
    run = namespace["run"]
    assert isinstance(run, regviz.TrainedRun)
    assert run.config == dataclasses.replace(config, epochs=1)
    assert len(run.history.val_loss) == 1
    capsys.readouterr()


def test_snippet_uses_only_the_public_api():
    code = reproduce_snippet(RunConfig(dropout=0.3))
    used = {word.split("(")[0] for word in code.split() if word.startswith("regviz.")}
    assert used <= {f"regviz.{name}" for name in regviz.__all__}


def test_export_module_stays_off_torch():
    code = (
        "import sys; from regviz import export, store; "
        'v = store.load_views().runs["l2-0_p-0_s0"]; '
        "export.weights_file(v); export.history_csv([v]); export.predictions_csv([v]); "
        "export.reproduce_snippet(v.config); "
        "print(any(m in sys.modules for m in ('torch', 'scipy', 'sklearn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
