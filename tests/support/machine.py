"""Which comparisons with the shipped `pretrained/` can be bit for bit on this machine.

`pretrained/` was computed on one CPU with one torch build (the manifest records
both). float32 kernels pick different instruction sets and summation orders on
other x86-64 CPUs (AVX2 against AVX-512, different blockings), so a number
recomputed here may differ in its last bits. Tests compare bit for bit only when
this machine matches the manifest, and otherwise within the tolerances below.
"""

from __future__ import annotations

import torch

from regviz import store
from regviz.pretrain import cpu_description

#: Relative tolerance for one forward pass of the shipped model recomputed on another
#: CPU. A prediction is four float32 layers with dot products of length ≤ 64; a
#: different summation order moves each result by a few units in the last place
#: (ε = 1.2e-7). Measured between an Intel Xeon and an AMD EPYC: up to 2e-6 relative.
#: We allow 50× that.
FORWARD_RTOL = 1e-4


def same_machine_as_pretrained() -> bool:
    """True when this CPU and torch build are the ones that made `pretrained/`."""
    manifest = store.read_manifest()
    return (
        manifest.get("cpu") == cpu_description()
        and manifest["versions"].get("torch") == torch.__version__
    )
