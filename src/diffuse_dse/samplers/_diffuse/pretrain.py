"""Data to pretrain on before any real evaluation: an earlier study, a CSV file, or a cheap model.

Accepted sources (``DiffuSESampler(pretrain=...)``):

* an :class:`optuna.study.Study` on the same space: its complete trials, values in the
  space's objective order;
* a path to a CSV file with one row per design: a column per parameter, named by the
  parameter (real values) or ``params_<optuna key>`` (Optuna's ``trials_dataframe``), and a
  column per objective, named by the objective or ``values_<i>``;
* a vectorized callable ``f(arrays) -> {objective name: array}`` over column arrays of real
  values (as :func:`diffuse_dse.evaluators.synthetic.synthetic_objectives`), evaluated on
  ``pretrain_samples`` random feasible designs;
* an :class:`~diffuse_dse.evaluators.base.Evaluator` (e.g. the analytical Gemmini model),
  called design by design on the same random designs; designs it rejects are skipped.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Encoder, Space

PretrainSource = Any
"""An Optuna study, a CSV path, a vectorized callable or an evaluator (see the module docstring)."""


@dataclass
class PretrainData:
    """``X``: ``n x d`` encoded designs. ``Y``: ``n x m`` raw objective values (space order)."""

    X: np.ndarray
    Y: np.ndarray


def load_pretrain(source: PretrainSource, space: Space, encoder: Encoder, rng: np.random.Generator,
                  n_samples: int) -> PretrainData:
    """Read or compute the pretrain data of ``source`` for ``space``."""
    import optuna

    if isinstance(source, optuna.study.Study):
        return _from_study(source, space, encoder)
    if isinstance(source, (str, Path)):
        return _from_csv(Path(source), space, encoder)
    if hasattr(source, "evaluate") or callable(source):
        return _from_callable(source, space, encoder, rng, n_samples)
    raise UsageError(f"The 'pretrain' option of DiffuSESampler must be an Optuna study, a CSV path, a callable or "
                     f"an evaluator. Got {type(source).__name__}.")


def _finish(configs: list[dict[str, Any]], values: list[list[float]], space: Space, encoder: Encoder,
            what: str) -> PretrainData:
    rows = [(c, v) for c, v in zip(configs, values, strict=True) if all(math.isfinite(x) for x in v)]
    if not rows:
        raise UsageError(f"The pretrain source {what} holds no usable design with finite values for the "
                         f"objectives {', '.join(space.objective_names)} of space '{space.name}'.")
    return PretrainData(X=encoder.encode([c for c, _ in rows]), Y=np.asarray([v for _, v in rows], dtype=float))


def _from_study(study: Any, space: Space, encoder: Encoder) -> PretrainData:
    from optuna.trial import TrialState

    from diffuse_dse.samplers._diffuse.observations import trial_config

    configs, values = [], []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        config = trial_config(space, t)
        if config is None or t.values is None or len(t.values) != len(space.objectives):
            continue
        try:
            space.check_config(config)
        except ValueError:
            continue
        configs.append(config)
        values.append([float(v) for v in t.values])
    return _finish(configs, values, space, encoder, f"study '{study.study_name}'")


def _from_csv(path: Path, space: Space, encoder: Encoder) -> PretrainData:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise UsageError(f"The pretrain CSV '{path}' cannot be read: {exc}.") from None
    header = set(rows[0]) if rows else set()
    pcols = {}
    for p in space.parameters:
        for name in (p.name, f"params_{p.optuna_key}", f"params_{p.name}"):
            if name in header:
                pcols[p.name] = name
                break
        else:
            raise UsageError(f"The pretrain CSV '{path}' has no column for parameter '{p.name}' "
                             f"(expected '{p.name}' or 'params_{p.optuna_key}').")
    ocols = []
    for i, o in enumerate(space.objectives):
        name = next((n for n in (o.name, f"values_{i}") if n in header), None)
        if name is None:
            raise UsageError(f"The pretrain CSV '{path}' has no column for objective '{o.name}' "
                             f"(expected '{o.name}' or 'values_{i}').")
        ocols.append(name)
    configs, values = [], []
    for row in rows:
        try:
            config = {}
            for p in space.parameters:
                text = row[pcols[p.name]]
                stored_as_key = pcols[p.name].endswith((".log2", ".rank"))
                config[p.name] = p.from_optuna(float(text)) if stored_as_key else p.coerce(text)
            vals = [float(row[c]) for c in ocols]
        except (ValueError, TypeError, KeyError):
            continue
        if space.is_feasible(config):
            configs.append(config)
            values.append(vals)
    return _finish(configs, values, space, encoder, f"'{path}'")


def _from_callable(fn: Callable[..., Any] | Any, space: Space, encoder: Encoder, rng: np.random.Generator,
                   n_samples: int) -> PretrainData:
    arrays = space.sample_arrays(rng, n_samples)
    mask = space.feasible_mask(arrays)
    arrays = {k: v[mask] for k, v in arrays.items()}
    configs = list(space.rows(arrays))
    names = space.objective_names
    values: list[list[float]] = []
    if hasattr(fn, "evaluate"):
        kept = []
        with tempfile.TemporaryDirectory(prefix="diffuse-pretrain-") as tmp:
            for config in configs:
                try:
                    metrics = fn.evaluate(config, Path(tmp))
                    values.append([float(metrics[n]) for n in names])
                    kept.append(config)
                except Exception:  # an analytical model may reject a design; it is skipped
                    continue
        return _finish(kept, values, space, encoder, type(fn).__name__)
    out = fn(arrays)
    if not isinstance(out, Mapping) or any(n not in out for n in names):
        raise UsageError(f"The pretrain callable {getattr(fn, '__name__', fn)!r} must return a mapping with the "
                         f"objectives {', '.join(names)}.")
    cols = [np.asarray(out[n], dtype=float).reshape(-1) for n in names]
    values = np.stack(cols, 1).tolist()
    return _finish(configs, values, space, encoder, repr(getattr(fn, "__name__", fn)))
