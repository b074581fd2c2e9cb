"""A run whose numbers stop being finite is stopped, named with its epoch, and never a result.

What diverges, found by experiment (torch 2.13, CPU): nothing inside `RunConfig`'s
bounds does on the shipped data. Adam's step is about lr in size whatever the
gradient, so even lr = 1 with batch size 1 only kills the output ReLU (loss stuck
at mean(y²) ≈ 17), and λ, λ₁ and weight decay are capped so that they cannot
blow the weights up. What does diverge is data the model cannot represent in
float32, passed through `fit(..., dataset=...)`:

* targets × 1e20: the first epoch's squared errors overflow to inf;
* training inputs × 1e20 (validation inputs untouched): for seeds 0 and 2 the
  unregularised network's output grows with x and overflows, while a p = 1 model
  (every hidden unit dropped in training, so its output is only the output bias)
  stays finite. That gives a stack in which one run diverges and another does not.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from regviz.config import RunConfig
from regviz.data import Dataset, make_dataset
from regviz.train import Progress, TrainingDiverged, fit, fit_many

EPOCHS = 4


def scaled(**factors: float) -> Dataset:
    base = make_dataset()
    return dataclasses.replace(
        base,
        **{name: getattr(base, name) * np.float32(factor) for name, factor in factors.items()},
    )


@pytest.fixture(scope="module")
def huge_targets() -> Dataset:
    return scaled(y_train=1e20, y_val=1e20)


@pytest.fixture(scope="module")
def huge_inputs() -> Dataset:
    return scaled(x_train=1e20)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Progress] = []

    def __call__(self, event: Progress) -> None:
        self.events.append(event)

    @property
    def epochs(self) -> list[int]:
        return [event.epoch for event in self.events]


def test_fit_stops_at_the_first_non_finite_epoch_and_names_it(huge_targets: Dataset) -> None:
    config = RunConfig(epochs=EPOCHS)
    progress = Recorder()
    with pytest.raises(TrainingDiverged) as error:
        fit(config, progress=progress, dataset=huge_targets)

    diverged = error.value
    assert diverged.config == config
    last = progress.events[-1]
    assert not all(math.isfinite(v) for v in last.train_loss + last.val_loss)
    assert diverged.epoch == last.epoch == 1
    assert f"epoch {diverged.epoch}" in str(diverged)
    assert "NaN or infinite" in str(diverged)
    # It stopped early: setup (epoch 0) and one epoch, not all EPOCHS.
    assert progress.epochs == [0, 1]
    assert diverged.completed == ()


def test_fit_many_finishes_the_healthy_runs_and_reports_the_diverged_one(
    huge_inputs: Dataset,
) -> None:
    healthy = RunConfig(dropout=1.0, seed=2, epochs=EPOCHS)
    doomed = RunConfig(seed=2, epochs=EPOCHS)
    progress = Recorder()
    with pytest.raises(TrainingDiverged) as error:
        fit_many([healthy, doomed], progress=progress, dataset=huge_inputs)

    diverged = error.value
    assert diverged.config == doomed
    assert diverged.epoch == 1
    (survivor,) = diverged.completed
    assert survivor.config == healthy
    assert len(survivor.history.train_loss) == EPOCHS
    assert all(math.isfinite(v) for v in survivor.history.train_loss + survivor.history.val_loss)
    assert np.isfinite(survivor.parameters).all()
    # The doomed stack stopped after its first epoch; the healthy one ran them all.
    doomed_epochs = [e.epoch for e in progress.events if e.configs == (doomed,)]
    healthy_epochs = [e.epoch for e in progress.events if e.configs == (healthy,)]
    assert doomed_epochs == [0, 1]
    assert healthy_epochs == list(range(EPOCHS + 1))
    # Groups train in order of first appearance, so the doomed one ends the job: its unrun
    # epochs count as done and a progress bar still reaches the end.
    assert progress.events[-1].configs == (doomed,)
    assert progress.events[-1].fraction == pytest.approx(1.0)


def test_a_diverged_run_in_a_shared_stack_does_not_stop_its_neighbours(
    huge_inputs: Dataset,
) -> None:
    """p = 0.5 and p = 1 share a stack; seed 1's p = 0.5 model overflows, p = 1 does not."""
    healthy = RunConfig(dropout=1.0, seed=1, epochs=EPOCHS)
    doomed = RunConfig(dropout=0.5, seed=1, epochs=EPOCHS)
    with pytest.raises(TrainingDiverged) as error:
        fit_many([doomed, healthy], dataset=huge_inputs)
    assert error.value.config == doomed
    (survivor,) = error.value.completed
    assert survivor.config == healthy
    assert len(survivor.history.val_loss) == EPOCHS
    assert all(math.isfinite(v) for v in survivor.history.val_loss)
