"""The trainer's engine: M copies of the MLP trained in lockstep, forward and backward by hand.

Row i of every (M, …) tensor belongs to config i. The forward and backward passes
are written out as batched matrix products, and the optimiser (Adam, or SGD with
momentum) runs on one flat buffer holding every model's parameters. Each model
draws its initialisation, batch order and dropout masks from its own streams seeded
by its config, so its numbers do not depend on which other models share the stack.
`regviz.train` drives it; nothing else should need to.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from regviz.config import RunConfig
from regviz.data import Dataset
from regviz.layout import HIDDEN, N_HIDDEN_LAYERS, PARAMETER_LAYOUT, weight_mask
from regviz.model import LEAKY_SLOPE, build_mlp

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
_STREAMS = {"order": 1, "dropout": 2}


def stream_seed(seed: int, stream: str) -> int:
    """An independent 63-bit seed for one of a run's random streams."""
    state = np.random.SeedSequence([seed, _STREAMS[stream]]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def group_key(config: RunConfig) -> tuple:
    """Configs with equal keys can share a stack: same data, schedule and optimiser."""
    return (
        config.epochs,
        config.batch_size,
        config.lr,
        config.dropout > 0,
        config.optimizer,
        config.momentum,
        config.n_train,
    )


#: The leaky ReLU's backward kernel (the one autograd calls), writing into a given
#: tensor. Spelt with public ops it costs more: `torch.where(h > 0, g, g * slope)`
#: builds a bool tensor and runs an unvectorised loop (4x slower for one model, 10x
#: for 17), and `g * sign(h).clamp_min(slope)` takes three passes (1.4x, 2x).
_leaky_relu_backward = torch.ops.aten.leaky_relu_backward.grad_input
#: Dropout masks are made for this many training samples at a time (rounded to whole
#: minibatches), so that they stay in cache and a stack's memory does not grow with n.
MASK_CHUNK = 1024


def _blocks(flat: torch.Tensor, count: int) -> list[torch.Tensor]:
    """(M, *shape) views, one per named tensor, into a buffer laid out tensor by tensor.

    Inside a stack the parameters of all M models are stored tensor-major (every
    model's first weight, then every model's first bias, ...) so that each layer's
    gradient is written straight into its place and Adam still sees one flat buffer.
    """
    views, start = [], 0
    for _, shape in PARAMETER_LAYOUT:
        size = count * math.prod(shape)
        views.append(flat[start : start + size].view(count, *shape))
        start += size
    return views


def _to_blocks(rows: torch.Tensor) -> torch.Tensor:
    """(M, N) rows in `parameters_to_vector` order -> one tensor-major flat buffer."""
    pieces, start = [], 0
    for _, shape in PARAMETER_LAYOUT:
        size = math.prod(shape)
        pieces.append(rows[:, start : start + size].reshape(-1))
        start += size
    return torch.cat(pieces)


def _to_rows(flat: torch.Tensor, count: int) -> torch.Tensor:
    """The inverse of `_to_blocks`: one row per model, in `parameters_to_vector` order."""
    return torch.cat([view.reshape(count, -1) for view in _blocks(flat, count)], dim=1)


class Stack:
    """M models trained in lockstep; row i of every (M, …) tensor belongs to config i.

    Every step runs the same few dozen tensor operations whatever M is, so for a
    single model the time goes to launching operations, not to arithmetic. Hence:
    gradients and activations are written into buffers that live as long as the
    stack (no allocation, no concatenation), and the loop runs under
    `torch.inference_mode`. Adam is written out as six elementwise passes rather
    than torch's fused kernel: the fused kernel rounds an element differently in its
    vectorised body and its scalar tail, so a model's numbers would depend on how
    many models share its stack (they parted after 9 epochs in a stack of 57).
    """

    def __init__(self, configs: Sequence[RunConfig], dataset: Dataset, device: torch.device):
        self.configs = tuple(configs)
        self.device = device
        first = configs[0]
        if any(group_key(config) != group_key(first) for config in configs):
            raise ValueError("a stack holds configs with one data set, schedule and optimiser")
        self.epochs, self.batch_size, self.lr = first.epochs, first.batch_size, first.lr
        self.optimizer, self.momentum = first.optimizer, first.momentum
        self.has_dropout = first.dropout > 0
        self.count = count = len(configs)

        models = [build_mlp(0.0, seed=config.seed) for config in configs]
        self.initial_draws = [model.initial_draws for model in models]
        initial = torch.stack([nn.utils.parameters_to_vector(m.parameters()) for m in models])
        self.initial = initial.detach().numpy().copy()
        self.params = _to_blocks(initial.detach()).to(device)
        self.grad = torch.zeros_like(self.params)
        if self.optimizer == "adam":
            self.exp_avg = torch.zeros_like(self.params)
            self.exp_avg_sq = torch.zeros_like(self.params)
            self.step = 0
        else:
            self.velocity: torch.Tensor | None = None

        weights = torch.as_tensor(weight_mask(), dtype=torch.float32)
        column = lambda name: torch.tensor(  # noqa: E731
            [getattr(c, name) for c in configs], dtype=torch.float32
        ).unsqueeze(1)
        on_weights = lambda rows: _to_blocks(rows * weights).to(device)  # noqa: E731
        # The L2 penalty covers the weights, or every parameter for `l2_biases` runs.
        penalised = torch.where(column("l2_biases") > 0, torch.ones_like(weights), weights)
        self.l2_grad = (
            _to_blocks(2 * column("l2") * penalised).to(device)
            if any(c.l2 for c in configs)
            else None
        )
        self.l1_grad = on_weights(column("l1")) if any(c.l1 for c in configs) else None
        self.decay = (
            on_weights(-self.lr * column("weight_decay")).add_(1)
            if any(c.weight_decay for c in configs)
            else None
        )

        x_train, y_train = dataset.training_points(first.n_train)
        self.x_train = torch.tensor(x_train, device=device)
        self.y_train = torch.tensor(y_train, device=device)
        self.x_val = torch.tensor(dataset.x_val, device=device).expand(count, -1).unsqueeze(2)
        self.y_val = torch.tensor(dataset.y_val, device=device).expand(count, -1).unsqueeze(2)
        n = self.x_train.shape[0]
        self.errors = torch.empty(count, n, 1, device=device)
        self.order_streams = [
            torch.Generator().manual_seed(stream_seed(c.seed, "order")) for c in configs
        ]

        # Dropout: masks for MASK_CHUNK samples at a time, (layer, model, sample, unit).
        self.chunk = self.batch_size * max(1, MASK_CHUNK // self.batch_size)
        self.masks = self.bits = None
        self.mask_rows: list[tuple[int, torch.Generator, int, float]] = []
        if self.has_dropout:
            chunk = min(self.chunk, n)
            self.masks = torch.zeros(N_HIDDEN_LAYERS, count, chunk, HIDDEN, device=device)
            words = chunk * N_HIDDEN_LAYERS * HIDDEN // 4  # 64 random bits make four masks
            self.bits = torch.empty(words, dtype=torch.int64, device=device)
            for row, c in enumerate(configs):
                if c.dropout < 1:  # p = 1 drops every unit: its mask stays all zero
                    stream = torch.Generator(device=device)
                    stream.manual_seed(stream_seed(c.seed, "dropout"))
                    threshold = round(c.dropout * 2**16) - 2**15
                    self.mask_rows.append((row, stream, threshold, 1 / (1 - c.dropout)))

        w1, b1, w2, b2, w3, b3, w4, b4 = _blocks(self.params, count)
        # What the forward pass reads: (M, 1, 64) rows for the one-wide layers' weights
        # and for every bias, the hidden layers' weights transposed for h·Wᵀ.
        self.w_in, self.b_in = w1.transpose(1, 2), b1.unsqueeze(1)
        self.w_hidden = (w2, w3)
        self.w_hidden_t = (w2.transpose(1, 2), w3.transpose(1, 2))
        self.b_hidden = (b2.unsqueeze(1), b3.unsqueeze(1))
        self.w_out, self.b_out = w4, b4.unsqueeze(1)
        gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4 = _blocks(self.grad, count)
        self.grads = (
            gw1.view(count, HIDDEN),
            gb1,
            gw2,
            gb2,
            gw3,
            gb3,
            gw4.view(count, HIDDEN),
            gb4,
        )
        self.workspaces: dict[int, tuple[torch.Tensor, ...]] = {}
        self.zero = torch.zeros((), device=device)

    def parameter_rows(self) -> torch.Tensor:
        """(M, N): each model's parameters in `parameters_to_vector` order."""
        return _to_rows(self.params, self.count)

    def parameters(self) -> np.ndarray:
        """A copy of every model's parameters, shape (M, 8,513), on the CPU."""
        return self.parameter_rows().cpu().numpy().copy()

    def norms(self) -> np.ndarray:
        """‖·‖_F of every named tensor of every model, shape (M, 8), in `PARAMETER_LAYOUT` order."""
        columns = [
            view.reshape(self.count, -1).norm(dim=1) for view in _blocks(self.params, self.count)
        ]
        return torch.stack(columns, 1).cpu().numpy()

    def finite(self) -> np.ndarray:
        """Whether each model's parameters are all finite, shape (M,)."""
        return torch.isfinite(self.parameter_rows()).all(1).cpu().numpy()

    def _workspace(self, rows: int) -> tuple[torch.Tensor, ...]:
        """Activations and gradients for a minibatch of `rows` samples, reused every step."""
        if rows not in self.workspaces:
            wide = [torch.empty(self.count, rows, HIDDEN, device=self.device) for _ in range(6)]
            narrow = [torch.empty(self.count, rows, 1, device=self.device) for _ in range(2)]
            self.workspaces[rows] = (*wide, *narrow)
        return self.workspaces[rows]

    def _draw_masks(self, rows: int) -> torch.Tensor:
        """Keep/scale masks for the next `rows` training samples: (layer, M, rows, HIDDEN).

        A mask entry compares 16 random bits with round(p·2¹⁶), so p is honoured to
        within 1/65,536; drawing 64 bits at a time is four times cheaper than a float
        each. Sample after sample, each model's stream yields the same bits whether an
        epoch's masks are drawn at once or a chunk at a time. The comparison writes 0/1
        floats straight into the mask.
        """
        masks = self.masks[:, :, :rows]
        bits = self.bits[: rows * N_HIDDEN_LAYERS * HIDDEN // 4]
        unit_bits = bits.view(torch.int16).view(rows, N_HIDDEN_LAYERS, HIDDEN).transpose(0, 1)
        for row, stream, threshold, scale in self.mask_rows:
            bits.random_(-(2**63), None, generator=stream)
            mask = masks[:, row]
            torch.ge(unit_bits, threshold, out=mask)
            mask.mul_(scale)
        return masks

    @torch.inference_mode()
    def train_epoch(self) -> torch.Tensor:
        """One pass over the training set; returns each model's mean training MSE, shape (M,)."""
        n, size = self.x_train.shape[0], self.batch_size
        order = torch.stack([torch.randperm(n, generator=g) for g in self.order_streams])
        order = order.to(self.device)
        xs = self.x_train[order].unsqueeze(2).split(size, dim=1)
        ys = self.y_train[order].unsqueeze(2).split(size, dim=1)
        errors = self.errors.split(size, dim=1)
        per_chunk = self.chunk // size
        no_masks = itertools.repeat((None, None, None))
        for first in range(0, len(xs), per_chunk):
            batches = slice(first, first + per_chunk)
            chunk_masks: Iterator = no_masks
            if self.has_dropout:
                rows = min(n, (first + per_chunk) * size) - first * size
                layers = self._draw_masks(rows)
                chunk_masks = zip(*(layer.split(size, dim=1) for layer in layers), strict=True)
            for x, y, error, masks in zip(
                xs[batches], ys[batches], errors[batches], chunk_masks, strict=False
            ):
                self._train_step(x, y, error, *masks)
        return self.errors.square().mean((1, 2))

    def _train_step(self, x, y, error, m1, m2, m3) -> None:
        """One minibatch: x, y, error (M, b, 1), dropout masks (M, b, 64) or None."""
        rows, slope = x.shape[1], LEAKY_SLOPE
        h1, h2, h3, product, grad_a, grad_b, output, grad_out = self._workspace(rows)
        gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4 = self.grads
        w2, w3 = self.w_hidden
        # Forward: h_l = LeakyReLU(z_l) ⊙ mask_l, in place of z_l. The one-wide layers
        # are broadcasts and sums rather than batched GEMVs, whose rounding depends on M.
        torch.addcmul(self.b_in, x, self.w_in, out=h1)
        F.leaky_relu(h1, slope, inplace=True)
        if m1 is not None:
            h1.mul_(m1)
        torch.baddbmm(self.b_hidden[0], h1, self.w_hidden_t[0], out=h2)
        F.leaky_relu(h2, slope, inplace=True)
        if m2 is not None:
            h2.mul_(m2)
        torch.baddbmm(self.b_hidden[1], h2, self.w_hidden_t[1], out=h3)
        F.leaky_relu(h3, slope, inplace=True)
        if m3 is not None:
            h3.mul_(m3)
        torch.mul(h3, self.w_out, out=product)
        torch.sum(product, 2, keepdim=True, out=output)
        output.add_(self.b_out).clamp_min_(0.0)  # the output ReLU
        torch.sub(output, y, out=error)

        # Backward, written out: dJ/dz for each layer from the output down, each
        # parameter's gradient written into its place in the flat gradient buffer.
        # With dropout, h = LeakyReLU(z)·mask has the sign of z wherever the mask
        # keeps the unit and the mask zeroes the rest, so dJ/dz = LeakyReLU'(h)·dJ/dh·mask.
        # dJ/d(output) = 2·error/b where the output ReLU is open: sign(output) is 1 there
        # and 0 where the ReLU clipped it (then output is 0).
        torch.addcmul(self.zero, error, output.sign_(), value=2.0 / rows, out=grad_out)
        torch.sum(grad_out, 1, out=gb4)
        torch.mul(grad_out, h3, out=product)
        torch.sum(product, 1, out=gw4)
        torch.mul(grad_out, self.w_out, out=grad_a)
        _leaky_relu_backward(grad_a, h3, slope, True, grad_input=grad_a)
        if m3 is not None:
            grad_a.mul_(m3)
        torch.sum(grad_a, 1, out=gb3)
        torch.bmm(grad_a.transpose(1, 2), h2, out=gw3)
        torch.bmm(grad_a, w3, out=grad_b)
        _leaky_relu_backward(grad_b, h2, slope, True, grad_input=grad_b)
        if m2 is not None:
            grad_b.mul_(m2)
        torch.sum(grad_b, 1, out=gb2)
        torch.bmm(grad_b.transpose(1, 2), h1, out=gw2)
        torch.bmm(grad_b, w2, out=grad_a)
        _leaky_relu_backward(grad_a, h1, slope, True, grad_input=grad_a)
        if m1 is not None:
            grad_a.mul_(m1)
        torch.sum(grad_a, 1, out=gb1)
        torch.mul(grad_a, x, out=product)
        torch.sum(product, 1, out=gw1)
        self._step()

    def _step(self) -> None:
        """Penalties, decoupled decay, then the optimiser's update of the whole stack."""
        grad = self.grad
        if self.l2_grad is not None:
            grad.addcmul_(self.l2_grad, self.params)
        if self.l1_grad is not None:
            grad.addcmul_(self.l1_grad, self.params.sign())
        if self.decay is not None:
            self.params.mul_(self.decay)
        if self.optimizer == "adam":
            self._adam_update(grad)
        else:
            self._sgd_update(grad)

    def _sgd_update(self, grad: torch.Tensor) -> None:
        """torch.optim.SGD's rule: v ← μ·v + g (v = g on the first step), θ ← θ − lr·v."""
        if self.momentum:
            if self.velocity is None:
                self.velocity = grad.clone()
            else:
                self.velocity.mul_(self.momentum).add_(grad)
            grad = self.velocity
        self.params.add_(grad, alpha=-self.lr)

    def _adam_update(self, grad: torch.Tensor) -> None:
        """Adam over the whole stack, written out as torch.optim.Adam's single-tensor rule."""
        beta1, beta2 = ADAM_BETAS
        self.step += 1
        step = self.step
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        denominator = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(ADAM_EPS)
        self.params.addcdiv_(self.exp_avg, denominator, value=-self.lr / bias_correction1)

    @torch.inference_mode()
    def validation_mse(self) -> torch.Tensor:
        slope = LEAKY_SLOPE
        (w2t, w3t), (b2, b3) = self.w_hidden_t, self.b_hidden
        hidden = F.leaky_relu(torch.addcmul(self.b_in, self.x_val, self.w_in), slope, inplace=True)
        hidden = F.leaky_relu(torch.baddbmm(b2, hidden, w2t), slope, inplace=True)
        hidden = F.leaky_relu(torch.baddbmm(b3, hidden, w3t), slope, inplace=True)
        output = (hidden * self.w_out).sum(2, keepdim=True).add_(self.b_out).clamp_min_(0.0)
        return (output - self.y_val).square().mean((1, 2))
