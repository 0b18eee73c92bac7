//! The binary: config errors, one design by hand, ingest, and SIGTERM during a batch.

mod common;

use std::time::{Duration, Instant};

use common::{Fixture, bin, run, run_with_stdin, stderr, stdout};

/// Every class of config error gives exit 2 and names `file:line:` and the field.
#[test]
fn every_config_error_class_names_file_line_and_field() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (what, find in the demo config, replace with, expected in the message)
        ("TOML syntax", "seed = 7", "seed = = 7", ":2:"),
        (
            "unknown key",
            "seed = 7",
            "seed = 7\nsed = 8",
            "unknown field `sed`",
        ),
        (
            "wrong type",
            "batch_size = 8",
            "batch_size = \"eight\"",
            "schedule.batch_size",
        ),
        (
            "bad kind",
            "kind = \"pow2\"\nlow = 1\nhigh = 32\ndefault = 16\n[[space.params]]\nname = \"mesh_cols\"",
            "kind = \"power2\"\nlow = 1\nhigh = 32\ndefault = 16\n[[space.params]]\nname = \"mesh_cols\"",
            "space.params[0].kind",
        ),
        (
            "empty range",
            "low = 250\nhigh = 2000",
            "low = 2500\nhigh = 2000",
            "space.params[9].high",
        ),
        (
            "illegal default",
            "default = 1000",
            "default = 1025",
            "space.params[9].default",
        ),
        (
            "unknown name in a constraint",
            "\"acc_capacity_kib <= sp_capacity_kib\"",
            "\"acc_kib <= sp_capacity_kib\"",
            "unknown name 'acc_kib'",
        ),
        (
            "bad expression",
            "\"acc_capacity_kib <= sp_capacity_kib\"",
            "\"acc_capacity_kib <= \"",
            "space.constraints[3]",
        ),
        (
            "bad direction",
            "direction = \"min\"\nunit = \"ms\"",
            "direction = \"minimize\"\nunit = \"ms\"",
            "objectives[0].direction",
        ),
        (
            "objective not a metric",
            "name = \"latency_ms\"",
            "name = \"latency_s\"",
            "not a metric of the gemmini-model evaluator",
        ),
        (
            "bad cron",
            "cron = \"*/2 * * * * *\"",
            "cron = \"every night\"",
            "schedule.cron",
        ),
        (
            "target on no objective",
            "goals = { power_mw = 40.0 }",
            "goals = { power = 40.0 }",
            "targets[0].goals.power",
        ),
        (
            "bad evaluator setting",
            "workload = \"resnet50\"",
            "workload = \"resnet51\"",
            "workload",
        ),
        (
            "unknown evaluator",
            "name = \"gemmini-model\"",
            "name = \"gemini\"",
            "evaluator.name",
        ),
        (
            "duplicate parameter",
            "name = \"mesh_cols\"",
            "name = \"mesh_rows\"",
            "duplicate parameter name",
        ),
        (
            "bad runner",
            "parallel = 2",
            "parallel = 0",
            "runner.parallel",
        ),
    ];
    for (what, find, replace, expected) in cases {
        let fx = Fixture::new("[schedule]\ncron = \"*/2 * * * * *\"\nbatch_size = 8\n");
        let text = std::fs::read_to_string(fx.config_path()).unwrap();
        assert!(text.contains(find), "{what}: the base config has {find:?}");
        fx.write("config.toml", &text.replacen(find, replace, 1));
        let out = run(
            &["check-config", fx.config_path().to_str().unwrap()],
            fx.dir.path(),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("config.toml:"),
            "{what}: names the file and line: {err}"
        );
        assert!(
            err.contains(expected),
            "{what}: expected {expected:?} in: {err}"
        );
        let first = err.lines().next().unwrap();
        let loc: Vec<&str> = first.splitn(4, ':').collect();
        assert!(
            loc[1].parse::<usize>().is_ok() && loc[2].parse::<usize>().is_ok(),
            "{what}: line and column: {first}"
        );
    }
}

#[test]
fn several_problems_are_all_reported() {
    let fx = Fixture::new("[schedule]\ncron = \"every night\"\nbatch_size = 0\n");
    let out = run(
        &["check-config", fx.config_path().to_str().unwrap()],
        fx.dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("schedule.cron") && err.contains("schedule.batch_size"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn a_broken_drop_in_file_is_named() {
    let fx = Fixture::new("[schedule]\ncron = \"*/2 * * * * *\"\n");
    fx.write(
        "targets.d/x.toml",
        "[[targets]]\nname = \"x\"\nbounds = { area_mm2 = { most = 1 } }\n",
    );
    let out = run(
        &["check-config", fx.config_path().to_str().unwrap()],
        fx.dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("x.toml:3:") && err.contains("unknown field `most`"),
        "{err}"
    );
}

#[test]
fn a_valid_config_is_summarized() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * Mon-Fri\"\n");
    let out = run(
        &["check-config", fx.config_path().to_str().unwrap()],
        fx.dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("11 parameters (9 hw, 2 eda)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn evaluate_prints_the_default_and_names_bad_overrides() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n");
    let cfg = fx.config_path();
    let cfg = cfg.to_str().unwrap();
    let out = run(&["evaluate", "--config", cfg, "--json"], fx.dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Gemmini's default on ResNet-50 (PORTING §3.9): 24.170128 ms.
    assert!(
        (v["metrics"]["latency_ms"].as_f64().unwrap() - 24.170128).abs() < 1e-5,
        "{v}"
    );

    for (set, expected) in [
        (
            "mesh_rows=3",
            "--set mesh_rows=3: expected one of 1, 2, 4, 8, 16, 32",
        ),
        (
            "mesh_rows=8",
            "mesh_rows * tile_rows == mesh_cols * tile_cols",
        ),
        ("speed=8", "'speed' is not a parameter"),
    ] {
        let out = run(&["evaluate", "--config", cfg, "--set", set], fx.dir.path());
        assert_eq!(out.status.code(), Some(2), "{set}");
        assert!(stderr(&out).contains(expected), "{set}: {}", stderr(&out));
    }
}

/// `evaluate --layers`: the analytical model layer by layer, summing to the design's cycles.
#[test]
fn evaluate_layers_breaks_the_cycles_down_by_layer() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n");
    let cfg = fx.config_path();
    let cfg = cfg.to_str().unwrap();
    let out = run(&["evaluate", "--config", cfg, "--layers"], fx.dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(
        (v["workload"].as_str(), layers.len()),
        (Some("resnet50"), 30)
    );
    // the default's ResNet-50 run (PORTING §3.9): 16 550 543 cycles; BOTH picks WS for every
    // layer, since OS waits for its DRAM traffic
    let sum: f64 = layers.iter().map(|l| l["cycles"].as_f64().unwrap()).sum();
    assert_eq!(v["cycles"].as_f64().unwrap().round(), 16_550_543.0, "{v}");
    assert!((sum - v["cycles"].as_f64().unwrap()).abs() < 1e-3);
    assert!(layers.iter().all(|l| l["dataflow"] == "WS"), "{v}");
    let conv1 = &layers[0];
    assert_eq!(
        (&conv1["name"], &conv1["m"], &conv1["k"], &conv1["n"]),
        (&"conv1".into(), &12544.into(), &147.into(), &64.into())
    );
    // a layer's cycles are never below its array's part, which is stream + tiles·f
    for l in layers {
        let (array, stream, tiles) = (
            l["array_cycles"].as_f64().unwrap(),
            l["stream"].as_f64().unwrap(),
            l["tiles"].as_f64().unwrap(),
        );
        assert_eq!(array, stream + tiles * v["fill_cycles"].as_f64().unwrap());
        assert!(l["cycles"].as_f64().unwrap() >= array, "{l}");
    }

    let os = run(
        &[
            "evaluate",
            "--config",
            cfg,
            "--layers",
            "--set",
            "dataflow=OS",
        ],
        fx.dir.path(),
    );
    let os: serde_json::Value = serde_json::from_slice(&os.stdout).unwrap();
    let os_layers = os["layers"].as_array().unwrap();
    assert!(os_layers.iter().all(|l| l["dataflow"] == "OS"), "{os}");
    assert!(os["cycles"].as_f64().unwrap() > v["cycles"].as_f64().unwrap());

    let out = run(
        &[
            "evaluate",
            "--config",
            cfg,
            "--layers",
            "--evaluator",
            "synthetic",
        ],
        fx.dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--layers needs the gemmini-model evaluator"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failed_evaluate_keeps_the_folder_with_the_tools_logs() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n");
    // The flow fails while the file `broken` exists beside the config.
    let flag = fx.path("broken");
    fx.use_flow(
        &format!(
            "#!/bin/sh\nif [ -f '{}' ]; then echo 'the flow broke' > \"$1/flow.log\"; exit 3; fi\necho '{{\"latency_ms\": 1, \"power_mw\": 2, \"area_mm2\": 0.1}}'\n",
            flag.display()
        ),
        r#"["./flow.sh", "{workdir}"]"#,
        "timeout_s = 30\n",
    );
    let cfg = fx.config_path();
    let evaluate = || {
        run(
            &["evaluate", "--config", cfg.to_str().unwrap()],
            fx.dir.path(),
        )
    };
    std::fs::write(&flag, "").unwrap();
    let out = evaluate();
    assert!(!out.status.success());
    let err = stderr(&out);
    let kept = err
        .lines()
        .find_map(|l| {
            l.split_once("is kept: ")
                .map(|(_, dir)| dir.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no kept folder named: {err}"));
    let log = walk(std::path::Path::new(&kept))
        .into_iter()
        .find(|p| p.ends_with("flow.log"))
        .unwrap_or_else(|| panic!("no flow.log under {kept}"));
    assert_eq!(std::fs::read_to_string(log).unwrap(), "the flow broke\n");
    std::fs::remove_dir_all(&kept).unwrap();
    // A good evaluation leaves nothing behind.
    std::fs::remove_file(&flag).unwrap();
    let out = evaluate();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("is kept"), "{}", stderr(&out));
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn ingest_keeps_good_rows_and_rejects_bad_ones_with_reasons() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n");
    let header = "mesh_rows,mesh_cols,tile_rows,tile_cols,dataflow,sp_capacity_kib,sp_banks,acc_capacity_kib,acc_banks,clock_ps,vt_flavour,latency_ms,power_mw,area_mm2";
    let csv = format!(
        "{header}\n16,16,1,1,BOTH,256,4,64,2,1000,RVT,24.17,103.3,0.124\n8,8,1,1,WS,256,4,64,2,800,LVT,40.0,NaN,0.05\n8,8,1,1,WS,256,4,64,2,810,LVT,40.0,50.0,0.05\n8,8,1,1,OS,256,4,64,2,800,SLVT,30.0,60.0,0.06\n"
    );
    fx.write("results.csv", &csv);
    let cfg = fx.config_path();
    let out = run(
        &[
            "ingest",
            "--config",
            cfg.to_str().unwrap(),
            fx.path("results.csv").to_str().unwrap(),
        ],
        fx.dir.path(),
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("4 rows read, 2 accepted, 2 rejected"), "{err}");
    assert!(err.contains("power_mw"), "NaN is named: {err}");
    assert!(
        err.contains("clock_ps = 810"),
        "an illegal value is named: {err}"
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM results WHERE status = 'OK'"),
        2
    );
    // Ingesting the same file again adds nothing: the good rows are duplicates now.
    let out = run(
        &[
            "ingest",
            "--config",
            cfg.to_str().unwrap(),
            fx.path("results.csv").to_str().unwrap(),
        ],
        fx.dir.path(),
    );
    assert!(
        stderr(&out).contains("0 accepted, 4 rejected"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fx.count("SELECT count(*) FROM results"), 2);

    let out = run(
        &["best", "--config", cfg.to_str().unwrap(), "--csv"],
        fx.dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        3,
        "a header and the 2 front designs: {}",
        stdout(&out)
    );
    let out = run(
        &["status", "--config", cfg.to_str().unwrap(), "--json"],
        fx.dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["front"]["size"], 2);
    assert_eq!(v["results"]["rejected"], 6);
}

/// A daemon child process, killed if the test fails before it stops it.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A slow command evaluator (a shell script standing for an EDA flow), so SIGTERM lands
/// while evaluations run.
fn slow_flow(fx: &Fixture, seconds: u32) {
    fx.use_flow(
        &format!("#!/bin/sh\nsleep {seconds}\necho '{{\"latency_ms\": '$1', \"power_mw\": '$2', \"area_mm2\": 0.1}}'\n"),
        r#"["./flow.sh", "{clock_ps}", "{mesh_rows}"]"#,
        "timeout_s = 30\n",
    );
}

#[test]
fn sigterm_during_a_batch_exits_0_and_a_restart_resumes_without_loss() {
    let fx = Fixture::new(
        "[schedule]\ncron = \"* * * * * *\"\nbatch_size = 4\nqueue_depth = 8\npoll_s = 0.2\n",
    );
    slow_flow(&fx, 1);
    let cfg = fx.config_path();
    let start = |fx: &Fixture| {
        Daemon(
            bin()
                .args(["daemon", "--config", cfg.to_str().unwrap()])
                .current_dir(fx.dir.path())
                .spawn()
                .unwrap(),
        )
    };
    let mut child = start(&fx);
    // Wait until evaluations are running, then stop the daemon mid-batch.
    let t0 = Instant::now();
    // The store may exist before its tables do: `try_count` waits for the migration.
    while fx
        .try_count("SELECT count(*) FROM proposals WHERE state = 'RUNNING'")
        .is_none_or(|n| n == 0)
    {
        assert!(t0.elapsed() < Duration::from_secs(30), "a batch started");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let t1 = Instant::now();
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit 0 on SIGTERM");
    assert!(
        t1.elapsed() < Duration::from_secs(10),
        "stopped within seconds"
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"),
        0
    );
    let integrity: String = fx
        .sql()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let before = fx.count("SELECT count(*) FROM results");

    // The restart resumes: the interrupted proposals run again, nothing is lost or doubled.
    let mut child = start(&fx);
    let t0 = Instant::now();
    while fx.count("SELECT count(*) FROM results") < before + 4 {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "the restarted daemon ran a batch"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    assert_eq!(
        fx.count("SELECT count(*) FROM results"),
        fx.count("SELECT count(DISTINCT proposal_id) FROM results"),
        "one result per proposal"
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM results"),
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DONE', 'FAILED')")
    );
}

/// `evaluate --jsonl`: any tool can drive the evaluator, one JSON line in, one out, in order;
/// a bad line gets its error and the stream goes on.
#[test]
fn evaluate_jsonl_streams_designs_to_qor() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\n");
    let cfg = fx.config_path();
    let input = "{}\n{\"mesh_rows\": 8, \"mesh_cols\": 8}\nnot json\n{\"mesh_rows\": 8}\n{\"clock_ps\": 800, \"vt_flavour\": \"SLVT\"}\n";
    let out = run_with_stdin(
        &["evaluate", "--config", cfg.to_str().unwrap(), "--jsonl"],
        fx.dir.path(),
        input,
    );
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(
        (lines[0]["metrics"]["latency_ms"].as_f64().unwrap() - 24.170128).abs() < 1e-5,
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["design"]["mesh_rows"], 8);
    assert!(
        lines[1]["metrics"]["area_mm2"].as_f64().unwrap()
            < lines[0]["metrics"]["area_mm2"].as_f64().unwrap()
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3]["error"]
            .as_str()
            .unwrap()
            .contains("mesh_rows * tile_rows == mesh_cols * tile_cols"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4]["line"], 5);
    assert!(lines[4]["metrics"]["power_mw"].as_f64().unwrap() > 0.0);
}

/// Ctrl-C during `batch run` kills the running evaluations (their process groups) and puts
/// their proposals back in the queue; the command exits 130.
#[test]
fn ctrl_c_in_batch_run_requeues_the_running_evaluations() {
    let fx = Fixture::new("[schedule]\ncron = \"0 22 * * *\"\nbatch_size = 2\nqueue_depth = 4\n");
    slow_flow(&fx, 30);
    let cfg = fx.config_path();
    let mut child = Daemon(
        bin()
            .args(["batch", "run", "--config", cfg.to_str().unwrap()])
            .current_dir(fx.dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while fx
        .try_count("SELECT count(*) FROM proposals WHERE state = 'RUNNING'")
        .unwrap_or(0)
        < 2
    {
        assert!(t0.elapsed() < Duration::from_secs(30), "the batch started");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "the 30 s evaluations were killed"
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"),
        0
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM results"),
        0,
        "an interrupted evaluation is not a result"
    );
    assert_eq!(
        fx.count(
            "SELECT count(*) FROM proposals WHERE state = 'QUEUED' AND reason LIKE 'interrupted%'"
        ),
        2
    );
    assert_eq!(
        fx.count("SELECT state = 'INTERRUPTED' FROM batches WHERE id = 1"),
        1
    );
}
