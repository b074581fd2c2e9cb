"""Run settings, the canonical sweeps, and the validation every entry point shares.

Every way into training (the page, URL parameters, the command line, a notebook)
ends in `RunConfig`, so its checks are the one place where a bad setting is
turned into a message that names the setting and its allowed range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from functools import lru_cache
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
OPTIMIZERS = ("adam", "sgd")
#: Optimiser steps of a default run: 100 epochs of 125 minibatches. Runs on fewer
#: training points keep this budget (see `matched_epochs`).
DEFAULT_STEPS = DEFAULT_EPOCHS * -(-N_TRAIN // DEFAULT_BATCH_SIZE)


def matched_epochs(n_train: int) -> int:
    """Epochs that give a run on `n_train` points as many minibatch steps as a default run.

    Fewer points with the same 100 epochs would mean far fewer updates, and an
    under-trained network looks "regularised" for the wrong reason. So a small
    training set is passed over more often: 100 points take 6,250 epochs of 2 steps.
    """
    return -(-DEFAULT_STEPS // -(-n_train // DEFAULT_BATCH_SIZE))


@dataclass(frozen=True)
class Bound:
    """An allowed range, printable in error messages."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in {left}{self.low:g}, {self.high:g}{right}"


@dataclass(frozen=True)
class Choice:
    """One of a few named options (or True/False for a switch), printable in error messages."""

    options: tuple[Any, ...]

    def describe(self) -> str:
        if self.options == (False, True):
            return "true or false"
        return "one of " + ", ".join(str(option) for option in self.options)


#: The allowed range of every RunConfig field. Upper limits are where a setting
#: stops teaching anything (λ = 100 has long flattened the model) or stops
#: being trainable in reasonable time.
BOUNDS: dict[str, Bound] = {
    "l2": Bound(0.0, 100.0),
    "dropout": Bound(0.0, 1.0),
    "seed": Bound(0, 2**31 - 1, integer=True),
    "epochs": Bound(1, 20_000, integer=True),
    "batch_size": Bound(1, N_TRAIN, integer=True),
    "lr": Bound(0.0, 1.0, low_open=True),
    "l1": Bound(0.0, 100.0),
    "weight_decay": Bound(0.0, 100.0),
    "momentum": Bound(0.0, 1.0, high_open=True),
    "n_train": Bound(16, N_TRAIN, integer=True),
}
#: Fields that take a named option or a switch instead of a number.
CHOICES: dict[str, Choice] = {
    "optimizer": Choice(OPTIMIZERS),
    "l2_biases": Choice((False, True)),
}


def describe_setting(name: str) -> str:
    """'a number in [0, 100]', 'one of adam, sgd': what field `name` accepts."""
    return (CHOICES[name] if name in CHOICES else BOUNDS[name]).describe()


def check_setting(name: str, value: Any) -> float | int | str | bool:
    """Return `value` as the field's type, or raise a ValueError naming field and range."""
    if name in CHOICES:
        return _check_choice(name, value)
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


def _check_choice(name: str, value: Any) -> str | bool:
    choice = CHOICES[name]
    if isinstance(value, str):
        value = value.strip().lower()
    for option in choice.options:
        same_kind = isinstance(value, bool) == isinstance(option, bool)
        if same_kind and value == option:
            return option
    raise ValueError(f"{name} must be {choice.describe()}; got {value!r}")


@dataclass(frozen=True)
class RunConfig:
    """One training run, fully determined by these values and the device.

    `l2` is λ in  MSE + λ·Σ‖W‖²_F  (weights only unless `l2_biases`, see
    `regviz.train`), `dropout` the probability of zeroing each hidden unit, `l1` λ₁
    in  + λ₁·Σ|w|, `weight_decay` the decoupled (AdamW-style) rate, `optimizer`
    Adam or plain SGD (with `momentum`), and `n_train` how many of the 8,000
    training points the run sees (a fixed nested subset, see `regviz.data`).
    `epochs=None` means `matched_epochs(n_train)`: 100 epochs on all the data.
    """

    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    epochs: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    l1: float = 0.0
    weight_decay: float = 0.0
    optimizer: str = "adam"
    momentum: float = 0.0
    n_train: int = N_TRAIN
    l2_biases: bool = False

    def __post_init__(self) -> None:
        n_train = check_setting("n_train", self.n_train)
        if self.epochs is None:
            object.__setattr__(self, "epochs", matched_epochs(int(n_train)))
        for field in fields(self):
            object.__setattr__(
                self, field.name, check_setting(field.name, getattr(self, field.name))
            )
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(
                f"momentum is a setting of SGD; with {self.optimizer} it must be 0 "
                f"(got {self.momentum:g})"
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
        if self.l2_biases:
            parts.append("l2bias")
        if self.optimizer != "adam":
            parts.append(f"opt-{self.optimizer}")
        if self.momentum:
            parts.append(f"mom-{self.momentum:g}")
        if self.n_train != N_TRAIN:
            parts.append(f"n-{self.n_train}")
        if self.epochs != matched_epochs(self.n_train):
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
        return _with_seed(self, seed)


@lru_cache(maxsize=4096)
def _with_seed(config: RunConfig, seed: int) -> RunConfig:
    """Memoised: a page rerun asks for the same few hundred seeds of stored settings, and
    building a config validates every field."""
    return replace(config, seed=seed)
