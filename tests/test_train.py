"""The trainer computes what the docstring says: MSE + Adam with weights-only penalties.

A reference written with autograd and torch.optim pins the hand-written backward
pass, the penalties and the dropout masks; fit_many must equal fit.
"""

import numpy as np
import pytest
import torch
from torch import nn

from regviz.config import RunConfig
from regviz.data import Dataset, make_dataset
from regviz.model import HIDDEN, N_HIDDEN_LAYERS, build_mlp
from regviz.stack import stream_seed
from regviz.train import (
    Progress,
    TrainedRun,
    choose_device,
    fit,
    fit_many,
)

N_SMALL = 320  # five minibatches of 64


@pytest.fixture(scope="module")
def small() -> Dataset:
    full = make_dataset()
    return Dataset(
        full.x_train[:N_SMALL], full.y_train[:N_SMALL], full.x_val, full.y_val, full.signal, 0.25
    )


def reference_parameters(config: RunConfig, data: Dataset) -> np.ndarray:
    """The same training written the textbook way: nn.Module, autograd, torch.optim."""
    model = build_mlp(config.dropout, seed=config.seed)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    if config.optimizer == "sgd":
        optimiser = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    elif config.weight_decay:
        optimiser = torch.optim.AdamW(
            [{"params": weights, "weight_decay": config.weight_decay}, {"params": biases}],
            lr=config.lr,
            weight_decay=0.0,
        )
    else:
        optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    penalised = weights + biases if config.l2_biases else weights
    order = torch.Generator().manual_seed(stream_seed(config.seed, "order"))
    masks = torch.Generator().manual_seed(stream_seed(config.seed, "dropout"))
    x_all, y_all = torch.tensor(data.x_train), torch.tensor(data.y_train)
    n = x_all.numel()
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    for _ in range(config.epochs):
        permutation = torch.randperm(n, generator=order)
        epoch_masks = None
        if config.dropout:
            # The documented mask scheme: 16 random bits per unit against round(p * 2^16).
            bits = torch.empty(n * N_HIDDEN_LAYERS * HIDDEN // 4, dtype=torch.int64)
            bits.random_(-(2**63), None, generator=masks)
            keep = bits.view(torch.int16).view(n, -1) >= round(config.dropout * 2**16) - 2**15
            scale = 0.0 if config.dropout == 1 else 1 / (1 - config.dropout)
            epoch_masks = keep.float() * scale
        for start in range(0, n, config.batch_size):
            rows = permutation[start : start + config.batch_size]
            hidden = x_all[rows].unsqueeze(1)
            for depth, layer in enumerate(linears[:-1]):
                hidden = nn.functional.leaky_relu(layer(hidden), 0.01)
                if epoch_masks is not None:
                    chunk = epoch_masks[start : start + config.batch_size]
                    hidden = hidden * chunk[:, depth * HIDDEN : (depth + 1) * HIDDEN]
            output = torch.relu(linears[-1](hidden)).squeeze(1)
            loss = ((output - y_all[rows]) ** 2).mean()
            loss = loss + config.l2 * sum((w**2).sum() for w in penalised)
            loss = loss + config.l1 * sum(w.abs().sum() for w in weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return nn.utils.parameters_to_vector(model.parameters()).detach().numpy()


@pytest.mark.parametrize(
    "config",
    [
        RunConfig(epochs=2, seed=0),
        RunConfig(l2=1e-2, epochs=2, seed=1),
        RunConfig(l1=1e-3, epochs=2, seed=2),
        RunConfig(weight_decay=1.0, epochs=2, seed=0),
        RunConfig(dropout=0.3, epochs=2, seed=1),
        RunConfig(dropout=0.7, l2=1e-3, epochs=2, seed=2, batch_size=50),
        RunConfig(optimizer="sgd", lr=1e-3, momentum=0.95, l2=1e-2, epochs=2, seed=0),
        RunConfig(optimizer="sgd", lr=1e-3, epochs=2, seed=1),
        RunConfig(l2=0.1, l2_biases=True, epochs=2, seed=2),
    ],
    ids=lambda c: c.run_id,
)
def test_fit_matches_an_autograd_and_torch_optim_reference(config, small):
    run = fit(config, dataset=small)
    expected = reference_parameters(config, small)
    assert np.abs(run.parameters - run.initial_parameters).max() > 1e-3  # it did train
    np.testing.assert_allclose(run.parameters, expected, rtol=0, atol=2e-6)


def test_fit_many_gives_each_model_exactly_what_fit_gives_it(small):
    configs = [
        RunConfig(epochs=3, seed=0),
        RunConfig(l2=0.1, epochs=3, seed=1),
        RunConfig(dropout=0.5, epochs=3, seed=2),
        RunConfig(dropout=0.2, l1=1e-4, epochs=3, seed=0),
        RunConfig(weight_decay=0.1, epochs=3, seed=1),
    ]
    together = fit_many(configs, dataset=small)
    for config, run in zip(configs, together, strict=True):
        alone = fit(config, dataset=small)
        assert run.config == config
        np.testing.assert_array_equal(run.parameters, alone.parameters)
        assert run.history == alone.history


def test_history_has_one_training_and_one_validation_mse_per_epoch(small):
    run = fit(RunConfig(l2=10.0, epochs=4), dataset=small)
    assert len(run.history.train_loss) == len(run.history.val_loss) == 4
    # The recorded training loss is the data term alone: with λ = 10 the penalty
    # (10 x Σw² ≈ 10 x 30 at initialisation) would dwarf it.
    assert run.history.train_loss[0] < 20
    val = np.mean((run.predict(small.x_val) - small.y_val) ** 2)
    assert run.history.val_loss[-1] == pytest.approx(val, rel=1e-5)


def test_validation_mse_is_measured_in_eval_mode_without_dropout(small):
    run = fit(RunConfig(dropout=0.5, epochs=2), dataset=small)
    val = np.mean((run.predict(small.x_val) - small.y_val) ** 2)
    assert run.history.val_loss[-1] == pytest.approx(val, rel=1e-5)


def test_progress_is_reported_after_setup_and_after_every_epoch(small):
    events: list[Progress] = []
    fit(RunConfig(epochs=3), progress=events.append, dataset=small)
    assert [e.epoch for e in events] == [0, 1, 2, 3]
    assert events[0].val_loss == ()
    assert [e.fraction for e in events] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert all(len(e.val_loss) == 1 for e in events[1:])


def test_dropout_one_leaves_every_weight_bit_identical(small):
    run = fit(RunConfig(dropout=1.0, epochs=2), dataset=small)
    model = build_mlp(0.0, seed=0)
    for (name, before), after in zip(model.named_parameters(), run.model.parameters(), strict=True):
        if name.endswith("weight"):
            assert torch.equal(before, after)


def test_trained_run_is_a_cpu_model_in_eval_mode_that_predicts_numpy(small):
    run = fit(RunConfig(epochs=1, dropout=0.2), dataset=small)
    assert isinstance(run, TrainedRun)
    assert not run.model.training
    assert all(p.device.type == "cpu" for p in run.model.parameters())
    prediction = run.predict(np.array([0.0, 5.0, 11.0]))
    assert isinstance(prediction, np.ndarray) and prediction.shape == (3,)
    np.testing.assert_array_equal(prediction, run.predict([0.0, 5.0, 11.0]))
    assert run.initial_parameters.shape == run.parameters.shape


def test_training_leaves_subnormal_flushing_off_for_the_rest_of_the_process(small):
    fit(RunConfig(epochs=1), dataset=small)
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert tiny.item() != 0.0


def test_device_defaults_to_cpu_here_and_a_missing_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this host has CUDA")
    assert choose_device().type in ("cpu", "mps")
    assert choose_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="CUDA"):
        choose_device("cuda")


def test_fit_many_rejects_something_that_is_not_a_config():
    with pytest.raises(TypeError, match="RunConfig"):
        fit_many([{"l2": 0.1}])


def test_a_run_on_fewer_points_sees_only_its_nested_subset(small):
    from regviz.data import training_subset

    few = fit(RunConfig(n_train=64, epochs=3), dataset=small)
    x, y = small.training_points(64)
    expected = reference_parameters(
        RunConfig(epochs=3), Dataset(x, y, small.x_val, small.y_val, small.signal, 0.25)
    )
    np.testing.assert_allclose(few.parameters, expected, rtol=0, atol=2e-6)
    assert set(training_subset(100)) <= set(training_subset(300)) <= set(training_subset(1000))


def test_snapshots_and_norms_are_taken_when_asked_and_cost_nothing_otherwise(small):
    plain = fit(RunConfig(l2=1e-3, epochs=3), dataset=small)
    assert plain.snapshots == {} and plain.norms is None
    run = fit(RunConfig(l2=1e-3, epochs=3), dataset=small, snapshots=(0, 2, 3, 50), norms=True)
    np.testing.assert_array_equal(run.parameters, plain.parameters)
    assert sorted(run.snapshots) == [0, 2, 3], "epochs beyond the run are ignored"
    np.testing.assert_array_equal(run.snapshots[0], run.initial_parameters)
    np.testing.assert_array_equal(run.snapshots[3], run.parameters)
    assert run.norms.shape == (4, 8) and run.norm_epochs == (0, 1, 2, 3)
    first_weight = run.parameters[:HIDDEN]
    assert run.norms[-1, 0] == pytest.approx(np.linalg.norm(first_weight), rel=1e-5)


def test_a_long_run_records_every_kth_epoch_and_its_last(small, monkeypatch):
    from regviz import train

    monkeypatch.setattr(train, "MAX_RECORDS", 4)
    events = []
    run = fit(RunConfig(epochs=10), dataset=small, progress=events.append)
    assert run.history.epochs == (3, 6, 9, 10)
    assert run.history.epoch_numbers == (3, 6, 9, 10)
    assert [e.epoch for e in events] == [0, 3, 6, 9, 10]
    assert events[-1].parameters().shape == (1, 8513)
