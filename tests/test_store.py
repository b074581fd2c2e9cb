"""The shipped pretrained/ is complete, verified and loadable without torch."""

import json
import subprocess
import sys

import numpy as np

from regviz import store
from regviz.config import SEEDS
from regviz.registry import canonical_configs
from regviz.views import PREDICTION_GRID
from tests.support.machine import FORWARD_RTOL, same_machine_as_pretrained


def test_shipped_checkpoints_all_match_their_manifest():
    assert store.verify() == []


def test_manifest_holds_every_canonical_run_with_versions_and_metrics():
    manifest = store.read_manifest()
    assert sorted(manifest["runs"]) == sorted(c.run_id for c in canonical_configs())
    assert set(manifest["inits"]) == {str(s) for s in SEEDS}
    assert {"torch", "numpy", "python"} <= set(manifest["versions"])
    for entry in manifest["runs"].values():
        assert entry["file"].endswith(f"{entry['sha256'][:12]}.safetensors")
        assert np.isfinite(entry["metrics"]["val_mse"])


def test_loaded_pretrained_model_predicts_what_was_stored_for_the_page():
    """Bit for bit on the machine that made pretrained/; within FORWARD_RTOL elsewhere."""
    run = store.load_pretrained(l2=0.01, seed=1)
    view = store.load_views().runs[run.config.run_id]
    predicted = run.predict(PREDICTION_GRID).astype(np.float32)
    if same_machine_as_pretrained():
        np.testing.assert_array_equal(predicted, view.prediction)
    else:
        np.testing.assert_allclose(predicted, view.prediction, rtol=FORWARD_RTOL)
    assert list(run.history.val_loss) == view.val_loss.astype(float).tolist()
    assert run.initial_parameters.shape == (8513,)


def test_reading_views_imports_neither_torch_nor_scipy_nor_sklearn():
    code = (
        "import sys; from regviz import store; p = store.load_views(); "
        "print(len(p.runs), any(m in sys.modules for m in ('torch', 'scipy', 'sklearn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(canonical_configs())), "False"]


def test_pretrained_stays_under_15_mb():
    """Every run, its snapshots and the small-data sweeps must fit a light repository."""
    total = sum(p.stat().st_size for p in store.PRETRAINED_DIR.rglob("*") if p.is_file())
    assert total < 15 * 2**20


def test_full_data_runs_keep_weights_and_snapshots_and_small_data_runs_only_densities():
    views = store.load_views().runs
    for run_id, view in views.items():
        if view.config.n_train == 8000:
            assert view.parameters is not None and view.snapshot_epochs, run_id
        else:
            assert view.parameters is None and view.weight_counts.sum() > 0, run_id


def test_manifest_is_plain_json_without_nan():
    text = (store.PRETRAINED_DIR / store.MANIFEST_NAME).read_text()
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
