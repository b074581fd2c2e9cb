"""Run settings, the canonical sweeps, and the validation every entry point shares.

Every way into training (the page, URL parameters, the command line, a notebook)
ends in `RunConfig`, so its checks are the one place where a bad setting is
turned into a message that names the setting and its allowed range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Any

from regviz.data import N_TRAIN

#: λ values of the article's L2 sweep (dropout off).
CANONICAL_L2: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: Dropout probabilities of the article's sweep (λ = 0); p = 0 is the shared baseline.
CANONICAL_DROPOUT: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: L1 strengths (beyond the article): λ₁·Σ|w| added to the loss.
CANONICAL_L1: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: Decoupled (AdamW-style) weight decay rates (beyond the article).
CANONICAL_WEIGHT_DECAY: tuple[float, ...] = (0.0, 1e-2, 1e-1, 1.0, 3.0, 10.0)
#: Seeds of every canonical setting; a seed changes the initialisation, the batch
#: order and the dropout masks, never the data.
SEEDS: tuple[int, ...] = (0, 1, 2)

DEFAULT_EPOCHS = 100
DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 1e-3


@dataclass(frozen=True)
class Bound:
    """An allowed range, printable in error messages."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        left = "(" if self.low_open else "["
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in {left}{self.low:g}, {self.high:g}]"


#: The allowed range of every RunConfig field. Upper limits are where a setting
#: stops teaching anything (λ = 100 has long flattened the model) or stops
#: being trainable in reasonable time.
BOUNDS: dict[str, Bound] = {
    "l2": Bound(0.0, 100.0),
    "dropout": Bound(0.0, 1.0),
    "seed": Bound(0, 2**31 - 1, integer=True),
    "epochs": Bound(1, 1000, integer=True),
    "batch_size": Bound(1, N_TRAIN, integer=True),
    "lr": Bound(0.0, 1.0, low_open=True),
    "l1": Bound(0.0, 100.0),
    "weight_decay": Bound(0.0, 100.0),
}


def check_setting(name: str, value: Any) -> float | int:
    """Return `value` as the field's type, or raise a ValueError naming field and range."""
    bound = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {bound.describe()}; got {value!r}")
    if bound.integer:
        if isinstance(value, numbers.Integral):
            number: float | int = int(value)
        elif math.isfinite(value) and float(value).is_integer():
            number = int(value)
        else:
            raise ValueError(f"{name} must be {bound.describe()}; got {value!r}")
    else:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{name} must be {bound.describe()}; got {value!r}")
    if not bound.contains(number):
        raise ValueError(f"{name} must be {bound.describe()}; got {value!r}")
    return number


@dataclass(frozen=True)
class RunConfig:
    """One training run, fully determined by these values and the device.

    `l2` is λ in  MSE + λ·Σ‖W‖²_F  (weights only, see `regviz.train`), `dropout`
    the probability of zeroing each hidden unit, `l1` λ₁ in  + λ₁·Σ|w|, and
    `weight_decay` the decoupled (AdamW) rate.
    """

    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    l1: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            object.__setattr__(
                self, field.name, check_setting(field.name, getattr(self, field.name))
            )
        if self.lr * self.weight_decay >= 1.0:
            raise ValueError(
                f"weight_decay × lr must be below 1 (each step multiplies the weights by "
                f"1 − lr·weight_decay); got {self.weight_decay:g} × {self.lr:g}"
            )

    @property
    def run_id(self) -> str:
        """A file-name-safe name that is unique per config."""
        parts = [f"l2-{self.l2:g}", f"p-{self.dropout:g}"]
        if self.l1:
            parts.append(f"l1-{self.l1:g}")
        if self.weight_decay:
            parts.append(f"wd-{self.weight_decay:g}")
        if self.epochs != DEFAULT_EPOCHS:
            parts.append(f"ep-{self.epochs}")
        if self.batch_size != DEFAULT_BATCH_SIZE:
            parts.append(f"bs-{self.batch_size}")
        if self.lr != DEFAULT_LR:
            parts.append(f"lr-{self.lr:g}")
        parts.append(f"s{self.seed}")
        return "_".join(parts)

    @property
    def regulariser(self) -> str:
        """The sweep a config belongs to: none, l2, dropout, l1, adamw, or mixed."""
        active = [
            name
            for name, value in (
                ("l2", self.l2),
                ("dropout", self.dropout),
                ("l1", self.l1),
                ("adamw", self.weight_decay),
            )
            if value
        ]
        if not active:
            return "none"
        return active[0] if len(active) == 1 else "mixed"

    def to_dict(self) -> dict[str, float | int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Build from a mapping, rejecting unknown keys by name."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def with_seed(self, seed: int) -> RunConfig:
        return replace(self, seed=seed)


def canonical_settings() -> list[RunConfig]:
    """One seed-0 config per canonical setting, in page order, baseline first."""
    settings = [RunConfig(l2=value) for value in CANONICAL_L2]
    settings += [RunConfig(dropout=value) for value in CANONICAL_DROPOUT if value]
    settings += [RunConfig(l1=value) for value in CANONICAL_L1 if value]
    settings += [RunConfig(weight_decay=value) for value in CANONICAL_WEIGHT_DECAY if value]
    return settings


def canonical_configs() -> list[RunConfig]:
    """Every canonical run: each setting times each seed."""
    return [setting.with_seed(seed) for setting in canonical_settings() for seed in SEEDS]
