"""The torch models behind DiffuSE: schedule, denoiser, predictor and feasibility ensembles."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from diffuse_dse._diffusion import (  # noqa: E402
    ConditionalDiffusion,
    EnsembleClassifier,
    EnsembleRegressor,
    NoiseSchedule,
    torch_threads,
)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_schedule_is_monotone_and_ddim_inverts_exact_noise():
    sched = NoiseSchedule(100, torch.device("cpu"))
    ab = sched.alpha_bar
    assert ab.shape == (100,)
    assert (ab[1:] < ab[:-1]).all() and 0 < ab[-1] < ab[0] < 1
    x0 = torch.rand(16, 3, generator=gen()) * 2 - 1
    noise = torch.randn(16, 3, generator=gen(1))
    t = 60
    x_t = sched.add_noise(x0, noise, torch.full((16,), t))
    # With the true noise, one DDIM step to x_0 recovers x0.
    assert torch.allclose(sched.ddim_step(x_t, noise, t, None), x0, atol=1e-5)
    times = sched.ddim_times(10)
    assert times[0] == 99 and times[-1] == 0 and times == sorted(times, reverse=True)


def test_diffusion_learns_a_conditional_map_and_is_seeded():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (400, 2))
    C = ((X[:, :1] + 1) / 2)  # the condition is the first coordinate, rescaled to [0, 1]
    model = ConditionalDiffusion(hidden=64, steps=500, batch_size=128).fit(X, C, generator=gen())
    lo = model.sample(np.full((200, 1), 0.1), generator=gen(1))
    hi = model.sample(np.full((200, 1), 0.9), generator=gen(1))
    again = ConditionalDiffusion(hidden=64, steps=500, batch_size=128).fit(X, C, generator=gen())
    lo2 = again.sample(np.full((200, 1), 0.1), generator=gen(1))
    assert lo.shape == (200, 2)
    assert lo[:, 0].mean() < -0.4 < 0.4 < hi[:, 0].mean()
    np.testing.assert_array_equal(lo, lo2)


def test_models_leave_global_random_state_alone():
    before = torch.random.get_rng_state().clone()
    X = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    ConditionalDiffusion(hidden=16, steps=5).fit(X, X[:, :1], generator=gen()).sample(X[:4, :1], generator=gen())
    EnsembleRegressor(steps=5).fit(X, X[:, :2], generator=gen())
    assert torch.equal(before, torch.random.get_rng_state())


def test_diffusion_warm_start_continues_from_previous_weights():
    X = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    model = ConditionalDiffusion(hidden=16, steps=20, warm_steps=0).fit(X, X[:, :1], generator=gen())
    net = model.net_
    model.fit(X, X[:, :1], generator=gen(), warm_start=True)
    assert model.net_ is net
    model.fit(X[:, :1], X[:, :1], generator=gen(), warm_start=True)  # new shape: cold refit
    assert model.net_ is not net


def test_regressor_predicts_with_members_and_spread():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 3))
    Y = np.stack([X[:, 0] + 0.5 * X[:, 1], X[:, 2] ** 2], 1)
    model = EnsembleRegressor(n_members=4, steps=400).fit(X, Y, generator=gen())
    Xt = rng.uniform(-1, 1, (100, 3))
    P = model.predict(Xt)
    assert P.shape == (4, 100, 2)
    Yt = np.stack([Xt[:, 0] + 0.5 * Xt[:, 1], Xt[:, 2] ** 2], 1)
    assert np.sqrt(((P.mean(0) - Yt) ** 2).mean()) < 0.15
    assert (P.std(0) > 0).all()


def test_classifier_separates_feasible_from_infeasible():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    labels = (X[:, 0] < 0.2).astype(float)
    model = EnsembleClassifier(steps=300).fit(X, labels, generator=gen())
    p = model.predict_proba(np.array([[-0.8, 0.0], [0.9, 0.0]]))
    assert p[0] > 0.8 and p[1] < 0.2


def test_fit_rejects_bad_shapes():
    with pytest.raises(ValueError, match="n x d"):
        ConditionalDiffusion().fit(np.zeros((3, 2)), np.zeros((4, 1)), generator=gen())
    with pytest.raises(ValueError, match="finite"):
        EnsembleRegressor().fit(np.full((3, 2), np.nan), np.zeros((3, 1)), generator=gen())
