"""The notebook API: the names readers use to retrain locally stay importable and behave."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from torch import nn

import regviz

PUBLIC = [
    "CANONICAL_L2",
    "CANONICAL_DROPOUT",
    "SEEDS",
    "RunConfig",
    "make_dataset",
    "build_mlp",
    "fit",
    "fit_many",
    "load_pretrained",
    "TrainedRun",
    "TrainingDiverged",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_exists(name):
    assert getattr(regviz, name) is not None
    assert name in regviz.__all__


def test_canonical_values_are_the_articles():
    assert regviz.CANONICAL_L2 == (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    assert tuple(round(0.1 * k, 1) for k in range(11)) == regviz.CANONICAL_DROPOUT
    assert regviz.SEEDS == (0, 1, 2)


def test_run_config_is_frozen_and_validated_by_field_name():
    config = regviz.RunConfig(l2=0.003, dropout=0.2, seed=1, epochs=5, batch_size=32, lr=1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.l2 = 1.0
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\]"):
        regviz.RunConfig(dropout=1.5)
    with pytest.raises(ValueError, match=r"l2 must be a number in \[0, 100\]"):
        regviz.RunConfig(l2=-0.1)


def test_notebook_workflow_train_predict_and_compare_with_a_shipped_run():
    data = regviz.make_dataset()
    assert {"x_train", "y_train", "x_val", "y_val"} <= set(dir(data))
    run = regviz.fit(regviz.RunConfig(l2=0.003, epochs=2))
    assert isinstance(run.model, nn.Module) and not run.model.training
    assert len(run.history.train_loss) == len(run.history.val_loss) == 2
    assert run.initial_parameters.ndim == 1 and run.initial_parameters.size == 8513
    assert run.predict(data.x_val[:5]).shape == (5,)
    shipped = regviz.load_pretrained(l2=0.01, dropout=0.0, seed=0)
    assert shipped.config == regviz.RunConfig(l2=0.01)
    assert isinstance(regviz.build_mlp(0.5), nn.Sequential)


def test_load_pretrained_names_the_shipped_runs_when_asked_for_another():
    with pytest.raises(LookupError, match=r"l2-0\.01_p-0_s0"):
        regviz.load_pretrained(l2=0.02)


def test_importing_regviz_is_cheap_until_training_is_asked_for():
    code = "import sys, regviz; regviz.RunConfig(l2=1); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_predict_is_in_data_units():
    run = regviz.load_pretrained(seed=0)
    data = regviz.make_dataset()
    assert np.mean((run.predict(data.x_val) - data.y_val) ** 2) < 0.25


def test_the_readme_notebook_snippet_runs():
    """The README's example, with its runs cut short (100 → 10 epochs) so the test stays quick."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = re.search(r"## Use it from a notebook\n\n```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace("epochs=100", "epochs=10").replace("seed=s)", "seed=s, epochs=2)")
    code = code.replace("n_train=30)", "n_train=30, epochs=20)")
    assert code.count("epochs=") >= 4
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["runs"]) == 2 * len(regviz.SEEDS)
    assert namespace["mine"].predict([10.5, 11.0, 11.5]).shape == (3,)
    assert namespace["watched"].norms.shape == (11, 8)
    assert namespace["few"].config.n_train == 30
