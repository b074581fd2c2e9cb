"""Settings a reader can look at: a stored setting of some sweep (all its seeds), or a custom run.

Pure Python over `regviz.registry`, so the page's pickers, the comparison tokens in
the URL and the tables all name settings the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from regviz.config import SEEDS, RunConfig
from regviz.registry import SWEEPS
from regviz.urlstate import CUSTOM, split_setting
from regviz.views import RunView


@dataclass(frozen=True)
class Setting:
    """One thing a reader can look at: a canonical setting (all its seeds) or a custom run."""

    token: str
    label: str
    config: RunConfig


def canonical(kind: str, value: float) -> Setting:
    """The stored setting `value` of sweep `kind` (a key of `regviz.registry.SWEEPS`)."""
    sweep = SWEEPS[kind]
    label = sweep.label(value)
    if sweep.base != RunConfig():
        label = f"{label} ({_base_words(sweep.base)})"
    return Setting(sweep.token(value), label, sweep.config(value))


def _base_words(base: RunConfig) -> str:
    words = []
    if base.optimizer != "adam":
        words.append(base.optimizer.upper())
    if base.l2_biases:
        words.append("biases penalised")
    if base.n_train != RunConfig().n_train:
        words.append(f"n = {base.n_train:,}")
    return ", ".join(words) or "variant"


def describe_config(config: RunConfig) -> str:
    """'λ = 0.003, p = 0.1, seed 0, 100 epochs': the settings that differ from none."""
    default = RunConfig()
    parts = [
        f"{sweep.symbol} = {getattr(config, sweep.field):g}"
        for sweep in SWEEPS.values()
        if sweep.base == default and getattr(config, sweep.field)
    ]
    if config.l2_biases:
        parts.append("biases penalised")
    if config.optimizer != default.optimizer:
        parts.append(f"{config.optimizer.upper()} (lr {config.lr:g}, momentum {config.momentum:g})")
    if config.n_train != default.n_train:
        parts.append(f"n = {config.n_train:,}")
    parts = parts or ["no regularisation"]
    return ", ".join([*parts, f"seed {config.seed}", f"{config.epochs:,} epochs"])


def sweep(kind: str) -> list[Setting]:
    return [canonical(kind, value) for value in SWEEPS[kind].values]


def comparable_settings() -> list[Setting]:
    """Every stored full-data setting once (the baseline under λ = 0), in page order."""
    seen: dict[RunConfig, Setting] = {}
    for kind in SWEEPS:
        for setting in sweep(kind):
            seen.setdefault(setting.config, setting)
    return list(seen.values())


def normalise_token(token: str) -> str:
    """A baseline reached through another sweep ('p:0', 'l1:0') is listed once, as 'l2:0'."""
    if token == CUSTOM:
        return token
    kind, value = split_setting(token)
    if SWEEPS[kind].config(value) == RunConfig():
        return SWEEPS["l2"].token(0.0)
    return token


def setting_from_token(token: str) -> Setting:
    kind, value = split_setting(normalise_token(token))
    return canonical(kind, value)


#: How far apart two settings look along each field: log10 for strengths (offset so
#: that 0 is a finite point below the smallest canonical value), linear for p.
_NEAR_OFFSET = {"l2": 1e-6, "l1": 1e-6, "weight_decay": 1e-3}


def _coordinates(config: RunConfig) -> np.ndarray:
    logs = [math.log10(getattr(config, f) + offset) for f, offset in _NEAR_OFFSET.items()]
    return np.array([*logs, 10 * config.dropout])


def nearest_setting(config: RunConfig) -> Setting:
    """The stored Adam setting closest to `config` (a decade of strength ~ 0.1 of p)."""
    target = _coordinates(config)
    candidates = [
        s for s in comparable_settings() if s.config.optimizer == "adam" and not s.config.l2_biases
    ]
    return min(candidates, key=lambda s: float(np.abs(_coordinates(s.config) - target).sum()))


def seed_views(runs: Mapping[str, RunView], config: RunConfig) -> list[RunView]:
    """The stored runs of a setting, one per seed that is present, in seed order."""
    found = (runs.get(config.with_seed(seed).run_id) for seed in SEEDS)
    return [view for view in found if view is not None]
