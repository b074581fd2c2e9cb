"""The custom-run form's text, turned into a `RunConfig` or into messages a reader can act on.

Pure Python: the page shows the messages, the tests read them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from regviz.config import BOUNDS, RunConfig, check_setting

#: Form field → (RunConfig field, the name a reader knows it by).
FIELDS = {
    "l2": ("l2", "λ (L2 strength)"),
    "p": ("dropout", "p (dropout probability)"),
    "epochs": ("epochs", "epochs"),
    "seed": ("seed", "seed"),
}


def describe(field: str) -> str:
    """'a number from 0 to 100', 'a whole number from 1 to 1,000': a range in plain words."""
    bound = BOUNDS[field]
    if bound.integer:
        return f"a whole number from {int(bound.low):,} to {int(bound.high):,}"
    low = f"above {bound.low:g}" if bound.low_open else f"from {bound.low:g}"
    return f"a number {low} to {bound.high:g}"


def _hint(field: str, number: float) -> str:
    bound = BOUNDS[field]
    if math.isnan(number):
        return " NaN is not a value anything can be trained with."
    if math.isinf(number):
        return " Infinity is not a value anything can be trained with."
    if number < bound.low:
        if field == "dropout":
            return " p is a probability, so it lies between 0 and 1."
        return (
            " It cannot be negative." if bound.low == 0 else f" It must be at least {bound.low:g}."
        )
    if number > bound.high:
        if field == "dropout":
            return " p is a probability, so it lies between 0 and 1."
        if field == "l2":
            return (
                f" Above {bound.high:g} the network is long flat; larger values teach nothing new."
            )
        if field == "epochs":
            return f" More than {bound.high:g} epochs would take too long on this server."
    if bound.integer and not float(number).is_integer():
        return " It must be a whole number."
    return ""


def read_field(name: str, text: str) -> tuple[float | int | None, str | None]:
    """(value, None) when `text` is valid for form field `name`, else (None, message)."""
    field, reader = FIELDS[name]
    text = str(text).strip()
    try:
        number = float(text)
    except ValueError:
        shown = text if len(text) <= 30 else text[:30] + "…"
        return None, f"{reader}: “{shown}” is not a number; type {describe(field)}."
    try:
        return check_setting(field, number), None
    except ValueError:
        return None, f"{reader} must be {describe(field)}; you typed {text}.{_hint(field, number)}"


def read_form(texts: Mapping[str, str]) -> tuple[RunConfig | None, list[str]]:
    """A config from the form's text fields, or None and one message per bad field."""
    values, errors = {}, []
    for name, (field, _) in FIELDS.items():
        value, error = read_field(name, texts.get(name, ""))
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
