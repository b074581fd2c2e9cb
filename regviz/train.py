"""Training: MSE with Adam or SGD, plus L2, L1, decoupled weight decay and dropout.

The cost for one minibatch is

    J(θ) = mean((ŷ − y)²) + λ·Σ_l ‖W_l‖²_F + λ₁·Σ_l Σ|W_l|

over the four weight matrices W_l; **biases are not penalised** unless the config
sets `l2_biases` (then λ·‖b_l‖² joins the sum; the L2 section stores λ = 0.1 and 1
both ways, because with the biases penalised too the strongest λ gives a ramp in x
instead of a flat line).

How this relates to the optimisers' own switches:

* `torch.optim.Adam(weight_decay=wd)` adds wd·θ to the gradient before Adam's
  moment estimates, i.e. it is this same *coupled* L2 with wd = 2λ, but applied
  to every parameter, biases included. Adam then divides each coordinate's step by
  the running size of its gradient, so a weight the data leave alone feels the
  penalty at full strength: it drifts towards zero at about lr per step.
* With plain SGD (`optimizer="sgd"`) the same penalty is classic weight decay: each
  weight shrinks by 2·lr·λ of itself per step, in proportion to λ.
* `torch.optim.AdamW(weight_decay=wd)` is *decoupled*: at each step, before the
  adaptive update, it multiplies θ by (1 − lr·wd), whatever the gradients. That
  is `RunConfig.weight_decay` here (weights only); it is not the same as adding a
  penalty to the loss (Loshchilov and Hutter, 2019).

`fit` and `fit_many` run one implementation (`regviz.stack`): many models
trained in lockstep, `fit` being a stack of one.

What a history records: after an epoch, the training MSE is the mean of the squared
errors over that epoch's minibatches as they were trained on (train mode, dropout
active, penalty excluded) and the validation MSE one pass over the validation set
in eval mode. Runs of more than `MAX_RECORDS` epochs (small training sets get many
short epochs) record every k-th epoch, the training MSE then averaging the k
epochs since the last record; `History.epochs` says which epochs were recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from regviz.config import RunConfig
from regviz.data import Dataset, make_dataset
from regviz.device import (  # noqa: F401  (choose_device and describe_device are public here)
    choose_device,
    describe_device,
    flush_denormals,
    one_thread_for_one_model,
)
from regviz.model import vector_to_model
from regviz.stack import Stack, group_key

#: At most this many history records per run; longer runs record every k-th epoch.
MAX_RECORDS = 200


def record_every(epochs: int) -> int:
    """Record every k-th epoch so that a run keeps at most MAX_RECORDS history entries."""
    return -(-epochs // MAX_RECORDS)


@dataclass(frozen=True)
class History:
    """One float per recorded epoch; `epochs` names them (empty: every epoch, 1, 2, …)."""

    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    epochs: tuple[int, ...] = ()

    @property
    def epoch_numbers(self) -> tuple[int, ...]:
        return self.epochs or tuple(range(1, len(self.val_loss) + 1))


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives: after setup (epoch 0) and after every record.

    `parameters()` returns a copy of every model's current parameters, shape
    (M, 8,513), for callers that draw a run while it learns.
    """

    epoch: int
    epochs: int
    fraction: float
    configs: tuple[RunConfig, ...]
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    parameters: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)


ProgressCallback = Callable[[Progress], None]


class TrainingDiverged(RuntimeError):
    """A run whose loss or parameters stopped being finite; never a result."""

    def __init__(self, config: RunConfig, epoch: int, completed: Sequence[TrainedRun] = ()):
        self.config = config
        self.epoch = epoch
        self.completed = tuple(completed)
        super().__init__(
            f"training diverged at epoch {epoch} (loss or parameters became NaN or infinite) for "
            f"l2={config.l2:g}, dropout={config.dropout:g}, lr={config.lr:g}, seed={config.seed}"
        )


@dataclass
class TrainedRun:
    """A finished run: its config, the model (eval mode, CPU) and what happened on the way.

    `snapshots` maps an epoch (0: the initialisation) to the parameters then, for the
    epochs asked for with `fit(..., snapshots=…)`; `norms` holds ‖·‖_F of each named
    tensor (columns in `regviz.layout.PARAMETER_LAYOUT` order) at epoch 0 and at each
    recorded epoch, when asked for with `fit(..., norms=True)`.
    """

    config: RunConfig
    model: nn.Module
    history: History
    initial_parameters: np.ndarray
    device: str = "cpu"
    seconds: float = float("nan")
    initial_draws: int = 1
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    norms: np.ndarray | None = None

    @property
    def parameters(self) -> np.ndarray:
        """The trained parameters as one vector, in `parameters_to_vector` order."""
        return nn.utils.parameters_to_vector(self.model.parameters()).detach().cpu().numpy()

    @property
    def norm_epochs(self) -> tuple[int, ...]:
        """The epoch of each row of `norms`."""
        return (0, *self.history.epoch_numbers)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's prediction (eval mode, no dropout) at the given x, in data units."""
        values = np.array(x, dtype=np.float32).reshape(-1, 1)
        self.model.eval()
        with torch.no_grad():
            return self.model(torch.from_numpy(values)).numpy().reshape(-1).astype(np.float64)


def _batches(config: RunConfig) -> int:
    return -(-config.n_train // config.batch_size)


def _grouped(configs: Sequence[RunConfig]) -> list[list[int]]:
    """Indices of configs that can share a stack (`regviz.stack.group_key`)."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(group_key(config), []).append(index)
    return list(groups.values())


class _Recorder:
    """One stack's history, snapshots and norms while it trains."""

    def __init__(self, stack: Stack, snapshots: Sequence[int], norms: bool):
        count = len(stack.configs)
        self.every = record_every(stack.epochs)
        records = stack.epochs // self.every + (stack.epochs % self.every > 0)
        self.train = np.full((count, records), np.nan)
        self.val = np.full((count, records), np.nan)
        self.epochs: list[int] = []
        self.wanted = {epoch for epoch in snapshots if 0 <= epoch <= stack.epochs}
        self.snapshots: dict[int, np.ndarray] = {}
        self.norms = [stack.norms()] if norms else None
        self.squared_sum = np.zeros(count)
        self.epochs_summed = 0
        self.snapshot(stack, 0)

    def snapshot(self, stack: Stack, epoch: int) -> None:
        if epoch in self.wanted:
            self.snapshots[epoch] = stack.parameters()

    def due(self, epoch: int, last: int) -> bool:
        return epoch % self.every == 0 or epoch == last

    def add_epoch(self, train_mse: np.ndarray) -> None:
        self.squared_sum += train_mse
        self.epochs_summed += 1

    def record(self, stack: Stack, epoch: int, val_mse: np.ndarray) -> np.ndarray:
        """Close a record; returns the training MSE it holds."""
        row = len(self.epochs)
        train = self.squared_sum / self.epochs_summed
        self.train[:, row], self.val[:, row] = train, val_mse
        self.epochs.append(epoch)
        self.squared_sum[:] = 0
        self.epochs_summed = 0
        if self.norms is not None:
            self.norms.append(stack.norms())
        return train

    def history(self, row: int) -> History:
        done = len(self.epochs)
        epochs = tuple(self.epochs) if self.every > 1 else ()
        return History(
            tuple(float(v) for v in self.train[row, :done]),
            tuple(float(v) for v in self.val[row, :done]),
            epochs,
        )


@dataclass
class _Work:
    """Progress across the groups of one `fit_many` call, in minibatch steps."""

    total: int
    done: int = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total


def _train_group(
    stack: Stack,
    recorder: _Recorder,
    progress: ProgressCallback | None,
    work: _Work,
) -> dict[int, int]:
    """Train one stack to its last epoch; returns row → epoch for the rows that diverged."""
    group, steps = stack.configs, len(stack.configs) * _batches(stack.configs[0])
    diverged: dict[int, int] = {}
    alive = np.ones(len(group), dtype=bool)

    def report(epoch: int, train: tuple[float, ...], val: tuple[float, ...]) -> None:
        if progress is not None:
            event = Progress(
                epoch, stack.epochs, work.fraction, group, train, val, stack.parameters
            )
            progress(event)

    report(0, (), ())
    for epoch in range(1, stack.epochs + 1):
        recorder.add_epoch(stack.train_epoch().cpu().numpy())
        recorder.snapshot(stack, epoch)
        work.done += steps
        if not recorder.due(epoch, stack.epochs):
            continue
        val = stack.validation_mse().cpu().numpy()
        train = recorder.record(stack, epoch, val)
        finite = np.isfinite(train) & np.isfinite(val) & stack.finite()
        diverged.update({int(row): epoch for row in np.flatnonzero(alive & ~finite)})
        alive &= finite
        if not alive.any():  # all diverged: count the group's remaining work as done
            work.done += steps * (stack.epochs - epoch)
        report(epoch, tuple(float(v) for v in train), tuple(float(v) for v in val))
        if not alive.any():
            break
    return diverged


def _trained_run(
    stack: Stack, recorder: _Recorder, row: int, final: np.ndarray, seconds: float
) -> TrainedRun:
    config = stack.configs[row]
    return TrainedRun(
        config=config,
        model=vector_to_model(final[row], config.dropout),
        history=recorder.history(row),
        initial_parameters=stack.initial[row],
        device=str(stack.device),
        seconds=seconds,
        initial_draws=stack.initial_draws[row],
        snapshots={epoch: values[row] for epoch, values in sorted(recorder.snapshots.items())},
        norms=(
            np.stack([norms[row] for norms in recorder.norms]).astype(np.float32)
            if recorder.norms is not None
            else None
        ),
    )


def fit_many(
    configs: Sequence[RunConfig],
    progress: ProgressCallback | None = None,
    device: str | torch.device | None = None,
    dataset: Dataset | None = None,
    *,
    snapshots: Sequence[int] = (),
    norms: bool = False,
) -> list[TrainedRun]:
    """Train many configs at once, stacked; results in the order of `configs`.

    `snapshots`: epochs (0 = the initialisation) at which to keep every run's
    parameters (`TrainedRun.snapshots`); `norms`: record each tensor's Frobenius
    norm at every recorded epoch (`TrainedRun.norms`). Both are off by default and
    then cost nothing. Raises `TrainingDiverged` for the first run that diverged,
    after the others have finished; those are in its `completed` attribute.
    """
    if not configs:
        return []
    for config in configs:
        if not isinstance(config, RunConfig):
            raise TypeError(f"fit_many takes RunConfig objects; got {type(config).__name__}")
    dataset = dataset or make_dataset()
    device = choose_device(device)
    groups = _grouped(configs)
    # Work is counted in minibatch steps: a small training set has many short epochs.
    work = _Work(sum(len(g) * configs[g[0]].epochs * _batches(configs[g[0]]) for g in groups))
    results: dict[int, TrainedRun] = {}
    diverged: dict[int, int] = {}
    with torch.no_grad(), flush_denormals():
        for indices in groups:
            started = time.perf_counter()
            stack = Stack([configs[i] for i in indices], dataset, device)
            recorder = _Recorder(stack, snapshots, norms)
            with one_thread_for_one_model(len(indices), device):
                lost = _train_group(stack, recorder, progress, work)
            seconds = (time.perf_counter() - started) / len(indices)
            final = stack.parameters()
            for row, index in enumerate(indices):
                if row in lost:
                    diverged[index] = lost[row]
                else:
                    results[index] = _trained_run(stack, recorder, row, final, seconds)
    if diverged:
        first = min(diverged)
        completed = [results[i] for i in sorted(results)]
        raise TrainingDiverged(configs[first], diverged[first], completed)
    return [results[i] for i in range(len(configs))]


def fit(
    config: RunConfig,
    progress: ProgressCallback | None = None,
    device: str | torch.device | None = None,
    dataset: Dataset | None = None,
    *,
    snapshots: Sequence[int] = (),
    norms: bool = False,
) -> TrainedRun:
    """Train one config; `progress` is called after setup and after every recorded epoch.

    `snapshots` and `norms` as in `fit_many`: for example
    `fit(config, snapshots=(0, 1, 10, 100), norms=True)` keeps the parameters after
    those epochs and every tensor's norm per epoch.
    """
    return fit_many(
        [config],
        progress=progress,
        device=device,
        dataset=dataset,
        snapshots=snapshots,
        norms=norms,
    )[0]
