//! Two `callassist serve` processes on one database: each projection runs on exactly one of
//! them (the holder of its advisory lock), and when that node dies abruptly the other takes
//! every projection over within seconds, without applying an event twice. Needs PostgreSQL at
//! `DATABASE_URL` (reached over TCP, so `ss` can tell which process owns each connection).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{as_refs, callassist, fresh_database_url, server_env, start_server, Server};

/// How long a takeover (and any catching up) may take.
const TAKEOVER: Duration = Duration::from_secs(15);

/// A running node, killed when dropped, so a failed assertion leaves no process behind.
struct Node(Server);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

/// The rows `query` returns on `url`, each a list of columns.
fn sql(url: &str, query: &str) -> Vec<Vec<String>> {
    let output = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-F",
            "|",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            query,
        ])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "{query}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('|').map(str::to_owned).collect())
        .collect()
}

fn one_number(url: &str, query: &str) -> i64 {
    sql(url, query)[0][0].parse().unwrap()
}

/// Each projection's advisory lock holders, as (backend pid, backend's client port): the key
/// `hashtextextended('callassist.projection.<name>', 0)` is split into classid (high 32 bits)
/// and objid (low 32 bits) in `pg_locks`.
const LOCK_HOLDERS: &str = "\
    WITH keys AS (SELECT name, hashtextextended('callassist.projection.' || name, 0) AS k \
                  FROM projection_checkpoints) \
    SELECT keys.name, l.pid, a.client_port \
    FROM keys \
    LEFT JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
        AND l.classid::bigint = ((keys.k >> 32) & 4294967295) \
        AND l.objid::bigint = (keys.k & 4294967295) \
    LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
    ORDER BY keys.name, l.pid";

/// Each projection's holders: name → [(pid, client port)] (empty when nobody holds it).
fn lock_holders(url: &str) -> BTreeMap<String, Vec<(i64, u16)>> {
    let mut holders: BTreeMap<String, Vec<(i64, u16)>> = BTreeMap::new();
    for row in sql(url, LOCK_HOLDERS) {
        let entry = holders.entry(row[0].clone()).or_default();
        if !row[1].is_empty() {
            entry.push((row[1].parse().unwrap(), row[2].parse().unwrap()));
        }
    }
    holders
}

/// The local ports of the TCP connections the process `pid` has open.
fn ports_of(pid: u32) -> BTreeSet<u16> {
    let output = Command::new("ss")
        .args(["-Htnp"])
        .output()
        .expect("ss runs");
    let owner = format!("pid={pid},");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(&owner))
        .filter_map(|line| line.split_whitespace().nth(3))
        .filter_map(|local| local.rsplit(':').next()?.parse().ok())
        .collect()
}

/// Per projection: (events behind the head, events applied, events up to its checkpoint).
/// One statement, so it is one snapshot even while the summariser appends.
const PROGRESS: &str = "\
    SELECT c.name, \
        (SELECT count(*) FROM events e WHERE (e.transaction_id::text::bigint, e.global_position) \
            > (c.transaction_id, c.global_position)), \
        c.events_applied, \
        (SELECT count(*) FROM events e WHERE (e.transaction_id::text::bigint, e.global_position) \
            <= (c.transaction_id, c.global_position)) \
    FROM projection_checkpoints c ORDER BY c.name";

/// Whether every projection is at the head of the stream, having applied each event once.
fn caught_up(url: &str) -> bool {
    let rows = sql(url, PROGRESS);
    !rows.is_empty() && rows.iter().all(|row| row[1] == "0" && row[2] == row[3])
}

/// Waits (up to `TAKEOVER`) for `done`; panics with `what` and the last state otherwise.
fn wait_for(what: &str, url: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < TAKEOVER,
            "{what} within {TAKEOVER:?}: locks {:?}, progress {:?}",
            lock_holders(url),
            sql(url, PROGRESS)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

/// Simulates a call the owner answers, through the node at `base`.
fn simulate_call(env: &[(&'static str, String)], number: &str, base: &str) {
    let output = callassist(
        &[
            "simulate",
            "call",
            "--to",
            number,
            "--owner",
            "answers",
            "--server",
            base,
            "--ai-seconds",
            "0",
        ],
        &as_refs(env),
    )
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn it_should_move_every_projection_to_the_other_node_when_its_node_dies_without_applying_an_event_twice(
) {
    let url = fresh_database_url();
    let env = server_env(&url);
    let every_projection: BTreeSet<String> = projections::registry::all()
        .iter()
        .map(|projection| projection.name().to_owned())
        .collect();
    // A first: it creates and migrates the database and, alone, takes every projection's lock
    // (its runners start just after it says where it serves). Then B, which stands by.
    let mut a = Node(start_server(&env));
    wait_for("A leads every projection", &url, || {
        let holders = lock_holders(&url);
        holders.keys().cloned().collect::<BTreeSet<_>>() == every_projection
            && holders.values().all(|h| h.len() == 1)
    });
    let b = Node(start_server(&env));
    let (a_pid, b_pid) = (a.0.child.id(), b.0.child.id());
    let seeded = callassist(&["demo", "seed", "--json"], &as_refs(&env))
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let seed: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&seeded.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let number = seed["phone_number"].as_str().unwrap().to_owned();

    // Before: one call through B; A, which leads every projection, projects it.
    simulate_call(&env, &number, &b.0.base);
    wait_for("the projections catch up on A", &url, || caught_up(&url));
    let before = lock_holders(&url);
    let a_ports = ports_of(a_pid);
    let b_ports = ports_of(b_pid);
    assert_eq!(
        before.keys().cloned().collect::<BTreeSet<_>>(),
        every_projection,
        "every projection has a checkpoint: {before:?}"
    );
    for (name, holders) in &before {
        assert_eq!(
            holders.len(),
            1,
            "{name} has exactly one holder: {before:?}"
        );
        let port = holders[0].1;
        assert!(
            a_ports.contains(&port) && !b_ports.contains(&port),
            "{name} runs on A (ports {a_ports:?}), not B (ports {b_ports:?}): {before:?}"
        );
    }
    let old_pids: BTreeSet<i64> = before.values().flatten().map(|h| h.0).collect();

    // A dies abruptly; a call comes in at once, which only a new leader can project.
    a.0.child.kill().unwrap();
    a.0.child.wait().unwrap();
    let killed = Instant::now();
    simulate_call(&env, &number, &b.0.base);
    let moved = || {
        let holders = lock_holders(&url);
        let b_ports = ports_of(b_pid);
        holders
            .values()
            .all(|h| h.len() == 1 && !old_pids.contains(&h[0].0) && b_ports.contains(&h[0].1))
    };
    wait_for("every projection moves to B", &url, moved);
    wait_for("B catches up", &url, || caught_up(&url));
    let takeover = killed.elapsed();
    eprintln!("every projection moved to B and caught up {takeover:?} after A was killed");
    assert!(takeover < TAKEOVER, "took {takeover:?}");

    // After: B goes on projecting alone.
    simulate_call(&env, &number, &b.0.base);
    wait_for("B projects a later call", &url, || caught_up(&url));

    let after = lock_holders(&url);
    assert_eq!(after.len(), before.len(), "{after:?}");
    for (name, holders) in &after {
        assert_eq!(holders.len(), 1, "{name} has exactly one holder: {after:?}");
    }
    let calls = one_number(
        &url,
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Call'",
    );
    assert_eq!(calls, 3, "three calls were made");
    assert_eq!(
        one_number(&url, "SELECT count(*) FROM rm_calls.calls"),
        calls,
        "one calls row per call"
    );
    // One statement, one snapshot: the summariser may still append to the calls meanwhile.
    let timeline = sql(
        &url,
        "SELECT (SELECT count(*) FROM events e JOIN projection_checkpoints c ON c.name = 'calls' \
                 WHERE e.aggregate_type = 'Call' AND (e.transaction_id::text::bigint, \
                 e.global_position) <= (c.transaction_id, c.global_position)), \
                (SELECT count(*) FROM rm_calls.call_events)",
    );
    assert_eq!(
        timeline[0][0], timeline[0][1],
        "one timeline entry per call event projected"
    );
    assert_eq!(
        one_number(
            &url,
            "SELECT coalesce(sum(calls), 0)::bigint FROM rm_daily_stats.daily_stats"
        ),
        calls,
        "the daily stats count each call once"
    );
    let progress = sql(&url, PROGRESS);
    for row in &progress {
        assert_eq!(
            row[2], row[3],
            "{} applied each event up to its checkpoint once: {progress:?}",
            row[0]
        );
    }
}
