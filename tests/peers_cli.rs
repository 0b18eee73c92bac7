//! The helpers the peers in `benchmarks/peers/` drive: `initial-design`, `repair` and `space`.

mod common;

use std::collections::HashSet;

use common::{Fixture, run, run_with_stdin, stderr, stdout};
use diffuse_dse::space::Space;

fn fixture() -> Fixture {
    Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n")
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn initial_design(fx: &Fixture, extra: &[&str]) -> Vec<serde_json::Value> {
    let cfg = fx.config_path();
    let mut args = vec!["initial-design", "--config", cfg.to_str().unwrap()];
    args.extend(extra);
    let out = run(&args, fx.dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&stdout(&out))
}

/// A row of our output, checked by the space: every parameter legal, every constraint held.
fn checked(space: &Space, v: &serde_json::Value) -> diffuse_dse::space::Design {
    space
        .design_from_json(v)
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

#[test]
fn initial_design_rows_are_feasible_distinct_and_seeded() {
    let fx = fixture();
    let config = fx.load();
    let rows = initial_design(&fx, &["--n", "24", "--seed", "3"]);
    assert_eq!(rows.len(), 24);
    let hashes: HashSet<_> = rows
        .iter()
        .map(|r| checked(&config.space, r).hash())
        .collect();
    assert_eq!(hashes.len(), 24, "rows repeat");

    assert_eq!(initial_design(&fx, &["--n", "24", "--seed", "3"]), rows);
    assert_ne!(initial_design(&fx, &["--n", "24", "--seed", "4"]), rows);
    // The rows are those the proposers start from.
    let library =
        diffuse_dse::space::sampling::sobol_design(&config.space, 24, 3, &Default::default());
    let library: Vec<serde_json::Value> = library
        .iter()
        .map(|d| serde_json::to_value(d).unwrap())
        .collect();
    assert_eq!(rows, library);

    // Without --n and --seed: the config's model.initial_design and seed.
    let default = initial_design(&fx, &[]);
    assert_eq!(default.len(), config.model.initial_design);
    assert_eq!(
        default,
        initial_design(
            &fx,
            &[
                "--n",
                &config.model.initial_design.to_string(),
                "--seed",
                &config.seed.to_string()
            ]
        )
    );
}

fn repair(fx: &Fixture, extra: &[&str], input: &str) -> Vec<serde_json::Value> {
    let cfg = fx.config_path();
    let mut args = vec!["repair", "--config", cfg.to_str().unwrap()];
    args.extend(extra);
    let out = run_with_stdin(&args, fx.dir.path(), input);
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&stdout(&out))
}

/// A feasible design passes unchanged; one that breaks a constraint comes back feasible and
/// marked; a bad line gets its error and the stream goes on, numbered by input line.
#[test]
fn repair_replaces_infeasible_designs_and_keeps_feasible_ones() {
    let fx = fixture();
    let config = fx.load();
    let space = &config.space;
    let feasible = r#"{"mesh_rows": 8, "mesh_cols": 8, "clock_ps": 800, "vt_flavour": "SLVT"}"#;
    // 32·4 > 32 and 32·4 ≠ 16·1: two constraints broken.
    let infeasible = r#"{"mesh_rows": 32, "tile_rows": 4}"#;
    let input = format!(
        "{feasible}\n{infeasible}\nnot json\n\n{{\"mesh_rows\": 3}}\n{{\"bogus\": 1}}\n{{}}\n"
    );
    let lines = repair(&fx, &["--pool", "2048"], &input);
    assert_eq!(lines.len(), 6, "{lines:?}");

    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["repaired"], false);
    let kept = checked(space, &lines[0]["design"]);
    assert_eq!(kept.get("mesh_rows").unwrap().as_i64(), Some(8));
    assert_eq!(kept.get("clock_ps").unwrap().as_i64(), Some(800));
    assert_eq!(kept.get("vt_flavour").unwrap().as_str(), Some("SLVT"));

    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["repaired"], true);
    let repaired = checked(space, &lines[1]["design"]);
    assert!(space.feasible(&repaired));

    assert_eq!(lines[2]["line"], 3);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON object")
    );
    // The blank line 4 is skipped but counted.
    assert_eq!(lines[3]["line"], 5);
    assert!(
        lines[3]["error"]
            .as_str()
            .unwrap()
            .contains("mesh_rows = 3"),
        "{}",
        lines[3]
    );
    assert!(lines[4]["error"].as_str().unwrap().contains("'bogus'"));
    assert_eq!(lines[5]["repaired"], false);
    assert_eq!(checked(space, &lines[5]["design"]), space.default_design());

    // The same seed repairs the same way.
    assert_eq!(repair(&fx, &["--pool", "2048"], &input), lines);
}

#[test]
fn repair_with_an_empty_pool_is_a_usage_error() {
    let fx = fixture();
    let cfg = fx.config_path();
    let out = run(
        &["repair", "--config", cfg.to_str().unwrap(), "--pool", "0"],
        fx.dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--pool 0"), "{}", stderr(&out));
}

#[test]
fn space_json_describes_params_and_objectives() {
    let fx = fixture();
    let cfg = fx.config_path();
    let out = run(
        &["space", "--config", cfg.to_str().unwrap(), "--json"],
        fx.dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let config = fx.load();
    let params = v["params"].as_array().unwrap();
    assert_eq!(params.len(), config.space.params.len());
    assert_eq!(params[0]["name"], "mesh_rows");
    assert_eq!(params[0]["kind"], "pow2");
    assert_eq!(
        params[0]["choices"],
        serde_json::json!([1, 2, 4, 8, 16, 32])
    );
    assert_eq!(params[0]["default"], 16);
    let dataflow = params.iter().find(|p| p["name"] == "dataflow").unwrap();
    assert_eq!(dataflow["kind"], "categorical");
    assert_eq!(dataflow["choices"], serde_json::json!(["OS", "WS", "BOTH"]));
    assert_eq!(v["constraints"].as_array().unwrap().len(), 6);
    assert_eq!(v["objectives"][0]["name"], "latency_ms");
    assert_eq!(v["objectives"][0]["direction"], "min");
    assert_eq!(v["objectives"][2]["ref"], 0.8);
    assert_eq!(v["initial_design"], config.model.initial_design);
    assert_eq!(v["batch_size"], 8);

    let out = run(&["space", "--config", cfg.to_str().unwrap()], fx.dir.path());
    assert!(out.status.success());
    assert!(stdout(&out).contains("subject to mesh_rows * tile_rows >= 4"));
}
