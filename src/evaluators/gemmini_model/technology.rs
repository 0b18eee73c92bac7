//! Closed-form area, critical path and power of a Gemmini-class design on ASAP7 (reference:
//! gemmini_model/technology.py:86-159 at 9201a62; the timing terms are this port's, issue 13).
//!
//! With `b` input bits, `a` accumulator bits, `tr × tc` PEs per tile, `DIM = mesh_rows·tr`,
//! `pes = DIM²`, `g = 1 − 1/(tr·tc)`, `v` the Vt flavour, and flatten, retime, BOTH, OS, WS and
//! `delay` (the delay script) as 0/1 flags (coefficient names as in [`Coefficients`]):
//!
//! ```text
//! vt      = vt_delay[v];  with mixed_fast_share = [w_area, w_delay], a mixed flavour is
//!           slow^(1−w)·fast^w of its two pure ones (w of the script run)
//! chain   = (OS ? hop : stage)·(tr−1) + hop·(tc−1)
//!           + (OS ? 0 : (flatten ? stage_ps_per_bit : stage_hier_ps_per_bit)·a·(tr−1))
//! fanin   = b·(WS ? tc : max(tr, tc))                  operand bits one input register drives
//! t_slice = reg + mul_ps_per_bit·b + add_ps_per_log2bit·log2(a) + add_ps_per_bit·a + chain
//!           + mux·BOTH + fanin_ps_per_bit·fanin·(1 + retime_fanin_gain·retime)
//! t_per   = reg + periph + add_ps_per_log2bit·log2(a) + add_ps_per_bit·a
//!           retimed: max(t_per, retime_periph_ps_per_bit·DIM·b)
//! t_rel   = vt·(max(t_slice, t_per) + fanout_ps·log2(max_fanout/8))
//!           ·(1 − flatten_delay_gain·g·flatten)·(1 − retime_delay_gain·g·retime)·(delay ? delay_strategy_delay : 1)
//! t_min   = t_rel·(delay ? min_delay_frac_delay : min_delay_frac_area)
//! t_logic = min(max(abc_delay_ratio·clock_ps, t_min), t_rel)
//! p       = (t_rel − t_logic)/max(t_rel − t_min, 1e-9)                synthesis pressure
//! t_cp    = max(t_logic, max(sp.access_ps, acc.access_ps) + sram_path_ps)
//! fa_eq   = mul_fa_per_bit2·b² + add_fa_per_bit·a
//! comb    = pes·(fa_area·fa_eq + both_mux·a·BOTH)·(1 + pressure_area·p)
//!           ·(1 − flatten_area_gain·g·flatten)·(delay ? delay_strategy_area : 1)
//! skew    = tr·b·mr(mr−1)/2 + tc·b·mc(mc−1)/2 + tc·a·mc(mc−1)/2,  mr = mesh_rows, mc = DIM/tc
//! reg_bits= pe_bits·pes + pes/(tr·tc)·(tr·b + tc·(b_bus + d_bus)) + skew + 2·DIM·a
//!           pe_bits = WS ? b : 2a,  b_bus = OS ? b : a,  d_bus = WS ? b : a
//! regs    = dff_area·reg_bits·(1 + retime_area·retime)
//! other   = ctrl_area + dma_area_per_bit·dma_bus_bits + fa_area·DIM·a
//!           + bank_area_per_bit·(sp_banks·DIM·b + acc_banks·DIM·a)
//! A_logic = (comb + regs + other)·(1 + buffer_area_frac·32/max_fanout)
//! A_sram  = sram_area_scale·(sp.area + acc.area)
//! e_mac   = mac_fj_per_fa·fa_eq·vt_energy[v]·(1 + pressure_energy·p)     fJ per MAC
//! e_clk   = reg_clock_fj·reg_bits·vt_energy[v] + ctrl_fj_per_cycle       fJ per cycle
//! P_leak  = A_logic·vt_leak_pw_per_um2[v]·1e-9                          mW
//! cells   = round(A_logic/mean_cell_area_um2)                            (half to even)
//! SRAM pJ/byte = sram_energy_scale·bank.{read,write}_pj/(row_bits/8),  row_bits = DIM·b | DIM·a
//! ```
//!
//! The tighter the clock target, the larger `p`: synthesis upsizes and restructures, trading
//! area and energy for delay.
//!
//! The reference's path terms (`hop`, `stage`, `add_ps_per_log2bit`, the flatten and retime
//! gains) are 0 in the 72-row fit (`coefficients-asap7-72.json`; the default is the reference's
//! fit, with the new terms at 0), whose terms follow the flow's critical paths (`gem_tile_h` and
//! `gem_periph` timing reports, docs/asap7-flow.md): area-mapped adders ripple, so a WS chain
//! costs a full adder per PE row unless flattening lets ABC overlap the carries; the tile's input registers drive
//! every PE they feed; retiming (`dretime`) leaves one register driving the periphery's skew
//! rows; and under the area script ABC maps a mixed flavour mostly onto its slower cells.

use super::config::{GemminiConfig, SynthStrategy, VtFlavour};
use super::{Coefficients, sram::Banks};
use crate::perf::Dataflow;

/// The technology figures of one configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Technology {
    /// `t_cp`, the slowest of the synthesized logic and the SRAM path.
    pub critical_path_ps: f64,
    /// `p` in `[0, 1]`: 0 relaxed, 1 at the fastest the script reaches.
    pub pressure: f64,
    pub logic_area_um2: f64,
    pub sram_area_um2: f64,
    /// Standard cells only, as the flow counts them.
    pub cell_count: f64,
    pub leakage_mw: f64,
    /// Energy of one MAC.
    pub mac_fj: f64,
    /// Energy of one clock cycle (registers and control).
    pub cycle_fj: f64,
    pub sp_read_pj_per_byte: f64,
    pub sp_write_pj_per_byte: f64,
    pub acc_read_pj_per_byte: f64,
    pub acc_write_pj_per_byte: f64,
}

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

impl Technology {
    pub fn new(cfg: &GemminiConfig, c: &Coefficients) -> Self {
        let (tr, tc) = (f64::from(cfg.tile_rows), f64::from(cfg.tile_cols));
        let (b, a) = (f64::from(cfg.input_bits), f64::from(cfg.acc_bits));
        let dim = f64::from(cfg.mesh_rows) * tr;
        let pes = dim * dim;
        let (os, ws, both) = (
            cfg.dataflow == Dataflow::Os,
            cfg.dataflow == Dataflow::Ws,
            flag(cfg.dataflow == Dataflow::Both),
        );
        let delay_script = cfg.synth_strategy == SynthStrategy::Delay;
        let (flatten, retime) = (flag(cfg.flatten), flag(cfg.retime));
        let v = cfg.vt_flavour.index();
        let (vt_energy, vt_leak) = (c.vt_energy[v], c.vt_leak_pw_per_um2[v]);
        let g = 1.0 - 1.0 / (tr * tc);

        // Timing.
        let vt_delay = match c.mixed_fast_share {
            None => c.vt_delay[v],
            Some(share) => {
                let w = share[usize::from(delay_script)].clamp(0.0, 1.0);
                let mix = |slow: f64, fast: f64| slow.powf(1.0 - w) * fast.powf(w);
                let d = &c.vt_delay;
                match cfg.vt_flavour {
                    VtFlavour::RvtLvt => mix(d[0], d[2]),
                    VtFlavour::LvtSlvt => mix(d[2], d[4]),
                    _ => d[v],
                }
            }
        };
        let stage_per_bit = if cfg.flatten {
            c.stage_ps_per_bit
        } else {
            c.stage_hier_ps_per_bit
        };
        let chain = (if os { c.hop_ps } else { c.stage_ps }) * (tr - 1.0)
            + c.hop_ps * (tc - 1.0)
            + if os {
                0.0
            } else {
                stage_per_bit * a * (tr - 1.0)
            };
        let fanin_bits = b * if ws { tc } else { tr.max(tc) };
        let adder = c.add_ps_per_log2bit * a.log2() + c.add_ps_per_bit * a;
        let t_slice = c.reg_ps
            + c.mul_ps_per_bit * b
            + adder
            + chain
            + c.mux_ps * both
            + c.fanin_ps_per_bit * fanin_bits * (1.0 + c.retime_fanin_gain * retime);
        let mut t_periph = c.reg_ps + c.periph_ps + adder;
        if cfg.retime {
            t_periph = t_periph.max(c.retime_periph_ps_per_bit * dim * b);
        }
        let fanout_ps = c.fanout_ps * (f64::from(cfg.max_fanout) / 8.0).log2();
        let mut t_rel = vt_delay * (t_slice.max(t_periph) + fanout_ps);
        t_rel = t_rel
            * (1.0 - c.flatten_delay_gain * g * flatten)
            * (1.0 - c.retime_delay_gain * g * retime);
        if delay_script {
            t_rel *= c.delay_strategy_delay;
        }
        let t_min = t_rel
            * if delay_script {
                c.min_delay_frac_delay
            } else {
                c.min_delay_frac_area
            };
        let t_logic = (cfg.abc_delay_ratio * cfg.clock_ps).max(t_min).min(t_rel);
        let pressure = (t_rel - t_logic) / (t_rel - t_min).max(1e-9);
        let sp_row_bits = cfg.dim() * u64::from(cfg.input_bits);
        let acc_row_bits = cfg.dim() * u64::from(cfg.acc_bits);
        let sp = Banks::new(cfg.sp_capacity_kib, cfg.sp_banks, sp_row_bits);
        let acc = Banks::new(cfg.acc_capacity_kib, cfg.acc_banks, acc_row_bits);
        let critical_path_ps = t_logic.max(sp.access_ps.max(acc.access_ps) + c.sram_path_ps);

        // Area. Registers: PE state (OS: accumulator + drain, WS: weight, BOTH: both), tile-edge
        // registers on the a, b and d buses, and the skew / de-skew registers of the periphery.
        let fa_eq = c.mul_fa_per_bit2 * b * b + c.add_fa_per_bit * a;
        let pe_um2 = c.fa_area_um2 * fa_eq + c.both_mux_um2_per_bit * a * both;
        let mut comb = pes
            * pe_um2
            * (1.0 + c.pressure_area * pressure)
            * (1.0 - c.flatten_area_gain * g * flatten);
        if delay_script {
            comb *= c.delay_strategy_area;
        }
        let (mr, mc) = (f64::from(cfg.mesh_rows), dim / tc);
        let b_bus = if os { b } else { a };
        let d_bus = if ws { b } else { a };
        let pe_bits = if ws { b } else { 2.0 * a };
        let skew_bits = tr * b * mr * (mr - 1.0) / 2.0
            + tc * b * mc * (mc - 1.0) / 2.0
            + tc * a * mc * (mc - 1.0) / 2.0;
        let reg_bits = pe_bits * pes
            + pes / (tr * tc) * (tr * b + tc * (b_bus + d_bus))
            + skew_bits
            + 2.0 * dim * a;
        let regs = c.dff_area_um2 * reg_bits * (1.0 + c.retime_area * retime);
        let other = c.ctrl_area_um2
            + c.dma_area_um2_per_bit * f64::from(cfg.dma_bus_bits)
            + c.fa_area_um2 * dim * a
            + c.bank_area_um2_per_bit
                * (f64::from(cfg.sp_banks) * dim * b + f64::from(cfg.acc_banks) * dim * a);
        let logic_area_um2 =
            (comb + regs + other) * (1.0 + c.buffer_area_frac * 32.0 / f64::from(cfg.max_fanout));

        // Energy and leakage.
        let sram_pj_per_byte =
            |pj: f64, row_bits: u64| c.sram_energy_scale * pj / (row_bits as f64 / 8.0);
        Self {
            critical_path_ps,
            pressure,
            logic_area_um2,
            sram_area_um2: c.sram_area_scale * (sp.area_um2 + acc.area_um2),
            cell_count: (logic_area_um2 / c.mean_cell_area_um2).round_ties_even(),
            leakage_mw: logic_area_um2 * vt_leak * 1e-9,
            mac_fj: c.mac_fj_per_fa * fa_eq * vt_energy * (1.0 + c.pressure_energy * pressure),
            cycle_fj: c.reg_clock_fj * reg_bits * vt_energy + c.ctrl_fj_per_cycle,
            sp_read_pj_per_byte: sram_pj_per_byte(sp.read_pj, sp_row_bits),
            sp_write_pj_per_byte: sram_pj_per_byte(sp.write_pj, sp_row_bits),
            acc_read_pj_per_byte: sram_pj_per_byte(acc.read_pj, acc_row_bits),
            acc_write_pj_per_byte: sram_pj_per_byte(acc.write_pj, acc_row_bits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    /// PORTING §3.9: the internals of the default configuration under the reference's fit.
    #[test]
    fn golden_internals_of_the_default_configuration() {
        let t = Technology::new(&GemminiConfig::default(), &Coefficients::shipped());
        assert!(
            close(t.critical_path_ps, 1460.3828, 1e-7),
            "{}",
            t.critical_path_ps
        );
        assert!(
            close(t.logic_area_um2, 28_509.105_6, 1e-8),
            "{}",
            t.logic_area_um2
        );
        assert!(
            close(t.sram_area_um2, 95_544.966_7, 1e-8),
            "{}",
            t.sram_area_um2
        );
        assert!(close(t.leakage_mw, 0.012_847_4, 1e-5), "{}", t.leakage_mw);
        assert!(close(t.mac_fj, 244.431_56, 1e-7), "{}", t.mac_fj);
        assert!(close(t.cycle_fj, 70_570.559, 1e-8), "{}", t.cycle_fj);
        assert_eq!(t.cell_count, 343_483.0);
        assert_eq!(t.pressure, 0.0);
    }

    /// The 72-row fit's path terms point the way the flow's reports do.
    #[test]
    fn the_asap7_fit_follows_the_flow_paths() {
        let c = Coefficients::asap7_fit();
        let t = |cfg: GemminiConfig| Technology::new(&cfg, &c).critical_path_ps;
        // a clock loose enough that every path is the relaxed one
        let base = GemminiConfig {
            clock_ps: 10_000.0,
            ..GemminiConfig::default()
        };
        let vt = |v: VtFlavour, s: SynthStrategy| {
            t(GemminiConfig {
                vt_flavour: v,
                synth_strategy: s,
                ..base
            })
        };
        for s in [SynthStrategy::Area, SynthStrategy::Delay] {
            let [r, rl, l, ls, sl] = VtFlavour::ALL.map(|v| vt(v, s));
            assert!(
                r > rl && rl > l && l > ls && ls > sl,
                "{s:?}: {r} {rl} {l} {ls} {sl}"
            );
        }
        // under the area script a mixed flavour sits nearer its slower parent
        let (r, rl, l) = (
            vt(VtFlavour::Rvt, SynthStrategy::Area),
            vt(VtFlavour::RvtLvt, SynthStrategy::Area),
            vt(VtFlavour::Lvt, SynthStrategy::Area),
        );
        assert!(r - rl < rl - l, "{r} {rl} {l}");
        // a WS chain of 4 PEs: slower kept hierarchical than flattened, both slower than 1 PE
        let ws = GemminiConfig {
            mesh_rows: 4,
            mesh_cols: 16,
            tile_rows: 4,
            dataflow: Dataflow::Ws,
            ..base
        };
        let hier = t(GemminiConfig {
            flatten: false,
            ..ws
        });
        assert!(
            hier > t(ws) && t(ws) > t(base),
            "{hier} {} {}",
            t(ws),
            t(base)
        );
        // retiming a DIM 32 int16 array: the periphery's moved register sets the period
        let big = GemminiConfig {
            mesh_rows: 32,
            mesh_cols: 32,
            input_bits: 16,
            ..base
        };
        assert!(
            t(GemminiConfig {
                retime: true,
                ..big
            }) > 1.5 * t(big)
        );
    }

    #[test]
    fn a_tighter_target_under_the_delay_script_adds_pressure() {
        let cfg = GemminiConfig {
            synth_strategy: SynthStrategy::Delay,
            clock_ps: 250.0,
            ..GemminiConfig::default()
        };
        let relaxed = Technology::new(
            &GemminiConfig {
                clock_ps: 2000.0,
                ..cfg
            },
            &Coefficients::shipped(),
        );
        let pushed = Technology::new(&cfg, &Coefficients::shipped());
        assert_eq!((relaxed.pressure, pushed.pressure), (0.0, 1.0));
        assert!(
            pushed.critical_path_ps < relaxed.critical_path_ps
                && pushed.logic_area_um2 > relaxed.logic_area_um2
        );
    }
}
