"""Same settings, same numbers: the guard that lets a cached result stand for a fresh one.

Bitwise on one machine: `fit` twice, and `fit_many` on a stack against `fit` of
each member, for a few epochs (later epochs are chaotic, so any rounding
difference would show up as a visibly different curve; see FINDINGS.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regviz.config import RunConfig
from regviz.data import Dataset
from regviz.train import TrainedRun, fit, fit_many

EPOCHS = 3
#: Two stacks: weights-only penalties and decay without dropout, and two dropout rates.
STACK = (
    RunConfig(epochs=EPOCHS),
    RunConfig(l2=1e-3, seed=1, epochs=EPOCHS),
    RunConfig(l1=1e-4, seed=2, epochs=EPOCHS),
    RunConfig(weight_decay=0.1, epochs=EPOCHS),
    RunConfig(dropout=0.2, epochs=EPOCHS),
    RunConfig(dropout=0.5, seed=2, epochs=EPOCHS),
)


def assert_identical(one: TrainedRun, other: TrainedRun) -> None:
    assert one.config == other.config
    assert one.history == other.history
    np.testing.assert_array_equal(one.initial_parameters, other.initial_parameters)
    np.testing.assert_array_equal(one.parameters, other.parameters)
    x = np.linspace(0.0, 20.0, 101)
    np.testing.assert_array_equal(one.predict(x), other.predict(x))


@pytest.fixture(scope="module")
def singles() -> list[TrainedRun]:
    return [fit(config, device="cpu") for config in STACK]


@pytest.mark.parametrize("index", [0, 5], ids=["plain", "dropout"])
def test_the_same_config_twice_gives_identical_runs(singles: list[TrainedRun], index: int) -> None:
    assert_identical(fit(STACK[index], device="cpu"), singles[index])


def test_a_stack_trains_each_member_exactly_as_alone(singles: list[TrainedRun]) -> None:
    stacked = fit_many(STACK, device="cpu")
    for alone, together in zip(singles, stacked, strict=True):
        assert_identical(alone, together)


def test_a_members_numbers_do_not_depend_on_its_neighbours(singles: list[TrainedRun]) -> None:
    """Order and company change nothing: each model draws from streams seeded by its config."""
    reordered = fit_many([STACK[5], STACK[2], STACK[4], STACK[0]], device="cpu")
    for run, index in zip(reordered, (5, 2, 4, 0), strict=True):
        assert_identical(run, singles[index])


def test_training_leaves_the_global_random_state_alone() -> None:
    """A notebook's own torch.manual_seed stream must not be consumed or reseeded by fit."""
    torch.manual_seed(1234)
    expected = torch.rand(4)
    torch.manual_seed(1234)
    fit(RunConfig(dropout=0.3, epochs=1), device="cpu")
    np.testing.assert_array_equal(torch.rand(4).numpy(), expected.numpy())


def test_different_seeds_give_different_runs(singles: list[TrainedRun]) -> None:
    """The guard is not vacuous: the seed does reach the initialisation and the batches."""
    other = fit(STACK[0].with_seed(7), device="cpu")
    assert not np.array_equal(other.initial_parameters, singles[0].initial_parameters)
    assert other.history != singles[0].history


def test_a_model_in_a_large_stack_follows_its_training_alone_for_many_epochs():
    """A large stack splits its work differently (threads, vector tails): with torch's fused
    Adam a model in a stack of 57 parted from its lone training after 9 epochs. Ours must not.
    Eight configs with strong penalties drive weights towards subnormal values."""
    from regviz.data import make_dataset

    full = make_dataset()
    small = Dataset(
        full.x_train[:640], full.y_train[:640], full.x_val, full.y_val, full.signal, 0.25
    )
    configs = (
        [
            RunConfig(l2=value, seed=seed, epochs=25)
            for value in (0.0, 0.01, 0.1, 1.0)
            for seed in (0, 1, 2)
        ]
        + [RunConfig(l1=0.01, seed=s, epochs=25) for s in range(9)]
        + [RunConfig(weight_decay=3.0, seed=s, epochs=25) for s in range(9)]
    )
    together = fit_many(configs, dataset=small)
    for index in (1, 4, 10, 20):
        alone = fit(configs[index], dataset=small)
        np.testing.assert_array_equal(together[index].parameters, alone.parameters)
        assert together[index].history == alone.history
