"""The ``synthetic`` evaluator: a mixed-variable, 3-objective, DTLZ2-like test problem.

Position variables ``a`` (int 0..20) and ``b`` (ordinal) give ``x1 = a / 20`` and
``x2 = b``. Distance variables ``c`` (float), ``d`` (int) and ``e`` (float, log scale) are
measured against optima that depend on the categorical ``kind`` (``ridge``, ``bowl`` or
``step``), which also adds a fixed offset. With ``g`` their squared distance, the objectives
(all minimized) are those of DTLZ2 [Deb2005]_::

    f1 = (1 + g) cos(x1 pi / 2) cos(x2 pi / 2)
    f2 = (1 + g) cos(x1 pi / 2) sin(x2 pi / 2)
    f3 = (1 + g) sin(x1 pi / 2)

so the Pareto front is the positive octant of the unit sphere, reached only with
``kind = ridge`` and every distance variable at its optimum. The space file
``examples/synthetic.yaml`` adds the constraint ``a + 20 * b <= 32``.

.. [Deb2005] K. Deb, L. Thiele, M. Laumanns, E. Zitzler. Scalable test problems for
   evolutionary multiobjective optimization. Springer, 2005.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from diffuse_dse.evaluators.base import Evaluator, Setting
from diffuse_dse.space import Config

_OPTIMUM = {"ridge": (0.5, 0.5, 0.1), "bowl": (0.3, 0.7, 0.03), "step": (0.7, 0.2, 0.3)}
_OFFSET = {"ridge": 0.0, "bowl": 0.08, "step": 0.2}


def synthetic_objectives(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Vectorized objectives for column arrays ``a, b, c, d, e, kind`` of equal length."""
    x1 = np.asarray(arrays["a"], dtype=float) / 20.0
    x2 = np.asarray(arrays["b"], dtype=float)
    kind = np.asarray(arrays["kind"])
    g = np.zeros_like(x1)
    for name, (oc, od, oe) in _OPTIMUM.items():
        sel = kind == name
        c = np.asarray(arrays["c"], dtype=float)[sel]
        d = np.asarray(arrays["d"], dtype=float)[sel] / 10.0
        e = np.log10(np.asarray(arrays["e"], dtype=float)[sel]) / 3.0 + 1.0  # 0.001..1 -> 0..1
        oe_scaled = np.log10(oe) / 3.0 + 1.0
        g[sel] = (c - oc) ** 2 + (d - od) ** 2 + (e - oe_scaled) ** 2 + _OFFSET[name]
    r = 1.0 + g
    h1, h2 = x1 * np.pi / 2, x2 * np.pi / 2
    return {"f1": r * np.cos(h1) * np.cos(h2), "f2": r * np.cos(h1) * np.sin(h2), "f3": r * np.sin(h1)}


class SyntheticEvaluator(Evaluator):
    """The mixed-variable DTLZ2-like problem; ``delay_s`` mimics an expensive flow."""

    name: ClassVar[str] = "synthetic"
    metrics: ClassVar[tuple[str, ...]] = ("f1", "f2", "f3")
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "delay_s": Setting((int, float), default=0.0, help="seconds to sleep per evaluation"),
    }

    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        if self.settings["delay_s"]:
            time.sleep(self.settings["delay_s"])
        arrays = {k: np.asarray([v]) for k, v in config.items()}
        return {k: float(v[0]) for k, v in synthetic_objectives(arrays).items()}
