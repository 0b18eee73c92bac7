"""The declarative design space: parameters, constraints, objectives and their encoding."""

from diffuse_dse.space.encoding import Encoder
from diffuse_dse.space.expr import Expression, ExpressionError, parse
from diffuse_dse.space.loader import load_space
from diffuse_dse.space.parameter import Parameter
from diffuse_dse.space.space import Config, EvaluatorSpec, Objective, OutcomeConstraint, Space

__all__ = [
    "Config",
    "Encoder",
    "EvaluatorSpec",
    "Expression",
    "ExpressionError",
    "Objective",
    "OutcomeConstraint",
    "Parameter",
    "Space",
    "load_space",
    "parse",
]
