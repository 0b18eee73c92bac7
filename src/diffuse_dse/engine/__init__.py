"""The exploration engine: an Optuna study driven by ask/tell from one process."""

from diffuse_dse.engine.executor import InlineExecutor, Outcome, PoolExecutor, evaluate_task, make_executor
from diffuse_dse.engine.pareto import hypervolume, pareto_trials, reference_point, study_hypervolume
from diffuse_dse.engine.runner import RunSummary, explore, recover
from diffuse_dse.engine.study import default_storage, load_study, open_study, storage_url

__all__ = [
    "InlineExecutor",
    "Outcome",
    "PoolExecutor",
    "RunSummary",
    "default_storage",
    "evaluate_task",
    "explore",
    "hypervolume",
    "load_study",
    "make_executor",
    "open_study",
    "pareto_trials",
    "recover",
    "reference_point",
    "storage_url",
    "study_hypervolume",
]
