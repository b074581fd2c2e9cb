"""The custom-run form's text, turned into a `RunConfig` or into messages a reader can act on.

Pure Python: the page shows the messages, the tests read them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from regviz.config import BOUNDS, DEFAULT_STEPS, Bound, RunConfig, check_setting, matched_epochs
from regviz.data import N_TRAIN

#: Form field → (RunConfig field, the name a reader knows it by).
FIELDS = {
    "l2": ("l2", "λ (L2 strength)"),
    "p": ("dropout", "p (dropout probability)"),
    "n": ("n_train", "n (training points)"),
    "epochs": ("epochs", "epochs"),
    "seed": ("seed", "seed"),
}
#: Where the form is stricter than `RunConfig`: a custom run learns from at least 100 points.
FORM_BOUNDS = {"n_train": Bound(100, N_TRAIN, integer=True)}
#: Text a field starts with, and the text a missing field counts as.
DEFAULTS = {"l2": "0.003", "p": "0", "n": str(N_TRAIN), "epochs": "auto", "seed": "0"}
#: Words that leave a field to `RunConfig` (epochs: as many as keep the number of steps).
AUTO = ("", "auto")


def bound(field: str) -> Bound:
    return FORM_BOUNDS.get(field, BOUNDS[field])


def describe(field: str) -> str:
    """'a number from 0 to 100', 'a whole number from 1 to 1,000': a range in plain words."""
    limits = bound(field)
    if limits.integer:
        text = f"a whole number from {int(limits.low):,} to {int(limits.high):,}"
        return text + ", or auto" if field == "epochs" else text
    low = f"above {limits.low:g}" if limits.low_open else f"from {limits.low:g}"
    return f"a number {low} to {limits.high:g}"


def _hint(field: str, number: float) -> str:
    limits = bound(field)
    if math.isnan(number):
        return " NaN is not a value anything can be trained with."
    if math.isinf(number):
        return " Infinity is not a value anything can be trained with."
    if field == "dropout" and not limits.contains(number):
        return " p is a probability, so it lies between 0 and 1."
    if number < limits.low:
        if field == "n_train" and number > 0:
            return f" Fewer than {limits.low:,.0f} points leave too little to learn a curve from."
        return (
            " It cannot be negative."
            if limits.low == 0
            else f" It must be at least {limits.low:g}."
        )
    if number > limits.high:
        if field == "l2":
            return (
                f" Above {limits.high:g} the network is long flat; larger values teach nothing new."
            )
        if field == "epochs":
            return f" More than {limits.high:,.0f} epochs would take too long on this server."
        if field == "n_train":
            return f" The training split holds {N_TRAIN:,} points."
    if limits.integer and not float(number).is_integer():
        return " It must be a whole number."
    return ""


def read_field(name: str, text: str) -> tuple[float | int | None, str | None]:
    """(value, None) when `text` is valid for form field `name`, else (None, message).

    Epochs may be left at "auto" (or empty): the value is then None, which
    `RunConfig` turns into as many epochs as keep the number of optimiser steps.
    """
    field, reader = FIELDS[name]
    text = str(text).strip()
    if field == "epochs" and text.lower() in AUTO:
        return None, None
    try:
        number = float(text)
    except ValueError:
        shown = text if len(text) <= 30 else text[:30] + "…"
        return None, f"{reader}: “{shown}” is not a number; type {describe(field)}."
    try:
        value = check_setting(field, number)
        if not bound(field).contains(value):
            raise ValueError(field)
    except ValueError:
        return None, f"{reader} must be {describe(field)}; you typed {text}.{_hint(field, number)}"
    return value, None


def read_form(texts: Mapping[str, str]) -> tuple[RunConfig | None, list[str]]:
    """A config from the form's text fields, or None and one message per bad field.

    A field missing from `texts` counts as its default (all 8,000 points, auto epochs).
    """
    values, errors = {}, []
    for name, (field, _) in FIELDS.items():
        value, error = read_field(name, texts.get(name, DEFAULTS[name]))
        if error:
            errors.append(error)
        else:
            values[field] = value
    if errors:
        return None, errors
    try:
        return RunConfig(**values), []
    except ValueError as error:
        return None, [str(error)]


def schedule(config: RunConfig) -> str:
    """How long the run trains, in words: small n trains for more epochs, the same steps."""
    per_epoch = -(-config.n_train // config.batch_size)
    steps = config.epochs * per_epoch
    text = (
        f"{config.epochs:,} epochs of {per_epoch:,} step{'s' if per_epoch > 1 else ''}, "
        f"{steps:,} optimiser steps in all"
    )
    if config.epochs == matched_epochs(config.n_train) and config.n_train < N_TRAIN:
        text += (
            f": fewer points train for more epochs, so that the run takes as many steps as "
            f"one on all {N_TRAIN:,} points ({DEFAULT_STEPS:,})"
        )
    return text
