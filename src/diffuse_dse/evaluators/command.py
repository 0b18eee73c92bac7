"""The ``command`` evaluator: the user's own flow (an OpenROAD or commercial run, say).

The command is an argv list, never a shell string, so parameter values reach it verbatim.
Placeholders in its items are replaced:

* ``{NAME}``: the value of parameter NAME;
* ``{config}``: the path of ``config.json``, the whole configuration as JSON;
* ``{output}``: the path of the JSON file the command must write its QoR to;
* ``{workdir}``: the trial's own working folder, which is also the command's cwd.

stdout and stderr go to ``stdout.log`` and ``stderr.log`` in the working folder. A timeout
kills the command's whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import string
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from diffuse_dse.errors import EvaluationError, EvaluationTimeout, SettingsError, ToolNotFoundError
from diffuse_dse.evaluators.base import Evaluator, Setting
from diffuse_dse.space import Config

MAX_OUTPUT_BYTES = 1 << 20
"""A QoR file larger than this (1 MiB) is refused as garbage."""


class CommandEvaluator(Evaluator):
    """Runs an external command per configuration and reads its QoR JSON file."""

    name: ClassVar[str] = "command"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "argv": Setting((list,), required=True, help="the command as a list of strings, with {param} placeholders"),
        "output": Setting(
            (str,), default="qor.json", help="the QoR JSON file the command writes, relative to its workdir"
        ),
        "timeout_s": Setting((int, float), default=None, help="seconds before the command's process group is killed"),
        "env": Setting((dict,), default={}, help="extra environment variables"),
    }

    def __init__(self, settings: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> None:
        super().__init__(settings, base_dir=base_dir)
        argv = self.settings["argv"]
        if not argv or not all(isinstance(a, str) for a in argv):
            raise SettingsError(f"evaluators.command.argv: expected a non-empty list of strings. Got {argv!r}.")
        for item in argv:
            for _, field, _, _ in string.Formatter().parse(item):
                if field is not None and not field.isidentifier():
                    raise SettingsError(f"evaluators.command.argv: placeholder {{{field}}} in {item!r} is not a name.")
        timeout = self.settings["timeout_s"]
        if timeout is not None and timeout <= 0:
            raise SettingsError(f"evaluators.command.timeout_s: must be > 0. Got {timeout}.")

    def argv_for(self, config: Config, workdir: Path) -> list[str]:
        """The exact argv run for ``config`` in ``workdir``."""
        fields = {k: _text(v) for k, v in config.items()}
        fields.update(
            config=str(workdir / "config.json"), output=str(workdir / self.settings["output"]), workdir=str(workdir)
        )
        argv = []
        for item in self.settings["argv"]:
            try:
                argv.append(item.format_map(fields))
            except KeyError as exc:
                raise EvaluationError(
                    f"argv item {item!r} names {exc}, which is neither a parameter nor config/output/workdir"
                ) from None
        return argv

    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        (workdir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        output = workdir / self.settings["output"]
        output.unlink(missing_ok=True)
        argv = self.argv_for(config, workdir)
        (workdir / "command.json").write_text(json.dumps({"argv": argv, "cwd": str(workdir)}, indent=2) + "\n")
        run(
            argv,
            workdir,
            timeout_s=self.settings["timeout_s"],
            env=self.settings["env"],
            what=f"The command {argv[0]!r}",
        )
        return read_qor(output)


def run(
    argv: list[str],
    workdir: Path,
    *,
    timeout_s: float | None,
    env: Mapping[str, str] | None = None,
    what: str = "The command",
    log_stem: str = "",
) -> None:
    """Run ``argv`` in ``workdir`` in its own process group, logging to files.

    Raises:
        ToolNotFoundError: ``argv[0]`` is not installed.
        EvaluationTimeout: it ran past ``timeout_s``; its whole process group was killed.
        EvaluationError: it exited non-zero; the message ends with its last stderr lines.
    """
    prefix = f"{log_stem}." if log_stem else ""
    out_path, err_path = workdir / f"{prefix}stdout.log", workdir / f"{prefix}stderr.log"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ToolNotFoundError(argv[0], "Install it, or give its full path in the command.") from None
        except PermissionError:
            raise EvaluationError(f"{argv[0]!r} is not executable (chmod +x it).") from None
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise EvaluationTimeout(timeout_s or 0.0, what) from None
        except BaseException:
            _kill_group(proc)
            raise
    if code != 0:
        tail = err_path.read_bytes()[-600:].decode("utf-8", "replace").strip()
        reason = f"{what} exited with status {code}" if code > 0 else f"{what} was killed by signal {-code}"
        raise EvaluationError(f"{reason}; stderr ends: {tail[-400:]}" if tail else reason)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def read_qor(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`EvaluationError` when it is absent or garbage."""
    if not path.exists():
        raise EvaluationError(f"the command exited 0 but wrote no QoR file {path.name}")
    if path.stat().st_size > MAX_OUTPUT_BYTES:
        raise EvaluationError(f"the QoR file {path.name} is {path.stat().st_size:,} bytes; over the 1 MiB limit")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"the QoR file {path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvaluationError(f"the QoR file {path.name} holds {type(data).__name__}, expected a JSON object")
    return data


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
