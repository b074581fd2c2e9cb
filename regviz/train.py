"""Training: MSE + Adam, with L2, L1, decoupled weight decay and dropout.

The cost for one minibatch is

    J(θ) = mean((ŷ − y)²) + λ·Σ_l ‖W_l‖²_F + λ₁·Σ_l Σ|W_l|

over the four weight matrices W_l; **biases are not penalised**. (Penalising the
biases too turns the λ = 1 model into a straight ramp in x instead of a flat
line: the network then prefers to build its output level from the large input x
rather than from a costly bias.)

How this relates to the optimisers' own switches:

* `torch.optim.Adam(weight_decay=wd)` adds wd·θ to the gradient before Adam's
  moment estimates, i.e. it is this same *coupled* L2 with wd = 2λ, but applied
  to every parameter, biases included.
* `torch.optim.AdamW(weight_decay=wd)` is *decoupled*: it shrinks θ ← θ(1 − lr·wd)
  outside the adaptive step, so a weight's decay no longer depends on how large
  its gradients have been. That is `RunConfig.weight_decay` here (weights only),
  and it is not the same as adding a penalty to the loss.

Both `fit` and `fit_many` run one implementation: the forward and backward pass
of the MLP are written out as batched matrix products over a stack of models,
with the parameters of each model in one flat row, and Adam applied to the whole
stack at once. `fit` is a stack of one. Each model draws its initialisation,
batch order and dropout masks from its own streams seeded by its config, so its
numbers do not depend on which other models share the stack.

What a history records per epoch: the training MSE is the mean of the squared
errors over that epoch's minibatches as they were trained on (train mode, dropout
active, penalty excluded), the validation MSE is one pass over the validation set
in eval mode after the epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from regviz.config import RunConfig
from regviz.data import Dataset, make_dataset
from regviz.model import (
    HIDDEN,
    LEAKY_SLOPE,
    N_HIDDEN_LAYERS,
    PARAMETER_LAYOUT,
    build_mlp,
    vector_to_model,
    weight_mask,
)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
_STREAMS = {"order": 1, "dropout": 2}


def choose_device(preferred: str | torch.device | None = None) -> torch.device:
    """CUDA when available, then Apple's MPS, else the CPU; `preferred` overrides."""
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device 'mps' was asked for but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A reader-facing name, e.g. 'CUDA GPU (NVIDIA H100)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA GPU ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


@dataclass(frozen=True)
class History:
    """One float per epoch."""

    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives: after setup (epoch 0) and after every epoch."""

    epoch: int
    epochs: int
    fraction: float
    configs: tuple[RunConfig, ...]
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]


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
    """A finished run: its config, the model (eval mode, CPU) and what happened on the way."""

    config: RunConfig
    model: nn.Module
    history: History
    initial_parameters: np.ndarray
    device: str = "cpu"
    seconds: float = float("nan")
    initial_draws: int = 1

    @property
    def parameters(self) -> np.ndarray:
        """The trained parameters as one vector, in `parameters_to_vector` order."""
        return nn.utils.parameters_to_vector(self.model.parameters()).detach().cpu().numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's prediction (eval mode, no dropout) at the given x, in data units."""
        values = np.array(x, dtype=np.float32).reshape(-1, 1)
        self.model.eval()
        with torch.no_grad():
            return self.model(torch.from_numpy(values)).numpy().reshape(-1).astype(np.float64)


def stream_seed(seed: int, stream: str) -> int:
    """An independent 63-bit seed for one of a run's random streams."""
    state = np.random.SeedSequence([seed, _STREAMS[stream]]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Strong penalties push Adam's state into subnormal floats, which are very slow on CPUs."""
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)


def _group_key(config: RunConfig) -> tuple:
    return (config.epochs, config.batch_size, config.lr, config.dropout > 0)


class _Stack:
    """M models trained in lockstep; row i of every (M, …) tensor belongs to config i."""

    def __init__(self, configs: Sequence[RunConfig], dataset: Dataset, device: torch.device):
        self.configs = tuple(configs)
        self.device = device
        first = configs[0]
        self.epochs, self.batch_size, self.lr = first.epochs, first.batch_size, first.lr
        self.has_dropout = first.dropout > 0
        count = len(configs)

        models = [build_mlp(0.0, seed=config.seed) for config in configs]
        self.initial_draws = [model.initial_draws for model in models]
        initial = torch.stack([nn.utils.parameters_to_vector(m.parameters()) for m in models])
        self.initial = initial.detach().numpy().copy()
        self.params = initial.detach().to(device).contiguous()
        self.exp_avg = torch.zeros_like(self.params)
        self.exp_avg_sq = torch.zeros_like(self.params)
        self.step_count = 0

        weights = torch.as_tensor(weight_mask(), dtype=torch.float32, device=device)
        column = lambda name: torch.tensor(  # noqa: E731
            [getattr(c, name) for c in configs], dtype=torch.float32, device=device
        ).unsqueeze(1)
        self.l2_grad = 2 * column("l2") * weights if any(c.l2 for c in configs) else None
        self.l1_grad = column("l1") * weights if any(c.l1 for c in configs) else None
        self.decay = (
            1 - self.lr * column("weight_decay") * weights
            if any(c.weight_decay for c in configs)
            else None
        )
        self.keep_threshold = [round(c.dropout * 2**16) - 2**15 for c in configs]
        self.keep_scale = [0.0 if c.dropout == 1 else 1 / (1 - c.dropout) for c in configs]
        self.mask_buffer: torch.Tensor | None = None

        self.x_train = torch.tensor(dataset.x_train, device=device)
        self.y_train = torch.tensor(dataset.y_train, device=device)
        self.x_val = torch.tensor(dataset.x_val, device=device).expand(count, -1)
        self.y_val = torch.tensor(dataset.y_val, device=device).expand(count, -1)
        self.order_streams = [
            torch.Generator().manual_seed(stream_seed(c.seed, "order")) for c in configs
        ]
        self.mask_streams = [
            torch.Generator(device=device).manual_seed(stream_seed(c.seed, "dropout"))
            for c in configs
        ]
        self._views()

    def _views(self) -> None:
        """Per-layer (M, out, in) views into the flat parameter rows."""
        count, start = len(self.configs), 0
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        tensors = []
        for _, shape in PARAMETER_LAYOUT:
            size = math.prod(shape)
            tensors.append(self.params[:, start : start + size].view(count, *shape))
            start += size
        for index in range(0, len(tensors), 2):
            weight, bias = tensors[index], tensors[index + 1]
            self.layers.append((weight, bias.unsqueeze(1)))

    def _forward(self, x: torch.Tensor, masks: Sequence[torch.Tensor] | None):
        """x: (M, b). Returns every layer's pre-activation and input.

        The one-wide first and last layers are written as broadcasts and sums rather
        than matrix products: batched GEMV kernels round differently for a stack of
        one than for a stack of many, and this keeps a model's numbers independent
        of the stack it is trained in.
        """
        (w_in, b_in), *middle, (w_out, b_out) = self.layers
        inputs = [x.unsqueeze(2)]
        pre_activations = [torch.addcmul(b_in, inputs[0], w_in.transpose(1, 2))]
        for depth, (weight, bias) in enumerate([*middle, (w_out, b_out)], start=1):
            hidden = F.leaky_relu(pre_activations[-1], LEAKY_SLOPE)
            if masks is not None:
                hidden = hidden * masks[depth - 1]
            inputs.append(hidden)
            if depth < N_HIDDEN_LAYERS:
                pre_activations.append(torch.baddbmm(bias, hidden, weight.transpose(1, 2)))
            else:
                pre_activations.append((hidden * weight).sum(2, keepdim=True) + bias)
        return pre_activations, inputs

    def _epoch_masks(self, n: int) -> torch.Tensor | None:
        """Each model's keep/scale masks for a whole epoch, one row per training sample.

        A mask entry compares 16 random bits with round(p·2¹⁶), so p is honoured to
        within 1/65,536; drawing 64 bits at a time is four times cheaper than a float each.
        """
        if not self.has_dropout:
            return None
        width = N_HIDDEN_LAYERS * HIDDEN
        if self.mask_buffer is None or self.mask_buffer.shape[1] != n:
            self.mask_buffer = torch.empty(len(self.configs), n, width, device=self.device)
            self.bits_buffer = torch.empty(n * width // 4, dtype=torch.int64, device=self.device)
        for row, stream in enumerate(self.mask_streams):
            self.bits_buffer.random_(-(2**63), None, generator=stream)
            bits = self.bits_buffer.view(torch.int16).view(n, width)
            keep = bits >= self.keep_threshold[row]
            self.mask_buffer[row].copy_(keep).mul_(self.keep_scale[row])
        return self.mask_buffer

    def train_epoch(self) -> torch.Tensor:
        """One pass over the training set; returns each model's mean training MSE, shape (M,)."""
        n = self.x_train.shape[0]
        order = torch.stack([torch.randperm(n, generator=g) for g in self.order_streams])
        order = order.to(self.device)
        x_epoch, y_epoch = self.x_train[order], self.y_train[order]
        masks = self._epoch_masks(n)
        squared_error_sum = torch.zeros(len(self.configs), device=self.device)
        beta1, beta2 = ADAM_BETAS
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            batch_masks = None
            if masks is not None:
                batch_masks = masks[:, start:stop].split(HIDDEN, dim=2)
            pre, inputs = self._forward(x_epoch[:, start:stop], batch_masks)
            error = F.relu(pre[-1]).squeeze(2) - y_epoch[:, start:stop]
            squared_error_sum += error.square().sum(1)

            # Backward pass, written out: dJ/dz for each layer from the output down.
            grad_z = torch.ops.aten.threshold_backward(
                error.unsqueeze(2) * (2.0 / (stop - start)), pre[-1], 0.0
            )
            grads: list[torch.Tensor] = []
            for depth in range(N_HIDDEN_LAYERS, -1, -1):
                weight, _ = self.layers[depth]
                grads.append(grad_z.sum(1))
                if depth in (0, N_HIDDEN_LAYERS):  # one-wide layers: see _forward
                    weight_grad = (grad_z.transpose(1, 2) * inputs[depth].transpose(1, 2)).sum(2)
                    grads.append(weight_grad.flatten(1))
                else:
                    grads.append(torch.bmm(grad_z.transpose(1, 2), inputs[depth]).flatten(1))
                if depth == 0:
                    break
                if depth == N_HIDDEN_LAYERS:
                    grad_hidden = grad_z * weight
                else:
                    grad_hidden = torch.bmm(grad_z, weight)
                if batch_masks is not None:
                    grad_hidden = grad_hidden * batch_masks[depth - 1]
                grad_z = torch.ops.aten.leaky_relu_backward(
                    grad_hidden, pre[depth - 1], LEAKY_SLOPE, False
                )
            grad = torch.cat(grads[::-1], dim=1)
            self._adam_step(grad, beta1, beta2)
        return squared_error_sum / n

    def _adam_step(self, grad: torch.Tensor, beta1: float, beta2: float) -> None:
        if self.l2_grad is not None:
            grad.addcmul_(self.l2_grad, self.params)
        if self.l1_grad is not None:
            grad.addcmul_(self.l1_grad, self.params.sign())
        if self.decay is not None:
            self.params.mul_(self.decay)
        self.step_count += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2_sqrt = math.sqrt(1 - beta2**self.step_count)
        denominator = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(ADAM_EPS)
        self.params.addcdiv_(self.exp_avg, denominator, value=-self.lr / bias_correction1)

    def validation_mse(self) -> torch.Tensor:
        pre, _ = self._forward(self.x_val, None)
        return (F.relu(pre[-1]).squeeze(2) - self.y_val).square().mean(1)


def _grouped(configs: Sequence[RunConfig]) -> list[list[int]]:
    """Indices of configs that can share a stack (same epochs, batch size, lr, dropout on/off)."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(_group_key(config), []).append(index)
    return list(groups.values())


def fit_many(
    configs: Sequence[RunConfig],
    progress: ProgressCallback | None = None,
    device: str | torch.device | None = None,
    dataset: Dataset | None = None,
) -> list[TrainedRun]:
    """Train many configs at once, stacked; results in the order of `configs`.

    Raises `TrainingDiverged` for the first run that diverged, after the others
    have finished; those are in its `completed` attribute.
    """
    if not configs:
        return []
    for config in configs:
        if not isinstance(config, RunConfig):
            raise TypeError(f"fit_many takes RunConfig objects; got {type(config).__name__}")
    dataset = dataset or make_dataset()
    device = choose_device(device)
    groups = _grouped(configs)
    total_work = sum(len(g) * configs[g[0]].epochs for g in groups)
    done_work = 0
    results: dict[int, TrainedRun] = {}
    diverged: dict[int, int] = {}
    with torch.no_grad(), flush_denormals():
        for indices in groups:
            started = time.perf_counter()
            group = [configs[i] for i in indices]
            stack = _Stack(group, dataset, device)
            train_history = np.full((len(group), stack.epochs), np.nan)
            val_history = np.full((len(group), stack.epochs), np.nan)
            if progress is not None:
                progress(Progress(0, stack.epochs, done_work / total_work, tuple(group), (), ()))
            alive = np.ones(len(group), dtype=bool)
            for epoch in range(stack.epochs):
                train_mse = stack.train_epoch()
                val_mse = stack.validation_mse()
                finite_params = torch.isfinite(stack.params).all(1)
                train_np, val_np = train_mse.cpu().numpy(), val_mse.cpu().numpy()
                finite = np.isfinite(train_np) & np.isfinite(val_np) & finite_params.cpu().numpy()
                for row in np.flatnonzero(alive & ~finite):
                    diverged[indices[row]] = epoch + 1
                alive &= finite
                train_history[:, epoch], val_history[:, epoch] = train_np, val_np
                done_work += len(group)
                if not alive.any():  # all diverged: count the group's remaining work as done
                    done_work += len(group) * (stack.epochs - epoch - 1)
                if progress is not None:
                    progress(
                        Progress(
                            epoch + 1,
                            stack.epochs,
                            done_work / total_work,
                            tuple(group),
                            tuple(float(v) for v in train_np),
                            tuple(float(v) for v in val_np),
                        )
                    )
                if not alive.any():
                    break
            seconds = (time.perf_counter() - started) / len(group)
            final = stack.params.cpu().numpy()
            for row, index in enumerate(indices):
                if index in diverged:
                    continue
                results[index] = TrainedRun(
                    config=configs[index],
                    model=vector_to_model(final[row], configs[index].dropout),
                    history=History(
                        tuple(float(v) for v in train_history[row]),
                        tuple(float(v) for v in val_history[row]),
                    ),
                    initial_parameters=stack.initial[row],
                    device=str(device),
                    seconds=seconds,
                    initial_draws=stack.initial_draws[row],
                )
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
) -> TrainedRun:
    """Train one config; `progress` is called after setup and after every epoch."""
    return fit_many([config], progress=progress, device=device, dataset=dataset)[0]
