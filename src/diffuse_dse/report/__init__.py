"""Results a designer can look at and act on: figures, the HTML report, importance, replay.

* :func:`build_report` writes one self-contained HTML file for a study or a bench storage;
* :mod:`diffuse_dse.report.figures` draws each figure with matplotlib (for ``diffuse plot``);
* :func:`param_importances` gives per-objective parameter importance (Optuna's evaluators);
* :func:`replay_trial` writes a design's Verilog, flow scripts and settings and re-runs it.

matplotlib is imported only when a figure is drawn, so ``diffuse --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from diffuse_dse.report.data import Bench, StudyData

__all__ = ["Bench", "StudyData", "build_report", "param_importances", "replay_trial"]


def __getattr__(name: str) -> Any:  # lazy: matplotlib and sklearn load only when used
    if name == "build_report":
        from diffuse_dse.report.html import build_report

        return build_report
    if name == "param_importances":
        from diffuse_dse.report.importance import param_importances

        return param_importances
    if name == "replay_trial":
        from diffuse_dse.report.replay import replay_trial

        return replay_trial
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
