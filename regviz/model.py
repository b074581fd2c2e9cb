"""The article's network: 1 → 64 → 64 → 64 → 1, LeakyReLU inside, ReLU at the output.

Initialisation is PyTorch's own default for `nn.Linear` (weights and biases
uniform in ±1/√fan_in), which is the flat "uniform" shape that the parameter KDE
starts from.

Dead-at-birth policy: an output ReLU that is negative for most of the input range
gets almost no gradient and the network never learns (with raw x in [0, 20] some
seeds do this, seed 2 among them). `build_mlp(..., seed=s)` therefore draws the
default initialisation from a private stream seeded with `s` and *redraws from the
same stream* until the output's pre-activation is positive on at least half of a
grid over the data's x range. The distribution stays the default one, conditioned
on a network that can learn; `initial_draws` records how many draws it took.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regviz.data import X_MAX, X_MIN
from regviz.layout import (  # noqa: F401  (re-exported: part of the model's description)
    HIDDEN,
    LEAKY_SLOPE,
    N_HIDDEN_LAYERS,
    N_PARAMETERS,
    PARAMETER_LAYOUT,
    layer_of_parameter,
    parameter_slices,
    weight_mask,
)

#: Share of the x grid on which a fresh network's output must be positive.
ALIVE_FRACTION = 0.5
MAX_DRAWS = 1000


def _architecture(dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width_in = 1
    for _ in range(N_HIDDEN_LAYERS):
        layers += [nn.Linear(width_in, HIDDEN), nn.LeakyReLU(LEAKY_SLOPE), nn.Dropout(dropout)]
        width_in = HIDDEN
    layers += [nn.Linear(HIDDEN, 1), nn.ReLU()]
    return nn.Sequential(*layers)


def is_alive(model: nn.Module) -> bool:
    """Whether the output ReLU is open on at least ALIVE_FRACTION of the x range."""
    grid = torch.linspace(X_MIN, X_MAX, 201).unsqueeze(1)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pre_activation = model[:-1](grid)
    model.train(was_training)
    return bool((pre_activation > 0).float().mean() >= ALIVE_FRACTION)


def build_mlp(dropout: float = 0.0, seed: int | None = None) -> nn.Sequential:
    """The 8,513-parameter MLP with dropout `dropout` after each hidden activation.

    With `seed=None` it uses the global RNG like any PyTorch module. With a seed it
    applies the dead-at-birth policy above and leaves the global RNG untouched.
    """
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"dropout must be a number in [0, 1]; got {dropout!r}")
    if seed is None:
        model = _architecture(dropout)
        model.initial_draws = 1
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for draw in range(1, MAX_DRAWS + 1):
            model = _architecture(dropout)
            if is_alive(model):
                model.initial_draws = draw
                return model
    raise RuntimeError(f"no live initialisation in {MAX_DRAWS} draws for seed {seed}")


def vector_to_model(vector: np.ndarray | torch.Tensor, dropout: float = 0.0) -> nn.Sequential:
    """A CPU model in eval mode holding the flat parameter vector.

    The throwaway default initialisation is drawn from a forked RNG, so loading or
    training a model never moves a notebook's own `torch.manual_seed` stream.
    """
    with torch.random.fork_rng(devices=[]):
        model = _architecture(dropout)
    flat = torch.as_tensor(np.asarray(vector, dtype=np.float32))
    if flat.numel() != N_PARAMETERS:
        raise ValueError(f"expected {N_PARAMETERS} parameters, got {flat.numel()}")
    with torch.no_grad():
        nn.utils.vector_to_parameters(flat.clone(), model.parameters())
    return model.eval()
