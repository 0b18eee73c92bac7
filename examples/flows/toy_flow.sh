#!/bin/sh
# A toy stand-in for a user's EDA flow (synthesis + timing + power on some PDK), for the
# `command` evaluator in examples/command-flow.toml. A real flow would write RTL from the
# parameters, run Yosys/OpenROAD/a commercial tool and parse its reports; this one computes
# rough numbers with awk so that the example runs anywhere in milliseconds.
#
# The daemon runs it once per design, with the argv of [evaluator.command] after the
# placeholders are filled in, e.g.
#
#     toy_flow.sh --dim=16 --sp-kib=256 --dataflow=WS --clock-ps=1000 --vt=LVT \
#                 --workdir=/var/lib/diffuse-dse/runs/batch-3/proposal-17 .../design.json
#
# It must print one JSON object of metric names to finite numbers on stdout (the report) and
# exit 0; anything else (a non-zero exit, no JSON, a missing metric, "NaN") marks the
# evaluation as failed, with the last stderr line as the reason. Diagnostics go to stderr,
# which the daemon keeps in the evaluation folder as stderr.log.
set -eu

dim="" sp_kib="" dataflow="" clock_ps="" vt="" workdir="" design_json=""
for arg in "$@"; do
    case "$arg" in
        --dim=*) dim=${arg#*=} ;;
        --sp-kib=*) sp_kib=${arg#*=} ;;
        --dataflow=*) dataflow=${arg#*=} ;;
        --clock-ps=*) clock_ps=${arg#*=} ;;
        --vt=*) vt=${arg#*=} ;;
        --workdir=*) workdir=${arg#*=} ;;
        --*) echo "toy_flow: unknown option $arg" >&2; exit 2 ;;
        *) design_json=$arg ;;
    esac
done
for v in dim sp_kib dataflow clock_ps vt; do
    eval "val=\${$v}"
    if [ -z "$val" ]; then echo "toy_flow: missing --$v" >&2; exit 2; fi
done
if [ -n "$design_json" ] && [ ! -r "$design_json" ]; then
    echo "toy_flow: cannot read the design file $design_json" >&2
    exit 2
fi

echo "toy_flow: dim=$dim sp=${sp_kib}KiB dataflow=$dataflow clock=${clock_ps}ps vt=$vt pdk=${TOY_PDK:-none} in ${workdir:-.}" >&2
# A real flow would leave its reports here; the evaluation folder is kept after the run.
if [ -n "$workdir" ] && [ -d "$workdir" ]; then
    echo "dim=$dim sp_kib=$sp_kib dataflow=$dataflow clock_ps=$clock_ps vt=$vt" > "$workdir/toy_flow.rpt"
fi

awk -v dim="$dim" -v sp="$sp_kib" -v df="$dataflow" -v clk="$clock_ps" -v vt="$vt" 'BEGIN {
    # Threshold-voltage mix: speed-up of the logic and leakage, relative to RVT.
    speed["RVT"] = 1.00; leak["RVT"] = 1
    speed["LVT"] = 1.15; leak["LVT"] = 3
    speed["SLVT"] = 1.30; leak["SLVT"] = 10
    if (!(vt in speed)) { print "toy_flow: unknown vt " vt > "/dev/stderr"; exit 3 }
    pes = dim * dim
    fmax_mhz = 1400 * speed[vt] / (1 + dim / 64)       # wires get longer with the array
    f_mhz = 1e6 / clk; if (f_mhz > fmax_mhz) f_mhz = fmax_mhz
    util = 0.45 + 0.4 * (sp >= 512 ? 1 : sp / 512)      # more scratchpad, fewer stalls
    if (df == "BOTH") util += 0.05
    latency_ms = 4.1e9 / (pes * f_mhz * 1e6 * util) * 1e3   # ResNet-50: about 4.1 GMAC
    area_mm2 = pes * 0.0012 + sp * 0.00035 + (df == "BOTH" ? 0.01 : 0)
    power_mw = pes * 0.35 * f_mhz / 1000 * speed[vt] + sp * 0.03 + area_mm2 * 8 * leak[vt]
    printf "{\"latency_ms\": %.4f, \"power_mw\": %.4f, \"area_mm2\": %.5f, \"fmax_mhz\": %.1f}\n", \
        latency_ms, power_mw, area_mm2, fmax_mhz
}'
