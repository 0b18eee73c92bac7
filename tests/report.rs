//! `diffuse-dse report`: the page written for a store with real results, read back from the file
//! and rendered in headless Chromium (it renders, with no console errors, and its plots hold the
//! store's points), an empty store's page, and the errors for files that are not a store.
//!
//! Chromium is the Debian package `chromium` (in `.ci/apt-packages.txt`). Without it the
//! browser checks fail in CI (`CI=true`) and are skipped with a notice elsewhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, bin, run, stderr, stdout};
use serde_json::Value as Json;

/// The Chromium binary: `$CHROMIUM`, else the first of the usual names on `PATH`. `None` (with
/// a notice) outside CI; a panic in CI, where `.ci/run` installs it.
fn chromium() -> Option<PathBuf> {
    let given = std::env::var_os("CHROMIUM").map(PathBuf::from);
    if let Some(path) = given.as_ref().filter(|p| !p.is_file()) {
        panic!("$CHROMIUM is {}, which is not a file", path.display());
    }
    let found = given.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .map(|name| dir.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        let why = "chromium not found (set $CHROMIUM, or apt-get install chromium)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{why}: CI installs it from .ci/apt-packages.txt, so the report's browser test may not be skipped"
        );
        eprintln!("report test: skipping the browser checks, {why}");
    }
    found
}

/// The page after its script ran (`--dump-dom`) and Chromium's stderr, where
/// `--enable-logging=stderr` puts the page's console messages (`CONSOLE(line)`).
fn render(browser: &Path, page: &Path, fragment: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so a full pipe never blocks the browser, and give up after 120 s.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish rendering {url} in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (dom, log) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "chromium failed on {url}: {status}\n{log}"
    );
    (dom, log)
}

/// The page's console messages from Chromium's log: none are expected (the page logs nothing
/// when all goes well, and its error hook turns an error into a console.error).
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("CONSOLE")).collect()
}

/// The value of `data-NAME` on the status element of the dumped page.
fn status_attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find("id=\"render-status\"")?;
    let tag_start = dom[..start].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let key = format!("data-{name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

fn count_attr(dom: &str, name: &str) -> usize {
    status_attr(dom, name)
        .unwrap_or_else(|| panic!("data-{name} on the status element"))
        .parse()
        .unwrap()
}

/// The part of the dumped page inside `<section id="ID">`.
fn section<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("section {id}"));
    let end = dom[start..].find("</section>").unwrap() + start;
    &dom[start..end]
}

/// The JSON the page embeds.
fn embedded(html: &str) -> Json {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).unwrap() + open.len();
    let end = html[start..].find("</script>").unwrap() + start;
    serde_json::from_str(&html[start..end]).unwrap()
}

/// A store with real results: the demo's daemon loop on the analytical Gemmini model for four
/// batches, then an ingest with one failed flow and two bad rows.
fn demo_store(dir: &Path) -> PathBuf {
    let out = run(
        &["demo", "--batches", "4", "--dir", dir.to_str().unwrap()],
        dir,
    );
    assert!(out.status.success(), "demo: {}", stderr(&out));
    let config = dir.join("config.toml");
    let header = "mesh_rows,mesh_cols,tile_rows,tile_cols,dataflow,sp_capacity_kib,sp_banks,acc_capacity_kib,acc_banks,clock_ps,vt_flavour,latency_ms,power_mw,area_mm2";
    std::fs::write(
        dir.join("bad.csv"),
        format!(
            "{header}\n8,8,1,1,WS,256,4,64,2,800,LVT,40.0,NaN,0.05\n8,8,1,1,WS,256,4,64,2,810,LVT,40.0,50.0,0.05\n"
        ),
    )
    .unwrap();
    let sql = rusqlite::Connection::open(dir.join("demo.db")).unwrap();
    sql.execute(
        "INSERT INTO inbox (params, status, error, evaluator, source) VALUES
         ('{\"mesh_rows\":4,\"mesh_cols\":4,\"tile_rows\":1,\"tile_cols\":1,\"dataflow\":\"OS\",\"sp_capacity_kib\":64,\"sp_banks\":2,\"acc_capacity_kib\":32,\"acc_banks\":2,\"clock_ps\":500,\"vt_flavour\":\"SLVT\"}',
          'failed', 'yosys: out of memory </script><b>not markup</b>', 'asap7', 'sql')",
        [],
    )
    .unwrap();
    drop(sql);
    let out = run(
        &[
            "ingest",
            "--config",
            config.to_str().unwrap(),
            dir.join("bad.csv").to_str().unwrap(),
        ],
        dir,
    );
    assert!(
        stderr(&out).contains("2 rows read, 1 accepted, 2 rejected"),
        "ingest: {}",
        stderr(&out)
    );
    dir.join("demo.db")
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn report(db: &Path, html: &Path) -> std::process::Output {
    run(
        &[
            "report",
            "--store",
            db.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
        db.parent().unwrap(),
    )
}

#[test]
fn a_real_store_renders_every_plot_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_store(dir.path());
    let page = dir.path().join("report.html");
    let out = report(&db, &page);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "progress goes to stderr only");
    assert!(stderr(&out).contains("report: wrote"), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained: nothing is fetched from anywhere.
    for bad in [
        "http://", "https://", "<link", "<img", "<iframe", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "the page references {bad}");
    }
    assert!(
        !html.contains(" src="),
        "no script or image is loaded from a file"
    );
    // The failure text with markup in it stays data: it cannot close the data script.
    assert_eq!(
        html.matches("</script>").count(),
        3,
        "the page's own scripts only"
    );

    // The embedded data is the store's.
    let data = embedded(&html);
    let ok = count(&db, "SELECT count(*) FROM results WHERE status = 'OK'") as usize;
    let front = count(&db, "SELECT count(*) FROM results WHERE on_front = 1") as usize;
    let batches = count(&db, "SELECT count(*) FROM batches") as usize;
    let models = count(&db, "SELECT count(*) FROM models") as usize;
    assert!(
        ok >= 16 && front >= 2 && batches >= 4 && models >= 1,
        "{ok} {front} {batches} {models}"
    );
    assert_eq!(data["results"].as_array().unwrap().len(), ok);
    assert_eq!(data["results_total"], ok);
    assert_eq!(data["counts"]["front"], front);
    assert_eq!(
        data["counts"]["feasible"],
        count(
            &db,
            "SELECT count(*) FROM results WHERE status = 'OK' AND feasible = 1"
        )
    );
    assert_eq!(data["batches"].as_array().unwrap().len(), batches);
    assert_eq!(data["models"].as_array().unwrap().len(), models);
    let failed = count(
        &db,
        "SELECT (SELECT count(*) FROM results WHERE status = 'FAILED')
              + (SELECT count(*) FROM inbox WHERE state = 'REJECTED')
              + (SELECT count(*) FROM proposals WHERE state = 'LOST')",
    );
    assert!(
        failed >= 3,
        "one failed flow and two rejected rows at least"
    );
    assert_eq!(data["failures"]["total"], failed);
    let names: Vec<&str> = data["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["latency_ms", "power_mw", "area_mm2"]);
    let layer = |name: &str| {
        data["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["layer"]
            .clone()
    };
    assert_eq!(layer("mesh_rows"), "hw");
    assert_eq!(layer("clock_ps"), "eda");
    assert_eq!(data["layers_known"], true);
    // The last batch's hypervolume is the one `status` reports for the front.
    let status = run(
        &[
            "status",
            "--config",
            dir.path().join("config.toml").to_str().unwrap(),
            "--json",
        ],
        dir.path(),
    );
    let status: Json = serde_json::from_slice(&status.stdout).unwrap();
    let want = status["front"]["hypervolume"].as_f64().unwrap();
    let last = data["batches"].as_array().unwrap().last().unwrap()["hv"]
        .as_f64()
        .unwrap();
    assert!(
        (last - want).abs() <= 1e-9 * want,
        "{last} vs status {want}"
    );
    assert!((data["hv_final"].as_f64().unwrap() - want).abs() <= 1e-9 * want);

    // A cap keeps the front and the ranked designs, and says what it left out.
    let small = dir.path().join("small.html");
    let out = run(
        &[
            "report",
            "--store",
            db.to_str().unwrap(),
            "-o",
            small.to_str().unwrap(),
            "--max-designs",
            "1",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let capped = embedded(&std::fs::read_to_string(&small).unwrap());
    let kept: Vec<&Json> = capped["results"].as_array().unwrap().iter().collect();
    let ranked = count(
        &db,
        "SELECT count(*) FROM results r WHERE r.on_front = 0 AND r.id IN
           (SELECT result_id FROM target_ranks tr JOIN targets t ON t.id = tr.target_id
            WHERE t.active = 1 AND tr.rank <= 10)",
    ) as usize;
    assert_eq!(
        kept.len(),
        front + ranked,
        "the front and the ranked designs only"
    );
    assert_eq!(capped["results_total"], ok);

    let Some(browser) = chromium() else { return };
    let (dom, log) = render(&browser, &small, "");
    assert_eq!(status_attr(&dom, "status"), Some("ok"));
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    assert!(dom.contains(&format!("this page shows {} of them", kept.len())));
    let (dom, log) = render(&browser, &page, "#selftest");
    assert_eq!(
        status_attr(&dom, "status"),
        Some("ok"),
        "the page's own error hook: {}",
        &dom[dom.find("render-status").unwrap()..][..400]
    );
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let with_values = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| names.iter().all(|n| r["metrics"][n].is_number()))
        .count();
    // Three pairs of three objectives, one mark per design each.
    assert_eq!(count_attr(&dom, "pairs"), 3 * with_values);
    let pairs = section(&dom, "pairs");
    assert_eq!(pairs.matches("<svg").count(), 3);
    // `class="pt` starts every mark: dominated, front and infeasible ones.
    assert_eq!(pairs.matches("class=\"pt").count(), 3 * with_values);
    assert_eq!(pairs.matches("class=\"pt pt-front\"").count(), 3 * front);
    // The 3-D view draws the front; the hypervolume plot a point per batch.
    assert_eq!(count_attr(&dom, "front3d"), front);
    assert!(section(&dom, "front3d").contains(&format!("data-points=\"{front}\"")));
    assert_eq!(count_attr(&dom, "hv"), batches);
    assert_eq!(
        section(&dom, "hv").matches("class=\"hv-point\"").count(),
        batches
    );
    // Parallel coordinates: a line per design, the two layers marked.
    let pc = section(&dom, "parcoords");
    assert_eq!(pc.matches("class=\"pc-line").count(), ok);
    assert!(pc.contains("HW generator parameters") && pc.contains("EDA flow parameters"));
    assert!(pc.contains("class=\"eda\"") && pc.contains(">clock_ps<"));
    // Targets, models, failures and the table.
    assert!(section(&dom, "targets").contains(">edge<"));
    assert!(count_attr(&dom, "targets") >= 1);
    assert_eq!(count_attr(&dom, "models"), models);
    let failures = section(&dom, "failures");
    assert!(failures.contains("yosys: out of memory &lt;/script&gt;&lt;b&gt;not markup&lt;/b&gt;"));
    assert!(failures.contains("bad metrics"), "the NaN row's reason");
    assert_eq!(count_attr(&dom, "designs"), ok);
    assert_eq!(section(&dom, "designs").matches("<tr ").count(), ok);
    assert!(section(&dom, "designs").contains("latency_ms<span class=\"unit\"> [ms"));
    // `#selftest` clicked the latency header twice: ascending, then descending.
    assert_eq!(status_attr(&dom, "sort-check"), Some("ok"));

    // A store last opened by an older diffuse-dse has no layers; one no daemon has synced has
    // no objectives either. Both still render, and say what they lack.
    let old = dir.path().join("old.db");
    std::fs::copy(&db, &old).unwrap();
    let sql = rusqlite::Connection::open(&old).unwrap();
    sql.execute("DELETE FROM meta WHERE key = 'param_info'", [])
        .unwrap();
    drop(sql);
    let old_page = dir.path().join("old.html");
    assert!(report(&old, &old_page).status.success());
    let data = embedded(&std::fs::read_to_string(&old_page).unwrap());
    assert_eq!(data["layers_known"], false);
    assert_eq!(
        data["params"].as_array().unwrap().len(),
        11,
        "names from meta params"
    );
    let (dom, log) = render(&browser, &old_page, "");
    assert_eq!(status_attr(&dom, "status"), Some("ok"));
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    assert!(dom.contains("does not record which parameters are hardware"));
    assert!(section(&dom, "parcoords").contains("layer not recorded"));

    let sql = rusqlite::Connection::open(&old).unwrap();
    sql.execute("DELETE FROM meta", []).unwrap();
    drop(sql);
    assert!(report(&old, &old_page).status.success());
    let data = embedded(&std::fs::read_to_string(&old_page).unwrap());
    let metrics = count(&db, "SELECT count(DISTINCT metric) FROM result_values") as usize;
    assert_eq!(data["objectives"].as_array().unwrap().len(), metrics);
    assert_eq!(data["objectives"][0]["assumed"], true);
    assert!(
        data["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "clock_ps")
    );
    let (dom, log) = render(&browser, &old_page, "");
    assert_eq!(status_attr(&dom, "status"), Some("ok"));
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    assert!(dom.contains("does not record the objectives"));
    assert!(section(&dom, "hv").contains("No hypervolume"));
    assert_eq!(data["hv_final"], Json::Null);
    assert_eq!(
        section(&dom, "pairs").matches("<svg").count(),
        metrics * (metrics - 1) / 2
    );
}

#[test]
fn an_empty_store_gives_a_clear_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    drop(diffuse_dse::store::Store::open(&db).unwrap());
    let page = dir.path().join("report.html");
    let out = report(&db, &page);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let data = embedded(&html);
    assert_eq!(data["results"].as_array().unwrap().len(), 0);
    assert!(data["models"].as_array().unwrap().is_empty());

    let Some(browser) = chromium() else { return };
    let (dom, log) = render(&browser, &page, "");
    assert_eq!(status_attr(&dom, "status"), Some("ok"), "{dom}");
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    assert!(dom.contains("No results yet"));
    assert!(section(&dom, "models").contains("No model trained yet"));
    assert!(section(&dom, "failures").contains("No failures"));
    assert!(section(&dom, "hv").contains("No batches have run yet"));
}

#[test]
fn files_that_are_not_a_store_are_named_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database, just some text that is long enough to have a header page ".repeat(20),
    )
    .unwrap();
    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let newer = dir.path().join("newer.db");
    drop(diffuse_dse::store::Store::open(&newer).unwrap());
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", diffuse_dse::store::SCHEMA_VERSION + 1)
        .unwrap();
    let cases = [
        (dir.path().join("missing.db"), "no store at"),
        (text, "is not a diffuse-dse store"),
        (foreign, "is not a diffuse-dse store"),
        (newer, "newer than this diffuse-dse knows"),
    ];
    for (db, expected) in cases {
        let out = report(&db, &page);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", db.display());
        assert!(err.contains(expected), "{}: {err}", db.display());
        let message: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("report: reading"))
            .collect();
        assert_eq!(message.len(), 1, "one line: {err}");
        assert!(
            message[0].contains(db.to_str().unwrap()),
            "names the file: {err}"
        );
        assert!(!page.exists(), "nothing written for {}", db.display());
    }
    // A good store, but an output in a folder that does not exist.
    let good = dir.path().join("good.db");
    drop(diffuse_dse::store::Store::open(&good).unwrap());
    let nowhere = dir.path().join("no/such/folder/report.html");
    let out = report(&good, &nowhere);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("cannot write {}", nowhere.display())),
        "{err}"
    );
}

/// The proposer's checkpoints, as a trained model records them: the loss per version and the
/// number of results each was trained on are plotted and listed.
#[test]
fn the_model_history_shows_loss_and_training_data() {
    use diffuse_dse::store::{NewModel, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("models.db");
    let mut store = Store::open(&db).unwrap();
    let mut parent = None;
    for (i, loss) in [0.9, 0.5, 0.31].into_iter().enumerate() {
        let version = store
            .insert_model(&NewModel {
                parent,
                kind: "diffuse".into(),
                space_hash: "space".into(),
                n_results: 16 * (i as u64 + 1),
                loss: Some(loss),
                train_seconds: Some(1.5),
                weights: Some(vec![0; 2048]),
            })
            .unwrap();
        parent = Some(version);
    }
    drop(store);
    let page = dir.path().join("report.html");
    let out = report(&db, &page);
    assert!(out.status.success(), "{}", stderr(&out));
    let data = embedded(&std::fs::read_to_string(&page).unwrap());
    let models = data["models"].as_array().unwrap();
    let seen: Vec<(i64, f64, i64)> = models
        .iter()
        .map(|m| {
            (
                m["version"].as_i64().unwrap(),
                m["loss"].as_f64().unwrap(),
                m["n_results"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(1, 0.9, 16), (2, 0.5, 32), (3, 0.31, 48)]);
    assert_eq!(models[2]["parent"], 2);
    assert_eq!(models[0]["weights_bytes"], 2048);

    let Some(browser) = chromium() else { return };
    let (dom, log) = render(&browser, &page, "");
    assert_eq!(status_attr(&dom, "status"), Some("ok"), "{dom}");
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let section = section(&dom, "models");
    assert_eq!(section.matches("class=\"model-point\"").count(), 3);
    assert!(section.contains("results trained on") && section.contains(">0.31<"));
    assert!(!section.contains("No model trained yet"));
}

/// A daemon child process, killed if the test fails before it stops it.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The report reads a store the daemon is writing (a batch every second): every report
/// succeeds, and the daemon goes on adding results and stops cleanly.
#[test]
fn a_report_while_the_daemon_runs_does_not_disturb_it() {
    let fx = Fixture::new(
        "[schedule]\ncron = \"* * * * * *\"\nbatch_size = 4\nqueue_depth = 8\npoll_s = 0.2\n",
    );
    let cfg = fx.config_path();
    let daemon = Daemon(
        bin()
            .args(["daemon", "--config", cfg.to_str().unwrap()])
            .current_dir(fx.dir.path())
            .spawn()
            .unwrap(),
    );
    let results = |fx: &Fixture| {
        fx.try_count("SELECT count(*) FROM results")
            .unwrap_or_default()
    };
    let t0 = Instant::now();
    while results(&fx) < 4 {
        assert!(t0.elapsed() < Duration::from_secs(30), "a batch ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    let page = fx.path("report.html");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let out = report(&fx.store_path(), &page);
        assert!(out.status.success(), "{}", stderr(&out));
        seen.push(embedded(&std::fs::read_to_string(&page).unwrap())["results_total"].clone());
    }
    let before = results(&fx);
    let t0 = Instant::now();
    while results(&fx) < before + 4 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the daemon ran another batch after the reports ({seen:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut daemon = daemon;
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    assert_eq!(daemon.0.wait().unwrap().code(), Some(0), "a clean stop");
}
