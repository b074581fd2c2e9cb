"""Where training runs: the device, and how the CPU is set up for small matrix products."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


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
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Strong penalties push Adam's state into subnormal floats, which are very slow on CPUs."""
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)


@contextlib.contextmanager
def one_thread_for_one_model(count: int, device: torch.device) -> Iterator[None]:
    """Train a stack of a single model on one CPU thread.

    Its 64×64 matrix products are too small to split: on two cores MKL's two-thread
    GEMM is slower than one thread, and every split operation waits for the slowest
    thread, so a second busy process on the machine made `fit` 3.3× slower. Stacks
    of several models keep torch's setting (their products split by model). With
    OpenMP, `torch.set_num_threads` only affects the thread that calls it.
    """
    previous = torch.get_num_threads()
    if (
        count > 1
        or device.type != "cpu"
        or previous == 1
        or not torch.backends.openmp.is_available()
    ):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
