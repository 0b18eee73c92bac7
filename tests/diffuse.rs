//! DiffuSE as the daemon's proposer: determinism, the edges users hit, and incremental
//! retraining with checkpoints through real `batch run` processes.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Fixture, run, stderr};
use diffuse_dse::config::Config;
use diffuse_dse::diffuse::DiffuSE;
use diffuse_dse::proposer::{History, Proposer};
use diffuse_dse::space::Design;

/// DiffuSE's test settings (the reference's FAST).
const FAST: &str = "[model.diffuse]\ntrain_steps = 150\nwarm_steps = 50\npredictor_steps = 100\npredictor_warm_steps = 40\ncandidates_per_target = 16\nlocal_candidates = 64\nrandom_candidates = 64\nfeasible_pool_size = 2048\nn_screen = 32\n";

/// A config with the given space and objectives, evaluated by a `command` (never run here).
fn config(
    dir: &std::path::Path,
    space: &str,
    objectives: &[&str],
    extra: &str,
) -> Result<Config, String> {
    let objs: String = objectives
        .iter()
        .map(|o| format!("[[objectives]]\nname = \"{o}\"\ndirection = \"min\"\nref = 10.0\n"))
        .collect();
    let text = format!(
        "seed = 3\n[store]\npath = \"s.db\"\n{space}\n{objs}{extra}\n[evaluator]\nname = \"command\"\n[evaluator.command]\nargv = [\"true\"]\n{FAST}"
    );
    std::fs::write(dir.join("c.toml"), text).unwrap();
    Config::load(dir.join("c.toml")).map_err(|e| e.to_string())
}

/// A mixed space of 4 parameters (int, pow2, categorical, float) and a constraint.
const SPACE: &str = r#"[space]
name = "t"
constraints = ["a + b <= 24"]
[[space.params]]
name = "a"
layer = "hw"
kind = "int"
low = 0
high = 20
default = 4
[[space.params]]
name = "b"
layer = "hw"
kind = "pow2"
low = 1
high = 16
default = 4
[[space.params]]
name = "k"
layer = "eda"
kind = "categorical"
values = ["x", "y", "z"]
default = "x"
[[space.params]]
name = "f"
layer = "eda"
kind = "float"
low = 0.1
high = 10.0
log = true
default = 1.0
"#;

/// Objective values of a design: a smooth trade-off in `a`, `b`, `f`, with `k = "z"` worse.
fn qor(d: &Design, m: usize) -> Vec<f64> {
    let a = d.f64("a").unwrap() / 20.0;
    let b = d.f64("b").unwrap().log2() / 4.0;
    let f = d.f64("f").unwrap().ln() / 10f64.ln();
    let penalty = if d.get("k").and_then(|v| v.as_str()) == Some("z") {
        0.5
    } else {
        0.0
    };
    let all = [
        1.0 + a - 0.5 * b + penalty,
        2.0 - a + f.abs(),
        1.0 + b * b + penalty,
        3.0 - f,
    ];
    all[..m].to_vec()
}

/// A history of `n` evaluated designs drawn by the proposer itself (its initial design).
fn history(p: &mut DiffuSE, n: usize, m: usize) -> History {
    let mut h = History::default();
    while h.ok.len() < n {
        let batch = p.propose(&h, 8);
        assert!(!batch.proposals.is_empty(), "the space has room");
        for prop in batch.proposals.into_iter().take(n - h.ok.len()) {
            h.seen.insert(prop.design.hash());
            let y = qor(&prop.design, m);
            h.ok.push((prop.design, y, true));
        }
    }
    h
}

fn designs(p: &diffuse_dse::proposer::Proposals) -> Vec<Design> {
    p.proposals.iter().map(|p| p.design.clone()).collect()
}

#[test]
fn the_same_seed_and_results_give_the_same_proposals_in_one_process_and_after_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), SPACE, &["o1", "o2", "o3"], "").unwrap();
    let mut p = DiffuSE::new(&c, Default::default());
    let h = history(&mut p, 24, 3);
    let fit = p.fit(&h);
    assert!(fit.loss.is_some_and(f64::is_finite) && !fit.warm);
    let first = p.propose(&h, 8);
    assert_eq!(first.proposals.len(), 8);
    assert!(
        first
            .proposals
            .iter()
            .all(|q| ["diffusion", "local", "pool"].contains(&q.origin))
    );
    let hashes: HashSet<_> = first.proposals.iter().map(|q| q.design.hash()).collect();
    assert_eq!(hashes.len(), 8, "distinct");
    assert!(
        hashes.is_disjoint(&h.seen),
        "never a design already in the store"
    );
    assert!(first.proposals.iter().all(|q| c.space.feasible(&q.design)));
    assert_eq!(designs(&p.propose(&h, 8)), designs(&first), "same process");
    let mut restored = DiffuSE::new(&c, Default::default());
    restored.restore(fit.weights.as_ref().unwrap()).unwrap();
    assert_eq!(
        designs(&restored.propose(&h, 8)),
        designs(&first),
        "after a restart"
    );
    // Another seed, another batch.
    let c2 = Config {
        seed: 4,
        ..c.clone()
    };
    let mut other = DiffuSE::new(&c2, Default::default());
    other.fit(&h);
    assert_ne!(designs(&other.propose(&h, 8)), designs(&first));
    // A checkpoint of another space is refused.
    let c3 = config(
        dir.path(),
        &SPACE.replace("high = 20", "high = 19"),
        &["o1", "o2", "o3"],
        "",
    )
    .unwrap();
    let err = DiffuSE::new(&c3, Default::default()).restore(fit.weights.as_ref().unwrap());
    assert!(err.is_err());
}

#[test]
fn a_space_with_fewer_feasible_designs_than_the_batch_is_exhausted_without_looping() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = "[space]\nname = \"tiny\"\nconstraints = [\"a + b <= 2\"]\n[[space.params]]\nname = \"a\"\nlayer = \"hw\"\nkind = \"int\"\nlow = 0\nhigh = 2\ndefault = 0\n[[space.params]]\nname = \"b\"\nlayer = \"hw\"\nkind = \"int\"\nlow = 0\nhigh = 2\ndefault = 0\n";
    let c = config(dir.path(), tiny, &["o1", "o2"], "").unwrap();
    let mut p = DiffuSE::new(&c, Default::default());
    let mut h = History::default();
    let first = p.propose(&h, 8);
    assert_eq!(first.proposals.len(), 6, "the 6 feasible designs, no more");
    assert!(first.exhausted);
    for q in first.proposals {
        h.seen.insert(q.design.hash());
        let y = vec![q.design.f64("a").unwrap(), q.design.f64("b").unwrap()];
        h.ok.push((q.design, y, true));
    }
    p.fit(&h);
    let again = p.propose(&h, 8);
    assert!(again.proposals.is_empty() && again.exhausted);
}

#[test]
fn one_two_and_four_objectives_and_user_targets() {
    let dir = tempfile::tempdir().unwrap();
    for m in [1, 2, 4] {
        let names: Vec<String> = (1..=m).map(|j| format!("o{j}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let target = "[[targets]]\nname = \"low\"\ngoals = { o1 = 0.5 }\n";
        let c = config(dir.path(), SPACE, &refs, target).map(|c| Config {
            model: diffuse_dse::config::ModelConfig {
                diffuse: diffuse_dse::diffuse::Settings {
                    pareto_share: 0.5,
                    ..c.model.diffuse.clone()
                },
                ..c.model.clone()
            },
            ..c
        });
        let c = c.unwrap_or_else(|e| panic!("{m} objectives: {e}"));
        let mut p = DiffuSE::new(&c, Default::default());
        let mut h = history(&mut p, 20, m);
        h.targets = vec![(diffuse_dse::store::TargetId(1), c.targets[0].clone())];
        p.fit(&h);
        let batch = p.propose(&h, 8);
        assert_eq!(batch.proposals.len(), 8, "{m} objectives");
        let tagged = batch
            .proposals
            .iter()
            .filter(|q| q.target.is_some())
            .count();
        assert_eq!(
            tagged, 4,
            "pareto_share 0.5 gives the target half the batch ({m} objectives)"
        );
    }
    // One objective: the hypervolume is the distance of the best value to the reference.
    assert_eq!(
        diffuse_dse::pareto::hypervolume(&[3.0, 1.0, 2.0], 1, &[10.0]),
        9.0
    );
    // Five objectives exceed the networks.
    let five = config(dir.path(), SPACE, &["a1", "a2", "a3", "a4", "a5"], "").unwrap_err();
    assert!(
        five.contains("model.kind") && five.contains("at most 4"),
        "{five}"
    );
}

#[test]
fn all_failed_duplicates_and_a_space_too_wide_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), SPACE, &["o1", "o2"], "").unwrap();
    // Every result so far failed: no model, the initial design goes on.
    let mut p = DiffuSE::new(&c, Default::default());
    let mut h = History::default();
    for q in p.propose(&h, 16).proposals {
        h.seen.insert(q.design.hash());
        h.failed.push(q.design);
    }
    let fit = p.fit(&h);
    assert!(fit.weights.is_none());
    let next = p.propose(&h, 8);
    assert_eq!(next.proposals.len(), 8);
    assert!(
        next.proposals
            .iter()
            .all(|q| !h.seen.contains(&q.design.hash()))
    );
    // Duplicate results of one design (re-runs of a noisy flow).
    let mut h = history(&mut DiffuSE::new(&c, Default::default()), 20, 2);
    let (d, y, _) = h.ok[0].clone();
    h.ok.push((d.clone(), y.iter().map(|v| v * 1.01).collect(), true));
    h.ok.push((d, y, true));
    let mut p = DiffuSE::new(&c, Default::default());
    p.fit(&h);
    let batch = p.propose(&h, 8);
    let hashes: HashSet<_> = batch.proposals.iter().map(|q| q.design.hash()).collect();
    assert_eq!(hashes.len(), 8);
    // A categorical with 60 choices encodes wider than the networks take.
    let values: Vec<String> = (0..60).map(|i| format!("\"v{i}\"")).collect();
    let wide = format!(
        "[space]\nname = \"wide\"\n[[space.params]]\nname = \"v\"\nlayer = \"hw\"\nkind = \"categorical\"\nvalues = [{}]\ndefault = \"v0\"\n",
        values.join(", ")
    );
    let e = config(dir.path(), &wide, &["o1"], "").unwrap_err();
    assert!(
        e.contains("60 model inputs") && e.contains("at most 48"),
        "{e}"
    );
}

/// `batch run` on the demo (ResNet-50 on the analytical model), `n` times.
fn batches(fx: &Fixture, n: usize) {
    for _ in 0..n {
        let out = run(&["batch", "run", "--config", "config.toml"], fx.dir.path());
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

/// The checkpoint metadata of each model version with weights.
fn checkpoints(fx: &Fixture) -> Vec<(i64, Option<i64>, HashMap<String, String>)> {
    let c = fx.sql();
    let mut stmt = c
        .prepare("SELECT version, parent, weights FROM models WHERE weights IS NOT NULL ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?)))
        .unwrap()
        .map(|r| {
            let (v, parent, w) = r.unwrap();
            let (_, header) = safetensors::SafeTensors::read_metadata(&w).unwrap();
            (v, parent, header.metadata().clone().unwrap())
        })
        .collect()
}

#[test]
fn refits_warm_start_from_the_checkpoint_restarts_load_it_and_old_queued_proposals_give_way() {
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 12\n");
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write(
        "config.toml",
        &format!(
            "{text}\n[model]\ninitial_design = 8\nretrain_every = 8\nfull_retrain_every = 3\n"
        ),
    );
    batches(&fx, 5);
    let cps = checkpoints(&fx);
    assert!(
        cps.len() >= 3,
        "a model after each batch past the initial design: {cps:?}"
    );
    // Full, warm, warm, full, …: every 3rd version starts from scratch.
    let warm: Vec<i64> = cps
        .iter()
        .map(|(_, _, m)| m["warm_fits"].parse().unwrap())
        .collect();
    assert_eq!(&warm[..3], &[0, 1, 2], "{warm:?}");
    assert!(
        cps.iter()
            .skip(1)
            .all(|(v, parent, _)| *parent == Some(v - 1))
    );
    // Each batch run is a new process: one model per 8 new results, not one per start.
    let results = fx.count("SELECT count(*) FROM results");
    let models = fx.count("SELECT count(*) FROM models");
    assert_eq!(results, 40);
    assert_eq!(
        models, 5,
        "one fit per batch of 8 results (the first with no data)"
    );
    // Proposals record their model; queued ones of older models were cancelled, with the
    // reason, and none that had been dispatched.
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE model_version IS NULL"),
        0
    );
    let cancelled = fx.count("SELECT count(*) FROM proposals WHERE state = 'CANCELLED'");
    assert!(cancelled > 0);
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state = 'CANCELLED' AND (batch_id IS NOT NULL OR reason NOT LIKE 'replaced by the proposals of model version %')"),
        0
    );
    let latest = fx.count("SELECT max(version) FROM models");
    assert_eq!(
        fx.count(&format!(
            "SELECT count(*) FROM proposals WHERE state = 'QUEUED' AND model_version != {latest}"
        )),
        0
    );
    // A restart that finds nothing new proposes from the loaded checkpoint without a refit.
    let before = fx.count("SELECT count(*) FROM models");
    let out = run(&["batch", "run", "--config", "config.toml"], fx.dir.path());
    assert!(out.status.success());
    assert_eq!(
        fx.count("SELECT count(*) FROM models"),
        before + 1,
        "48 results: one more fit, not two"
    );
    // The space changes: a full retrain for the new space, and every old queued proposal goes.
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write(
        "config.toml",
        &text.replacen("high = 1024", "high = 512", 1),
    );
    let out = run(&["batch", "run", "--config", "config.toml"], fx.dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let cps = checkpoints(&fx);
    let (_, _, last) = cps.last().unwrap();
    assert_eq!(last["warm_fits"], "0", "a new space starts from scratch");
    let space_hashes =
        fx.count("SELECT count(DISTINCT space_hash) FROM models WHERE weights IS NOT NULL");
    assert_eq!(space_hashes, 2);
}

#[test]
fn pretraining_from_an_evaluator_or_another_store_shortens_the_initial_design() {
    let model = "[model]\ninitial_design = 16\nretrain_every = 8\n";
    // From the analytical model: 4 Sobol designs, then the model from the first refit on.
    let fx = Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write(
        "config.toml",
        &format!("{text}\n{model}[model.pretrain]\nevaluator = \"gemmini-model\"\nsamples = 512\nshare = 0.3\n"),
    );
    batches(&fx, 2);
    let origins = |fx: &Fixture, sql: &str| fx.count(sql);
    assert_eq!(
        origins(&fx, "SELECT count(*) FROM proposals WHERE origin = 'sobol'"),
        4
    );
    assert!(
        origins(
            &fx,
            "SELECT count(*) FROM proposals WHERE origin IN ('diffusion', 'local', 'pool')"
        ) > 0,
        "the model proposes once 8 results are in"
    );
    // From that store, for a second study.
    let other =
        Fixture::new("[schedule]\ncron = \"0 0 3 * * *\"\nbatch_size = 8\nqueue_depth = 8\n");
    let text = std::fs::read_to_string(other.config_path()).unwrap();
    let source = fx.store_path();
    other.write(
        "config.toml",
        &format!(
            "{text}\n{model}[model.pretrain]\nstore = \"{}\"\n",
            source.display()
        ),
    );
    batches(&other, 2);
    assert!(
        other
            .count("SELECT count(*) FROM proposals WHERE origin IN ('diffusion', 'local', 'pool')")
            > 0
    );
    // Bad settings are config errors, each named.
    for (extra, expect) in [
        (
            "store = \"x.db\"\nevaluator = \"gemmini-model\"",
            "exactly one of",
        ),
        ("evaluator = \"asap7-flow\"", "model.pretrain.evaluator"),
        (
            "evaluator = \"synthetic\"\nshare = 1.5",
            "model.pretrain.share",
        ),
        ("store = \"missing.db\"", "does not exist"),
    ] {
        other.write("bad.toml", &format!("{text}\n[model.pretrain]\n{extra}\n"));
        let out = run(&["check-config", "bad.toml"], other.dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(expect), "{extra}: {}", stderr(&out));
    }
}
