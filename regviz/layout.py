"""Where each named tensor of the MLP sits in its flat parameter vector.

numpy only, so that the page, the verdict and the exports can split parameters by
layer or into weights and biases without importing torch. `regviz.model` builds
the network to this layout and a test checks that they agree.
"""

from __future__ import annotations

import numpy as np

HIDDEN = 64
N_HIDDEN_LAYERS = 3
#: Slope of the hidden layers' leaky ReLU.
LEAKY_SLOPE = 0.01

#: (name, parameter shape) in `parameters_to_vector` order.
PARAMETER_LAYOUT: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("0.weight", (HIDDEN, 1)),
    ("0.bias", (HIDDEN,)),
    ("3.weight", (HIDDEN, HIDDEN)),
    ("3.bias", (HIDDEN,)),
    ("6.weight", (HIDDEN, HIDDEN)),
    ("6.bias", (HIDDEN,)),
    ("9.weight", (1, HIDDEN)),
    ("9.bias", (1,)),
)
N_PARAMETERS = sum(int(np.prod(shape)) for _, shape in PARAMETER_LAYOUT)


def parameter_slices() -> dict[str, slice]:
    """Where each named tensor lives in the flat parameter vector."""
    slices, start = {}, 0
    for name, shape in PARAMETER_LAYOUT:
        size = int(np.prod(shape))
        slices[name] = slice(start, start + size)
        start += size
    return slices


def weight_mask() -> np.ndarray:
    """True where the flat vector holds a weight (the part L1/L2/decay act on), False for biases."""
    mask = np.zeros(N_PARAMETERS, dtype=bool)
    for name, where in parameter_slices().items():
        mask[where] = name.endswith("weight")
    return mask


def layer_of_parameter() -> np.ndarray:
    """Layer number (1–4) of each entry of the flat vector."""
    layers = np.zeros(N_PARAMETERS, dtype=np.int8)
    for index, where in enumerate(parameter_slices().values()):
        layers[where] = index // 2 + 1
    return layers
