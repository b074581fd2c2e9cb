"""The page's state in the URL, so any view is a link.

Every URL parameter is one `Param` (its name, default, parser and writer); the
sweep pickers and their epoch controls come from `regviz.registry`, so a new
sweep with a `url_key` gets its parameters without an edit here. `parse_query`
never raises: whatever a link holds, it returns a usable state and one warning
per parameter it had to ignore, naming the parameter and what is allowed.
`to_query` writes the state back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from regviz.registry import SMALL_DATA_N, SWEEPS, url_sweeps
from regviz.views import SNAPSHOT_EPOCHS

CUSTOM = "custom"
#: Density views: which parameters, along which axis, on which y scale.
DENSITY_GROUPS = ("weights", "biases")
DENSITY_AXES = ("value", "log10")
DENSITY_SCALES = ("linear", "log")
#: Old links said kde=clip; clipping is gone, the linear axis shows every peak.
_LEGACY_SCALES = {"clip": "linear"}
SMALL_DATA_KINDS = ("l2", "p")
BEST = "best"
_MAX_SHOWN = 40


def _shown(text: str) -> str:
    text = str(text)
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def canonical_match(kind: str, value: float) -> float | None:
    """The canonical value of sweep `kind` equal to `value` (to rounding), if any."""
    for candidate in SWEEPS[kind].values:
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


def parse_focus(kind: str, text: str, name: str | None = None) -> float:
    """One canonical value of a sweep, or a ValueError naming the allowed values."""
    sweep = SWEEPS[kind]
    name = name or kind
    allowed = ", ".join(f"{v:g}" for v in sweep.values)
    match = canonical_match(kind, parse_number(name, text))
    if match is None:
        raise ValueError(
            f"{name}={_shown(text)} is not a canonical {sweep.symbol}; allowed: {allowed}"
        )
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


def _choice(name: str, options: Sequence[str], aliases: Mapping[str, str] | None = None):
    def parse(text: str) -> str:
        text = str(text).strip()
        text = (aliases or {}).get(text, text)
        if text not in options:
            raise ValueError(f"{name}={_shown(text)} must be one of {', '.join(options)}")
        return text

    return parse


def _epoch(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_number(name, text)
        if value not in SNAPSHOT_EPOCHS:
            allowed = ", ".join(str(e) for e in SNAPSHOT_EPOCHS)
            raise ValueError(f"{name}={_shown(text)} is not a stored epoch; allowed: {allowed}")
        return int(value)

    return parse


def _n(text: str) -> int:
    value = parse_number("n", text)
    if value not in SMALL_DATA_N:
        allowed = ", ".join(str(n) for n in SMALL_DATA_N)
        raise ValueError(f"n={_shown(text)} is not a stored training-set size; allowed: {allowed}")
    return int(value)


def _pair_side(name: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            return parse_setting(text)
        except ValueError as error:
            raise ValueError(f"{name}={_shown(text)}: {error}") from None

    return parse


def _small_focus(text: str) -> str:
    text = str(text).strip()
    if text == BEST:
        return BEST
    value = parse_number("nfocus", text)
    if not any(canonical_match(kind, value) is not None for kind in SMALL_DATA_KINDS):
        raise ValueError(f"nfocus={_shown(text)} must be 'best' or a canonical λ or p")
    return f"{value:g}"


@dataclass(frozen=True)
class Param:
    """One URL parameter: its default, how its text is read, and how it is written."""

    name: str
    default: object
    parse: Callable[[str], object]

    def write(self, value: object) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)


def epoch_key(url_key: str) -> str:
    """The URL parameter of a sweep's epoch control: 'l2e' for the λ sweep."""
    return f"{url_key}e"


def _params() -> dict[str, Param]:
    params: list[Param] = []
    for url_key, sweep in url_sweeps().items():
        params.append(
            Param(url_key, sweep.default, lambda t, k=sweep.key, n=url_key: parse_focus(k, t, n))
        )
        params.append(Param(epoch_key(url_key), SNAPSHOT_EPOCHS[-1], _epoch(epoch_key(url_key))))
    params += [
        Param("a", "l2:0.01", _pair_side("a")),
        Param("b", "p:0.3", _pair_side("b")),
        Param("kde", DENSITY_SCALES[0], _choice("kde", DENSITY_SCALES, _LEGACY_SCALES)),
        Param("theta", DENSITY_AXES[0], _choice("theta", DENSITY_AXES)),
        Param("params", DENSITY_GROUPS[0], _choice("params", DENSITY_GROUPS)),
        Param("n", 300, _n),
        Param("nreg", SMALL_DATA_KINDS[0], _choice("nreg", SMALL_DATA_KINDS)),
        Param("nfocus", BEST, _small_focus),
    ]
    return {param.name: param for param in params}


#: Every URL parameter the page understands, by name.
PARAMS: dict[str, Param] = _params()


class PageState(Mapping[str, object]):
    """What the reader is looking at; read a value as `state["l2"]` or `state.l2`."""

    def __init__(self, values: Mapping[str, object] | None = None):
        merged = {name: param.default for name, param in PARAMS.items()}
        unknown = set(values or {}) - set(merged)
        if unknown:
            raise KeyError(f"not page-state parameters: {', '.join(sorted(unknown))}")
        merged.update(values or {})
        self._values = merged

    def __getitem__(self, name: str) -> object:
        return self._values[name]

    def __getattr__(self, name: str) -> object:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PageState) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items(), key=lambda item: item[0])))

    def replace(self, **changes: object) -> PageState:
        return PageState({**self._values, **changes})


def _single(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else ""


def parse_query(query: Mapping[str, str | Sequence[str]]) -> tuple[PageState, list[str]]:
    """A state from URL parameters plus a warning for each one that was ignored."""
    changes: dict[str, object] = {}
    warnings: list[str] = []
    for name, raw in query.items():
        param = PARAMS.get(name)
        if param is None:
            warnings.append(f"Unknown URL parameter {_shown(name)} was ignored.")
            continue
        try:
            changes[name] = param.parse(_single(raw))
        except ValueError as error:
            warnings.append(f"{error}. Showing the default ({param.write(param.default)}).")
    return PageState(changes), warnings


def to_query(state: PageState) -> dict[str, str]:
    """URL parameters for a state (numbers written with %g, as they are parsed)."""
    return {name: PARAMS[name].write(value) for name, value in state.items()}
