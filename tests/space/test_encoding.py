"""Encode/decode round trip for every parameter kind, and Optuna storage keys."""

from __future__ import annotations

import numpy as np
import pytest

from diffuse_dse.engine.records import config_from_params, params_from_config
from diffuse_dse.space import Encoder, load_space

SPACE = """
parameters:
  - {name: i, layer: hw, kind: int, low: 3, high: 11, step: 2}
  - {name: p, layer: hw, kind: pow2, low: 4, high: 64}
  - {name: o, layer: eda, kind: ordinal, values: [RVT, LVT, SLVT]}
  - {name: ordn, layer: eda, kind: ordinal, values: [0.5, 1.5, 8]}
  - {name: c, layer: eda, kind: categorical, values: [false, true, x]}
  - {name: one, layer: eda, kind: ordinal, values: [7]}
  - {name: f, layer: eda, kind: float, low: 0.25, high: 4.0}
  - {name: g, layer: eda, kind: float, low: 0.01, high: 100.0, log: true}
objectives: [{name: f1, direction: min}]
"""


def test_round_trip_every_kind(write_space):
    space = load_space(write_space(SPACE))
    encoder = Encoder(space)
    assert encoder.dim == 7 + 3  # seven one-column parameters; the categorical takes three columns
    rng = np.random.default_rng(0)
    configs = list(space.rows(space.sample_arrays(rng, 300)))
    x = encoder.encode(configs)
    assert x.min() >= -1 and x.max() <= 1
    back = encoder.decode(x)
    for before, after in zip(configs, back, strict=True):
        for name in space.names:
            if space.parameter(name).kind == "float":
                assert after[name] == pytest.approx(before[name])
            else:
                assert after[name] == before[name] and type(after[name]) is type(before[name])


def test_decode_snaps_to_nearest_legal_value(write_space):
    space = load_space(write_space(SPACE))
    encoder = Encoder(space)
    x = encoder.encode([space.default_config()])
    x[0, encoder.slices["p"]] = 0.1  # between 16 (-0.5*?) and 32: nearest index
    x[0, encoder.slices["f"]] = 7.0  # outside [-1, 1] is clipped
    decoded = encoder.decode(x)[0]
    assert decoded["p"] in space.parameter("p").choices
    assert decoded["f"] == 4.0


def test_optuna_keys_keep_order_and_real_values(write_space):
    space = load_space(write_space(SPACE))
    assert space.parameter("p").optuna_key == "p.log2"
    assert space.parameter("o").optuna_key == "o.rank"
    assert space.parameter("i").optuna_key == "i"
    config = space.default_config()
    params = params_from_config(space, config)
    assert params["p.log2"] == int(np.log2(config["p"]))
    assert config_from_params(space, params) == config
    for p in space.parameters:
        assert p.distribution()._contains(p.distribution().to_internal_repr(params[p.optuna_key]))
