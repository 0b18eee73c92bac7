"""Our analytical cycle model against SCALE-Sim (Samajdar et al., ISPASS 2020; v3, PyPI
`scalesim` 3.0.0) on the shipped workloads' layers.

Three things, each a subcommand:

* `table`: every layer of the workloads on every array and dataflow. Our cycles come from
  `diffuse-dse evaluate --layers` (the gemmini-model evaluator); SCALE-Sim's from its own
  compute model (`operand_matrix` and `systolic_compute_{os,ws}`: the demand matrices, one row
  per cycle), run on each distinct layer once and multiplied by its `groups·count`. Writes
  `layers.csv` and `summary.md`.
* `check`: SCALE-Sim end to end (its `scalesim` class, CALC bandwidth, as `python -m
  scalesim.scale` runs it) on a few small layers, showing that its reported "Total Cycles" is the
  compute model's rows − 1, so that `table` may skip its per-cycle memory loop (hours a config).
* `stalls`: SCALE-Sim end to end with a USER bandwidth (its DRAM stall model) on a few layers,
  beside our model's DRAM terms at the same bytes per cycle.

SCALE-Sim's conv layers take no padding, so each convolution is given its padded input cut to
the rows its windows read (`(E − 1)·s + R`); the script checks that SCALE-Sim's `M, N, K` then
equal ours for every layer.

SCALE-Sim's OS demand matrices are built by concatenating fold after fold (quadratic in the
folds: 4 minutes for ResNet-50's conv1 on 16×16), so `table` runs its compute model on an OS
layer only up to `--max-os-folds` folds and takes the closed form beyond; every layer it does
run asserts that the closed form gives the same count.
"""

import argparse
import contextlib
import csv
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BIN = REPO / "target" / "release" / "diffuse-dse"

try:
    from scalesim.compute.operand_matrix import operand_matrix
    from scalesim.compute.systolic_compute_os import systolic_compute_os
    from scalesim.compute.systolic_compute_ws import systolic_compute_ws
    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.scale_sim import scalesim
    from scalesim.topology_utils import topologies
except ImportError:
    sys.exit(
        "scalesim is not importable: run 'make -C benchmarks/scalesim venv' and use "
        "benchmarks/scalesim/.venv/bin/python."
    )

CONFIG_TEMPLATE = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight: {dim}
ArrayWidth: {dim}
IfmapSramSzkB: {ifmap_kb}
FilterSramSzkB: {filter_kb}
OfmapSramSzkB: {ofmap_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: {bw}
Dataflow: {df}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bw}
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bw}
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: {mode}
UseRamulatorTrace: False
"""

# Gemmini's default memories: a 256 KiB scratchpad (A and B, split here in two halves) and a
# 64 KiB accumulator; SCALE-Sim's word is one byte.
MEMORIES = {"ifmap_kb": 128, "filter_kb": 128, "ofmap_kb": 64}


def workload_layers(name):
    """The layers of data/workloads/<name>.toml as SCALE-Sim topology rows, with ours' M, N, K.

    A row is `(name, kind, elems, mnk, multiplicity)`: `kind` 'conv' or 'gemm', `elems` the
    row of SCALE-Sim's conv topology (name, ifmap h, ifmap w, filter h, filter w, channels,
    filters, stride h, stride w, N, M of N:M sparsity), with the input padded.
    """
    with open(REPO / "data" / "workloads" / f"{name}.toml", "rb") as f:
        raw = tomllib.load(f)
    rows = []
    for layer in raw["layers"]:
        count = layer.get("count", 1)
        if layer["type"] == "conv":
            r, s, groups = layer["kernel"], layer.get("stride", 1), layer.get("groups", 1)
            if groups != 1:
                raise SystemExit(f"{name}/{layer['name']}: grouped convolutions are not handled")
            pad = layer.get("pad", r // 2)
            e = (layer["in_hw"] + 2 * pad - r) // s + 1
            # SCALE-Sim counts ceil((H − R + s)/s) windows, partial ones included; the input that
            # gives exactly ours' E windows is the padded one cut to (E − 1)·s + R rows
            hp = (e - 1) * s + r
            mnk = (e * e, layer["out_c"], r * r * layer["in_c"])
            elems = [layer["name"], hp, hp, r, r, layer["in_c"], layer["out_c"], s, s, 1, 1]
            rows.append((layer["name"], "conv", elems, mnk, groups * count))
        else:
            m, n, k = layer["m"], layer["n"], layer["k"]
            # SCALE-Sim's own GEMM reading (topology_utils.load_arrays_gemm): an m × k ifmap,
            # a 1 × k filter, n filters
            elems = [layer["name"], m, k, 1, k, 1, n, 1, 1, 1, 1]
            rows.append((layer["name"], "gemm", elems, (m, n, k), count))
    return rows


def make_config(path, dim, df, mode="CALC", bw=16, name="run"):
    path.write_text(CONFIG_TEMPLATE.format(name=name, dim=dim, df=df, mode=mode, bw=bw, **MEMORIES))
    cfg = scale_config()
    cfg.read_conf_file(str(path))
    return cfg


def scalesim_compute_cycles(cfg, elems):
    """SCALE-Sim's compute model on one layer: the rows of its demand matrices (one per cycle).

    The same calls as `single_layer_sim.run` up to the memory simulation.
    """
    topo = topologies()
    topo.load_layer_params_from_list(elems[0], elems)
    topo.topo_calc_hyperparams()
    op = operand_matrix()
    op.set_params(layer_id=0, config_obj=cfg, topoutil_obj=topo, layoututil_obj=layouts())
    _, ifmap = op.get_ifmap_matrix()
    _, filt = op.get_filter_matrix()
    _, ofmap = op.get_ofmap_matrix()
    compute = systolic_compute_ws() if cfg.get_dataflow() == "ws" else systolic_compute_os()
    compute.set_params(config_obj=cfg, ifmap_op_mat=ifmap, filter_op_mat=filt, ofmap_op_mat=ofmap)
    ifmap_demand, filter_demand, ofmap_demand = compute.get_demand_matrices()
    assert ifmap_demand.shape[0] == filter_demand.shape[0] == ofmap_demand.shape[0]
    mnk = (ifmap.shape[0], filt.shape[1], ifmap.shape[1])
    return ofmap_demand.shape[0], mnk


def folds(dim, df, m, n, k):
    """SCALE-Sim's folds: OS `ceil(M/R)·ceil(N/C)`, WS `ceil(K/R)·ceil(N/C)`."""
    return math.ceil((m if df == "os" else k) / dim) * math.ceil(n / dim)


def closed_form(dim, df, m, n, k):
    """The rows of SCALE-Sim v3's demand matrices in closed form, read off
    `systolic_compute_{os,ws}.py` (R = C = dim), fold after fold with no overlap:

    * OS: `folds·(K + R + C − 2)`: K cycles of streaming, `C − 1` to drain, `R − 1` of skew;
    * WS: `folds·(R + M + R + C − 2)`: R cycles to load the weights, then the same with `T = M`.
    """
    t, load = (k, 0) if df == "os" else (m, dim)
    return folds(dim, df, m, n, k) * (load + t + 2 * dim - 2)


def ours(binary, workload, dim, df):
    """`diffuse-dse evaluate --layers` on the example config of `workload`, a dim × dim mesh
    of 1×1 tiles, the given dataflow, 1 ns clock (16 B/cycle from the 128-bit DMA)."""
    config = REPO / "examples" / f"gemmini-{workload}.toml"
    sets = {
        "mesh_rows": dim,
        "mesh_cols": dim,
        "tile_rows": 1,
        "tile_cols": 1,
        "dataflow": df.upper(),
        "clock_ps": 1000,
    }
    argv = [str(binary), "evaluate", "--config", str(config), "--evaluator", "gemmini-model", "--layers"]
    for key, value in sets.items():
        argv += ["--set", f"{key}={value}"]
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def need_binary(path):
    if not path.is_file():
        sys.exit(f"no diffuse-dse binary at {path}: run 'cargo build --release' or pass --bin PATH.")


def cmd_table(args):
    need_binary(args.bin)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workload in args.workloads:
            layers = workload_layers(workload)
            for dim in args.dims:
                for df in args.dataflows:
                    t0 = time.time()
                    model = ours(args.bin, workload, dim, df)
                    assert [l["name"] for l in model["layers"]] == [l[0] for l in layers]
                    cfg = make_config(pathlib.Path(tmp) / "c.cfg", dim, df)
                    for (name, kind, elems, mnk, mult), our in zip(layers, model["layers"]):
                        if mnk != (our["m"], our["n"], our["k"]):
                            raise SystemExit(f"{workload}/{name}: M,N,K {mnk} here, {our} in ours")
                        if df == "ws" or folds(dim, df, *mnk) <= args.max_os_folds:
                            demand_rows, ss_mnk = scalesim_compute_cycles(cfg, elems)
                            if ss_mnk != mnk:
                                raise SystemExit(f"{workload}/{name}: SCALE-Sim M,N,K {ss_mnk}, ours {mnk}")
                            if demand_rows != closed_form(dim, df, *mnk):
                                raise SystemExit(f"{workload}/{name}: SCALE-Sim {demand_rows} rows, "
                                                 f"closed form {closed_form(dim, df, *mnk)}")
                            source = "compute-model"
                        else:
                            demand_rows, source = closed_form(dim, df, *mnk), "closed-form"
                        rows.append(
                            {
                                "workload": workload,
                                "dim": dim,
                                "dataflow": df.upper(),
                                "layer": name,
                                "m": mnk[0],
                                "n": mnk[1],
                                "k": mnk[2],
                                "multiplicity": mult,
                                "scalesim_folds": folds(dim, df, *mnk) * mult,
                                "scalesim_source": source,
                                # per GEMM of the layer; every count below is × multiplicity
                                "scalesim_cycles": (demand_rows - 1) * mult,
                                "ours_array_cycles": our["array_cycles"],
                                "ours_cycles": our["cycles"],
                                "ours_tiles": our["tiles"],
                                "ours_stream": our["stream"],
                                "ours_dram_bytes": our["dram_bytes"],
                                "ours_prologue_bytes": our["prologue_bytes"],
                            }
                        )
                    print(
                        f"{workload} {dim}x{dim} {df.upper()}: {len(layers)} layers, "
                        f"{time.time() - t0:.1f} s",
                        file=sys.stderr,
                    )
    with open(out_dir / "layers.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out_dir / "summary.md").write_text(summary(rows))
    print(f"wrote {out_dir / 'layers.csv'} and {out_dir / 'summary.md'}", file=sys.stderr)


def rtl_block_by_block(r):
    """`matmul_cycles` of our RTL (src/perf/array.rs) for every block, none overlapped:
    `folds·(T + D + R + C − 1)` with T = K (OS) or M (WS), R = C = D (1×1 tiles)."""
    dim, df = int(r["dim"]), r["dataflow"].lower()
    m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
    t = k if df == "os" else m
    return folds(dim, df, m, n, k) * (t + 3 * dim - 1) * int(r["multiplicity"])


def summary(rows):
    """Markdown: per configuration the totals, then per layer at each configuration."""
    lines = [
        "| workload | array | dataflow | SCALE-Sim | our RTL, block by block | ours, array only | ratio to SCALE-Sim | ours, with DRAM | ratio to SCALE-Sim |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    groups = {}
    for r in rows:
        groups.setdefault((r["workload"], int(r["dim"]), r["dataflow"]), []).append(r)
    for (w, dim, df), rs in groups.items():
        ss = sum(float(r["scalesim_cycles"]) for r in rs)
        rtl = sum(rtl_block_by_block(r) for r in rs)
        arr = sum(float(r["ours_array_cycles"]) for r in rs)
        full = sum(float(r["ours_cycles"]) for r in rs)
        lines.append(
            f"| {w} | {dim}×{dim} | {df} | {ss:,.0f} | {rtl:,.0f} | {arr:,.0f} | {arr / ss:.3f} | "
            f"{full:,.0f} | {full / ss:.3f} |"
        )
    n_model = sum(r["scalesim_source"] == "compute-model" for r in rows)
    lines += [
        "",
        f"SCALE-Sim's count from its compute model on {n_model} of {len(rows)} layer runs, "
        "from the closed form (asserted equal on those) on the others.",
    ]
    for (w, dim, df), rs in groups.items():
        lines += [
            "",
            f"**{w}, {dim}×{dim}, {df}** (cycles of all of a layer's GEMMs)",
            "",
            "| layer | M | N | K | × | SCALE-Sim | ours, array | ratio | ours, with DRAM | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rs:
            ss = float(r["scalesim_cycles"])
            r = {**r, "ours_array_cycles": float(r["ours_array_cycles"]), "ours_cycles": float(r["ours_cycles"])}
            lines.append(
                f"| {r['layer']} | {r['m']} | {r['n']} | {r['k']} | {r['multiplicity']} | {ss:,.0f} | "
                f"{r['ours_array_cycles']:,.0f} | {r['ours_array_cycles'] / ss:.3f} | "
                f"{r['ours_cycles']:,.0f} | {r['ours_cycles'] / ss:.3f} |"
            )
    return "\n".join(lines) + "\n"


def cmd_summary(args):
    with open(pathlib.Path(args.out) / "layers.csv") as f:
        rows = list(csv.DictReader(f))
    (pathlib.Path(args.out) / "summary.md").write_text(summary(rows))


def scalesim_end_to_end(tmp, dim, df, layers, mode, bw):
    """SCALE-Sim's full run (compute and memory simulation) on `layers`, as its command line
    runs it, without traces; the COMPUTE_REPORT rows (total incl. prefetch, total, stalls)."""
    tmp = pathlib.Path(tmp)
    cfg = tmp / f"{df}{dim}.cfg"
    make_config(cfg, dim, df, mode=mode, bw=bw, name=f"{df}{dim}")
    kinds = {kind for _, kind, _, _, _ in layers}
    assert len(kinds) == 1, "one run takes conv or gemm rows, not both"
    gemm = kinds == {"gemm"}
    topo = tmp / "topo.csv"
    with open(topo, "w") as f:
        if gemm:
            f.write("Layer, M, N, K,\n")
            for name, _, _, (m, n, k), _ in layers:
                f.write(f"{name}, {m}, {n}, {k},\n")
        else:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
            for _, _, e, _, _ in layers:
                f.write(", ".join(str(x) for x in e[:8]) + ",\n")
    layout = tmp / "layout.csv"
    layout.write_text("Layer name,\n")
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo),
                       layout=str(layout), input_type_gemm=gemm)
        sim.run_scale(top_path=str(tmp / "out"))
    with open(tmp / "out" / f"{df}{dim}" / "COMPUTE_REPORT.csv") as f:
        report = list(csv.reader(f))[1:]
    return [(int(r[1]), int(r[2]), int(r[3])) for r in report]


# small enough for SCALE-Sim's per-cycle memory loop at 16×16 and 32×32 (under 10^5 cycles)
CHECK_LAYERS = {
    "resnet50": ["conv2_1_a"],
    "bert-base": ["attn_scores", "attn_context"],
}


def cmd_check(args):
    """SCALE-Sim end to end on small layers: its Total Cycles = compute-model rows − 1."""
    failures = 0
    for dim in args.dims:
        for df in args.dataflows:
            for workload, names in CHECK_LAYERS.items():
                layers = [l for l in workload_layers(workload) if l[0] in names]
                with tempfile.TemporaryDirectory() as tmp:
                    cfg = make_config(pathlib.Path(tmp) / "c.cfg", dim, df)
                    t0 = time.time()
                    report = scalesim_end_to_end(tmp, dim, df, layers, "CALC", 16)
                    for (name, _, elems, mnk, _), (_, total, stalls) in zip(layers, report):
                        rows, _ = scalesim_compute_cycles(cfg, elems)
                        ok = total == rows - 1 and stalls == 0
                        failures += not ok
                        print(f"{dim}x{dim} {df.upper()} {name}: report {total} (stalls {stalls}), "
                              f"compute model {rows} rows, closed form {closed_form(dim, df, *mnk)}"
                              f"{'' if ok else '  MISMATCH'}  [{time.time() - t0:.0f} s]")
    sys.exit(1 if failures else 0)


# SCALE-Sim's memory loop runs one Python step per cycle (about 5000 cycles/s here), so the
# stall runs take the layers of under 10^5 cycles at 16×16
STALL_LAYERS = {
    "resnet50": ["conv2_1_a"],
    "bert-base": ["attn_scores", "attn_context"],
}


def cmd_stalls(args):
    """SCALE-Sim with a USER DRAM bandwidth of `--bw` words (bytes) per cycle on a few layers,
    beside ours at 16 B/cycle (the 128-bit DMA). SCALE-Sim gives each of its three buffers
    (ifmap, filter, ofmap) its own `--bw`; ours is one bus for all. Counts are per GEMM."""
    need_binary(args.bin)
    print("| layer | array | dataflow | SCALE-Sim compute | SCALE-Sim stalls | SCALE-Sim total incl. prefetch | ours, array | ours, DRAM bytes / bw | ours, with DRAM |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for dim in args.dims:
        for df in args.dataflows:
            for workload, names in STALL_LAYERS.items():
                model = {l["name"]: l for l in ours(args.bin, workload, dim, df)["layers"]}
                for layer in [l for l in workload_layers(workload) if l[0] in names]:
                    name, mult = layer[0], layer[4]
                    with tempfile.TemporaryDirectory() as tmp:
                        t0 = time.time()
                        [(with_prefetch, total, stalls)] = scalesim_end_to_end(
                            tmp, dim, df, [layer], "USER", args.bw
                        )
                    our = model[name]
                    print(f"| {name} | {dim}×{dim} | {df.upper()} | {total - stalls:,} | {stalls:,} | "
                          f"{with_prefetch:,} | {our['array_cycles'] / mult:,.0f} | "
                          f"{our['dram_bytes'] / mult / args.bw:,.0f} | {our['cycles'] / mult:,.0f} |",
                          flush=True)
                    print(f"  {name} {dim} {df}: {time.time() - t0:.0f} s", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ["table", "check", "stalls", "summary"]:
        s = sub.add_parser(name)
        s.add_argument("--dims", type=int, nargs="+", default=[8, 16, 32])
        s.add_argument("--dataflows", nargs="+", choices=["os", "ws"], default=["os", "ws"])
        s.add_argument("--bin", type=pathlib.Path, default=DEFAULT_BIN)
        if name in ("table", "summary"):
            s.add_argument("--out", default=str(HERE / "results"))
        if name == "table":
            s.add_argument("--workloads", nargs="+", default=["resnet50", "bert-base"])
            s.add_argument("--max-os-folds", type=int, default=400)
        if name == "stalls":
            s.add_argument("--bw", type=int, default=16)
    args = p.parse_args()
    {"table": cmd_table, "check": cmd_check, "stalls": cmd_stalls, "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    main()
