"""Synthesizable Verilog of a Gemmini-style systolic-array datapath, emitted from Python.

Modules (all names fixed, widths baked in, so one netlist holds one design):

* ``gem_pe``: one multiply-accumulate PE. ``OS`` keeps an accumulator ``c`` and a drain register
  ``o``; ``WS`` keeps a weight ``w`` and adds the partial sum from above; ``BOTH`` shares ``c``
  as accumulator or weight and adds the operand and output muxes of both, as Gemmini's PE does.
* ``gem_tile``: ``tile_rows x tile_cols`` PEs, chained combinationally (``a`` across a row,
  ``b``/partial sums down a column); the ``d`` chain (OS drain, WS weight preload) runs through
  the PE registers.
* ``gem_tile_h``: a tile between registers on all its inputs and outputs, the unit the
  hierarchical flow synthesizes and times once.
* ``gem_mesh``: ``mesh_rows x mesh_cols`` tiles with a pipeline register on every signal
  between tiles (the ``d`` chain skips it in WS mode, where preload needs no skew).
* ``gem_periph``: everything around the mesh: input skew and output de-skew registers (as
  Gemmini's ``MeshWithDelays``), output registers, the accumulator-memory adders and the DMA
  width converters between the ``dma_bus_bits`` bus and scratchpad / accumulator rows.
* ``gem_top``: ``gem_periph`` wired to ``gem_mesh``; the SRAM macros sit outside it, at its
  ``sp_*`` / ``acc_*`` ports (their area and energy come from :mod:`.sram`).

Timing of the block interface is what :func:`diffuse_dse.perf.array.matmul_cycles` counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diffuse_dse.errors import InfeasibleDesign

DATAFLOWS = ("OS", "WS", "BOTH")


@dataclass(frozen=True)
class ArrayShape:
    """The generator parameters of one design (names as in ``examples/gemmini-asap7.yaml``)."""

    mesh_rows: int = 16
    mesh_cols: int = 16
    tile_rows: int = 1
    tile_cols: int = 1
    dataflow: str = "BOTH"
    input_bits: int = 8
    acc_bits: int = 32
    dma_bus_bits: int = 128

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ArrayShape:
        """Pick this class's fields out of a configuration (defaults = Gemmini's default design)."""
        kwargs = {f: config[f] for f in cls.__dataclass_fields__ if f in config}
        shape = cls(**{k: (str(v) if k == "dataflow" else int(v)) for k, v in kwargs.items()})
        shape.check()
        return shape

    @property
    def dim(self) -> int:
        return self.mesh_rows * self.tile_rows

    @property
    def b_bits(self) -> int:
        """Width of the vertical ``b`` bus: the operand in OS, the partial sum in WS / BOTH."""
        return self.input_bits if self.dataflow == "OS" else self.acc_bits

    @property
    def d_bits(self) -> int:
        """Width of the ``d`` chain: OS drain (acc), WS weight preload (input), BOTH shared (acc)."""
        return self.input_bits if self.dataflow == "WS" else self.acc_bits

    def check(self) -> None:
        """Raise :class:`InfeasibleDesign` when the generator cannot build this shape."""
        if self.dataflow not in DATAFLOWS:
            raise InfeasibleDesign(f"dataflow must be one of {', '.join(DATAFLOWS)}; got {self.dataflow!r}")
        for name in ("mesh_rows", "mesh_cols", "tile_rows", "tile_cols", "input_bits", "acc_bits", "dma_bus_bits"):
            if getattr(self, name) < 1:
                raise InfeasibleDesign(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.mesh_rows * self.tile_rows != self.mesh_cols * self.tile_cols:
            raise InfeasibleDesign(
                f"the array must be square: mesh_rows*tile_rows = {self.mesh_rows * self.tile_rows} but "
                f"mesh_cols*tile_cols = {self.mesh_cols * self.tile_cols}")
        if self.acc_bits < self.input_bits:
            raise InfeasibleDesign(f"acc_bits ({self.acc_bits}) must be >= input_bits ({self.input_bits})")


def _sext(expr: str, src_bits: int, dst_bits: int) -> str:
    """Sign-extend (or truncate) a ``src_bits``-wide expression to ``dst_bits``."""
    if dst_bits == src_bits:
        return expr
    if dst_bits < src_bits:
        return f"{expr}[{dst_bits - 1}:0]"
    return f"{{{{{dst_bits - src_bits}{{{expr}[{src_bits - 1}]}}}}, {expr}}}"


def _sl(name: str, i: int, w: int) -> str:
    """Bit slice ``i`` of width ``w`` of a packed bus."""
    return f"{name}[{(i + 1) * w - 1}:{i * w}]"


def pe_verilog(s: ArrayShape) -> str:
    ib, ab, bw, dw = s.input_bits, s.acc_bits, s.b_bits, s.d_bits
    head = (f"module gem_pe (input clk, input rst, input ws, input preload, input last,\n"
            f"  input [{ib - 1}:0] in_a, input [{bw - 1}:0] in_b, input [{dw - 1}:0] in_d,\n"
            f"  output [{bw - 1}:0] out_b, output [{dw - 1}:0] out_d);\n")
    prod = _sext("prod", 2 * ib, ab)
    if s.dataflow == "OS":
        body = (f"  reg [{ab - 1}:0] c, o;\n"
                f"  wire signed [{2 * ib - 1}:0] prod = $signed(in_a) * $signed(in_b);\n"
                f"  wire [{ab - 1}:0] sum = c + {prod};\n"
                f"  assign out_b = in_b;\n  assign out_d = o;\n"
                f"  always @(posedge clk)\n"
                f"    if (rst) begin c <= 0; o <= 0; end\n"
                f"    else begin c <= last ? {ab}'d0 : sum; o <= last ? sum : in_d; end\n")
    elif s.dataflow == "WS":
        body = (f"  reg [{ib - 1}:0] w;\n"
                f"  wire signed [{2 * ib - 1}:0] prod = $signed(in_a) * $signed(w);\n"
                f"  assign out_b = in_b + {prod};\n  assign out_d = w;\n"
                f"  always @(posedge clk)\n"
                f"    if (rst) w <= 0;\n    else if (preload) w <= in_d;\n")
    else:
        body = (f"  reg [{ab - 1}:0] c, o;\n"
                f"  wire [{ib - 1}:0] bop = ws ? c[{ib - 1}:0] : in_b[{ib - 1}:0];\n"
                f"  wire signed [{2 * ib - 1}:0] prod = $signed(in_a) * $signed(bop);\n"
                f"  wire [{ab - 1}:0] sum = (ws ? in_b : c) + {prod};\n"
                f"  assign out_b = ws ? sum : in_b;\n  assign out_d = ws ? c : o;\n"
                f"  always @(posedge clk)\n"
                f"    if (rst) begin c <= 0; o <= 0; end\n"
                f"    else if (ws) begin if (preload) c <= in_d; end\n"
                f"    else begin c <= last ? {ab}'d0 : sum; o <= last ? sum : in_d; end\n")
    return head + body + "endmodule\n"


def _tile_ports(s: ArrayShape, prefix: str = "") -> str:
    tr, tc, ib = s.tile_rows, s.tile_cols, s.input_bits
    return (f"input clk, input rst, input ws, input preload, input {prefix}last,\n"
            f"  input [{tr * ib - 1}:0] {prefix}in_a, input [{tc * s.b_bits - 1}:0] {prefix}in_b,"
            f" input [{tc * s.d_bits - 1}:0] {prefix}in_d,\n"
            f"  output [{tr * ib - 1}:0] {prefix}out_a, output {prefix}out_last,"
            f" output [{tc * s.b_bits - 1}:0] {prefix}out_b, output [{tc * s.d_bits - 1}:0] {prefix}out_d")


def tile_verilog(s: ArrayShape) -> str:
    tr, tc, ib, bw, dw = s.tile_rows, s.tile_cols, s.input_bits, s.b_bits, s.d_bits
    lines = [f"module gem_tile ({_tile_ports(s)});",
             "  assign out_a = in_a;\n  assign out_last = last;"]
    for r in range(tr):
        for c in range(tc):
            lines.append(f"  wire [{bw - 1}:0] b_{r}_{c};\n  wire [{dw - 1}:0] d_{r}_{c};")
    for r in range(tr):
        for c in range(tc):
            b_in = _sl("in_b", c, bw) if r == 0 else f"b_{r - 1}_{c}"
            d_in = _sl("in_d", c, dw) if r == 0 else f"d_{r - 1}_{c}"
            lines.append(f"  gem_pe pe_{r}_{c} (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(last),"
                         f" .in_a({_sl('in_a', r, ib)}), .in_b({b_in}), .in_d({d_in}),"
                         f" .out_b(b_{r}_{c}), .out_d(d_{r}_{c}));")
    for c in range(tc):
        lines.append(f"  assign {_sl('out_b', c, bw)} = b_{tr - 1}_{c};")
        lines.append(f"  assign {_sl('out_d', c, dw)} = d_{tr - 1}_{c};")
    return "\n".join([*lines, "endmodule", ""])


def tile_harness_verilog(s: ArrayShape) -> str:
    """A tile between input and output registers: reg-to-reg timing equals the mesh's."""
    names = ("last", "in_a", "in_b", "in_d", "out_a", "out_last", "out_b", "out_d")
    a_w, b_w, d_w = s.tile_rows * s.input_bits, s.tile_cols * s.b_bits, s.tile_cols * s.d_bits
    widths = (1, a_w, b_w, d_w, a_w, 1, b_w, d_w)
    lines = [f"module gem_tile_h ({_tile_ports(s, 'h_')});"]
    for n, w in zip(names, widths, strict=True):
        lines.append(f"  reg [{w - 1}:0] r_{n};\n  wire [{w - 1}:0] t_{n};")
    lines.append("  always @(posedge clk) begin")
    for n in names[:4]:
        lines.append(f"    r_{n} <= h_{n};")
    for n in names[4:]:
        lines.append(f"    r_{n} <= t_{n};")
    lines.append("  end")
    for n in names[4:]:
        lines.append(f"  assign h_{n} = r_{n};")
    lines.append("  gem_tile u_tile (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(r_last), .in_a(r_in_a),"
                 " .in_b(r_in_b), .in_d(r_in_d), .out_a(t_out_a), .out_last(t_out_last), .out_b(t_out_b),"
                 " .out_d(t_out_d));")
    return "\n".join([*lines, "endmodule", ""])


def mesh_verilog(s: ArrayShape) -> str:
    R, C, tr, tc, ib, bw, dw, dim = (s.mesh_rows, s.mesh_cols, s.tile_rows, s.tile_cols, s.input_bits,
                                     s.b_bits, s.d_bits, s.dim)
    lines = [f"module gem_mesh (input clk, input rst, input ws, input preload, input [{R - 1}:0] in_last,",
             f"  input [{dim * ib - 1}:0] in_a, input [{dim * bw - 1}:0] in_b, input [{dim * dw - 1}:0] in_d,",
             f"  output [{dim * bw - 1}:0] out_b, output [{dim * dw - 1}:0] out_d);"]
    for i in range(R):
        for j in range(C):
            t = f"{i}_{j}"
            lines.append(f"  wire [{tr * ib - 1}:0] oa_{t}; wire ol_{t}; wire [{tc * bw - 1}:0] ob_{t};"
                         f" wire [{tc * dw - 1}:0] od_{t};")
            # registers that feed tile (i, j) from its left and upper neighbours
            if j > 0:
                lines.append(f"  reg [{tr * ib - 1}:0] ra_{t}; reg rl_{t};")
            if i > 0:
                lines.append(f"  reg [{tc * bw - 1}:0] rb_{t}; reg [{tc * dw - 1}:0] rd_{t};")
    lines.append("  always @(posedge clk) begin")
    for i in range(R):
        for j in range(C):
            t = f"{i}_{j}"
            if j > 0:
                lines.append(f"    ra_{t} <= oa_{i}_{j - 1}; rl_{t} <= ol_{i}_{j - 1};")
            if i > 0:
                lines.append(f"    rb_{t} <= ob_{i - 1}_{j}; rd_{t} <= od_{i - 1}_{j};")
    lines.append("  end")
    for i in range(R):
        for j in range(C):
            t = f"{i}_{j}"
            a_in = f"ra_{t}" if j > 0 else _sl("in_a", i, tr * ib)
            l_in = f"rl_{t}" if j > 0 else f"in_last[{i}]"
            b_in = f"rb_{t}" if i > 0 else _sl("in_b", j, tc * bw)
            if i == 0:
                d_in = _sl("in_d", j, tc * dw)
            elif s.dataflow == "OS":
                d_in = f"rd_{t}"
            elif s.dataflow == "WS":
                d_in = f"od_{i - 1}_{j}"
            else:
                d_in = f"(ws ? od_{i - 1}_{j} : rd_{t})"
            lines.append(f"  gem_tile tile_{t} (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last({l_in}),"
                         f" .in_a({a_in}), .in_b({b_in}), .in_d({d_in}), .out_a(oa_{t}), .out_last(ol_{t}),"
                         f" .out_b(ob_{t}), .out_d(od_{t}));")
    for j in range(C):
        lines.append(f"  assign {_sl('out_b', j, tc * bw)} = ob_{R - 1}_{j};"
                     f" assign {_sl('out_d', j, tc * dw)} = od_{R - 1}_{j};")
    return "\n".join([*lines, "endmodule", ""])


def _delay(lines: list[str], regs: list[str], name: str, src: str, width: int, cycles: int) -> str:
    """Append a ``cycles``-deep shift register; return the expression of its output."""
    if cycles == 0:
        return src
    prev = src
    for n in range(cycles):
        reg = f"{name}_{n}"
        lines.append(f"  reg [{width - 1}:0] {reg};")
        regs.append(f"    {reg} <= {prev};")
        prev = reg
    return prev


def periph_verilog(s: ArrayShape) -> str:
    R, C, tr, tc, ib, ab, bw, dw, dim = (s.mesh_rows, s.mesh_cols, s.tile_rows, s.tile_cols, s.input_bits,
                                         s.acc_bits, s.b_bits, s.d_bits, s.dim)
    dma, row, arow = s.dma_bus_bits, dim * ib, dim * ab
    lines = [
        "module gem_periph (input clk, input rst, input ws, input preload, input last, input accumulate,",
        f"  input [{row - 1}:0] sp_rdata_a, input [{row - 1}:0] sp_rdata_b, input [{arow - 1}:0] acc_rdata,",
        f"  output [{arow - 1}:0] acc_wdata,",
        f"  input dma_valid, input [{dma - 1}:0] dma_in, output sp_wvalid, output [{row - 1}:0] sp_wdata,",
        f"  input dma_rd_next, output reg [{dma - 1}:0] dma_out,",
        f"  output [{R - 1}:0] m_last, output [{dim * ib - 1}:0] m_a, output [{dim * bw - 1}:0] m_b,",
        f"  output [{dim * dw - 1}:0] m_d, input [{dim * bw - 1}:0] m_out_b, input [{dim * dw - 1}:0] m_out_d);",
    ]
    regs: list[str] = []
    for i in range(R):  # skew: tile row i waits i cycles
        a = _delay(lines, regs, f"ska{i}", _sl("sp_rdata_a", i, tr * ib), tr * ib, i)
        lines.append(f"  assign {_sl('m_a', i, tr * ib)} = {a};")
        lines.append(f"  assign m_last[{i}] = {_delay(lines, regs, f'skl{i}', 'last', 1, i)};")
    for j in range(C):  # skew: tile column j waits j cycles
        b = _delay(lines, regs, f"skb{j}", _sl("sp_rdata_b", j, tc * ib), tc * ib, j)
        for c in range(tc):
            k = j * tc + c
            bj = _sl("sp_rdata_b", k, ib) if j == 0 else f"{b}[{(c + 1) * ib - 1}:{c * ib}]"
            wj = _sl("sp_rdata_b", k, ib)
            if s.dataflow == "OS":
                lines.append(f"  assign {_sl('m_b', k, bw)} = {bj};\n  assign {_sl('m_d', k, dw)} = {dw}'d0;")
            elif s.dataflow == "WS":
                lines.append(f"  assign {_sl('m_b', k, bw)} = {bw}'d0;\n  assign {_sl('m_d', k, dw)} = {wj};")
            else:
                lines.append(f"  wire [{ib - 1}:0] bop{k} = {bj}, wop{k} = {wj};")
                lines.append(f"  assign {_sl('m_b', k, bw)} = ws ? {bw}'d0 : {_sext(f'bop{k}', ib, bw)};")
                lines.append(f"  assign {_sl('m_d', k, dw)} = ws ? {_sext(f'wop{k}', ib, dw)} : {dw}'d0;")
    for k in range(dim):  # output register, then de-skew: tile column j waits C-1-j cycles
        j = k // tc
        if s.dataflow == "OS":
            src = _sl("m_out_d", k, ab)
        elif s.dataflow == "WS":
            src = _sl("m_out_b", k, ab)
        else:
            src = f"(ws ? {_sl('m_out_b', k, ab)} : {_sl('m_out_d', k, ab)})"
        out = _delay(lines, regs, f"dsk{k}", src, ab, 1 + C - 1 - j)
        lines.append(f"  assign {_sl('acc_wdata', k, ab)} = accumulate ? {_sl('acc_rdata', k, ab)} + {out} : {out};")
    # DMA: pack bus beats into scratchpad rows; slice accumulator rows into bus beats.
    if dma >= row:
        lines.append(f"  reg [{row - 1}:0] dma_buf; reg dma_v;\n  assign sp_wdata = dma_buf; assign sp_wvalid = dma_v;")
        regs.append(f"    dma_buf <= dma_in[{row - 1}:0]; dma_v <= dma_valid;")
    else:
        beats = -(-row // dma)
        cw = max(1, (beats - 1).bit_length())
        lines.append(f"  reg [{beats * dma - 1}:0] dma_buf; reg [{cw - 1}:0] dma_cnt; reg dma_v;")
        lines.append(f"  assign sp_wdata = dma_buf[{row - 1}:0]; assign sp_wvalid = dma_v;")
        regs.append(f"    if (rst) begin dma_cnt <= 0; dma_v <= 0; end else begin\n"
                    f"      dma_v <= dma_valid && dma_cnt == {cw}'d{beats - 1};\n"
                    f"      if (dma_valid) begin dma_cnt <= dma_cnt == {cw}'d{beats - 1} ? {cw}'d0 : dma_cnt + 1'b1;\n"
                    + (f"        dma_buf <= {{dma_in, dma_buf[{beats * dma - 1}:{dma}]}}; end\n    end"
                       if beats > 1 else "        dma_buf <= dma_in; end\n    end"))
    rbeats = -(-arow // dma)
    rw = max(1, (rbeats - 1).bit_length())
    lines.append(f"  reg [{rw - 1}:0] rd_idx;\n  wire [{rbeats * dma - 1}:0] acc_pad = acc_rdata;")
    cases = "\n".join(f"      {rw}'d{b}: dma_out <= acc_pad[{(b + 1) * dma - 1}:{b * dma}];" for b in range(rbeats))
    regs.append(f"    if (rst) rd_idx <= 0; else if (dma_rd_next) rd_idx <= rd_idx == {rw}'d{rbeats - 1} ? {rw}'d0"
                f" : rd_idx + 1'b1;\n    case (rd_idx)\n{cases}\n      default: dma_out <= {dma}'d0;\n    endcase")
    lines += ["  always @(posedge clk) begin", *regs, "  end", "endmodule", ""]
    return "\n".join(lines)


def top_verilog(s: ArrayShape) -> str:
    R, ib, ab, bw, dw, dim = s.mesh_rows, s.input_bits, s.acc_bits, s.b_bits, s.d_bits, s.dim
    dma, row, arow = s.dma_bus_bits, dim * ib, dim * ab
    return "\n".join([
        "module gem_top (input clk, input rst, input ws, input preload, input last, input accumulate,",
        f"  input [{row - 1}:0] sp_rdata_a, input [{row - 1}:0] sp_rdata_b, input [{arow - 1}:0] acc_rdata,",
        f"  output [{arow - 1}:0] acc_wdata,",
        f"  input dma_valid, input [{dma - 1}:0] dma_in, output sp_wvalid, output [{row - 1}:0] sp_wdata,",
        f"  input dma_rd_next, output [{dma - 1}:0] dma_out);",
        f"  wire [{R - 1}:0] m_last; wire [{dim * ib - 1}:0] m_a; wire [{dim * bw - 1}:0] m_b, m_out_b;",
        f"  wire [{dim * dw - 1}:0] m_d, m_out_d;",
        "  gem_periph u_periph (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(last),"
        " .accumulate(accumulate), .sp_rdata_a(sp_rdata_a), .sp_rdata_b(sp_rdata_b), .acc_rdata(acc_rdata),"
        " .acc_wdata(acc_wdata), .dma_valid(dma_valid), .dma_in(dma_in), .sp_wvalid(sp_wvalid),"
        " .sp_wdata(sp_wdata), .dma_rd_next(dma_rd_next), .dma_out(dma_out), .m_last(m_last), .m_a(m_a),"
        " .m_b(m_b), .m_d(m_d), .m_out_b(m_out_b), .m_out_d(m_out_d));",
        "  gem_mesh u_mesh (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .in_last(m_last), .in_a(m_a),"
        " .in_b(m_b), .in_d(m_d), .out_b(m_out_b), .out_d(m_out_d));",
        "endmodule", ""])


def design_verilog(s: ArrayShape) -> dict[str, str]:
    """Every module's source, by module name."""
    return {"gem_pe": pe_verilog(s), "gem_tile": tile_verilog(s), "gem_tile_h": tile_harness_verilog(s),
            "gem_mesh": mesh_verilog(s), "gem_periph": periph_verilog(s), "gem_top": top_verilog(s)}


def write_design(s: ArrayShape, path: Any, modules: tuple[str, ...] | None = None) -> str:
    """Write the chosen modules (default: all) to ``path``; return the text."""
    src = design_verilog(s)
    text = "".join(src[m] for m in (modules or tuple(src)))
    with open(path, "w") as f:
        f.write(f"// generated by diffuse_dse.evaluators.asap7.generator: {s}\n{text}")
    return text
