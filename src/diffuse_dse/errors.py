"""Exceptions raised by diffuse-dse.

Every error a user can cause derives from :class:`DiffuseError`. The CLI prints its message
as one line and exits with status 2; a traceback appears only with ``--debug``.
"""

from __future__ import annotations


class DiffuseError(Exception):
    """Root of every error that diffuse-dse raises on purpose."""


class SpaceError(DiffuseError):
    """A design-space file is malformed: the message names the file, field and line."""


class UsageError(DiffuseError):
    """A command-line option or an API argument has a value that cannot work."""


class SettingsError(DiffuseError):
    """An evaluator's settings are missing, unknown or of the wrong type."""


class ToolNotFoundError(DiffuseError):
    """An external tool (Yosys, OpenSTA, a user's command) is not installed."""

    def __init__(self, tool: str, hint: str) -> None:
        super().__init__(f"The tool '{tool}' was not found on PATH. {hint}")
        self.tool = tool
        self.hint = hint


class PdkNotFoundError(DiffuseError):
    """The ASAP7 PDK folder is missing or incomplete."""


class EvaluationError(DiffuseError):
    """One evaluation failed; the trial becomes FAIL with this message as its reason."""


class EvaluationTimeout(EvaluationError):
    """An evaluation ran longer than its time limit and was killed."""

    def __init__(self, timeout: float, what: str = "The evaluation") -> None:
        super().__init__(f"{what} exceeded its timeout of {timeout:g} s and was killed.")
        self.timeout = timeout


class InfeasibleDesign(EvaluationError):
    """A configuration cannot be built (e.g. a bank too small for any SRAM macro)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"Infeasible design: {why}")
        self.why = why


class StorageError(DiffuseError):
    """A study storage cannot be opened, read or written."""
