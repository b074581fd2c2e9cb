"""The 1-64-64-64-1 network, its default initialisation and the dead-at-birth policy."""

import numpy as np
import pytest
import torch
from torch import nn

from regviz.model import (
    N_PARAMETERS,
    PARAMETER_LAYOUT,
    _architecture,
    build_mlp,
    is_alive,
    layer_of_parameter,
    vector_to_model,
    weight_mask,
)


def test_network_has_8513_parameters_in_the_documented_layout():
    model = build_mlp(0.0, seed=0)
    assert sum(p.numel() for p in model.parameters()) == N_PARAMETERS == 8513
    assert [(name, tuple(p.shape)) for name, p in model.named_parameters()] == list(
        PARAMETER_LAYOUT
    )
    assert weight_mask().sum() == 64 + 64 * 64 * 2 + 64
    assert np.bincount(layer_of_parameter())[1:].tolist() == [128, 4160, 4160, 65]


def test_activations_and_dropout_sit_where_the_article_puts_them():
    model = build_mlp(0.3, seed=0)
    kinds = [type(layer) for layer in model]
    assert kinds == [nn.Linear, nn.LeakyReLU, nn.Dropout] * 3 + [nn.Linear, nn.ReLU]
    assert all(layer.p == 0.3 for layer in model if isinstance(layer, nn.Dropout))


def test_initialisation_is_pytorchs_default_uniform_within_one_over_sqrt_fan_in():
    model = build_mlp(0.0, seed=1)
    for layer in model:
        if isinstance(layer, nn.Linear):
            bound = 1 / np.sqrt(layer.in_features)
            assert layer.weight.abs().max() <= bound
            assert layer.bias.abs().max() <= bound


def test_same_seed_same_network_and_the_global_rng_is_left_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = nn.utils.parameters_to_vector(build_mlp(0.0, seed=5).parameters())
    assert torch.rand(1) == expected_next
    second = nn.utils.parameters_to_vector(build_mlp(0.5, seed=5).parameters())
    assert torch.equal(first, second)


def test_plain_default_init_can_be_dead_but_seeded_builds_are_always_alive():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)  # the trap recorded in FINDINGS.md
        dead = _architecture(0.0)
    assert not is_alive(dead)
    assert build_mlp(0.0, seed=2).initial_draws > 1
    for seed in range(40):
        assert is_alive(build_mlp(0.0, seed=seed))


def test_dropout_one_silences_every_hidden_unit_in_training_mode():
    model = build_mlp(1.0, seed=0).train()
    hidden = model[:-2](torch.linspace(0, 20, 50).unsqueeze(1))
    assert torch.count_nonzero(hidden) == 0


def test_vector_to_model_round_trips_parameters_and_rejects_wrong_sizes():
    vector = np.arange(N_PARAMETERS, dtype=np.float32) / N_PARAMETERS
    model = vector_to_model(vector, dropout=0.2)
    assert not model.training
    np.testing.assert_array_equal(
        nn.utils.parameters_to_vector(model.parameters()).detach().numpy(), vector
    )
    with pytest.raises(ValueError, match="8513"):
        vector_to_model(vector[:-1])


def test_build_mlp_rejects_a_dropout_outside_zero_one():
    with pytest.raises(ValueError, match="dropout"):
        build_mlp(1.5)
