"""OpenSTA: static timing (critical path, WNS) and power of the mapped netlists.

Docs: https://github.com/The-OpenROAD-Project/OpenSTA (``doc/OpenSTA.pdf``: ``report_checks``,
``set_power_activity``, ``report_power``). Install: ``apt-get install opensta``.
The script is ``scripts/sta.tcl``; it prints ``QOR <top> <key> <value>`` lines, parsed here,
and writes the full ``<top>.timing.rpt`` / ``<top>.power.<activity>.rpt`` reports beside them.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path
from typing import ClassVar

from diffuse_dse.errors import EvaluationError
from diffuse_dse.evaluators.asap7.tool import Tool

SCRIPT = resources.files("diffuse_dse.evaluators.asap7") / "scripts" / "sta.tcl"
ACTIVITIES = (0.0, 0.5)
"""Toggle rates (transitions per clock period) at which power is measured; the flow interpolates."""

_QOR = re.compile(r"^QOR (\S+) (\S+) (\S+)$", re.M)


class OpenSta(Tool):
    name: ClassVar[str] = "sta"
    install: ClassVar[str] = "apt-get install opensta"
    version_args: ClassVar[tuple[str, ...]] = ("-version",)

    def analyze(self, netlist: Path, tops: list[str], libs: list[Path], clock_ps: float, workdir: Path,
                stem: str) -> dict[str, dict[str, float]]:
        """Time and power each of ``tops`` in ``netlist``; ``{top: {key: value}}``.

        Keys: ``wns_ps``, ``cells``, ``power_w@<a>`` and ``leakage_w@<a>`` per activity ``a``.
        """
        suffix = {"RVT": "R", "LVT": "L", "SLVT": "SL"}[libs[0].name.split("_")[2]]
        tcl = lambda items: "{" + " ".join(str(i) for i in items) + "}"  # noqa: E731
        (workdir / "sta_vars.tcl").write_text(
            f"set libs {tcl(libs)}\nset netlist {netlist}\nset tops {tcl(tops)}\nset clock_ps {clock_ps:g}\n"
            f"set activities {tcl(ACTIVITIES)}\nset drive_cell BUFx2_ASAP7_75t_{suffix}\n")
        shutil.copyfile(str(SCRIPT), workdir / "sta.tcl")
        self.run(["-no_splash", "-exit", "sta.tcl"], workdir, log_stem=f"{stem}.sta")
        out: dict[str, dict[str, float]] = {t: {} for t in tops}
        for top, key, value in _QOR.findall((workdir / f"{stem}.sta.stdout.log").read_text()):
            try:
                out.setdefault(top, {})[key] = float(value)
            except ValueError:
                raise EvaluationError(f"OpenSTA reported {key}={value!r} for {top}; see {stem}.sta.stdout.log")\
                    from None
        for top in tops:
            if "wns_ps" not in out[top] or f"power_w@{ACTIVITIES[-1]}" not in out[top]:
                raise EvaluationError(f"OpenSTA gave no timing/power for {top}; see {workdir}/{stem}.sta.stdout.log")
        return out
