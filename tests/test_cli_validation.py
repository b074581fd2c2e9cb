"""`python -m regviz train` refuses bad settings with one readable line, never a traceback.

Each case runs the real command in a subprocess. Every other setting is valid and
`--epochs 1`, so if a guard were removed the command would train one quick epoch
and exit 0, and the test would fail fast instead of hanging.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regviz.config import BOUNDS

ROOT = Path(__file__).resolve().parent.parent


CASES = [
    ("l2", ["--l2", "-1"]),
    ("l2", ["--l2", "inf"]),
    ("l2", ["--l2", "1e9"]),
    ("l2", ["--l2=-nan"]),  # "--l2 -nan" would be read as an option; argparse's own rule
    ("dropout", ["--dropout", "nan"]),
    ("dropout", ["--dropout", "1.5"]),
    ("dropout", ["--dropout", "-0.2"]),
    ("epochs", ["--epochs", "0"]),
    ("epochs", ["--epochs", "1000000"]),
    ("epochs", ["--epochs", "2.5"]),
    ("lr", ["--lr", "abc"]),
    ("lr", ["--lr", "0"]),
    ("batch_size", ["--batch-size", "0"]),
    ("batch_size", ["--batch-size", "1e9"]),
    ("seed", ["--seed", "-3"]),
    ("seed", ["--seed", "one"]),
    ("l1", ["--l1", "-0.5"]),
    ("weight_decay", ["--weight-decay=-inf"]),
]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[" ".join(a) for _, a in CASES])
def test_a_bad_setting_exits_with_its_name_and_range(name: str, args: list[str], cli) -> None:
    base = {"--epochs": "1", "--device": "cpu"}
    for flag in args:
        base.pop(flag.split("=")[0], None)
    extra = [item for pair in base.items() for item in pair]
    result = cli("train", *args, *extra)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert name in result.stderr
    assert BOUNDS[name].describe() in result.stderr
    assert "training" not in result.stdout  # it never started


def test_an_unknown_option_is_refused_without_training(cli) -> None:
    result = cli("train", "--epochs", "1", "--momentum", "0.9")
    assert result.returncode == 2
    assert "--momentum" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_decay_that_wipes_the_weights_is_refused_with_the_rule(cli) -> None:
    result = cli("train", "--epochs", "1", "--lr", "0.5", "--weight-decay", "2")
    assert result.returncode == 2
    assert "weight_decay × lr must be below 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_device_is_refused_without_a_traceback(cli) -> None:
    result = cli("train", "--epochs", "1", "--device", "tpu")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "tpu" in result.stderr
