"""The page's state in the URL, so any view is a link.

`parse_query` never raises: whatever a link holds, it returns a usable state and
one warning per parameter it had to ignore, naming the parameter and what is
allowed. `to_query` writes the state back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from regviz.config import CANONICAL_DROPOUT, CANONICAL_L1, CANONICAL_L2, CANONICAL_WEIGHT_DECAY

#: Setting kinds as they appear in the URL, their canonical values and their symbol.
SWEEPS: dict[str, tuple[tuple[float, ...], str]] = {
    "l2": (CANONICAL_L2, "λ"),
    "p": (CANONICAL_DROPOUT, "p"),
    "l1": (CANONICAL_L1, "λ₁"),
    "wd": (CANONICAL_WEIGHT_DECAY, "weight decay"),
}
CUSTOM = "custom"
KDE_SCALES = ("clip", "log")
_MAX_SHOWN = 40


@dataclass(frozen=True)
class PageState:
    """What the reader is looking at: one focused value per sweep and a comparison pair."""

    l2: float = 1e-2
    p: float = 0.2
    l1: float = 1e-3
    wd: float = 1.0
    a: str = "l2:0.01"
    b: str = "p:0.3"
    kde: str = "clip"


def _shown(text: str) -> str:
    text = str(text)
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def canonical_match(kind: str, value: float) -> float | None:
    """The canonical value of sweep `kind` equal to `value` (to rounding), if any."""
    for candidate in SWEEPS[kind][0]:
        if math.isclose(candidate, value, rel_tol=1e-9):
            return candidate
    return None


def parse_number(name: str, text: str) -> float:
    """A finite float from URL text, or a ValueError that says what was wrong."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{name}={_shown(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}={_shown(text)} is not a finite number")
    return value


def parse_focus(kind: str, text: str) -> float:
    """One canonical value of a sweep, or a ValueError naming the allowed values."""
    values, symbol = SWEEPS[kind]
    allowed = ", ".join(f"{v:g}" for v in values)
    value = parse_number(kind, text)
    match = canonical_match(kind, value)
    if match is None:
        raise ValueError(f"{kind}={_shown(text)} is not a canonical {symbol}; allowed: {allowed}")
    return match


def parse_setting(text: str) -> str:
    """A comparison token, 'kind:value' with a canonical value, or 'custom'; normalised."""
    text = str(text).strip()
    if text == CUSTOM:
        return CUSTOM
    kind, sep, number = text.partition(":")
    if not sep or kind not in SWEEPS:
        raise ValueError(
            f"{_shown(text)} is not a setting; write kind:value with kind one of "
            f"{', '.join(SWEEPS)} (for example l2:0.01 or p:0.3), or 'custom'"
        )
    return format_setting(kind, parse_focus(kind, number))


def format_setting(kind: str, value: float) -> str:
    return f"{kind}:{value:g}"


def split_setting(token: str) -> tuple[str, float]:
    kind, _, number = token.partition(":")
    return kind, float(number)


def _single(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else ""


def parse_query(query: Mapping[str, str | Sequence[str]]) -> tuple[PageState, list[str]]:
    """A state from URL parameters plus a warning for each one that was ignored."""
    defaults = PageState()
    changes: dict[str, object] = {}
    warnings: list[str] = []
    known = {field.name for field in fields(PageState)}
    for name, raw in query.items():
        if name not in known:
            warnings.append(f"Unknown URL parameter {_shown(name)} was ignored.")
            continue
        text = _single(raw)
        default = getattr(defaults, name)
        try:
            if name in SWEEPS:
                changes[name] = parse_focus(name, text)
            elif name in ("a", "b"):
                try:
                    changes[name] = parse_setting(text)
                except ValueError as error:
                    raise ValueError(f"{name}={_shown(text)}: {error}") from None
            elif text.strip() in KDE_SCALES:
                changes[name] = text.strip()
            else:
                raise ValueError(f"kde={_shown(text)} must be one of {', '.join(KDE_SCALES)}")
        except ValueError as error:
            shown_default = f"{default:g}" if isinstance(default, float) else default
            warnings.append(f"{error}. Showing the default ({shown_default}).")
    return replace(defaults, **changes), warnings


def to_query(state: PageState) -> dict[str, str]:
    """URL parameters for a state (numbers written with %g, as they are parsed)."""
    out = {}
    for field in fields(PageState):
        value = getattr(state, field.name)
        out[field.name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out
