"""On the synthetic problem, DiffuSE's hypervolume beats random search at the same budget.

Fixed seeds make both runs deterministic (torch on one thread, every generator seeded from
the sampler's seed), so the margin below is a fixed number, not a chance event: it was
measured at 0.39 (median 14.07 against 13.68, reference 2.5 per objective, best possible
about 15.10) and the test asks for 0.2.
"""

from __future__ import annotations

import statistics

import moocore
import numpy as np
import optuna
import pytest

pytest.importorskip("torch")

from diffuse_dse.samplers._diffuse import DiffuSESampler
from diffuse_dse.space import load_space

from .test_diffuse import FAST, SYNTHETIC, synthetic_loop

BUDGET = 30
SEEDS = (0, 1, 2, 3)


def hypervolume(values: np.ndarray, ref: np.ndarray) -> float:
    inside = values[(values < ref).all(1)]
    return float(moocore.hypervolume(inside, ref=ref)) if len(inside) else 0.0


@pytest.mark.slow
def test_diffuse_beats_random_search_on_the_synthetic_problem():
    space = load_space(SYNTHETIC)
    ref = np.array([o.ref for o in space.objectives])
    diffuse, rand = [], []
    for seed in SEEDS:
        _, values = synthetic_loop(DiffuSESampler(space=space, seed=seed, **FAST), space, BUDGET)
        diffuse.append(hypervolume(values, ref))
        _, values = synthetic_loop(optuna.samplers.RandomSampler(seed=seed), space, BUDGET)
        rand.append(hypervolume(values, ref))
    assert statistics.median(diffuse) > statistics.median(rand) + 0.2, (diffuse, rand)
