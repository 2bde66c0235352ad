//! Faults under load: the gateway killed, stopped, or cut off from PostgreSQL loses no
//! acknowledged redemption, records none twice, and answers retries with the originals.
//!
//! The PostgreSQL test stops and starts a server of its own: FAULT_DATABASE_URL names it and
//! FAULT_PG_CTL is the command that controls it (`tests/with-postgres` sets both).

use crate::both_databases;
use crate::helpers::{Db, TestApp, own_card, verify};
use crate::mianyang::Mianyang;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use talent_gateway::pb;
use tonic::Code;

type Counter = pb::entitlements_client::EntitlementsClient<tonic::transport::Channel>;

/// One redemption a worker sent.
#[derive(Clone)]
struct Attempt {
    key: String,
    card: usize,
    code: &'static str,
}

/// What a redemption load saw: every attempt, every acknowledgement, every error by code.
#[derive(Default)]
struct Ledger {
    attempts: Vec<Attempt>,
    acked: HashMap<String, pb::RedeemServiceResponse>,
    errors: HashMap<Code, usize>,
    error_samples: HashMap<Code, String>,
}

/// Counters redeeming as fast as they can until told to stop.
struct RedemptionLoad {
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
}

impl RedemptionLoad {
    /// `workers` counters, each on its own connection, over `tokens`: three in four
    /// redemptions are of an unlimited service, one in four of a counted one (6 a year).
    async fn start(app: &TestApp, tokens: &Arc<Vec<String>>, workers: usize, tag: &str) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for w in 0..workers {
            let mut counter = app.entitlements(Some("counter")).await;
            let (ledger, stop, tokens) = (ledger.clone(), stop.clone(), tokens.clone());
            let tag = tag.to_owned();
            handles.push(tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let attempt = Attempt {
                        key: format!("{tag}-{w}-{n}"),
                        card: (w + n) % tokens.len(),
                        code: if n % 4 == 3 { "CQ12" } else { "CQ01" },
                    };
                    n += 1;
                    ledger
                        .lock()
                        .expect("ledger")
                        .attempts
                        .push(attempt.clone());
                    let call = counter.redeem_service(request(&tokens, &attempt));
                    let result = tokio::time::timeout(Duration::from_secs(20), call).await;
                    let pause = {
                        let mut l = ledger.lock().expect("ledger");
                        match result {
                            Ok(Ok(r)) => {
                                l.acked.insert(attempt.key, r.into_inner());
                                false
                            }
                            Ok(Err(s)) => {
                                *l.errors.entry(s.code()).or_default() += 1;
                                l.error_samples
                                    .entry(s.code())
                                    .or_insert_with(|| s.message().to_owned());
                                s.code() != Code::ResourceExhausted
                            }
                            Err(_) => {
                                *l.errors.entry(Code::DeadlineExceeded).or_default() += 1;
                                true
                            }
                        }
                    };
                    if pause {
                        // The server is away: do not spin.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
        Self {
            ledger,
            stop,
            workers: handles,
            started: Instant::now(),
        }
    }

    fn acked(&self) -> usize {
        self.ledger.lock().expect("ledger").acked.len()
    }

    /// Waits until `n` redemptions were acknowledged (the load is really running).
    async fn until_acked(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked() < n {
            assert!(
                Instant::now() < deadline,
                "load stalled at {}",
                self.acked()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the workers and hands back what they saw.
    async fn finish(self) -> (Ledger, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.await.expect("worker");
        }
        let elapsed = self.started.elapsed();
        let ledger = Arc::try_unwrap(self.ledger)
            .ok()
            .expect("workers done")
            .into_inner()
            .expect("ledger");
        (ledger, elapsed)
    }
}

fn request(tokens: &[String], a: &Attempt) -> pb::RedeemServiceRequest {
    pb::RedeemServiceRequest {
        credential: tokens[a.card].clone(),
        service_code: a.code.into(),
        idempotency_key: a.key.clone(),
        holder_proof: String::new(),
        ..Default::default()
    }
}

/// A redemption of the unlimited service on the first card.
fn unlimited(key: &str) -> Attempt {
    Attempt {
        key: key.into(),
        card: 0,
        code: "CQ01",
    }
}

/// `n` cards of tier A, the tier every Chongqing service is open to.
async fn cards(app: &TestApp, n: usize, base: u64) -> Vec<pb::Card> {
    let mut out = Vec::new();
    for i in 0..n as u64 {
        let base17 = format!("{}", 50_010_419_880_000_000 + base + i);
        out.push(own_card(app, &base17, "A").await);
    }
    out
}

/// Every redemption recorded for `card_id`, all pages.
async fn recorded(counter: &mut Counter, card_id: &str) -> Vec<pb::RedemptionEntry> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = counter
            .list_redemptions(pb::ListRedemptionsRequest {
                card_id: card_id.into(),
                page_size: 500,
                page_token,
            })
            .await
            .expect("ListRedemptions")
            .into_inner();
        out.extend(page.redemptions);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// What the check found, for the figures.
struct Outcome {
    acked: usize,
    retried: usize,
    recorded: usize,
}

/// After the fault: every acknowledged redemption is recorded, none twice; retrying every
/// key that was sent returns the original where there was one; and afterwards each recorded
/// redemption belongs to exactly one key, with no counted service past its allowance.
async fn nothing_lost_nothing_doubled(
    app: &TestApp,
    cards: &[pb::Card],
    tokens: &[String],
    ledger: &Ledger,
) -> Outcome {
    let mut counter = app.entitlements(Some("counter")).await;
    let mut before = HashMap::new();
    for card in cards {
        for r in recorded(&mut counter, &card.card_id).await {
            assert!(
                before.insert(r.redemption_id.clone(), r).is_none(),
                "a redemption listed twice"
            );
        }
    }
    for (key, ack) in &ledger.acked {
        let entry = before.get(&ack.redemption_id);
        assert!(
            entry.is_some(),
            "acknowledged redemption {key} / {} is lost",
            ack.redemption_id
        );
        assert_eq!(entry.expect("entry").remaining, ack.remaining, "{key}");
    }

    // Every key again, as a counter whose answer was lost would.
    let mut by_key = HashMap::new();
    for a in &ledger.attempts {
        match counter.redeem_service(request(tokens, a)).await {
            Ok(r) => {
                let r = r.into_inner();
                if let Some(original) = ledger.acked.get(&a.key) {
                    assert_eq!(
                        (&r.redemption_id, r.remaining),
                        (&original.redemption_id, original.remaining),
                        "a retry of {} must return the original",
                        a.key
                    );
                }
                by_key.insert(a.key.clone(), r.redemption_id);
            }
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{}: {s:?}", a.key);
                assert!(!ledger.acked.contains_key(&a.key), "{} was granted", a.key);
            }
        }
    }

    let mut after = Vec::new();
    for card in cards {
        let entries = recorded(&mut counter, &card.card_id).await;
        let counted = entries.iter().filter(|e| e.service_code == "CQ12").count();
        assert!(counted <= 6, "{} counted {counted} times", card.card_id);
        after.extend(entries);
    }
    let ids: HashSet<&String> = after.iter().map(|e| &e.redemption_id).collect();
    let keyed: HashSet<&String> = by_key.values().collect();
    assert_eq!(ids.len(), after.len(), "a redemption listed twice");
    assert_eq!(keyed.len(), by_key.len(), "two keys share a redemption");
    assert_eq!(ids, keyed, "every recorded redemption has exactly one key");
    Outcome {
        acked: ledger.acked.len(),
        retried: ledger.attempts.len(),
        recorded: after.len(),
    }
}

fn tokens_of(cards: &[pb::Card]) -> Arc<Vec<String>> {
    Arc::new(cards.iter().map(|c| c.token.clone()).collect())
}

async fn sigkill_in_the_middle_of_a_redemption_load(db: Db) {
    let mut app = TestApp::builder().db(db).spawn().await;
    let cards = cards(&app, 16, 100).await;
    let tokens = tokens_of(&cards);
    let load = RedemptionLoad::start(&app, &tokens, 16, "kill").await;
    load.until_acked(300).await;
    // No new calls from here: those in flight die with the process.
    load.stop.store(true, Ordering::Relaxed);
    app.kill();
    let (ledger, elapsed) = load.finish().await;
    let unanswered = ledger.attempts.len()
        - ledger.acked.len()
        - ledger.errors.get(&Code::ResourceExhausted).unwrap_or(&0);
    assert!(
        unanswered > 0,
        "the kill came between calls, not during one"
    );

    app.restart_in_place();
    let out = nothing_lost_nothing_doubled(&app, &cards, &tokens, &ledger).await;
    eprintln!(
        "SIGKILL: {} redemptions acknowledged in {elapsed:.1?} ({:.0}/s) by 16 counters, \
         {unanswered} in flight at the kill; after restart {} recorded from {} keys \
         retried: nothing lost, nothing doubled",
        out.acked,
        out.acked as f64 / elapsed.as_secs_f64(),
        out.recorded,
        out.retried
    );
}
both_databases!(sigkill_in_the_middle_of_a_redemption_load);

async fn sigterm_under_load_loses_no_acknowledged_call(db: Db) {
    let mut app = TestApp::builder()
        .db(db)
        .config("shutdown_grace_seconds = 10\n")
        .spawn()
        .await;
    let cards = cards(&app, 16, 200).await;
    let tokens = tokens_of(&cards);
    let load = RedemptionLoad::start(&app, &tokens, 16, "term").await;
    load.until_acked(300).await;
    let asked = Instant::now();
    app.send_term();
    let exit = app.wait_exit(Duration::from_secs(15));
    let stopped_in = asked.elapsed();
    assert_eq!(exit.code(), Some(0), "logs:\n{}", app.logs());
    let (ledger, elapsed) = load.finish().await;
    assert!(
        !app.logs().contains("grace period over"),
        "every call in flight finished within the grace period"
    );
    // Calls refused during the stop say to come back; none fails another way. CANCELLED is
    // the client's own word for a call it had queued on a connection that then closed.
    for (code, n) in &ledger.errors {
        assert!(
            matches!(
                code,
                Code::Unavailable | Code::Cancelled | Code::ResourceExhausted
            ),
            "{n} calls ended {code:?}: {:?}",
            ledger.error_samples.get(code)
        );
    }

    app.restart_in_place();
    let out = nothing_lost_nothing_doubled(&app, &cards, &tokens, &ledger).await;
    eprintln!(
        "SIGTERM: {} redemptions acknowledged in {elapsed:.1?} ({:.0}/s) by 16 counters; \
         exit 0 {stopped_in:.1?} after SIGTERM; after restart {} recorded from {} keys \
         retried: no acknowledged call lost",
        out.acked,
        out.acked as f64 / elapsed.as_secs_f64(),
        out.recorded,
        out.retried
    );
}
both_databases!(sigterm_under_load_loses_no_acknowledged_call);

/// The PostgreSQL server this test may stop: its URL, and the command that controls it.
fn fault_postgres() -> Option<(String, String)> {
    match (
        std::env::var("FAULT_DATABASE_URL"),
        std::env::var("FAULT_PG_CTL"),
    ) {
        (Ok(url), Ok(ctl)) if !url.is_empty() && !ctl.is_empty() => Some((url, ctl)),
        _ => {
            assert!(
                std::env::var_os("REQUIRE_FAULT_TESTS").is_none(),
                "REQUIRE_FAULT_TESTS is set but FAULT_DATABASE_URL / FAULT_PG_CTL are not"
            );
            crate::helpers::not_run(
                "the PostgreSQL fault test (postgresql_stopped_under_load passes without running)",
                "FAULT_DATABASE_URL / FAULT_PG_CTL are not set",
            );
            None
        }
    }
}

fn pg_ctl(ctl: &str, action: &str) {
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("{ctl} {action}")])
        .status()
        .expect("run FAULT_PG_CTL");
    assert!(status.success(), "{ctl} {action} failed");
}

/// Starts the server again if the test ends early, so the next run finds it up.
struct RestartOnDrop(String, bool);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        if self.1 {
            pg_ctl(&self.0, "start");
        }
    }
}

/// Verifications of own and partner cards from `workers` counters until told to stop; each
/// answer is (valid, when it came).
async fn verify_load(
    app: &TestApp,
    tokens: Vec<String>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Result<bool, String>, Instant)>> {
    let channel = app.channel(Some("counter")).await;
    let tokens = Arc::new(tokens);
    tokio::spawn(async move {
        let client = pb::verification_client::VerificationClient::new(channel);
        let mut tasks = Vec::new();
        for w in 0..4 {
            let (mut c, stop, tokens) = (client.clone(), stop.clone(), tokens.clone());
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut n = w;
                while !stop.load(Ordering::Relaxed) {
                    let r = c
                        .verify_card(pb::VerifyCardRequest {
                            credential: tokens[n % tokens.len()].clone(),
                            ..Default::default()
                        })
                        .await;
                    n += 1;
                    seen.push((
                        r.map(|v| v.into_inner().valid)
                            .map_err(|s| format!("{:?}: {}", s.code(), s.message())),
                        Instant::now(),
                    ));
                }
                seen
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("verifier"));
        }
        all
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_stopped_under_load() {
    let Some((url, ctl)) = fault_postgres() else {
        return;
    };
    let partner_dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(partner_dir.path());
    let config = format!("log_format = \"json\"\n{}", my.config());
    let app = TestApp::builder()
        .db(Db::Postgres(url))
        .config(&config)
        .spawn()
        .await;
    let cards = cards(&app, 8, 300).await;
    let tokens = tokens_of(&cards);
    let partner_token = my.token(&Mianyang::claims("E"));
    assert!(verify(&app, &partner_token).await.valid);

    let stop_verifying = Arc::new(AtomicBool::new(false));
    let verifying = verify_load(
        &app,
        vec![tokens[0].clone(), partner_token.clone(), tokens[1].clone()],
        stop_verifying.clone(),
    )
    .await;
    let load = RedemptionLoad::start(&app, &tokens, 8, "pg").await;
    load.until_acked(100).await;
    let healthy_from = Instant::now();
    load.until_acked(load.acked() + 100).await;

    // The database goes away.
    let mut guard = RestartOnDrop(ctl.clone(), true);
    pg_ctl(&ctl, "stop -m fast");
    let down = Instant::now();
    // Answers of commits made just before the stop may still be on their way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let acked_at_stop = load.acked();
    let mut counter = app.entitlements(Some("counter")).await;
    let asked = Instant::now();
    let refused = counter
        .redeem_service(request(&tokens, &unlimited("while-down")))
        .await
        .expect_err("no database, no redemption");
    let refused_in = asked.elapsed();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("database is unavailable"),
        "{}",
        refused.message()
    );
    // The counter can quote the call's id; the operator finds it in the (JSON) log.
    let request_id = refused
        .metadata()
        .get("x-request-id")
        .expect("a request id on the refusal")
        .to_str()
        .expect("text")
        .to_owned();
    let logged = || {
        app.logs().lines().any(|line| {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                return false;
            };
            v["span"]["request_id"] == request_id.as_str()
                && v["fields"]["message"] == "call failed"
                && v["fields"]["code"] == "Unavailable"
        })
    };
    let mut waited = 0;
    while !logged() && waited < 50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(logged(), "no log line for {request_id}:\n{}", app.logs());
    let card = app
        .issuance(Some("operator"))
        .await
        .get_card(pb::GetCardRequest {
            card_id: cards[0].card_id.clone(),
        })
        .await
        .expect_err("GetCard reads the database");
    assert_eq!(card.code(), Code::Unavailable, "{card:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let acked_while_down = load.acked() - acked_at_stop;
    let up = Instant::now();
    pg_ctl(&ctl, "start");
    guard.1 = false;
    let outage = up - down;

    // Back without a restart: the same counter's next redemptions go through.
    let recovered_in = loop {
        let attempt = counter
            .redeem_service(request(&tokens, &unlimited("after-restart")))
            .await;
        match attempt {
            Ok(_) => break up.elapsed(),
            Err(s) => {
                assert_eq!(s.code(), Code::Unavailable, "{s:?}");
                assert!(up.elapsed() < Duration::from_secs(60), "no recovery: {s:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let acked_before_back = load.acked();
    load.until_acked(acked_before_back + 100).await;
    stop_verifying.store(true, Ordering::Relaxed);
    let (ledger, _) = load.finish().await;
    let verdicts = verifying.await.expect("verifiers");

    // Verification went on from memory all through the outage.
    let during: Vec<_> = verdicts
        .iter()
        .filter(|(_, at)| *at > down && *at < up)
        .collect();
    assert!(
        during.len() > 50,
        "only {} verifications in the outage",
        during.len()
    );
    for (r, _) in &during {
        assert_eq!(r, &Ok(true), "a verification during the outage");
    }
    let healthy = verdicts
        .iter()
        .filter(|(_, at)| *at > healthy_from && *at < down)
        .count();
    for (code, n) in &ledger.errors {
        assert!(
            matches!(code, Code::Unavailable | Code::ResourceExhausted),
            "{n} redemptions ended {code:?}: {:?}",
            ledger.error_samples.get(code)
        );
    }
    let mut known = ledger;
    known.attempts.push(unlimited("after-restart"));
    let out = nothing_lost_nothing_doubled(&app, &cards, &tokens, &known).await;
    eprintln!(
        "PostgreSQL stopped for {outage:.1?}: {} verifications of own and partner cards \
         answered during it ({:.0}/s; {:.0}/s before it), all valid; redemptions refused UNAVAILABLE in \
         {refused_in:.1?}, {acked_while_down} acknowledged while down; redemptions again \
         {recovered_in:.1?} after PostgreSQL was back, no restart; {} acknowledged in all, \
         {} recorded: nothing lost, nothing doubled",
        during.len(),
        during.len() as f64 / outage.as_secs_f64(),
        healthy as f64 / (down - healthy_from).as_secs_f64(),
        out.acked,
        out.recorded
    );
    assert_eq!(
        acked_while_down, 0,
        "redemptions acknowledged without a database"
    );
}
