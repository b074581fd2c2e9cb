"""Small helpers that turn numbers into words, so no conclusion word is fixed text."""

from __future__ import annotations

from collections.abc import Sequence


def pct(fraction: float, digits: int = 0) -> str:
    return f"{100 * fraction:.{digits}f} %"


def signed_pct(fraction: float) -> str:
    return f"{100 * fraction:+.0f} %"


def values(items: Sequence[float], symbol: str = "λ") -> str:
    """'λ = 0.1 and 1', 'λ = 1e-05, 0.0001 and 0.001', or 'no λ'."""
    if not items:
        return f"no {symbol}"
    text = [f"{v:g}" for v in items]
    joined = text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]
    return f"{symbol} = {joined}"


def compare(a: float, b: float, more: str, less: str, same: str = "as") -> str:
    """`more` when a > b, `less` when a < b, else `same`: a word the numbers decide."""
    if a > b:
        return more
    if a < b:
        return less
    return same


def split(passed: dict[float, bool], symbol: str) -> str:
    """'at λ = 0.1 and 1, not at λ = 1e-05': which settings passed, from the results."""
    yes = [v for v, ok in passed.items() if ok]
    no = [v for v, ok in passed.items() if not ok]
    if not no:
        return f"at every one ({values(yes, symbol)})"
    if not yes:
        return f"at none ({values(no, symbol)})"
    return f"at {values(yes, symbol)}, not at {values(no, symbol)}"
