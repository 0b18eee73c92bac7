"""DiffuSESampler: encoding, legality, determinism, plain-Optuna use, pending trials, failures, pretraining."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

pytest.importorskip("torch")

from diffuse_dse.errors import UsageError
from diffuse_dse.evaluators.synthetic import synthetic_objectives
from diffuse_dse.samplers._diffuse import DiffuSESampler, DiffuSESettings
from diffuse_dse.samplers._diffuse.observations import ObjectiveScale
from diffuse_dse.samplers._diffuse.selection import hypervolume_improvement, select_batch
from diffuse_dse.samplers._diffuse.targets import pick_front_points, push_targets
from diffuse_dse.space import Encoder, Objective, Parameter, Space, load_space, parse
from diffuse_dse.space.legalize import Legalizer

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "examples" / "synthetic.yaml"
FAST = dict(train_steps=150, warm_steps=50, predictor_steps=100, predictor_warm_steps=40, candidates_per_target=16,
            n_local_candidates=64, n_random_candidates=64, feasible_pool_size=2048, n_screen=32)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def every_kind_space() -> Space:
    params = (
        Parameter("n", "hw", "int", choices=tuple(range(0, 20, 4))),
        Parameter("p", "hw", "pow2", choices=(1, 2, 4, 8, 16)),
        Parameter("o", "eda", "ordinal", choices=("RVT", "LVT", "SLVT")),
        Parameter("k", "hw", "categorical", choices=("OS", "WS", "BOTH")),
        Parameter("b", "eda", "categorical", choices=(False, True)),
        Parameter("x", "eda", "float", low=0.5, high=1.0),
        Parameter("y", "eda", "float", low=1e-3, high=1.0, log=True),
        Parameter("one", "hw", "int", choices=(3,)),
    )
    return Space(name="kinds", parameters=params, constraints=(parse("p * 4 <= n + 8"),),
                 objectives=(Objective("f", "min"), Objective("g", "max")))


def synthetic_loop(sampler: optuna.samplers.BaseSampler, space: Space, budget: int) -> tuple[optuna.Study, np.ndarray]:
    """The engine's ask/tell loop: infeasible asks are told PRUNED and do not count."""
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    fixed = {p.optuna_key: p.distribution() for p in space.parameters}
    values = []
    while len(values) < budget:
        trial = study.ask(fixed)
        config = {p.name: p.from_optuna(trial.params[p.optuna_key]) for p in space.parameters}
        if not space.is_feasible(config):
            study.tell(trial, state=TrialState.PRUNED)
            continue
        out = synthetic_objectives({k: np.asarray([v]) for k, v in config.items()})
        values.append([float(out[o.name][0]) for o in space.objectives])
        study.tell(trial, values[-1])
    return study, np.asarray(values)


# --- encoding and legality ----------------------------------------------------------------
def test_encoding_round_trip_for_every_kind():
    space = every_kind_space()
    enc = Encoder(space)
    arrays = space.sample_arrays(np.random.default_rng(0), 200)
    X = enc.encode_arrays(arrays)
    assert X.shape == (200, enc.dim) and np.abs(X).max() <= 1.0 + 1e-12
    back = enc.decode_arrays(X)
    for p in space.parameters:
        if p.kind == "float":
            np.testing.assert_allclose(back[p.name].astype(float), arrays[p.name].astype(float), rtol=1e-9)
        else:
            assert list(back[p.name]) == list(arrays[p.name]), p.kind
    # Small noise still decodes to the same legal values for the discrete kinds.
    noisy = enc.decode_arrays(X + np.random.default_rng(1).normal(0, 0.05, X.shape))
    for p in space.parameters:
        if p.kind in ("pow2", "ordinal", "categorical"):
            assert list(noisy[p.name]) == list(arrays[p.name]), p.kind


@pytest.mark.parametrize("path", [SYNTHETIC, None])
def test_legalized_samples_satisfy_the_constraints(path):
    space = load_space(path) if path else every_kind_space()
    enc = Encoder(space)
    legal = Legalizer(space, enc, np.random.default_rng(0), 1024)
    raw = np.random.default_rng(2).normal(0, 1.5, (500, enc.dim))
    arrays, X, repaired = legal.legalize(raw)
    assert space.feasible_mask(arrays).all()
    assert repaired.any() and not repaired.all()
    for config in space.rows(arrays):
        space.check_config(config)
    np.testing.assert_allclose(X, enc.encode_arrays(arrays))


def test_every_proposal_is_feasible_and_new():
    space = load_space(SYNTHETIC)
    study, _ = synthetic_loop(DiffuSESampler(space=space, seed=3, n_startup_trials=6, **FAST), space, 20)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned == []
    keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


# --- the math pieces ----------------------------------------------------------------------
def test_objective_scale_minimizes_logs_decades_and_normalizes():
    Y = np.array([[1.0, 5.0, 0.0], [100.0, 1.0, 1.0], [10.0, 3.0, 1e-17]])
    scale = ObjectiveScale([1.0, -1.0, 1.0]).fit(Y)
    assert list(scale.log_) == [True, False, False]  # third: zero present
    Q = scale.transform(Y)
    np.testing.assert_allclose(Q[:, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(Q[:, 1], [0.0, 1.0, 0.5])  # maximized: 5 is best
    np.testing.assert_allclose(scale.inverse(Q), Y, atol=1e-12)
    np.testing.assert_allclose(scale.to_hv(Y)[:, 0], [0.0, 1.0, 9 / 99])
    np.testing.assert_allclose(scale.hv_ref([199.0, None, None]), [2.0, 1.1, 1.1])


def test_targets_lie_beyond_the_front_and_follow_gaps():
    front = np.array([[0.0, 1.0], [0.1, 0.9], [0.12, 0.88], [1.0, 0.0]])
    rng = np.random.default_rng(0)
    idx = pick_front_points(front, np.array([1.1, 1.1]), 2000, rng)
    counts = np.bincount(idx, minlength=4)
    assert counts[3] > counts[2]  # the isolated extreme contributes more than a crowded point
    t = push_targets(front, front.min(0), rng, push=0.2, margin=0.1, jitter=0.0)
    assert (t < front).all()


def test_batch_selection_prefers_improvement_and_spreads():
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    ref = np.array([1.1, 1.1])
    assert hypervolume_improvement(np.array([[0.5, 0.5], [2.0, 0.0]]), front, ref)[1] == 0.0
    X = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    preds = np.array([[[0.3, 0.3], [0.3, 0.3], [0.4, 0.4], [0.9, 0.9]]] * 3)
    chosen = select_batch(X, preds, np.ones(4), front, ref, 2, radius=0.3)
    assert chosen[0] in (0, 1) and chosen[1] == 2  # the near-duplicate of the first pick is passed over


# --- the sampler --------------------------------------------------------------------------
def proposals(seed: int, n: int = 12) -> list[dict]:
    space = load_space(SYNTHETIC)
    study, _ = synthetic_loop(DiffuSESampler(space=space, seed=seed, n_startup_trials=6, **FAST), space, n)
    return [t.params for t in study.trials]


def test_same_seed_same_proposals_in_process_and_across_processes():
    first = proposals(7)
    assert first == proposals(7)
    assert first[:6] != proposals(8, n=6)
    here = str(Path(__file__).parent)
    code = f"import json, sys; sys.path.insert(0, {here!r}); from test_diffuse import proposals; " \
        "print(json.dumps(proposals(7)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(first))


def test_works_in_a_plain_optuna_study_with_a_space():
    space = load_space(SYNTHETIC)

    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        config = {
            "a": trial.suggest_int("a", 0, 20),
            "b": space.parameter("b").from_optuna(trial.suggest_int("b.rank", 0, 8)),
            "kind": trial.suggest_categorical("kind", ["ridge", "bowl", "step"]),
            "c": trial.suggest_float("c", 0.0, 1.0),
            "d": trial.suggest_int("d", 0, 10),
            "e": trial.suggest_float("e", 0.001, 1.0, log=True),
        }
        out = synthetic_objectives({k: np.asarray([v]) for k, v in config.items()})
        return float(out["f1"][0]), float(out["f2"][0]), float(out["f3"][0])

    study = optuna.create_study(directions=["minimize"] * 3,
                                sampler=DiffuSESampler(space=space, seed=0, n_startup_trials=5, **FAST))
    study.optimize(objective, n_trials=12)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 12
    for t in study.trials:
        assert space.is_feasible({p.name: p.from_optuna(t.params[p.optuna_key]) for p in space.parameters})


def test_infers_the_space_from_optuna_distributions():
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", -2.0, 2.0)
        n = trial.suggest_int("n", 1, 9, step=2)
        c = trial.suggest_categorical("c", ["u", "v"])
        q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
        return (x - 1) ** 2 + n + q, (x + 1) ** 2 + (c == "u")

    sampler = DiffuSESampler(seed=1, n_startup_trials=5, **FAST)
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    study.optimize(objective, n_trials=12)
    assert len(study.trials) == 12
    assert sampler._inferred is not None and sampler._inferred.names == ("c", "n", "q", "x")
    assert all(t.params["q"] in (0.0, 0.25, 0.5, 0.75, 1.0) for t in study.trials)


def test_pending_trials_get_distinct_proposals_from_one_batch():
    space = load_space(SYNTHETIC)
    sampler = DiffuSESampler(space=space, seed=0, n_startup_trials=6, batch_size=4, **FAST)
    study, _ = synthetic_loop(sampler, space, 8)
    fixed = {p.optuna_key: p.distribution() for p in space.parameters}
    running = [study.ask(fixed) for _ in range(6)]  # more than one batch, none told
    keys = {tuple(sorted(t.params.items())) for t in study.trials}
    assert len(keys) == len(study.trials) == 14
    assert all(t.state == TrialState.RUNNING for t in study.get_trials(states=(TrialState.RUNNING,)))
    assert len(running) == 6


def test_failures_and_outcome_violations_train_the_feasibility_classifier():
    space = load_space(SYNTHETIC)
    sampler = DiffuSESampler(space=space, seed=0, n_startup_trials=8, **FAST)
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    fixed = {p.optuna_key: p.distribution() for p in space.parameters}
    for _ in range(16):
        trial = study.ask(fixed)
        config = {p.name: p.from_optuna(trial.params[p.optuna_key]) for p in space.parameters}
        if config["kind"] == "step":
            study.tell(trial, state=TrialState.FAIL)
            continue
        out = synthetic_objectives({k: np.asarray([v]) for k, v in config.items()})
        trial.set_user_attr("constraint_violations", [float(out["f3"][0]) - 1.2])
        study.tell(trial, [float(out[o][0]) for o in ("f1", "f2", "f3")])
    assert hasattr(sampler._classifier, "net_")
    enc = Encoder(space)
    configs = [dict(space.default_config(), kind=k) for k in ("ridge", "step")]
    p = sampler._classifier.predict_proba(enc.encode(configs))
    assert p[0] > p[1]


def test_options_fail_fast():
    space = load_space(SYNTHETIC)
    with pytest.raises(UsageError, match="'pretrain' option needs the 'space' option"):
        DiffuSESampler(pretrain=synthetic_objectives)
    with pytest.raises(UsageError, match="unknown option"):
        DiffuSESampler(space=space, batchsize=3)
    with pytest.raises(UsageError, match=r"'batch_size'.*Got 0"):
        DiffuSESampler(space=space, batch_size=0)
    assert DiffuSESettings().startup_size(6, pretrained=False) == 10
    assert DiffuSESettings(budget=300).startup_size(6, pretrained=False) == 30
    assert DiffuSESettings().startup_size(19, pretrained=True) == 4


# --- pretraining --------------------------------------------------------------------------
def test_pretrain_sources_load(tmp_path):
    space = load_space(SYNTHETIC)
    enc = Encoder(space)
    from diffuse_dse.samplers._diffuse.pretrain import load_pretrain

    data = load_pretrain(synthetic_objectives, space, enc, np.random.default_rng(0), 300)
    assert data.X.shape[1] == enc.dim and data.Y.shape[1] == 3 and 200 < len(data.X) <= 300
    study, values = synthetic_loop(optuna.samplers.RandomSampler(seed=0), space, 10)
    from_study = load_pretrain(study, space, enc, np.random.default_rng(0), 1)
    np.testing.assert_allclose(from_study.Y, values)
    csv = tmp_path / "old.csv"
    keys = [p.optuna_key for p in space.parameters]
    lines = [",".join(["number", *(f"params_{k}" for k in keys), "values_0", "values_1", "values_2"])]
    for t in study.trials:  # the columns of Optuna's trials_dataframe()
        lines.append(",".join([str(t.number), *(str(t.params[k]) for k in keys), *(repr(v) for v in t.values)]))
    csv.write_text("\n".join(lines) + "\n")
    from_csv = load_pretrain(str(csv), space, enc, np.random.default_rng(0), 1)
    np.testing.assert_allclose(from_csv.Y, values)
    np.testing.assert_allclose(from_csv.X, from_study.X)
    with pytest.raises(UsageError, match="no column for parameter"):
        (tmp_path / "bad.csv").write_text("a,f1\n1,2\n")
        load_pretrain(str(tmp_path / "bad.csv"), space, enc, np.random.default_rng(0), 1)


def test_pretrained_sampler_proposes_from_the_start():
    space = load_space(SYNTHETIC)
    sampler = DiffuSESampler(space=space, seed=0, pretrain=synthetic_objectives, pretrain_samples=1024, **FAST)
    _, values = synthetic_loop(sampler, space, 8)
    assert sampler._pretrain is not None and len(sampler._pretrain.X) > 500
    assert math.isfinite(values.sum())
