"""A shared link can hold anything; `parse_query` must turn it into a usable page state.

Properties pinned here: whatever the mapping holds (unicode, huge values, lists,
unknown names), parsing never raises, the state only holds values the page can
draw, exactly one warning is given per ignored parameter (and none for good ones),
warnings stay short however long the input, and every canonical state survives a
trip through the URL unchanged.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regviz.urlstate import (
    CUSTOM,
    KDE_SCALES,
    SWEEPS,
    PageState,
    format_setting,
    parse_query,
    parse_setting,
    to_query,
)

KNOWN = ("l2", "p", "l1", "wd", "a", "b", "kde")
PROPERTY = settings(max_examples=80, deadline=None)
#: Longest warning we accept: the page shows warnings, and a 1 MB parameter must not
#: become a 1 MB message.
MAX_WARNING = 400


# --- an independent oracle for "would the page use this value?" -------------------------


def is_canonical_number(kind: str, text: str) -> bool:
    try:
        value = float(text.strip())
    except ValueError:
        return False
    return math.isfinite(value) and any(
        math.isclose(value, c, rel_tol=1e-9) for c in SWEEPS[kind][0]
    )


def is_setting(text: str) -> bool:
    text = text.strip()
    kind, sep, number = text.partition(":")
    return text == CUSTOM or (sep == ":" and kind in SWEEPS and is_canonical_number(kind, number))


def accepted(name: str, text: str) -> bool:
    if name in SWEEPS:
        return is_canonical_number(name, text)
    if name in ("a", "b"):
        return is_setting(text)
    if name == "kde":
        return text in KDE_SCALES
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
    value = draw(st.sampled_from(SWEEPS[kind][0]))
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
    if name in SWEEPS and draw(st.booleans()):
        return draw(canonical_text(name))
    if name in ("a", "b") and draw(st.booleans()):
        return draw(setting_text())
    if name == "kde" and draw(st.booleans()):
        return draw(st.sampled_from(KDE_SCALES))
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
    """Every field holds a value the page has a checkpoint or a control for."""
    assert isinstance(state, PageState)
    for kind in SWEEPS:
        assert getattr(state, kind) in SWEEPS[kind][0]
    for token in (state.a, state.b):
        assert parse_setting(token) == token
    assert state.kde in KDE_SCALES


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
            assert getattr(state, name) == getattr(defaults, name)
        elif name in SWEEPS:
            assert math.isclose(getattr(state, name), float(last(raw)), rel_tol=1e-6)
        elif name in ("a", "b"):
            assert getattr(state, name) == parse_setting(last(raw))
        else:
            assert state.kde == last(raw)


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
@given(name=st.sampled_from(("l2", "p", "l1", "wd", "kde")), text=GARBLED)
def test_a_bad_value_is_named_with_its_parameter_and_what_is_allowed(name: str, text: str) -> None:
    _, warnings = parse_query({name: text})
    if accepted(name, text):
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.startswith(f"{name}=")
    if name in SWEEPS and is_number(text):
        allowed = ", ".join(f"{v:g}" for v in SWEEPS[name][0])
        assert allowed in warning
    if name == "kde":
        assert ", ".join(KDE_SCALES) in warning
    assert "Showing the default" in warning


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.strip()))
    except ValueError:
        return False


@pytest.mark.parametrize(("name", "text"), [("a", "nonsense"), ("b", "l2:5")])
def test_a_bad_comparison_value_is_named_with_its_parameter(name: str, text: str) -> None:
    """?b=l2:5 currently warns "l2='5' is not a canonical λ", which points at the wrong knob."""
    _, warnings = parse_query({name: text})
    (warning,) = warnings
    assert warning.startswith(f"{name}=")


@st.composite
def canonical_states(draw: st.DrawFn) -> PageState:
    values = {kind: draw(st.sampled_from(SWEEPS[kind][0])) for kind in SWEEPS}
    tokens = st.sampled_from(
        [CUSTOM] + [format_setting(kind, v) for kind in SWEEPS for v in SWEEPS[kind][0]]
    )
    return PageState(
        **values, a=draw(tokens), b=draw(tokens), kde=draw(st.sampled_from(KDE_SCALES))
    )


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
