"""A shared link can hold anything; `parse_query` must turn it into a usable page state.

Properties pinned here: whatever the mapping holds (unicode, huge values, lists,
unknown names), parsing never raises, the state only holds values the page can
draw, exactly one warning is given per ignored parameter (and none for good ones),
warnings stay short however long the input, and every canonical state survives a
trip through the URL unchanged. The oracle below is written independently of
`regviz.urlstate`, from the registry and the stored epochs.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regviz.registry import SMALL_DATA_N, SWEEPS, url_sweeps
from regviz.urlstate import (
    CUSTOM,
    DENSITY_AXES,
    DENSITY_GROUPS,
    DENSITY_SCALES,
    PARAMS,
    PageState,
    epoch_key,
    format_setting,
    parse_query,
    parse_setting,
    to_query,
)
from regviz.views import SNAPSHOT_EPOCHS

KNOWN = tuple(PARAMS)
FOCUS = tuple(url_sweeps())
EPOCHS = tuple(epoch_key(k) for k in FOCUS)
CHOICES = {
    "kde": (*DENSITY_SCALES, "clip"),
    "theta": DENSITY_AXES,
    "params": DENSITY_GROUPS,
    "nreg": ("l2", "p"),
}
PROPERTY = settings(max_examples=80, deadline=None)
#: Longest warning we accept: the page shows warnings, and a 1 MB parameter must not
#: become a 1 MB message.
MAX_WARNING = 400


# --- an independent oracle for "would the page use this value?" -------------------------


def number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def is_canonical_number(kind: str, text: str) -> bool:
    value = number(text)
    return value is not None and any(
        math.isclose(value, c, rel_tol=1e-9) for c in SWEEPS[kind].values
    )


def is_setting(text: str) -> bool:
    text = text.strip()
    kind, sep, value = text.partition(":")
    return text == CUSTOM or (sep == ":" and kind in SWEEPS and is_canonical_number(kind, value))


def accepted(name: str, text: str) -> bool:
    if name in FOCUS:
        return is_canonical_number(url_sweeps()[name].key, text)
    if name in EPOCHS:
        return number(text) in SNAPSHOT_EPOCHS
    if name in ("a", "b"):
        return is_setting(text)
    if name in CHOICES:
        return text.strip() in CHOICES[name]
    if name == "n":
        return number(text) in SMALL_DATA_N
    if name == "nfocus":
        return text.strip() == "best" or any(is_canonical_number(k, text) for k in ("l2", "p"))
    return False


def last(value: str | list[str]) -> str:
    if isinstance(value, str):
        return value
    return value[-1] if value else ""


# --- strategies -------------------------------------------------------------------------

SPELLINGS = (
    lambda v: f"{v:g}",
    repr,
    lambda v: f"{v:.6e}",
    lambda v: f"  {v:g} ",
    lambda v: f"{v:G}",
)


@st.composite
def canonical_text(draw: st.DrawFn, kind: str) -> str:
    value = draw(st.sampled_from(SWEEPS[kind].values))
    return draw(st.sampled_from(SPELLINGS))(value)


@st.composite
def setting_text(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return CUSTOM
    kind = draw(st.sampled_from(tuple(SWEEPS)))
    return f"{kind}:{draw(canonical_text(kind)).strip()}"


GARBLED = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.floats().map(repr),
    st.integers().map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0x10", "", " ", "l2:", ":", "l2:nan"]),
    st.sampled_from([f"{k}:{v}" for k in SWEEPS for v in ("0.5", "7", "-1", "1e-3", "x")]),
    st.just("9" * 5000),
    st.just("\x00\u202e\ufeff<script>alert(1)</script>"),
)


@st.composite
def parameter_value(draw: st.DrawFn, name: str) -> str:
    if draw(st.booleans()):
        if name in FOCUS:
            return draw(canonical_text(url_sweeps()[name].key))
        if name in EPOCHS:
            return str(draw(st.sampled_from(SNAPSHOT_EPOCHS)))
        if name in ("a", "b"):
            return draw(setting_text())
        if name in CHOICES:
            return draw(st.sampled_from(CHOICES[name]))
        if name == "n":
            return str(draw(st.sampled_from(SMALL_DATA_N)))
    return draw(GARBLED)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str | list[str]]:
    names = draw(st.lists(st.sampled_from(KNOWN) | st.text(max_size=12), max_size=10, unique=True))
    query: dict[str, str | list[str]] = {}
    for name in names:
        if draw(st.booleans()):
            query[name] = draw(parameter_value(name))
        else:  # a repeated parameter: ?l2=1&l2=0.01 arrives as a list; the last one counts
            query[name] = draw(st.lists(parameter_value(name), max_size=3))
    return query


# --- properties -------------------------------------------------------------------------


def assert_drawable(state: PageState) -> None:
    """Every parameter holds a value the page has a stored run or a control for."""
    assert isinstance(state, PageState)
    assert set(state) == set(KNOWN)
    for key, sweep in url_sweeps().items():
        assert state[key] in sweep.values
        assert state[epoch_key(key)] in SNAPSHOT_EPOCHS
    for token in (state.a, state.b):
        assert parse_setting(token) == token
    for name, options in CHOICES.items():
        assert state[name] in options and state[name] != "clip"
    assert state.n in SMALL_DATA_N


@PROPERTY
@given(query=queries())
def test_any_query_gives_a_drawable_state_and_one_warning_per_ignored_parameter(
    query: dict[str, str | list[str]],
) -> None:
    state, warnings = parse_query(query)
    assert_drawable(state)
    ignored = [name for name, raw in query.items() if not accepted(name, last(raw))]
    assert len(warnings) == len(ignored)
    assert all(isinstance(w, str) and 0 < len(w) <= MAX_WARNING for w in warnings)


@PROPERTY
@given(query=queries())
def test_good_parameters_are_taken_and_bad_ones_fall_back_to_the_default(
    query: dict[str, str | list[str]],
) -> None:
    state, _ = parse_query(query)
    defaults = PageState()
    for name in KNOWN:
        raw = query.get(name)
        if raw is None or not accepted(name, last(raw)):
            assert state[name] == defaults[name]
        elif name in FOCUS or name in EPOCHS or name == "n":
            assert math.isclose(float(state[name]), float(last(raw)), rel_tol=1e-6)
        elif name in ("a", "b"):
            assert state[name] == parse_setting(last(raw))
        elif name == "kde" and last(raw).strip() == "clip":
            assert state[name] == "linear"  # old links: clipping is gone
        elif name in CHOICES:
            assert state[name] == last(raw).strip()


@PROPERTY
@given(name=st.text(min_size=1, max_size=100_000).filter(lambda n: n not in KNOWN))
def test_an_unknown_parameter_is_named_in_its_warning(name: str) -> None:
    state, warnings = parse_query({name: "1"})
    assert state == PageState()
    assert len(warnings) == 1
    assert "Unknown URL parameter" in warnings[0]
    assert repr(name[:40])[1:-1][:10] in warnings[0]
    assert len(warnings[0]) <= MAX_WARNING


@PROPERTY
@given(name=st.sampled_from(KNOWN), text=GARBLED)
def test_a_bad_value_is_named_with_its_parameter_and_what_is_allowed(name: str, text: str) -> None:
    _, warnings = parse_query({name: text})
    if accepted(name, text):
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.startswith(f"{name}=")
    if name in FOCUS and number(text) is not None:
        allowed = ", ".join(f"{v:g}" for v in url_sweeps()[name].values)
        assert allowed in warning
    if name in CHOICES and name != "kde":
        assert ", ".join(CHOICES[name]) in warning
    assert "Showing the default" in warning


@pytest.mark.parametrize(("name", "text"), [("a", "nonsense"), ("b", "l2:5")])
def test_a_bad_comparison_value_is_named_with_its_parameter(name: str, text: str) -> None:
    """?b=l2:5 must name b, not l2: the warning points at the knob the reader turned."""
    _, warnings = parse_query({name: text})
    (warning,) = warnings
    assert warning.startswith(f"{name}=")


@st.composite
def canonical_states(draw: st.DrawFn) -> PageState:
    values: dict[str, object] = {}
    for key, sweep in url_sweeps().items():
        values[key] = draw(st.sampled_from(sweep.values))
        values[epoch_key(key)] = draw(st.sampled_from(SNAPSHOT_EPOCHS))
    tokens = st.sampled_from(
        [CUSTOM] + [format_setting(kind, v) for kind in SWEEPS for v in SWEEPS[kind].values]
    )
    values |= {"a": draw(tokens), "b": draw(tokens), "n": draw(st.sampled_from(SMALL_DATA_N))}
    values |= {
        name: draw(st.sampled_from(options[:3]))
        for name, options in CHOICES.items()
        if name != "kde"
    }
    values["kde"] = draw(st.sampled_from(DENSITY_SCALES))
    return PageState(values)


@PROPERTY
@given(state=canonical_states())
def test_every_canonical_state_survives_the_url(state: PageState) -> None:
    query = to_query(state)
    assert all(isinstance(v, str) for v in query.values())
    assert parse_query(query) == (state, [])


def test_an_empty_query_is_the_default_view_without_warnings() -> None:
    assert parse_query({}) == (PageState(), [])


def test_the_default_state_is_itself_drawable() -> None:
    assert_drawable(PageState())


def test_every_sweep_with_a_url_key_gets_a_focus_and_an_epoch_parameter() -> None:
    """Adding a sweep to the registry is enough for it to live in the URL."""
    for key in url_sweeps():
        assert key in PARAMS and epoch_key(key) in PARAMS
