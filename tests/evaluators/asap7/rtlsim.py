"""Drive the generated ``gem_top`` through one GEMM block in iverilog and read back C and its timing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from diffuse_dse.evaluators.asap7.generator import ArrayShape, write_design
from diffuse_dse.perf.array import matmul_cycles


def _hex(values: list[int], bits: int) -> str:
    """Pack ``values`` (element 0 in the low bits) into a Verilog hex literal."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return f"{len(values) * bits}'h{word:x}"


def simulate_gemm(s: ArrayShape, dataflow: str, a: np.ndarray, b: np.ndarray, workdir: Path) -> tuple[np.ndarray, int]:
    """Run ``C = a @ b`` through the array; return C and the cycles from first input to last output.

    Outputs are read at the cycles the timing model predicts, so a wrong count gives a wrong C.
    """
    m, k = a.shape
    n = b.shape[1]
    dim, R, C = s.dim, s.mesh_rows, s.mesh_cols
    ib, ab = s.input_bits, s.acc_bits
    cycles = matmul_cycles(s.mesh_rows, s.mesh_cols, s.tile_rows, s.tile_cols, dataflow, m, n, k)
    drive: list[str] = []
    out_at: dict[int, int] = {}  # cycle -> row of C that must be on the output then
    if dataflow == "OS":
        assert k >= 1
        for t in range(k):
            col_a = [a[i, t] if i < m else 0 for i in range(dim)]
            row_b = [b[t, j] if j < n else 0 for j in range(dim)]
            drive.append(f"{t}: begin sa = {_hex(col_a, ib)}; sb = {_hex(row_b, ib)}; last = {int(t == k - 1)}; end")
        for i in range(m):
            out_at[cycles - 1 - i] = i
    else:
        assert k <= dim, "one WS pass preloads at most DIM rows"
        for t in range(k):  # preload: deepest row first
            row_b = [b[k - 1 - t, j] if j < n else 0 for j in range(dim)]
            drive.append(f"{t}: begin sb = {_hex(row_b, ib)}; preload = 1; end")
        for i in range(m):
            row_a = [a[i, r] if r < k else 0 for r in range(dim)]
            drive.append(f"{k + i}: begin sa = {_hex(row_a, ib)}; end")
            out_at[k + i + R + C - 1] = i
    ws = int(dataflow == "WS")
    total = cycles + 2
    tb = f"""
`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 1, preload = 0, last = 0;
  reg [{dim * ib - 1}:0] sa = 0, sb = 0;
  wire [{dim * ab - 1}:0] acc_wdata;
  wire [{s.dma_bus_bits - 1}:0] dma_out; wire [{dim * ib - 1}:0] sp_wdata; wire sp_wvalid;
  gem_top dut (.clk(clk), .rst(rst), .ws(1'b{ws}), .preload(preload), .last(last), .accumulate(1'b0),
    .sp_rdata_a(sa), .sp_rdata_b(sb), .acc_rdata({dim * ab}'d0), .acc_wdata(acc_wdata), .dma_valid(1'b0),
    .dma_in({s.dma_bus_bits}'d0), .sp_wvalid(sp_wvalid), .sp_wdata(sp_wdata), .dma_rd_next(1'b0), .dma_out(dma_out));
  always #5 clk = ~clk;
  integer t;
  initial begin
    repeat ({dim + R + C + 4}) @(posedge clk);
    #1 rst = 0;
    for (t = 0; t < {total}; t = t + 1) begin
      sa = 0; sb = 0; preload = 0; last = 0;
      case (t)
        {chr(10).join("        " + d for d in drive).strip()}
        default: ;
      endcase
      #4 $display("OUT %0d %h", t, acc_wdata);
      @(posedge clk); #1;
    end
    $finish;
  end
endmodule
"""
    workdir.mkdir(parents=True, exist_ok=True)
    write_design(s, workdir / "design.v")
    (workdir / "tb.v").write_text(tb)
    subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "tb.v", "design.v"], cwd=workdir, check=True,
                   capture_output=True, timeout=120)
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=workdir, check=True, capture_output=True, text=True,
                         timeout=120)
    outs: dict[int, int] = {}
    for line in run.stdout.splitlines():
        if line.startswith("OUT "):
            _, t, word = line.split()
            outs[int(t)] = int(word, 16) if "x" not in word.lower() else -1
    result = np.zeros((m, n), dtype=np.int64)
    mask, half = (1 << ab) - 1, 1 << (ab - 1)
    for t, i in out_at.items():
        word = outs[t]
        assert word >= 0, f"X on the output at cycle {t}"
        for j in range(n):
            v = (word >> (j * ab)) & mask
            result[i, j] = v - (1 << ab) if v >= half else v
    return result, cycles
