"""The ``asap7`` evaluator: a Gemmini-class generator and a Yosys/OpenSTA flow on ASAP7 7 nm."""

from diffuse_dse.evaluators.asap7.evaluator import Asap7Evaluator

__all__ = ["Asap7Evaluator"]
