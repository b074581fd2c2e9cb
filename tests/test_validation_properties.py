"""Bad settings never become a run: `check_setting` and `RunConfig` accept exactly `BOUNDS`.

Every entry point (page, URL, command line, notebook) ends in these validators, so
the properties here are what stop a negative λ, a NaN, p = 1.5, a bool or an absurd
epoch count from reaching training, and what makes each refusal name the setting
and its allowed range.
"""

from __future__ import annotations

import math
from dataclasses import fields
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regviz.config import BOUNDS, CHOICES, RunConfig, check_setting

ALL_FIELDS = tuple(field.name for field in fields(RunConfig))
FIELDS = tuple(name for name in ALL_FIELDS if name in BOUNDS)
FLOAT_FIELDS = tuple(name for name in FIELDS if not BOUNDS[name].integer)
INT_FIELDS = tuple(name for name in FIELDS if BOUNDS[name].integer)
PROPERTY = settings(max_examples=60, deadline=None)


def assert_names_setting(error: pytest.ExceptionInfo[ValueError], name: str) -> None:
    """The message must name the field and spell out its allowed range."""
    message = str(error.value)
    assert name in message
    assert BOUNDS[name].describe() in message


def inside(name: str) -> st.SearchStrategy:
    bound = BOUNDS[name]
    if bound.integer:
        return st.integers(int(bound.low), int(bound.high))
    return st.floats(
        bound.low,
        bound.high,
        exclude_min=bound.low_open,
        exclude_max=bound.high_open,
        allow_nan=False,
    )


def outside(name: str) -> st.SearchStrategy:
    """Finite numbers of the right kind that lie beyond either end of the range."""
    bound = BOUNDS[name]
    if bound.integer:
        return st.integers(max_value=int(bound.low) - 1) | st.integers(
            min_value=int(bound.high) + 1
        )
    below = st.floats(max_value=bound.low, exclude_max=not bound.low_open, allow_infinity=False)
    above = st.floats(min_value=bound.high, exclude_min=not bound.high_open, allow_infinity=False)
    return below | above


NOT_NUMBERS = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.lists(st.floats(0, 1), max_size=3),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
    st.just(np.bool_(True)),
    st.just({"value": 0.1}),
)


@PROPERTY
@given(data=st.data())
def test_every_value_inside_the_range_is_accepted_unchanged(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(FIELDS))
    value = data.draw(inside(name))
    checked = check_setting(name, value)
    assert checked == value
    assert type(checked) is (int if BOUNDS[name].integer else float)


@PROPERTY
@given(data=st.data())
def test_every_finite_value_outside_the_range_is_refused_by_name(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(FIELDS))
    value = data.draw(outside(name))
    with pytest.raises(ValueError) as error:
        check_setting(name, value)
    assert_names_setting(error, name)
    with pytest.raises(ValueError) as error:
        RunConfig(**{name: value})
    assert_names_setting(error, name)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan")])
def test_nan_and_infinity_are_refused_for_every_setting(name: str, value: float) -> None:
    with pytest.raises(ValueError) as error:
        RunConfig(**{name: value})
    assert_names_setting(error, name)


@PROPERTY
@given(name=st.sampled_from(FIELDS), value=NOT_NUMBERS)
def test_values_that_are_not_numbers_are_refused_by_name(name: str, value: object) -> None:
    """Bools are ints to Python (True == 1) but never a meaningful λ, p or epoch count."""
    with pytest.raises(ValueError) as error:
        check_setting(name, value)
    assert_names_setting(error, name)


@PROPERTY
@given(
    name=st.sampled_from(INT_FIELDS),
    value=st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: not v.is_integer()),
)
def test_fractional_counts_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValueError) as error:
        RunConfig(**{name: value})
    assert_names_setting(error, name)


@PROPERTY
@given(data=st.data())
def test_whole_floats_and_numpy_numbers_are_taken_as_their_value(data: st.DataObject) -> None:
    """A slider or a numpy array hands over 50.0 or np.int64(50); those are fine."""
    name = data.draw(st.sampled_from(FIELDS))
    value = data.draw(inside(name))
    if BOUNDS[name].integer:
        for spelling in (float(value), np.int64(value)):
            assert check_setting(name, spelling) == value
    else:
        assert check_setting(name, np.float64(value)) == value
        assert check_setting(name, Fraction(value)) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("epochs", 10**6),
        ("epochs", 0),
        ("batch_size", 0),
        ("batch_size", 10**9),
        ("seed", -1),
        ("seed", 2**63),
        ("lr", 0.0),
        ("lr", 10.0),
        ("l2", -1e-12),
        ("dropout", 1.0000001),
        ("dropout", -0.1),
    ],
)
def test_absurd_values_at_the_edges_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValueError) as error:
        RunConfig(**{name: value})
    assert_names_setting(error, name)


@PROPERTY
@given(
    lr=st.floats(1e-4, 1.0),
    weight_decay=st.floats(0.0, BOUNDS["weight_decay"].high),
)
def test_decoupled_decay_must_not_wipe_the_weights_in_one_step(
    lr: float, weight_decay: float
) -> None:
    """θ ← θ(1 − lr·wd) each step: lr·wd ≥ 1 would zero or flip every weight."""
    if lr * weight_decay < 1.0:
        assert RunConfig(lr=lr, weight_decay=weight_decay).weight_decay == weight_decay
    else:
        with pytest.raises(ValueError, match=r"weight_decay × lr must be below 1"):
            RunConfig(lr=lr, weight_decay=weight_decay)


@PROPERTY
@given(
    unknown=st.text(min_size=1, max_size=30).filter(lambda key: key not in ALL_FIELDS),
    value=st.floats(0.0, 1.0),
)
def test_from_dict_refuses_unknown_settings_by_name(unknown: str, value: float) -> None:
    with pytest.raises(ValueError) as error:
        RunConfig.from_dict({"l2": 0.01, unknown: value})
    message = str(error.value)
    assert unknown in message
    assert "unknown setting" in message
    for known in ALL_FIELDS:
        assert known in message


@PROPERTY
@given(data=st.data())
def test_from_dict_round_trips_every_valid_config(data: st.DataObject) -> None:
    values = {name: data.draw(inside(name)) for name in FIELDS}
    values |= {name: data.draw(st.sampled_from(CHOICES[name].options)) for name in CHOICES}
    if values["lr"] * values["weight_decay"] >= 1.0:
        values["weight_decay"] = 0.0
    if values["optimizer"] != "sgd":
        values["momentum"] = 0.0
    config = RunConfig(**values)
    assert RunConfig.from_dict(config.to_dict()) == config
    assert config.to_dict() == values


def test_a_config_cannot_be_changed_after_validation() -> None:
    """Frozen: a validated config cannot be edited into an invalid one later."""
    config = RunConfig(l2=0.01)
    with pytest.raises(AttributeError):
        config.l2 = -1.0  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_every_option_of_a_choice_is_accepted(name: str) -> None:
    for option in CHOICES[name].options:
        assert check_setting(name, option) == option


@PROPERTY
@given(name=st.sampled_from(sorted(CHOICES)), value=NOT_NUMBERS | st.floats() | st.integers())
def test_anything_else_is_refused_for_a_choice_by_name(name: str, value: object) -> None:
    if any(
        value is option or (isinstance(value, str) and value == option)
        for option in CHOICES[name].options
    ):
        return
    with pytest.raises(ValueError) as error:
        check_setting(name, value)
    assert name in str(error.value) and CHOICES[name].describe() in str(error.value)


def test_momentum_belongs_to_sgd() -> None:
    assert RunConfig(optimizer="sgd", momentum=0.9).momentum == 0.9
    with pytest.raises(ValueError, match="momentum is a setting of SGD"):
        RunConfig(momentum=0.9)


def test_default_epochs_give_every_training_set_size_the_same_number_of_steps() -> None:
    """100 epochs of 125 minibatches on all 8,000 points; more epochs on fewer points."""
    assert RunConfig().epochs == 100
    for n in (100, 300, 1000, 8000):
        config = RunConfig(n_train=n)
        steps = config.epochs * -(-n // config.batch_size)
        assert 12_500 <= steps < 12_500 + -(-n // config.batch_size)
    assert RunConfig(n_train=300, epochs=7).epochs == 7
