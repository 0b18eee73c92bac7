"""Open or create the Optuna study that holds an exploration, and where its files go.

Storage is a SQLite file by default (``./<space file stem>.db``); any Optuna storage URL
is accepted. The run settings (space, evaluator, sampler, seed) are stored on the study so
that ``diffuse run`` can resume it and refuse a resume that would mix two setups.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy.exc import SQLAlchemyError

from diffuse_dse.engine.records import STUDY_ATTR
from diffuse_dse.errors import StorageError, UsageError
from diffuse_dse.space import Space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def default_storage(space: Space) -> str:
    """``sqlite:///<cwd>/<space file stem>.db``."""
    stem = space.path.stem if space.path is not None else space.name
    return storage_url(str(Path.cwd() / f"{stem}.db"))


def storage_url(text: str) -> str:
    """A storage URL from a URL or a plain path to a SQLite file."""
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, else ``None``."""
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def artifacts_root(url: str, study_name: str) -> Path:
    """Per-trial artifact folders go under ``<db stem>.artifacts/<study>/`` beside a SQLite
    file, or ``./diffuse-artifacts/<study>/`` for other storages."""
    db = sqlite_path(url)
    base = db.with_suffix(".artifacts") if db is not None else Path.cwd() / "diffuse-artifacts"
    return base / study_name


def _storage(url: str, *, must_exist: bool) -> optuna.storages.BaseStorage:
    db = sqlite_path(url)
    if db is not None:
        if must_exist and not db.exists():
            raise StorageError(f"{db}: no such study database. Run `diffuse run SPACE.yaml` first, or give --storage.")
        if not must_exist:
            folder = db.parent
            if not folder.is_dir():
                raise StorageError(f"{db}: the folder {folder} does not exist; create it or choose another --storage.")
            if (db.exists() and not os.access(db, os.W_OK)) or (not db.exists() and not os.access(folder, os.W_OK)):
                raise StorageError(f"{db}: cannot be written (permission denied). Choose a writable --storage path.")
    try:
        return optuna.storages.RDBStorage(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StorageError(
            f"cannot open the storage {url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from None


def fingerprint(space: Space) -> dict[str, Any]:
    """What must not change between two sessions of one study."""
    return {
        "parameters": [[p.name, p.kind, [str(c) for c in p.choices], p.low, p.high, p.log] for p in space.parameters],
        "constraints": [c.text for c in space.constraints],
        "objectives": [[o.name, o.direction] for o in space.objectives],
    }


def session_seed(seed: int, trials_so_far: int) -> int:
    """The sampler seed of one session: ``seed`` for a new study, else derived from it and
    the number of trials already stored, so that a resumed run does not replay the first
    session's proposals and is still reproducible."""
    return seed if trials_so_far == 0 else (seed * 1_000_003 + trials_so_far) % (2**31 - 1)


def open_study(url: str, name: str, space: Space, settings: dict[str, Any]) -> optuna.Study:
    """Create the study, or load it and check it was run with the same setup.

    Raises:
        StorageError: the storage cannot be opened or written.
        UsageError: the study exists with another space, evaluator or sampler.
    """
    storage = _storage(url, must_exist=False)
    directions = ["minimize" if o.direction == "min" else "maximize" for o in space.objectives]
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, load_if_exists=True)
        stored = study.user_attrs.get(STUDY_ATTR)
        if stored is None:
            if study.trials:
                raise UsageError(f"The study '{name}' in {url} was not made by diffuse-dse; give another --study name.")
            study.set_user_attr(STUDY_ATTR, {**settings, "fingerprint": fingerprint(space)})
            return study
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot write the storage {url}: {str(exc).splitlines()[0]}. Check that it is writable."
        ) from None
    if stored.get("fingerprint") != json.loads(json.dumps(fingerprint(space))):
        raise UsageError(
            f"The study '{name}' in {url} was made from a different design space (parameters, constraints or "
            "objectives changed). Resume it with the original space file, or give a new --study name."
        )
    for key in ("sampler", "seed", "evaluator"):
        if stored.get(key) != settings.get(key):
            raise UsageError(
                f"The study '{name}' in {url} was run with {key} {stored.get(key)!r}, not {settings.get(key)!r}. "
                f"Resume it with --{key} {stored.get(key)}, or give a new --study name."
            )
    return study


def load_study(url: str, name: str | None) -> optuna.Study:
    """Load an existing study; ``name`` may be omitted when the storage holds only one."""
    storage = _storage(url, must_exist=True)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if name is None:
        if len(names) != 1:
            listing = ", ".join(names) or "none"
            raise UsageError(f"{url} holds {len(names)} studies ({listing}); choose one with --study.")
        name = names[0]
    if name not in names:
        raise UsageError(f"{url} has no study '{name}'; it holds: {', '.join(names) or 'none'}.")
    return optuna.load_study(study_name=name, storage=storage)
