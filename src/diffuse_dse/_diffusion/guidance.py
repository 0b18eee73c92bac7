"""Predictor guidance: the log-likelihood whose gradient steers DDIM toward a target QoR.

For a ``n x d`` tensor ``x`` of predicted clean designs and a ``n x m`` tensor ``c`` of
targets on the common scale (lower is better)::

    log p(c | x) = - sum_j relu(mean_e f_e(x)_j - c_j)^2 / (2 sigma^2)  +  log P(feasible | x)

The hinge only penalizes predictions worse than the target: a design predicted to beat its
target in some objective is not pulled back. The feasibility term is present once the
classifier has been fitted (both feasible and infeasible trials seen).
"""

from __future__ import annotations

import torch

from diffuse_dse._diffusion.denoiser import Guide
from diffuse_dse._diffusion.predictor import EnsembleClassifier, EnsembleRegressor


def target_guide(regressor: EnsembleRegressor, classifier: EnsembleClassifier | None, sigma: float) -> Guide:
    """The :data:`~diffuse_dse._diffusion.denoiser.Guide` above for fitted ensembles."""

    def guide(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        mean = regressor.predict_torch(x).mean(0)
        out = -((mean - c).clamp(min=0) ** 2).sum(-1) / (2 * sigma**2)
        if classifier is not None:
            out = out + classifier.log_proba_torch(x)
        return out

    return guide
