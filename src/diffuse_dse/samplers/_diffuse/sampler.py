"""The DiffuSE sampler: orchestrates the Sobol start, model fits, targets, candidates and batch choice.

Each step lives in its own module: :mod:`.observations` (trials to arrays, the common QoR
scale), :mod:`.targets` (targets from the Pareto front), :mod:`.legalize` (decoding and
repair), :mod:`.selection` (batch choice by predicted hypervolume improvement), and the torch
models in :mod:`diffuse_dse._diffusion`, imported on first use. See ``docs/diffuse-sampler.md``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.errors import UsageError
from diffuse_dse.samplers._diffuse.infer import round_to_steps, space_from_distributions
from diffuse_dse.samplers._diffuse.observations import Key, ObjectiveScale, Observations, config_key
from diffuse_dse.samplers._diffuse.pretrain import PretrainData, PretrainSource, load_pretrain
from diffuse_dse.samplers._diffuse.selection import select_batch
from diffuse_dse.samplers._diffuse.settings import DiffuSESettings
from diffuse_dse.samplers._diffuse.targets import pick_front_points, push_targets
from diffuse_dse.space import Config, Encoder, Space
from diffuse_dse.space.legalize import Legalizer

if TYPE_CHECKING:
    import torch

_logger = logging.getLogger(__name__)


class DiffuSESampler(BaseSampler):
    """Conditional diffusion over design parameters, guided by a QoR predictor, aimed at the Pareto front.

    It learns ``p(x | c)``, the one-to-many map from a target QoR ``c`` to designs ``x``
    [DiffuSE]_, with a DDPM denoiser [Ho2020]_ sampled by DDIM [Song2021]_ under
    classifier-free guidance, and steers it with the gradient of a QoR predictor ensemble.
    Targets are points of the current front pushed beyond it; the batch is picked among many
    legal, feasible candidates by predicted hypervolume improvement with diversity.

    The first ``n_startup_trials`` designs come from a scrambled Sobol sequence filtered by the
    parameter constraints. After that, each model fit proposes ``batch_size`` designs at once
    (running trials taken into account), later asks are served from them, and a refit happens
    when the batch is used up or ``refit_every`` new results have arrived.

    Args:
        space: The design space. ``None`` infers one from the study's distributions (after the
            first trials, which come from ``independent_sampler``); parameters must then be
            suggested with the same names and distributions in every trial.
        seed: Seeds the sampler's own RNG, the fallback sampler and every torch generator.
        settings: A :class:`DiffuSESettings`; keyword ``overrides`` replace single fields.
        pretrain: Data to pretrain on before the first real evaluation: an Optuna study, a CSV
            path, a vectorized callable or an evaluator (see :mod:`.pretrain`). Needs ``space``.
        independent_sampler: For parameters outside the space. Defaults to a seeded
            :class:`optuna.samplers.RandomSampler`.

    .. [DiffuSE] DiffuSE: cross-layer design space exploration of DNN accelerators via
       diffusion-driven optimization. arXiv 2503.23945, 2025.
    .. [Ho2020] J. Ho, A. Jain, P. Abbeel. Denoising diffusion probabilistic models. NeurIPS 2020.
    .. [Song2021] J. Song, C. Meng, S. Ermon. Denoising diffusion implicit models. ICLR 2021.
    """

    def __init__(self, *, space: Space | None = None, seed: int | None = None,
                 settings: DiffuSESettings | None = None, pretrain: PretrainSource | None = None,
                 independent_sampler: BaseSampler | None = None, **overrides: Any) -> None:
        known = {f.name for f in dataclasses.fields(DiffuSESettings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UsageError(f"DiffuSESampler got unknown option(s) {', '.join(unknown)}; the settings are "
                             f"the fields of DiffuSESettings: {', '.join(sorted(known))}.")
        self.settings = dataclasses.replace(settings or DiffuSESettings(), **overrides)
        if pretrain is not None and space is None:
            raise UsageError("DiffuSESampler: the 'pretrain' option needs the 'space' option (pretrain data are "
                             "read against a known space). Pass space=..., or drop pretrain.")
        self._space = space
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._pretrain_source = pretrain
        self._intersection = IntersectionSearchSpace()
        self._reset_state()

    def _reset_state(self) -> None:
        self._inferred: Space | None = None
        self._inferred_dists: dict[str, BaseDistribution] | None = None
        self._encoder: Encoder | None = None
        self._legalizer: Legalizer | None = None
        self._design: list[Config] | None = None
        self._design_pos = 0
        self._queue: list[Config] = []
        self._queue_done = 0
        self._pretrain: PretrainData | None = None
        self._diffusion: Any = None
        self._regressor: Any = None
        self._classifier: Any = None
        self.last_batch_info: dict[str, Any] = {}

    # --- Optuna's sampler interface ------------------------------------------------------
    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._independent.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._space is not None:
            return {p.optuna_key: p.distribution() for p in self._space.parameters}
        return {k: d for k, d in self._intersection.calculate(study).items() if not d.single()}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        space = self._space_for(search_space, study.directions)
        if len(study.directions) != len(space.objectives):
            raise UsageError(f"DiffuSESampler: the study has {len(study.directions)} objective(s) but space "
                             f"'{space.name}' has {len(space.objectives)} ({', '.join(space.objective_names)}).")
        config = self._next_config(study, trial, space)
        params = {p.optuna_key: p.to_optuna(config[p.name]) for p in space.parameters if p.optuna_key in search_space}
        return round_to_steps(search_space, params)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self._independent.after_trial(study, trial, state, values)

    # --- orchestration -------------------------------------------------------------------
    def _space_for(self, search_space: dict[str, BaseDistribution], directions: Sequence[Any]) -> Space:
        if self._space is not None:
            if self._encoder is None:
                self._encoder = Encoder(self._space)
            return self._space
        if self._inferred is None or self._inferred_dists != search_space:
            self._reset_state()
            self._inferred = space_from_distributions(search_space, directions)
            self._inferred_dists = dict(search_space)
            self._encoder = Encoder(self._inferred)
        return self._inferred

    def _next_config(self, study: Study, trial: FrozenTrial, space: Space) -> Config:
        from diffuse_dse._diffusion import torch_threads

        encoder = self._encoder
        assert encoder is not None
        if self._legalizer is None:
            self._legalizer = Legalizer(space, encoder, self._rng, self.settings.feasible_pool_size)
        trials = study.get_trials(deepcopy=False)
        obs = Observations.from_trials(space, encoder, trials, len(space.objectives), exclude=trial.number)
        n_done = obs.n_complete + len(obs.X_failed)
        pretrained = self._pretrain_source is not None
        n_startup = self.settings.startup_size(len(space.parameters), pretrained=pretrained)
        with torch_threads(self.settings.torch_threads):
            if pretrained and self._pretrain is None:
                self._run_pretrain(space)
            if n_done < n_startup:
                config = self._next_design(space, obs.seen, n_startup)
                if config is not None:
                    return config
            if obs.n_complete < self.settings.min_observations:
                return self._random_unseen(space, obs.seen)
            stale = n_done - self._queue_done >= self.settings.refit_every
            if not self._queue or stale:
                self._queue = self._propose_batch(space, obs)
                self._queue_done = n_done
            while self._queue:
                config = self._queue.pop(0)
                if config_key(space, config) not in obs.seen:
                    return config
            return self._random_unseen(space, obs.seen)

    def _next_design(self, space: Space, seen: set[Key], n: int) -> Config | None:
        if self._design is None:
            self._design = _sobol_design(space, self._legalizer, self._rng, n)
        while self._design_pos < len(self._design):
            config = self._design[self._design_pos]
            self._design_pos += 1
            if config_key(space, config) not in seen:
                return config
        return None

    def _random_unseen(self, space: Space, seen: set[Key]) -> Config:
        assert self._legalizer is not None and self._encoder is not None
        for _ in range(100):
            config = self._encoder.decode(self._legalizer.random(self._rng, 1))[0]
            if config_key(space, config) not in seen:
                return config
        return config

    def _generator(self) -> torch.Generator:
        import torch

        return torch.Generator().manual_seed(int(self._rng.integers(2**62)))

    def _make_models(self) -> None:
        from diffuse_dse._diffusion import ConditionalDiffusion, EnsembleClassifier, EnsembleRegressor

        s = self.settings
        if self._diffusion is None:
            self._diffusion = ConditionalDiffusion(
                hidden=s.hidden, depth=s.depth, n_timesteps=s.n_timesteps, cond_dropout=s.cond_dropout, lr=s.lr,
                steps=s.train_steps, warm_steps=s.warm_steps, batch_size=s.batch_rows, device=s.device)
            kw = dict(n_members=s.n_members, hidden=s.predictor_hidden, depth=s.predictor_depth, lr=s.predictor_lr,
                      steps=s.predictor_steps, warm_steps=s.predictor_warm_steps, weight_decay=s.weight_decay,
                      device=s.device)
            self._regressor = EnsembleRegressor(**kw)
            self._classifier = EnsembleClassifier(**kw)

    def _run_pretrain(self, space: Space) -> None:
        assert self._encoder is not None
        self._pretrain = load_pretrain(self._pretrain_source, space, self._encoder, self._rng,
                                       self.settings.pretrain_samples)
        self._make_models()
        scale = ObjectiveScale([o.sign for o in space.objectives]).fit(self._pretrain.Y)
        C = scale.transform(self._pretrain.Y)
        self._diffusion.fit(self._pretrain.X, C, generator=self._generator())
        self._regressor.fit(self._pretrain.X, C, generator=self._generator())
        _logger.info("DiffuSE pretrained on %d designs.", len(self._pretrain.X))

    def _fit(self, space: Space, obs: Observations) -> tuple[ObjectiveScale, Any]:
        """Fit the scale and warm-start the three models on the real (and pretrain) data."""
        self._make_models()
        s = self.settings
        scale = ObjectiveScale([o.sign for o in space.objectives]).fit(obs.Y)
        X, C = obs.X, scale.transform(obs.Y)
        weights = np.full(len(X), 1.0 / len(X))
        if self._pretrain is not None:
            C_pre = np.clip(scale.transform(self._pretrain.Y), -2.0, 3.0)
            X = np.vstack([X, self._pretrain.X])
            C = np.vstack([C, C_pre])
            n_pre = len(self._pretrain.X)
            weights = np.concatenate([weights * (1 - s.pretrain_weight), np.full(n_pre, s.pretrain_weight / n_pre)])
        self._diffusion.fit(X, C, weights=weights, generator=self._generator(), warm_start=True)
        self._regressor.fit(X, C, weights=weights, generator=self._generator(), warm_start=True)
        labels = np.concatenate([obs.ok.astype(float), np.zeros(len(obs.X_failed))])
        classifier = None
        if 0 < labels.sum() < len(labels):
            Xc = np.vstack([obs.X, obs.X_failed])
            classifier = self._classifier.fit(Xc, labels, generator=self._generator(), warm_start=True)
        return scale, classifier

    def _propose_batch(self, space: Space, obs: Observations) -> list[Config]:
        scale, classifier = self._fit(space, obs)
        return self._choose(space, obs, scale, classifier)

    def _choose(self, space: Space, obs: Observations, scale: ObjectiveScale, classifier: Any) -> list[Config]:
        """Targets, candidates, legalization and batch choice with fitted models."""
        from diffuse_dse._diffusion.guidance import target_guide

        s = self.settings
        assert self._legalizer is not None
        Yq, Yh = scale.transform(obs.Y), scale.to_hv(obs.Y)
        ok_rows = np.flatnonzero(obs.ok) if obs.ok.any() else np.arange(len(Yq))
        front_rows = ok_rows[_nondominated(Yh[ok_rows])]
        front = np.unique(Yh[front_rows], axis=0)
        ref = scale.hv_ref([o.ref for o in space.objectives])
        ref = np.where(ref > front.min(0), ref, 1.1)
        # Targets: front points picked by hypervolume contribution (linear scale), pushed on the common scale.
        rows = front_rows[pick_front_points(Yh[front_rows], ref, s.batch_size, self._rng)]
        targets = push_targets(Yq[rows], Yq[front_rows].min(0), self._rng, push=s.target_push,
                               margin=s.target_margin, jitter=s.target_jitter)
        conditions = np.repeat(targets, s.candidates_per_target, axis=0)
        guide = target_guide(self._regressor, classifier, s.guide_sigma)
        generated = self._diffusion.sample(conditions, generator=self._generator(), cfg_weight=s.cfg_weight,
                                           n_steps=s.ddim_steps, guide=guide, guide_scale=s.guide_scale)
        # Local moves around front designs, and uniform feasible designs, widen the candidate set.
        local = obs.X[self._rng.choice(front_rows, s.n_local_candidates)]
        local = np.clip(local + s.local_scale * self._rng.standard_normal(local.shape), -1.0, 1.0)
        uniform = self._legalizer.random(self._rng, s.n_random_candidates)
        raw = np.vstack([generated, local, uniform])
        origin = np.repeat([0, 1, 2], [len(generated), len(local), len(uniform)])
        arrays, X, _ = self._legalizer.legalize(raw)
        configs = list(space.rows(arrays))
        keep, keys = [], set(obs.seen)
        for i, c in enumerate(configs):
            k = config_key(space, c)
            if k not in keys:
                keys.add(k)
                keep.append(i)
        keep_arr = np.asarray(keep, dtype=int)
        X, origin = X[keep_arr], origin[keep_arr]
        configs = [configs[i] for i in keep]
        if not configs:
            return []
        preds = scale.to_hv(scale.inverse(self._regressor.predict(X)))
        p_feas = classifier.predict_proba(X) if classifier is not None else np.ones(len(X))
        if (p_feas >= s.min_feasibility).sum() >= s.batch_size:
            mask = p_feas >= s.min_feasibility
            X, preds, p_feas, origin = X[mask], preds[:, mask], p_feas[mask], origin[mask]
            configs = [c for c, m in zip(configs, mask, strict=True) if m]
        believers = None
        if len(obs.X_pending):
            believers = scale.to_hv(scale.inverse(self._regressor.predict(obs.X_pending))).mean(0)
        chosen = select_batch(X, preds, p_feas, front, ref, s.batch_size, believers=believers, optimism=s.optimism,
                              n_screen=s.n_screen, radius=s.diversity_radius)
        self.last_batch_info = {
            "targets": targets,
            "n_candidates": len(X),
            "origin": [("diffusion", "local", "uniform")[origin[i]] for i in chosen],
            "predicted": preds[:, chosen].mean(0),
        }
        return [configs[i] for i in chosen]


def _nondominated(points: np.ndarray) -> np.ndarray:
    import moocore

    return np.asarray(moocore.is_nondominated(points), dtype=bool)


def _sobol_design(space: Space, legalizer: Legalizer | None, rng: np.random.Generator, n: int) -> list[Config]:
    """``n`` feasible designs from a scrambled Sobol sequence over the parameters (infeasible ones dropped)."""
    from scipy.stats import qmc

    if n == 0:
        return []
    m = int(np.ceil(np.log2(max(2, 8 * n))))
    u = qmc.Sobol(d=len(space.parameters), scramble=True, seed=int(rng.integers(2**31))).random_base2(m)
    arrays: dict[str, np.ndarray] = {}
    for j, p in enumerate(space.parameters):
        if p.kind == "float":
            lo, hi = (np.log(p.low), np.log(p.high)) if p.log else (p.low, p.high)
            v = lo + u[:, j] * (hi - lo)
            arrays[p.name] = np.exp(v) if p.log else v
        else:
            arrays[p.name] = p.values_array(np.minimum((u[:, j] * len(p.choices)).astype(int), len(p.choices) - 1))
    mask = space.feasible_mask(arrays)
    out: list[Config] = []
    seen: set[Key] = set()
    for config in space.rows({k: v[mask] for k, v in arrays.items()}):
        key = config_key(space, config)
        if key not in seen:
            seen.add(key)
            out.append(config)
        if len(out) == n:
            break
    while len(out) < n and legalizer is not None:
        config = legalizer.encoder.decode(legalizer.random(rng, 1))[0]
        if config_key(space, config) not in seen:
            seen.add(config_key(space, config))
            out.append(config)
    return out
