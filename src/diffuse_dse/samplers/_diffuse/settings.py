"""Every setting of :class:`~diffuse_dse.samplers.DiffuSESampler`, with its default, in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from diffuse_dse.errors import UsageError


@dataclass(frozen=True)
class DiffuSESettings:
    """Hyperparameters of the DiffuSE sampler. The defaults work on the shipped spaces.

    Loop:
        n_startup_trials: size of the Sobol initial design. ``None`` applies the project's rule
            (shared with the other model-based samplers, :func:`diffuse_dse.samplers.initial_design_size`)
            ``max(10, d_p, ceil(budget / 10))``, at most ``budget``, with ``d_p`` the number of
            parameters and ``budget`` taken as 0 when not given; with ``pretrain`` it is ``min(rule, 4)``.
        budget: the expected number of evaluations, used only by the rule above.
        batch_size: proposals made per model fit; later asks are served from that batch.
        refit_every: refit (and propose afresh) once this many new results have arrived
            since the batch was made, even if proposals are left.
        min_observations: below this many complete trials, feasible random designs are proposed.

    Targets (see ``docs/diffuse-sampler.md``):
        target_push: ``gamma``, the fraction of the way from a front point toward the ideal point.
        target_margin: ``delta``, the extra push so extreme points move too (normalized units).
        target_jitter: ``sigma``, the standard deviation of the Gaussian jitter on each target.

    Candidates:
        candidates_per_target: diffusion samples drawn for each target.
        n_local_candidates: Gaussian perturbations of front designs (std ``local_scale``).
        n_random_candidates: uniform feasible designs from the pool, for exploration.
        local_scale: std of the local perturbations in the encoded space.
        feasible_pool_size: uniform draws from which the seeded pool of feasible designs is kept.

    Diffusion:
        hidden, depth: denoiser width and residual blocks.
        n_timesteps: DDPM steps ``T``. ddim_steps: sampling steps.
        cond_dropout: CFG condition dropout. cfg_weight: CFG weight ``w``.
        guide_scale: predictor-guidance scale ``s``. guide_sigma: the ``sigma`` of the Gaussian
            likelihood ``log p(c | x) = -sum_j relu(f_j(x) - c_j)^2 / (2 sigma^2)``.
        train_steps, warm_steps, lr, batch_rows: optimizer steps cold and warm, rate, rows per step.

    Predictor and feasibility:
        n_members, predictor_hidden, predictor_depth, predictor_steps, predictor_warm_steps,
        predictor_lr, weight_decay: the ensembles.
        optimism: ``beta`` in the optimistic prediction ``mean - beta std`` used for screening.
        n_screen: candidates kept after screening for the ensemble-averaged HVI.
        diversity_radius: candidates within this encoded distance of a chosen one are penalized.
        min_feasibility: candidates with predicted ``P(feasible)`` below this are dropped (if
            enough others remain).

    Pretraining:
        pretrain_samples: evaluations of a pretrain callable (random feasible designs).
        pretrain_weight: share of each training minibatch drawn from pretrain data.

    Runtime:
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        torch_threads: intra-op threads during fits and sampling (restored afterwards).
    """

    n_startup_trials: int | None = None
    budget: int | None = None
    batch_size: int = 8
    refit_every: int = 4
    min_observations: int = 4

    target_push: float = 0.2
    target_margin: float = 0.1
    target_jitter: float = 0.03

    candidates_per_target: int = 64
    n_local_candidates: int = 256
    n_random_candidates: int = 256
    local_scale: float = 0.15
    feasible_pool_size: int = 8192

    hidden: int = 128
    depth: int = 2
    n_timesteps: int = 200
    ddim_steps: int = 20
    cond_dropout: float = 0.15
    cfg_weight: float = 2.0
    guide_scale: float = 1.0
    guide_sigma: float = 0.1
    train_steps: int = 800
    warm_steps: int = 200
    lr: float = 2e-3
    batch_rows: int = 128

    n_members: int = 5
    predictor_hidden: int = 64
    predictor_depth: int = 2
    predictor_steps: int = 300
    predictor_warm_steps: int = 100
    predictor_lr: float = 5e-3
    weight_decay: float = 1e-3
    optimism: float = 0.0
    n_screen: int = 128
    diversity_radius: float = 0.25
    min_feasibility: float = 0.2

    pretrain_samples: int = 4096
    pretrain_weight: float = 0.3

    device: str = "cpu"
    torch_threads: int | None = 1

    def __post_init__(self) -> None:
        positive = ("batch_size", "refit_every", "min_observations", "candidates_per_target", "feasible_pool_size",
                    "hidden", "depth", "n_timesteps", "ddim_steps", "train_steps", "batch_rows", "n_members",
                    "predictor_hidden", "predictor_depth", "predictor_steps", "n_screen", "pretrain_samples")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in positive and (not isinstance(value, int) or value < 1):
                raise UsageError(f"The '{f.name}' setting of DiffuSESampler must be a whole number >= 1. "
                                 f"Got {value!r}.")
        for name in ("n_startup_trials", "budget"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise UsageError(f"The '{name}' setting of DiffuSESampler must be a whole number >= 0 or None. "
                                 f"Got {value!r}.")
        if not 0.0 <= self.cond_dropout < 1.0:
            raise UsageError(f"The 'cond_dropout' setting of DiffuSESampler must be in [0, 1). "
                             f"Got {self.cond_dropout}.")
        if not 0.0 <= self.pretrain_weight < 1.0:
            raise UsageError(f"The 'pretrain_weight' setting of DiffuSESampler must be in [0, 1). "
                             f"Got {self.pretrain_weight}.")
        if self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:"):
            raise UsageError(f"The 'device' setting of DiffuSESampler must be 'cpu', 'cuda' or 'auto'. "
                             f"Got {self.device!r}.")

    def startup_size(self, n_params: int, *, pretrained: bool) -> int:
        """The initial-design size: :attr:`n_startup_trials`, or the documented rule."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        rule = max(10, n_params, math.ceil((self.budget or 0) / 10))
        if self.budget:
            rule = min(rule, self.budget)
        return min(rule, 4) if pretrained else rule
