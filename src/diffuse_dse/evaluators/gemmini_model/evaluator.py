"""The ``gemmini-model`` evaluator: the analytical Gemmini-class PPA model as an evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from diffuse_dse.errors import EvaluationError, SettingsError
from diffuse_dse.evaluators.base import Evaluator, Setting
from diffuse_dse.evaluators.gemmini_model.model import METRICS, evaluate_arrays
from diffuse_dse.evaluators.gemmini_model.technology import load_coefficients
from diffuse_dse.space import Config
from diffuse_dse.workloads import WORKLOADS


class GemminiModelEvaluator(Evaluator):
    """Closed-form area, timing and power on ASAP7 plus Gemmini's cycle model; no tools needed.

    Same parameters, workloads and metrics as the ``asap7`` flow, which calibrates its
    coefficients (``diffuse calibrate``). :meth:`evaluate_arrays` runs whole batches at
    more than 100,000 configurations per second.
    """

    name: ClassVar[str] = "gemmini-model"
    metrics: ClassVar[tuple[str, ...]] = METRICS
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "workload": Setting((str,), default="resnet50", help=f"one of {', '.join(WORKLOADS)}"),
        "dram_gbps": Setting((int, float), default=16.0, help="DRAM bandwidth in GB/s"),
        "coefficients": Setting((str,), default="", help="a coefficients JSON file; the shipped fit if empty"),
    }

    def __init__(self, settings: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> None:
        super().__init__(settings, base_dir=base_dir)
        if self.settings["workload"] not in WORKLOADS:
            raise SettingsError(f"evaluators.{self.name}.workload: expected one of {', '.join(WORKLOADS)}. "
                                f"Got {self.settings['workload']!r}.")
        if not self.settings["dram_gbps"] > 0:
            raise SettingsError(f"evaluators.{self.name}.dram_gbps: must be > 0. Got {self.settings['dram_gbps']}.")
        path = self.settings["coefficients"]
        self._coef = load_coefficients(self.base_dir / path if path else None)

    def evaluate_arrays(self, arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every metric for equal-length column arrays of configurations, keyed by metric name."""
        return evaluate_arrays(arrays, workload=self.settings["workload"], dram_gbps=float(self.settings["dram_gbps"]),
                               coefficients=self._coef)

    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        try:
            out = self.evaluate_arrays({k: np.asarray([v]) for k, v in config.items()})
        except (KeyError, ValueError) as exc:
            raise EvaluationError(f"gemmini-model cannot evaluate this configuration: {exc}") from None
        return {k: float(v[0]) for k, v in out.items()}
