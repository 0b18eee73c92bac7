"""Copy the bench studies of several storages into one, so `diffuse bench --no-run` and `diffuse report`
compare them: for seeds or samplers run as separate processes, each into its own SQLite file
(SQLite takes one writer at a time). A study already in the target is left as it is. Run::

    python benchmarks/tasks/merge_storages.py TARGET.db SOURCE.db [SOURCE.db ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    target = f"sqlite:///{Path(sys.argv[1]).resolve()}"
    have = {s.study_name for s in optuna.get_all_study_summaries(optuna.storages.RDBStorage(target))}
    for source in sys.argv[2:]:
        url = f"sqlite:///{Path(source).resolve()}"
        for summary in optuna.get_all_study_summaries(optuna.storages.RDBStorage(url)):
            if summary.study_name in have:
                print(f"{summary.study_name}: already in {sys.argv[1]}, left as it is", file=sys.stderr)
                continue
            optuna.copy_study(from_study_name=summary.study_name, from_storage=url, to_storage=target)
            have.add(summary.study_name)
            print(f"{summary.study_name}: copied from {source}", file=sys.stderr)


if __name__ == "__main__":
    main()
