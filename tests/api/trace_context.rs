//! W3C `traceparent` across regions: a redemption at the host that reserves at the holder's
//! home region is found in both gateways' logs by one trace id, whether the counter sent a
//! trace or not (a malformed one is ignored and a new trace starts).

use crate::both_databases;
use crate::federation::{issue, two_regions_up, verify};
use crate::helpers::{Db, TestApp, eventually};
use std::time::Duration;
use talent_gateway::pb;

const HOST_LINE: &str = "reserving at the holder's home region";
const HOME_LINE: &str = "quota reserved for a partner's redemption";

/// RedeemService at the host's counter, with `traceparent` metadata when given.
async fn redeem_traced(app: &TestApp, credential: &str, key: &str, traceparent: Option<&str>) {
    let mut req = tonic::Request::new(pb::RedeemServiceRequest {
        credential: credential.into(),
        // Mianyang's MY07 is Chongqing's CQ10, counted at home.
        service_code: "MY07".into(),
        idempotency_key: key.into(),
        holder_proof: String::new(),
        ..Default::default()
    });
    if let Some(t) = traceparent {
        req.metadata_mut()
            .insert("traceparent", t.parse().expect("ascii"));
    }
    let r = app
        .entitlements(Some("counter"))
        .await
        .redeem_service(req)
        .await
        .expect("redeemed across the border")
        .into_inner();
    assert_eq!(r.remaining, 0);
}

/// The 32-hex-digit runs of a line (trace ids; request ids are 24 digits).
fn trace_ids(line: &str) -> Vec<&str> {
    line.split(|c: char| !matches!(c, '0'..='9' | 'a'..='f'))
        .filter(|w| w.len() == 32)
        .collect()
}

/// The trace id of the one line of `logs` that says `what` and is not in `seen`.
async fn new_trace_of(app: &TestApp, what: &str, seen: &[String]) -> String {
    eventually(Duration::from_secs(5), what, || async {
        let logs = app.logs();
        let ids: Vec<String> = logs
            .lines()
            .filter(|l| l.contains(what))
            .flat_map(trace_ids)
            .map(str::to_owned)
            .filter(|id| !seen.contains(id))
            .collect();
        (ids.len() == 1).then(|| ids[0].clone())
    })
    .await
}

async fn one_redemption_is_followed_in_both_logs(db: Db) {
    let (cq, my) = two_regions_up(db).await;
    let cards = [
        issue(&cq, "11010519800101031", "B", "t-1").await,
        issue(&cq, "11010519800101032", "B", "t-2").await,
        issue(&cq, "11010519800101033", "B", "t-3").await,
    ];
    eventually(
        Duration::from_secs(10),
        "Chongqing cards trusted",
        || async { verify(&my, &cards[0].token).await.valid.then_some(()) },
    )
    .await;

    // The counter's trace goes on to Chongqing: the same trace id in both logs.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sent = format!("00-{trace}-00f067aa0ba902b7-01");
    redeem_traced(&my, &cards[0].token, "t-1", Some(&sent)).await;
    assert_eq!(new_trace_of(&my, HOST_LINE, &[]).await, trace);
    assert_eq!(new_trace_of(&cq, HOME_LINE, &[]).await, trace);

    // None sent, or a malformed one (uppercase): a new trace, carried on all the same.
    let mut seen = vec![trace.to_owned()];
    for (card, key, sent) in [
        (&cards[1], "t-2", None),
        (
            &cards[2],
            "t-3",
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        ),
    ] {
        redeem_traced(&my, &card.token, key, sent).await;
        let started = new_trace_of(&my, HOST_LINE, &seen).await;
        assert_ne!(started, "0".repeat(32));
        assert_eq!(new_trace_of(&cq, HOME_LINE, &seen).await, started, "{key}");
        seen.push(started);
    }
    // The request id stands beside the trace id on the host's line.
    let line = my
        .logs()
        .lines()
        .find(|l| l.contains(HOST_LINE) && l.contains(trace))
        .map(str::to_owned)
        .expect("the host's line");
    assert!(line.contains("request_id"), "{line}");
}
both_databases!(one_redemption_is_followed_in_both_logs);
