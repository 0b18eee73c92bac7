"""Benchmark of the asap7 evaluator: wall time per design point, hierarchical vs flat, Gemmini's default QoR.

Run: ``python benchmarks/asap7_flow.py [--reps 3] [--flat-dims 4 8] [--pdk PATH]``

For each DIM (a DIM x DIM mesh of 1x1 tiles, otherwise Gemmini's default design) it times a
cold evaluation (fresh cache: Yosys + OpenSTA run) and warm ones (cache hits), hierarchical and,
where affordable, flat; then prints the logic area / critical path differences between the two
modes and the full QoR of Gemmini's default configuration. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from diffuse_dse.evaluators.asap7 import Asap7Evaluator
from diffuse_dse.evaluators.asap7.evaluator import DEFAULTS

REPO = Path(__file__).resolve().parents[1]


def point(dim: int) -> dict[str, object]:
    return {**DEFAULTS, "mesh_rows": dim, "mesh_cols": dim, "tile_rows": 1, "tile_cols": 1}


def timed(ev: Asap7Evaluator, cfg: dict[str, object], workdir: Path) -> tuple[float, dict[str, object]]:
    t = time.perf_counter()
    _, detail = ev.run(cfg, workdir)
    return time.perf_counter() - t, detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--flat-dims", type=int, nargs="*", default=[4, 8], help="DIMs also run flat (cost grows ~DIM^2)")
    ap.add_argument("--reps", type=int, default=3, help="cold runs per point (each with a fresh cache)")
    ap.add_argument("--pdk", default=None)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="asap7-bench-"))
    print(f"# work folder {root}", file=sys.stderr)
    rows = []
    details: dict[tuple[int, str], dict[str, object]] = {}
    for dim in args.dims:
        for mode in ("hierarchical", "flat"):
            if mode == "flat" and dim not in args.flat_dims:
                continue
            reps = args.reps if mode == "hierarchical" else 1
            cold, warm = [], []
            for r in range(reps):
                settings = {"mode": mode, "cache_dir": str(root / f"cache-{dim}-{mode}-{r}")}
                if args.pdk:
                    settings["pdk"] = args.pdk
                ev = Asap7Evaluator(settings, base_dir=REPO)
                t, detail = timed(ev, point(dim), root / f"w-{dim}-{mode}-{r}")
                cold.append(t)
                warm.append(timed(ev, point(dim), root / f"w-{dim}-{mode}-{r}-warm")[0])
            details[dim, mode] = detail
            logic = detail["logic"]
            rows.append((dim, mode, statistics.median(cold), statistics.median(warm), reps, logic["area_um2"],
                         logic["crit_ps"], logic["cells"]))
            print(f"DIM {dim:2d} {mode:12s} cold {rows[-1][2]:7.1f} s  warm {rows[-1][3] * 1e3:6.1f} ms  "
                  f"(n={reps})  logic {logic['area_um2']:10.0f} um2  crit {logic['crit_ps']:6.0f} ps  "
                  f"cells {logic['cells']:8.0f}", flush=True)
    print("\n| DIM | mode | cold s (median) | warm ms | logic area um2 | critical path ps | cells |")
    print("|---|---|---|---|---|---|---|")
    for dim, mode, c, w, n, a, d, cells in rows:
        print(f"| {dim} | {mode} | {c:.1f} (n={n}) | {w * 1e3:.1f} | {a:.0f} | {d:.0f} | {cells:.0f} |")
    print("\n| DIM | area hier/flat - 1 | crit hier/flat - 1 | cells hier/flat - 1 |")
    print("|---|---|---|---|")
    for dim in args.dims:
        if (dim, "flat") in details:
            h, f = details[dim, "hierarchical"]["logic"], details[dim, "flat"]["logic"]
            print(f"| {dim} | {h['area_um2'] / f['area_um2'] - 1:+.1%} | {h['crit_ps'] / f['crit_ps'] - 1:+.1%} "
                  f"| {h['cells'] / f['cells'] - 1:+.1%} |")
    default = details.get((16, "hierarchical"))
    if default:
        print("\nGemmini default (16x16 mesh of 1x1 tiles, BOTH, 256 KiB sp / 4 banks, 64 KiB acc / 2 banks, "
              "128-bit DMA,"
              " int8/int32, RVT, 1000 ps, area script), hierarchical, resnet50:")
        for k, v in default["metrics"].items():
            print(f"  {k:11s} {v:.6g}")
        for k in ("period_ps", "sram_access_ps", "sram_area_um2", "logic_power_mw", "sram_energy_mj", "activity"):
            print(f"  {k:15s} {default[k]:.6g}")
        print(f"  sp bank  {default['sp_bank']}\n  acc bank {default['acc_bank']}\n  perf {default['perf']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
