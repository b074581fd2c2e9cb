"""One record per sweep: config, URL, settings and pretraining all read `regviz.registry`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from regviz import registry, store
from regviz.config import SEEDS, RunConfig
from regviz.registry import (
    SMALL_DATA,
    SMALL_DATA_N,
    SWEEPS,
    Sweep,
    canonical_configs,
    stored_settings,
    sweep_by_key,
    url_sweeps,
)
from regviz.ui import settings
from regviz.urlstate import PARAMS, epoch_key


def test_every_sweep_setting_is_stored_with_every_seed():
    stored = set(store.read_manifest()["runs"])
    for sweep in registry.all_sweeps():
        for config in sweep.settings():
            for seed in SEEDS:
                assert config.with_seed(seed).run_id in stored, (sweep.key, config.run_id)
    assert len(stored) == len(canonical_configs())


def test_the_baseline_is_stored_once_and_listed_first():
    listed = stored_settings()
    assert listed[0] == RunConfig()
    assert len(listed) == len(set(listed))


def test_a_sweep_names_its_settings_from_its_record():
    sweep = SWEEPS["sgd"]
    config = sweep.config(0.01)
    assert (config.l2, config.optimizer, config.lr) == (0.01, "sgd", registry.SGD_LR)
    assert sweep.label(0.01) == "λ = 0.01" and sweep.token(0.01) == "sgd:0.01"
    assert settings.canonical("sgd", 0.01).config == config


def test_small_data_sweeps_are_nested_in_n_and_share_the_full_data_sweeps_at_8000():
    for kind in ("l2", "p"):
        assert SMALL_DATA[(kind, 8000)] is SWEEPS[kind]
        for n in SMALL_DATA_N:
            sweep = SMALL_DATA[(kind, n)]
            assert {c.n_train for c in sweep.settings()} == {n}
            assert sweep_by_key(sweep.key) is sweep
    with pytest.raises(KeyError, match="no sweep"):
        sweep_by_key("l3")


def test_a_new_sweep_needs_only_its_record(monkeypatch):
    """Adding a record gives it a URL focus and epoch parameter and a place in pretraining."""
    extra = Sweep("l2x", "L2 again", "λ", "l2", (0.0, 0.5), 0.5, RunConfig(lr=2e-3), "l2x")
    monkeypatch.setitem(SWEEPS, "l2x", extra)
    assert "l2x" in url_sweeps()
    assert RunConfig(l2=0.5, lr=2e-3) in stored_settings()
    from regviz import urlstate

    params = urlstate._params()
    assert "l2x" in params and epoch_key("l2x") in params
    assert params["l2x"].default == 0.5
    assert "l2x" not in PARAMS, "the module-level table was built before the patch"
    assert replace(extra, values=(0.0,)).baseline == RunConfig(lr=2e-3)
