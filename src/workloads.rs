//! DNN workloads as lists of GEMM-shaped layers, from the TOML files in `data/workloads/`.
//!
//! A convolution with input `H × H × C_in`, kernel `R × R`, stride `s`, padding `p` (default
//! `R / 2`) and `C_out` filters in `g` groups runs on a systolic array as `g` GEMMs (im2col):
//!
//! `E = (H + 2p − R) / s + 1` (floor), `m = E²`, `k = R²·C_in / g`, `n = C_out / g`,
//!
//! whose `A` operand is read from an input feature map of `H²·C_in / g` distinct elements per
//! group (Gemmini's conv loops fetch input windows, not the im2col matrix). A plain GEMM layer
//! gives `m, k, n` directly, with `a_elems = m·k`. `count` repeats identical layers
//! (reference: workloads/workload.py:71-89 at 9201a62). The files cite their sources.

use std::sync::OnceLock;

use serde::Deserialize;

/// The shipped workloads, in the reference's order.
pub const WORKLOADS: [&str; 3] = ["resnet50", "mobilenetv2", "bert-base"];

const SOURCES: [&str; 3] = [
    include_str!("../data/workloads/resnet50.toml"),
    include_str!("../data/workloads/mobilenetv2.toml"),
    include_str!("../data/workloads/bert-base.toml"),
];

/// A workload name that is not one of [`WORKLOADS`].
#[derive(Debug, thiserror::Error)]
#[error("unknown workload '{0}'. Shipped workloads: resnet50, mobilenetv2, bert-base.")]
pub struct UnknownWorkload(pub String);

/// Whether a layer was written as a convolution or a plain GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    Gemm,
    Conv,
}

/// One layer as `groups` GEMMs `C[m × n] = A[m × k]·B[k × n]`, repeated `count` times.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    pub kind: LayerKind,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub groups: u64,
    pub count: u64,
    /// Distinct elements of `A` per group in memory: `m·k` for a GEMM, the input feature map
    /// for a convolution.
    pub a_elems: u64,
}

impl Layer {
    /// How many identical GEMMs the layer stands for: `groups·count`.
    pub fn multiplicity(&self) -> u64 {
        self.groups * self.count
    }

    /// Multiply-accumulates of all groups and repeats: `m·n·k·groups·count`.
    pub fn macs(&self) -> u64 {
        self.m * self.n * self.k * self.multiplicity()
    }
}

/// A named list of layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub name: String,
    pub description: String,
    pub layers: Vec<Layer>,
}

impl Workload {
    /// The shipped workload `name` (one of [`WORKLOADS`]), parsed once per process.
    pub fn load(name: &str) -> Result<&'static Workload, UnknownWorkload> {
        static LOADED: [OnceLock<Workload>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let index = WORKLOADS
            .iter()
            .position(|w| *w == name)
            .ok_or_else(|| UnknownWorkload(name.to_string()))?;
        Ok(LOADED[index].get_or_init(|| {
            parse(SOURCES[index])
                .unwrap_or_else(|e| panic!("data/workloads/{name}.toml is malformed: {e}"))
        }))
    }

    /// Multiply-accumulates per inference.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(Layer::macs).sum()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    name: String,
    description: String,
    layers: Vec<RawLayer>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawLayer {
    Gemm {
        name: String,
        m: u64,
        k: u64,
        n: u64,
        #[serde(default = "one")]
        count: u64,
    },
    Conv {
        name: String,
        in_hw: u64,
        in_c: u64,
        out_c: u64,
        kernel: u64,
        #[serde(default = "one")]
        stride: u64,
        pad: Option<u64>,
        #[serde(default = "one")]
        groups: u64,
        #[serde(default = "one")]
        count: u64,
    },
}

fn one() -> u64 {
    1
}

fn parse(text: &str) -> Result<Workload, toml::de::Error> {
    let raw: RawWorkload = toml::from_str(text)?;
    let layers = raw.layers.into_iter().map(RawLayer::into_layer).collect();
    Ok(Workload {
        name: raw.name,
        description: raw.description,
        layers,
    })
}

impl RawLayer {
    fn into_layer(self) -> Layer {
        match self {
            RawLayer::Gemm {
                name,
                m,
                k,
                n,
                count,
            } => Layer {
                name,
                kind: LayerKind::Gemm,
                m,
                n,
                k,
                groups: 1,
                count,
                a_elems: m * k,
            },
            RawLayer::Conv {
                name,
                in_hw,
                in_c,
                out_c,
                kernel,
                stride,
                pad,
                groups,
                count,
            } => {
                let pad = pad.unwrap_or(kernel / 2);
                let e = (in_hw + 2 * pad - kernel) / stride + 1;
                Layer {
                    name,
                    kind: LayerKind::Conv,
                    m: e * e,
                    n: out_c / groups,
                    k: kernel * kernel * in_c / groups,
                    groups,
                    count,
                    a_elems: in_hw * in_hw * in_c / groups,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_totals_match_the_reference() {
        let macs = |w: &str| Workload::load(w).unwrap().macs();
        assert_eq!(macs("resnet50"), 4_089_184_256);
        assert_eq!(macs("bert-base"), 11_173_625_856);
        assert_eq!(macs("mobilenetv2"), 300_774_272);
    }

    #[test]
    fn layer_counts_match_the_sources() {
        let count = |w: &str| {
            Workload::load(w)
                .unwrap()
                .layers
                .iter()
                .map(|l| l.count)
                .sum::<u64>()
        };
        let entries = |w: &str| Workload::load(w).unwrap().layers.len();
        assert_eq!((entries("resnet50"), count("resnet50")), (30, 54));
        assert_eq!((entries("bert-base"), count("bert-base")), (6, 360));
        assert_eq!((entries("mobilenetv2"), count("mobilenetv2")), (53, 53));
    }

    #[test]
    fn conv_becomes_im2col_gemm() {
        let conv1 = &Workload::load("resnet50").unwrap().layers[0];
        assert_eq!(
            (conv1.m, conv1.k, conv1.n, conv1.a_elems),
            (112 * 112, 49 * 3, 64, 224 * 224 * 3)
        );
        let dw = &Workload::load("mobilenetv2").unwrap().layers[1];
        assert_eq!((dw.groups, dw.m, dw.k, dw.n), (32, 112 * 112, 9, 1));
    }

    #[test]
    fn unknown_names_list_the_shipped_ones() {
        let err = Workload::load("vgg16").unwrap_err().to_string();
        assert!(err.contains("vgg16") && err.contains("bert-base"), "{err}");
    }
}
