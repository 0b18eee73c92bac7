//! Throughput of the analytical Gemmini model on one thread: `N` seeded feasible ResNet-50
//! configurations of the example space (PORTING §1.3), evaluated 5 times; prints the median
//! configurations per second, the machine and the command.
//!
//! `cargo bench --bench model_throughput [-- --n 1000000]`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use diffuse_dse::evaluators::gemmini_model::{
    Dataflow, GemminiConfig, GemminiModel, GemminiSettings, SynthStrategy, VtFlavour,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RUNS: usize = 5;

fn main() {
    let n = parse_n().unwrap_or_else(|message| {
        eprintln!("model_throughput: {message}");
        std::process::exit(2);
    });
    let model = GemminiModel::new(&GemminiSettings::default(), Path::new("."))
        .expect("the default settings are valid");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let configs: Vec<GemminiConfig> = std::iter::repeat_with(|| draw(&mut rng))
        .filter(feasible)
        .take(n)
        .collect();

    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let mut checksum = 0.0;
            for cfg in &configs {
                checksum += model.evaluate(black_box(cfg)).latency_ms;
            }
            black_box(checksum);
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);

    let command: Vec<String> = std::env::args().collect();
    println!(
        "gemmini-model throughput: {:.0} configurations/s (median of {RUNS}, one thread)",
        rates[RUNS / 2]
    );
    println!(
        "  runs: {}",
        rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  n = {n} seeded feasible ResNet-50 configurations ({} memory keys tabulated)",
        model_keys(&model)
    );
    println!("  machine: {} CPUs (nproc), {}", nproc(), cpu_model());
    println!("  command: {}", command.join(" "));
}

/// `--n N` (default 1,000,000); cargo's own `--bench` flag is ignored.
fn parse_n() -> Result<usize, String> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [] => Ok(1_000_000),
        [flag, value] if flag == "--n" => value
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("--n must be a positive integer. Got {value:?}.")),
        _ => Err(format!("usage: model_throughput [--n N]. Got {args:?}.")),
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, values: &[T]) -> T {
    values[rng.random_range(0..values.len())]
}

/// A uniform draw from the example space's values (`abc_delay_ratio` uniform in [0.5, 1]).
fn draw(rng: &mut ChaCha8Rng) -> GemminiConfig {
    GemminiConfig {
        mesh_rows: pick(rng, &[1, 2, 4, 8, 16, 32]),
        mesh_cols: pick(rng, &[1, 2, 4, 8, 16, 32]),
        tile_rows: pick(rng, &[1, 2, 4]),
        tile_cols: pick(rng, &[1, 2, 4]),
        dataflow: pick(rng, &Dataflow::ALL),
        input_bits: pick(rng, &[8, 16]),
        acc_bits: pick(rng, &[24, 32]),
        sp_capacity_kib: pick(rng, &[32, 64, 128, 256, 512, 1024]),
        sp_banks: pick(rng, &[1, 2, 4, 8, 16]),
        acc_capacity_kib: pick(rng, &[16, 32, 64, 128, 256]),
        acc_banks: pick(rng, &[1, 2, 4, 8]),
        dma_bus_bits: pick(rng, &[64, 128, 256]),
        clock_ps: f64::from(250 + 50 * rng.random_range(0..36)),
        vt_flavour: pick(rng, &VtFlavour::ALL),
        synth_strategy: pick(rng, &[SynthStrategy::Area, SynthStrategy::Delay]),
        abc_delay_ratio: 0.5 + 0.5 * rng.random::<f64>(),
        flatten: rng.random(),
        retime: rng.random(),
        max_fanout: pick(rng, &[8, 16, 32, 64]),
    }
}

/// The space's constraints: a square array with `4 <= DIM <= 32`, an accumulator no larger than
/// the scratchpad, at least 8 KiB per scratchpad bank and 4 KiB per accumulator bank.
fn feasible(c: &GemminiConfig) -> bool {
    let dim = c.mesh_rows * c.tile_rows;
    dim == c.mesh_cols * c.tile_cols
        && (4..=32).contains(&dim)
        && c.acc_capacity_kib <= c.sp_capacity_kib
        && c.sp_capacity_kib / c.sp_banks >= 8
        && c.acc_capacity_kib / c.acc_banks >= 4
}

fn model_keys(model: &GemminiModel) -> usize {
    model.perf().table().len()
}

fn nproc() -> String {
    std::thread::available_parallelism().map_or_else(|_| "?".to_string(), |n| n.to_string())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}
