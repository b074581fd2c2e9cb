"""The custom-run form: text in, a `RunConfig` or messages that name the field and its range."""

from __future__ import annotations

import pytest

from regviz.config import DEFAULT_STEPS, RunConfig, matched_epochs
from regviz.ui import forms

GOOD = {"l2": "0.003", "p": "0.1", "n": "8000", "epochs": "auto", "seed": "0"}


def test_the_defaults_train_the_stored_schedule_on_all_the_data():
    config, errors = forms.read_form(forms.DEFAULTS)
    assert errors == []
    assert config == RunConfig(l2=0.003)
    assert config.epochs == 100 and config.n_train == 8000


@pytest.mark.parametrize("auto", ["auto", "AUTO", " ", ""])
def test_auto_epochs_keep_the_number_of_optimiser_steps(auto):
    config, errors = forms.read_form({**GOOD, "n": " 300 ", "epochs": auto})
    assert errors == []
    assert config.n_train == 300 and config.epochs == matched_epochs(300) == 2500
    assert "2,500 epochs of 5 steps" in forms.schedule(config)
    assert "fewer points train for more epochs" in forms.schedule(config)
    assert f"{DEFAULT_STEPS:,}" in forms.schedule(config)


def test_typed_epochs_are_kept_and_the_schedule_says_so():
    config, errors = forms.read_form({**GOOD, "n": "1000", "epochs": "3"})
    assert errors == [] and config.epochs == 3
    assert forms.schedule(config) == "3 epochs of 16 steps, 48 optimiser steps in all"


def test_a_form_without_the_n_and_epochs_fields_reads_as_their_defaults():
    config, errors = forms.read_form({"l2": "0", "p": "0", "seed": "1"})
    assert errors == [] and config == RunConfig(seed=1)


@pytest.mark.parametrize(
    ("field", "text", "phrases"),
    [
        ("n", "99", ["a whole number from 100 to 8,000", "too little to learn"]),
        ("n", "16", ["from 100 to 8,000"]),  # RunConfig allows 16; the form does not
        ("n", "8001", ["holds 8,000 points"]),
        ("n", "-5", ["at least 100"]),
        ("n", "300.5", ["whole number"]),
        ("n", "nan", ["NaN"]),
        ("n", "many", ["not a number"]),
        ("epochs", "0", ["or auto", "at least 1"]),
        ("epochs", "lots", ["not a number", "or auto"]),
        ("l2", "-0.1", ["cannot be negative"]),
        ("l2", "inf", ["Infinity"]),
        ("p", "1.5", ["probability"]),
        ("p", "NaN", ["NaN"]),
        ("seed", "2.5", ["whole number"]),
    ],
)
def test_a_bad_field_gets_one_message_naming_it_and_its_range(field, text, phrases):
    config, errors = forms.read_form({**GOOD, field: text})
    assert config is None and len(errors) == 1
    name, reader = forms.FIELDS[field]
    assert errors[0].startswith(reader)
    assert forms.describe(name) in errors[0]
    for phrase in phrases:
        assert phrase in errors[0]


def test_every_bad_field_is_reported_at_once():
    config, errors = forms.read_form({"l2": "x", "p": "2", "n": "5", "epochs": "-1", "seed": "0.5"})
    assert config is None and len(errors) == 5


def test_ranges_read_as_plain_words():
    assert forms.describe("n_train") == "a whole number from 100 to 8,000"
    assert forms.describe("dropout") == "a number from 0 to 1"
    assert forms.describe("epochs").endswith(", or auto")
