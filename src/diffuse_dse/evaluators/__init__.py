"""Evaluators: a configuration goes in, QoR metrics and artifacts come out.

Built in: ``synthetic`` (a mixed-variable test problem), ``python`` (a user function),
``command`` (a user's own flow), plus the accelerator evaluators registered in
``pyproject.toml``. Third parties register more under the ``diffuse_dse.evaluators``
entry-point group.
"""

from diffuse_dse.evaluators.base import Evaluator, Setting, check_metrics, parse_settings
from diffuse_dse.evaluators.registry import evaluator_classes, make_evaluator

__all__ = ["Evaluator", "Setting", "check_metrics", "evaluator_classes", "make_evaluator", "parse_settings"]
