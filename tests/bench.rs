//! `diffuse-dse bench`: the exact reference front against a brute-force walk, and the outputs
//! of a small run.

mod common;

use common::{Fixture, run, stderr, stdout};
use diffuse_dse::bench::reference::exact;
use diffuse_dse::evaluators::{Cancel, EvalContext};
use diffuse_dse::pareto::nondominated;

/// Everything but the mesh shape, the memories and the clock held at the defaults.
const FIX: &str = "sp_banks,acc_banks,retime,max_fanout,flatten,vt_flavour,dma_bus_bits,synth_strategy,dataflow,input_bits,acc_bits";

/// `diffuse-dse bench` on the fixture's config with the walk held by [`FIX`], plus `extra`.
fn bench(
    fx: &Fixture,
    samplers: &str,
    seeds: &str,
    budget: &str,
    out: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "bench",
        "--config",
        "config.toml",
        "--samplers",
        samplers,
        "--seeds",
        seeds,
        "--budget",
        budget,
        "--fix",
        FIX,
        "-o",
        out,
    ];
    args.extend(extra);
    run(&args, fx.dir.path())
}

#[test]
fn the_grid_walk_finds_the_brute_force_front() {
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    let config = fx.load();
    let fixed: Vec<String> = FIX
        .split(',')
        .filter(|f| config.space.param(f).is_some())
        .map(String::from)
        .collect();
    let mut held = diffuse_dse::space::Design::default();
    for f in &fixed {
        held.set(f, config.space.param(f).unwrap().default.clone());
    }
    let exact = exact(&config, &held).unwrap();
    // Brute force through the evaluator and designs, on the same grid.
    let mut space = config.space.clone();
    for p in space.params.iter_mut().filter(|p| fixed.contains(&p.name)) {
        p.choices = vec![p.default.clone()];
    }
    let designs = diffuse_dse::space::sampling::enumerate_feasible(&space);
    let evaluator = config.evaluator.build().unwrap();
    let ctx = EvalContext {
        workdir: fx.dir.path().to_path_buf(),
        timeout: std::time::Duration::from_secs(10),
        cancel: Cancel::new(),
    };
    let points: Vec<Vec<f64>> = designs
        .iter()
        .map(|d| {
            let m = evaluator.evaluate(d, &ctx).unwrap();
            config
                .objectives
                .iter()
                .map(|o| o.minimized(m.get(&o.name).unwrap()))
                .collect()
        })
        .collect();
    assert_eq!(exact.enumerated as usize, designs.len());
    let flat: Vec<f64> = points.iter().flatten().copied().collect();
    let mut brute: Vec<Vec<f64>> = nondominated(&flat, 3)
        .into_iter()
        .map(|i| points[i].clone())
        .collect();
    let mut walked = exact.points.clone();
    brute.sort_by(|a, b| a.partial_cmp(b).unwrap());
    walked.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert!(!walked.is_empty());
    assert_eq!(walked, brute);
    let hv = diffuse_dse::pareto::hypervolume(&flat, 3, &exact.reference);
    assert!((exact.hv - hv).abs() <= 1e-9 * hv);
}

#[test]
fn a_small_bench_writes_its_tables_plots_and_traces() {
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    let out = bench(&fx, "random,sobol", "2", "16", "b", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.contains("## After 16 evaluations"), "{md}");
    let b = fx.path("b");
    let csv = std::fs::read_to_string(b.join("summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for row in rows {
        let hv: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(hv > 0.0 && hv <= 1.0 + 1e-9, "{row}");
    }
    let runs = std::fs::read_to_string(b.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 2 * 2 * 16);
    let svg = std::fs::read_to_string(b.join("hv.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2);
    for s in ["random-0", "random-1", "sobol-0", "sobol-1"] {
        let t = std::fs::read_to_string(b.join(format!("traces/{s}.jsonl"))).unwrap();
        assert_eq!(t.lines().count(), 16, "{s}");
    }
    // The same seed gives the same trace.
    let again = bench(&fx, "random", "1", "16", "c", &[]);
    assert!(again.status.success());
    let params = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["params"].to_string())
            .collect()
    };
    assert_eq!(
        params(&b.join("traces/random-0.jsonl")),
        params(&fx.path("c/traces/random-0.jsonl"))
    );
    // Bad flags: one message, exit 2.
    let bad = bench(&fx, "annealing", "1", "16", "d", &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown sampler \"annealing\""),
        "{}",
        stderr(&bad)
    );
    let peer = bench(&fx, "tpe", "1", "8", "e", &["--peers-dir", "nowhere"]);
    assert_eq!(peer.status.code(), Some(2));
    assert!(
        stderr(&peer).contains("peer harness, which is not set up"),
        "{}",
        stderr(&peer)
    );
}

#[test]
fn diffuse_evaluates_the_same_designs_run_after_run() {
    // Two evaluations run side by side (the fixture's runner), so results come back in
    // either order; the proposals must not depend on it.
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write(
        "config.toml",
        &format!("{text}\n[model]\ninitial_design = 8\n"),
    );
    let designs = |out: &str| -> Vec<String> {
        let run = bench(&fx, "diffuse", "1", "32", out, &[]);
        assert!(run.status.success(), "{}", stderr(&run));
        let trace = std::fs::read_to_string(fx.path(&format!("{out}/traces/diffuse-0.jsonl")));
        let mut params: Vec<String> = trace
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["params"].to_string())
            .collect();
        // Within a batch the trace is in the order evaluations finished.
        for batch in params.chunks_mut(8) {
            batch.sort();
        }
        params
    };
    let first = designs("a");
    assert_eq!(first.len(), 32);
    for again in ["b", "c"] {
        assert_eq!(designs(again), first, "run {again}");
    }
}

#[test]
fn a_bench_reuses_the_traces_of_an_earlier_one() {
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    assert!(bench(&fx, "random", "1", "16", "a", &[]).status.success());
    let out = bench(&fx, "random", "1", "16", "b", &["--reuse", "a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = std::fs::read_to_string(fx.path("a/summary.csv")).unwrap();
    let b = std::fs::read_to_string(fx.path("b/summary.csv")).unwrap();
    // The same figures, and the seconds per proposal carried over from the first run.
    assert_eq!(a, b);
}

#[test]
fn a_bench_on_an_eda_flow_measures_against_the_union_of_the_runs_fronts() {
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    // A stand-in flow: latency from the clock, power from the mesh, inside the ref point.
    fx.use_flow(
        "#!/bin/sh\necho \"{\\\"latency_ms\\\": $(($1 / 10)), \\\"power_mw\\\": $((10 * $2)), \\\"area_mm2\\\": 0.1}\"\n",
        r#"["./flow.sh", "{clock_ps}", "{mesh_rows}"]"#,
        "timeout_s = 30\n",
    );
    let out = bench(&fx, "random,sobol", "1", "8", "b", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.contains("union of the runs' fronts."), "{md}");
    assert!(!md.contains("grid walk"), "{md}");
    let csv = std::fs::read_to_string(fx.path("b/summary.csv")).unwrap();
    let hv: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|row| row.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(hv.len(), 2, "{csv}");
    // Every run lies inside the union; the union's points come from the runs, so one run
    // alone would reach 1, and two runs share it.
    assert!(hv.iter().all(|&h| h > 0.0 && h <= 1.0 + 1e-9), "{csv}");
    let alone = bench(&fx, "random", "1", "8", "c", &[]);
    assert!(alone.status.success(), "{}", stderr(&alone));
    let csv = std::fs::read_to_string(fx.path("c/summary.csv")).unwrap();
    let hv: f64 = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!((hv - 1.0).abs() < 1e-9, "{csv}");
}
