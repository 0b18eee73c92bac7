"""The fit recovers a perturbed technology from its data (a stand-in for the ASAP7 flow)."""

from __future__ import annotations

import numpy as np

from diffuse_dse.evaluators.gemmini_model import calibration as cal
from diffuse_dse.evaluators.gemmini_model import evaluate_arrays
from diffuse_dse.evaluators.gemmini_model.technology import PRIOR_FILE, load_coefficients

from .conftest import random_batch


def test_fit_recovers_a_perturbed_technology() -> None:
    prior = load_coefficients(PRIOR_FILE)
    truth = dict(prior, fa_area_um2=prior["fa_area_um2"] * 1.4, reg_ps=prior["reg_ps"] * 1.5,
                 vt_leak_pw_per_um2=[v * 0.6 for v in prior["vt_leak_pw_per_um2"]],
                 mac_fj_per_fa=prior["mac_fj_per_fa"] * 1.3)
    arrays = random_batch(80, seed=5)
    rng = np.random.default_rng(0)
    measured = {m: v * np.exp(rng.normal(0, 0.02, len(v)))
                for m, v in evaluate_arrays(arrays, coefficients=truth).items() if m in cal.TARGETS}
    train, test = cal.split(80, seed=0)
    fitted = cal.fit(cal._subset(arrays, train), {k: v[train] for k, v in measured.items()}, prior,
                     workload="resnet50", ridge=0.01)
    held = {k: v[test] for k, v in measured.items()}
    before = cal.errors(cal._subset(arrays, test), held, prior, workload="resnet50")
    after = cal.errors(cal._subset(arrays, test), held, fitted, workload="resnet50")
    for metric in cal.TARGETS:
        assert after[metric]["mdape_pct"] < 5.0
        assert after[metric]["mdape_pct"] <= before[metric]["mdape_pct"]
        assert after[metric]["kendall_tau"] > 0.85
