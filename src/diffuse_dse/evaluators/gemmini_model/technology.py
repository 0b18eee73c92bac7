"""Closed-form area, critical path and power of a Gemmini-class design on ASAP7.

With ``b`` input bits, ``a`` accumulator bits, ``DIM^2`` PEs in tiles of ``tr x tc`` PEs and
``v`` the Vt flavour (coefficient names in brackets, values in ``coefficients.json``)::

    PE logic    A_pe  = fa (mul b^2 + add a) + [BOTH] mux a                          um2
    registers   bits  = PE state DIM^2 + tile-edge a, b, d + skew/de-skew + output    (see code)
    slice path  t_s   = reg + mul_ps b + add_ps log2 a + (stage | hop [OS]) (tr - 1) + hop (tc - 1) + [BOTH] mux
    periphery   t_p   = reg + periph + add_ps log2 a                  (accumulator adders, DMA converters)
    path        t_rel = vt_delay[v] (max(t_s, t_p) + fanout log2(max_fanout / 8))
                        x (1 - flatten_gain g - retime_gain g) [x delay_strategy_delay]
                        with g = 1 - 1 / (tr tc)
    synthesis   t     = clip(abc_delay_ratio clock_ps, t_min, t_rel),  t_min = min_delay_frac t_rel
                p     = (t_rel - t) / (t_rel - t_min)                   # 0 relaxed .. 1 pushed
    critical    t_cp  = max(t, sram_access + sram_path)
    area        A     = (DIM^2 A_pe (1 + pressure_area p) [x delay_strategy_area] + dff bits
                        + ctrl + dma bits + bank bits + fa DIM a) (1 + buffer (32 / max_fanout)) + SRAM
    energy      e_mac = mac_fj fa-equivalents vt_energy[v] (1 + pressure_energy p)   fJ per MAC
                e_clk = reg_clock bits vt_energy[v] + ctrl_fj                         fJ per cycle
    leakage     P_leak = A_logic vt_leak[v]                                           pW

SRAM area and per-access energy come from the macro table (:mod:`.sram`). The tighter the clock
target, the larger ``p``: synthesis upsizes and restructures, trading area and energy for
delay. Mixed-Vt flows have their own coefficients: ABC picks the faster cells where they help.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffuse_dse.evaluators.gemmini_model.sram import banks

COEFFICIENTS_FILE = Path(__file__).with_name("coefficients.json")
PRIOR_FILE = Path(__file__).with_name("coefficients_prior.json")
"""The first-principles coefficients: the start and ridge anchor of every calibration fit."""
VT_FLAVOURS: tuple[str, ...] = ("RVT", "RVT+LVT", "LVT", "LVT+SLVT", "SLVT")


def load_coefficients(path: Path | None = None) -> dict[str, Any]:
    """The technology coefficients (``coefficients.json`` beside this module by default)."""
    return json.loads((path or COEFFICIENTS_FILE).read_text())


@dataclass(frozen=True)
class Technology:
    """Per-configuration technology figures (length-``N`` arrays)."""

    critical_path_ps: np.ndarray
    logic_area_um2: np.ndarray
    sram_area_um2: np.ndarray
    cell_count: np.ndarray
    leakage_mw: np.ndarray
    mac_fj: np.ndarray
    cycle_fj: np.ndarray
    dim: np.ndarray
    sp_read_pj_per_byte: np.ndarray
    sp_write_pj_per_byte: np.ndarray
    acc_read_pj_per_byte: np.ndarray
    acc_write_pj_per_byte: np.ndarray


def _flag(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return np.char.lower(arr.astype(str)) == "true"
    return arr.astype(bool)


def vt_index(values: Any) -> np.ndarray:
    """Positions of Vt flavour names in :data:`VT_FLAVOURS`."""
    arr = np.asarray(values).astype(str)
    idx = np.full(arr.shape, -1, dtype=np.int64)
    for i, name in enumerate(VT_FLAVOURS):
        idx[arr == name] = i
    if (idx < 0).any():
        raise ValueError(f"vt_flavour must be one of {', '.join(VT_FLAVOURS)}. Got {sorted(set(arr[idx < 0]))}.")
    return idx


def technology(arrays: Mapping[str, Any], coef: Mapping[str, Any]) -> Technology:
    """Area, critical path, energy terms and SRAM figures for column arrays of configurations."""
    c = coef
    f = {k: np.asarray(arrays[k], dtype=np.float64) for k in (
        "mesh_rows", "tile_rows", "tile_cols", "input_bits", "acc_bits", "sp_capacity_kib", "sp_banks",
        "acc_capacity_kib", "acc_banks", "dma_bus_bits", "clock_ps", "abc_delay_ratio", "max_fanout")}
    tr, tc, b, a = f["tile_rows"], f["tile_cols"], f["input_bits"], f["acc_bits"]
    dim = f["mesh_rows"] * tr
    pes = dim * dim
    flow = np.asarray(arrays["dataflow"]).astype(str)
    both = flow == "BOTH"
    delay_script = np.asarray(arrays["synth_strategy"]).astype(str) == "delay"
    flatten, retime = _flag(arrays["flatten"]), _flag(arrays["retime"])
    v = vt_index(arrays["vt_flavour"])
    vt_delay = np.asarray(c["vt_delay"])[v]
    vt_energy = np.asarray(c["vt_energy"])[v]
    vt_leak = np.asarray(c["vt_leak_pw_per_um2"])[v]
    g = 1.0 - 1.0 / (tr * tc)

    # --- timing -------------------------------------------------------------------------
    os_only = flow == "OS"
    chain = np.where(os_only, c["hop_ps"], c["stage_ps"]) * (tr - 1) + c["hop_ps"] * (tc - 1)
    t_slice = (c["reg_ps"] + c["mul_ps_per_bit"] * b + c["add_ps_per_log2bit"] * np.log2(a) + chain
               + c["mux_ps"] * both)
    t_periph = c["reg_ps"] + c["periph_ps"] + c["add_ps_per_log2bit"] * np.log2(a)
    t_rel = vt_delay * (np.maximum(t_slice, t_periph) + c["fanout_ps"] * np.log2(f["max_fanout"] / 8.0))
    t_rel = t_rel * (1.0 - c["flatten_delay_gain"] * g * flatten) * (1.0 - c["retime_delay_gain"] * g * retime)
    t_rel = np.where(delay_script, t_rel * c["delay_strategy_delay"], t_rel)
    t_min = t_rel * np.where(delay_script, c["min_delay_frac_delay"], c["min_delay_frac_area"])
    target = f["abc_delay_ratio"] * f["clock_ps"]
    t_logic = np.clip(target, t_min, t_rel)
    pressure = (t_rel - t_logic) / np.maximum(t_rel - t_min, 1e-9)

    sp = banks(f["sp_capacity_kib"], f["sp_banks"], dim * b)
    acc = banks(f["acc_capacity_kib"], f["acc_banks"], dim * a)
    t_cp = np.maximum(t_logic, np.maximum(sp.access_ps, acc.access_ps) + c["sram_path_ps"])

    # --- area ---------------------------------------------------------------------------
    fa_eq = c["mul_fa_per_bit2"] * b * b + c["add_fa_per_bit"] * a
    pe_um2 = c["fa_area_um2"] * fa_eq + c["both_mux_um2_per_bit"] * a * both
    comb = pes * pe_um2 * (1.0 + c["pressure_area"] * pressure) * (1.0 - c["flatten_area_gain"] * g * flatten)
    comb = np.where(delay_script, comb * c["delay_strategy_area"], comb)
    # PE registers (OS: accumulator + drain; WS: weight; BOTH: both), tile-edge registers on a, b and d,
    # and the periphery's skew / de-skew registers (tile row i waits i cycles, as in MeshWithDelays)
    mr, mc = f["mesh_rows"], dim / tc
    b_bus = np.where(os_only, b, a)
    d_bus = np.where(flow == "WS", b, a)
    pe_bits = np.where(flow == "WS", b, 2.0 * a)
    skew_bits = tr * b * mr * (mr - 1) / 2 + tc * b * mc * (mc - 1) / 2 + tc * a * mc * (mc - 1) / 2
    reg_bits = pe_bits * pes + pes / (tr * tc) * (tr * b + tc * (b_bus + d_bus)) + skew_bits + 2.0 * dim * a
    regs = c["dff_area_um2"] * reg_bits * (1.0 + c["retime_area"] * retime)
    other = (c["ctrl_area_um2"] + c["dma_area_um2_per_bit"] * f["dma_bus_bits"] + c["fa_area_um2"] * dim * a
             + c["bank_area_um2_per_bit"] * (f["sp_banks"] * dim * b + f["acc_banks"] * dim * a))
    logic = (comb + regs + other) * (1.0 + c["buffer_area_frac"] * 32.0 / f["max_fanout"])
    sram_area = c["sram_area_scale"] * (sp.area_um2 + acc.area_um2)

    # --- energy and leakage -------------------------------------------------------------
    mac_fj = c["mac_fj_per_fa"] * fa_eq * vt_energy * (1.0 + c["pressure_energy"] * pressure)
    cycle_fj = c["reg_clock_fj"] * reg_bits * vt_energy + c["ctrl_fj_per_cycle"]
    scale = c["sram_energy_scale"]
    return Technology(
        critical_path_ps=t_cp,
        logic_area_um2=logic,
        sram_area_um2=sram_area,
        cell_count=np.round(logic / c["mean_cell_area_um2"]),  # standard cells only, as the flow counts
        leakage_mw=logic * vt_leak * 1e-9,
        mac_fj=mac_fj,
        cycle_fj=cycle_fj,
        dim=dim,
        sp_read_pj_per_byte=scale * sp.read_pj / (dim * b / 8.0),
        sp_write_pj_per_byte=scale * sp.write_pj / (dim * b / 8.0),
        acc_read_pj_per_byte=scale * acc.read_pj / (dim * a / 8.0),
        acc_write_pj_per_byte=scale * acc.write_pj / (dim * a / 8.0),
    )
