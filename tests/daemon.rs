//! The daemon in-process: scheduled batches, reload of drop-in targets, results written by
//! another process.

mod common;

use std::time::Duration;

use common::Fixture;
use diffuse_dse::daemon::{Options, run_with};
use diffuse_dse::events::Event;
use tokio::sync::broadcast::Receiver;

/// Wait for the first event that `pick` accepts, failing the test after `secs`.
async fn wait_for<T>(
    rx: &mut Receiver<Event>,
    secs: u64,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            let e = rx.recv().await.expect("the daemon is running");
            if let Some(t) = pick(&e) {
                return t;
            }
        }
    })
    .await
    .expect("the event came in time")
}

/// A daemon running in-process on the fixture's config.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), diffuse_dse::daemon::DaemonError>>,
}

impl Running {
    /// Stop it through its shutdown future and check it ended cleanly.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// Start the daemon with an event receiver subscribed before it sends anything.
fn start(fx: &Fixture) -> (Receiver<Event>, Running) {
    let options = Options::default();
    let rx = options.events.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_with(
        fx.load(),
        async { stopped.await.unwrap() },
        options,
    ));
    (rx, Running { stop, task })
}

const EVERY_SECOND: &str =
    "[schedule]\ncron = \"* * * * * *\"\nbatch_size = 4\nqueue_depth = 8\npoll_s = 0.2\n";
const NEVER_SOON: &str =
    "[schedule]\ncron = \"0 0 3 1 1 *\"\nbatch_size = 4\nqueue_depth = 8\npoll_s = 0.2\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_scheduled_batches_leave_results_and_a_front() {
    let fx = Fixture::new(EVERY_SECOND);
    let (mut rx, running) = start(&fx);
    let mut done = 0;
    for _ in 0..3 {
        done += wait_for(&mut rx, 30, |e| match e {
            Event::BatchFinished {
                done,
                failed,
                requeued,
                ..
            } => {
                assert_eq!((*failed, *requeued), (0, 0));
                Some(*done)
            }
            _ => None,
        })
        .await;
    }
    running.stop().await;
    assert!(done >= 12, "three batches of 4: {done}");
    let ok = fx.count("SELECT count(*) FROM results WHERE status = 'OK'");
    assert!(
        ok >= done as i64,
        "every result written was ingested: {ok} < {done}"
    );
    assert!(fx.count("SELECT count(*) FROM pareto_front") > 0);
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"),
        0
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM inbox WHERE state = 'NEW'"),
        0
    );
    // Each done proposal has exactly one result, and the queue was topped up.
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state = 'DONE'"),
        ok
    );
    assert!(fx.count("SELECT count(*) FROM models") >= 1);
    assert!(fx.count("SELECT count(*) FROM proposals WHERE model_version IS NULL") == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_in_target_gets_proposals_and_a_broken_edit_keeps_the_old_config() {
    let fx = Fixture::new(NEVER_SOON);
    let (mut rx, running) = start(&fx);
    wait_for(&mut rx, 20, |e| {
        matches!(e, Event::Proposed { .. }).then_some(())
    })
    .await;
    let queued_before = fx.count("SELECT count(*) FROM proposals WHERE state = 'QUEUED'");
    assert_eq!(queued_before, 8, "the queue is full");

    fx.write(
        "targets.d/fast.toml",
        "[[targets]]\nname = \"fast\"\ngoals = { latency_ms = 10.0 }\n",
    );
    let targets = wait_for(&mut rx, 20, |e| match e {
        Event::Reloaded { targets } => Some(*targets),
        _ => None,
    })
    .await;
    assert_eq!(targets, 2, "the config's target and the dropped-in one");
    wait_for(&mut rx, 20, |e| {
        matches!(e, Event::Proposed { count, .. } if *count > 0).then_some(())
    })
    .await;
    let tagged = fx.count(
        "SELECT count(*) FROM proposals p JOIN targets t ON t.id = p.target_id WHERE t.name = 'fast' AND p.state = 'QUEUED'",
    );
    assert!(tagged >= 1, "the new target has proposals tagged with it");

    // A broken edit is logged and rejected; the old config (with 'fast') stays.
    fx.write(
        "targets.d/fast.toml",
        "[[targets]]\nname = \"fast\"\ngoals = { latency = 10.0 }\n",
    );
    let message = wait_for(&mut rx, 20, |e| match e {
        Event::ReloadRejected { message } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert!(
        message.contains("fast.toml:3:") && message.contains("targets[0].goals.latency"),
        "{message}"
    );
    assert_eq!(
        fx.count("SELECT active FROM targets WHERE name = 'fast'"),
        1
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_inserted_by_another_process_are_ingested_and_bad_rows_rejected() {
    let fx = Fixture::new(NEVER_SOON);
    let (mut rx, running) = start(&fx);
    wait_for(&mut rx, 20, |e| {
        matches!(e, Event::Proposed { .. }).then_some(())
    })
    .await;

    // Another process (a user's flow) writes rows with plain SQL while the daemon runs.
    let writer = std::thread::spawn({
        let path = fx.store_path();
        move || {
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(Duration::from_secs(5)).unwrap();
            let ids: Vec<i64> = c
                .prepare("SELECT id FROM proposals WHERE state = 'QUEUED' ORDER BY id LIMIT 5")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (i, id) in ids.iter().enumerate() {
                let metrics = format!(
                    r#"{{"latency_ms": {}, "power_mw": {}, "area_mm2": 0.1}}"#,
                    20 + i,
                    90 - i
                );
                c.execute(
                    "INSERT INTO inbox (proposal_id, metrics, source) VALUES (?1, ?2, 'user-flow')",
                    rusqlite::params![id, metrics],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO inbox (proposal_id, metrics, source) VALUES (?1, '{\"latency_ms\": 1.0, \"area_mm2\": 0.1}', 'user-flow')",
                [ids[0] + 100_000],
            )
            .unwrap();
            c.execute(
                "INSERT INTO inbox (proposal_id, metrics, source) VALUES (?1, '{\"latency_ms\": 1.0, \"area_mm2\": 0.1}', 'user-flow')",
                [ids[4] + 1],
            )
            .unwrap();
        }
    });
    writer.join().unwrap();
    let mut accepted = 0;
    let mut rejected = 0;
    while accepted + rejected < 7 {
        let (a, r) = wait_for(&mut rx, 20, |e| match e {
            Event::Ingested { accepted, rejected } => Some((*accepted, *rejected)),
            _ => None,
        })
        .await;
        accepted += a;
        rejected += r;
    }
    running.stop().await;
    assert_eq!((accepted, rejected), (5, 2));
    assert_eq!(
        fx.count("SELECT count(*) FROM results WHERE status = 'OK'"),
        5
    );
    let reasons: Vec<String> = fx
        .sql()
        .prepare("SELECT reason FROM inbox WHERE state = 'REJECTED' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(reasons[0].contains("unknown"), "{reasons:?}");
    assert!(reasons[1].contains("power_mw"), "{reasons:?}");
    assert!(fx.count("SELECT count(*) FROM pareto_front") >= 1);
}
