"""The ``gemmini-model`` evaluator: a fast analytical Gemmini-class PPA model on ASAP7.

The technology side (:mod:`.technology`, :mod:`.sram`) is closed-form with coefficients in
``coefficients.json``, fitted to the ``asap7`` flow by :mod:`.calibration`; the cycles come from
:mod:`diffuse_dse.perf`, shared with the flow.
"""

from diffuse_dse.evaluators.gemmini_model.evaluator import GemminiModelEvaluator
from diffuse_dse.evaluators.gemmini_model.model import METRICS, PARAMETERS, evaluate_arrays

__all__ = ["METRICS", "PARAMETERS", "GemminiModelEvaluator", "evaluate_arrays"]
