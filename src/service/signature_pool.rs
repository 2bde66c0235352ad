//! Signature checks of calls in flight, batched. The first call on a thread to need one
//! opens a round and yields once; the calls that run meanwhile on the same thread (on a
//! current_thread runtime: every call whose request was read with it) join the round and
//! wait. Back in, the opener checks all signatures with one `verify_batch` and answers each;
//! only when the batch fails is each checked alone. Only own keys are pooled: a batch can
//! accept what `verify_strict` refuses only for a signer who holds the private key (torsion
//! added to R), and for own keys that signer is this gateway. A lone call checks its
//! signature alone, one yield later.
//!
//! Hand-written: jsonwebtoken verifies one signature at a time; own cards are batch-verified
//! across calls.
//!
//! One bad signature fails its whole round, and every member then pays for a check of its
//! own. So a caller's bad signatures must cost that caller, not others: calls are pooled
//! only from a connection that has shown a good signature and no bad one for a while
//! ([`Standing`]); any other call is checked alone. A connection that sends bad
//! signatures poisons at most one round, then pays the single price itself. The connection
//! is the call's [`SOURCE`], set by the API around the verification.

use ed25519_dalek::{Signature, VerifyingKey};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most signatures in one batch.
const MAX_ROUND: usize = 64;

/// How long a connection that sent a bad signature has its signatures checked alone.
const BAD_FOR: Duration = Duration::from_secs(30);

/// Connections whose standing a thread remembers before it forgets the settled ones.
const MOST_SOURCES: usize = 8192;

tokio::task_local! {
    /// The connection a verification came on (any number unique per connection); without
    /// one (in-process callers) calls are pooled as they come.
    pub(crate) static SOURCE: u64;
}

/// What a connection's signatures have shown.
#[derive(Debug, Clone, Copy, Default)]
struct Standing {
    good: bool,
    bad_until: Option<Instant>,
}

impl Standing {
    fn may_pool(&self, now: Instant) -> bool {
        self.good && self.bad_until.is_none_or(|t| t <= now)
    }
}

thread_local! {
    /// The standing of the connections served on this thread (a connection stays on one).
    static STANDING: RefCell<HashMap<u64, Standing>> = RefCell::new(HashMap::new());
}

/// Runs `verification` as a call that came on connection `source`.
pub(crate) fn on_connection<F: std::future::Future>(
    source: u64,
    verification: F,
) -> tokio::task::futures::TaskLocalFuture<u64, F> {
    SOURCE.scope(source, verification)
}

fn may_pool(source: u64) -> bool {
    let now = Instant::now();
    STANDING.with(|s| s.borrow().get(&source).is_some_and(|st| st.may_pool(now)))
}

fn remember(source: u64, ok: bool) {
    let now = Instant::now();
    STANDING.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= MOST_SOURCES && !s.contains_key(&source) {
            // Forget what no longer matters: a good connection is simply new again.
            s.retain(|_, st| st.bad_until.is_some_and(|t| t > now));
            if s.len() >= MOST_SOURCES {
                s.clear();
            }
        }
        let st = s.entry(source).or_default();
        if ok {
            st.good = true;
        } else {
            st.bad_until = Some(now + BAD_FOR);
        }
    });
}

struct Item {
    message: Vec<u8>,
    signature: Signature,
    key: VerifyingKey,
    reply: oneshot::Sender<bool>,
}

#[derive(Default)]
struct Members {
    closed: bool,
    items: Vec<Item>,
}

#[derive(Default)]
struct Round(Mutex<Members>);

impl Round {
    fn members(&self) -> MutexGuard<'_, Members> {
        crate::locks::lock(&self.0)
    }
}

thread_local! {
    static OPEN: RefCell<Option<Arc<Round>>> = const { RefCell::new(None) };
}

/// The opener's hold on its round. Dropped unfinished (the call was cancelled), it still
/// answers the calls that joined.
struct Opener(Option<Arc<Round>>);

impl Opener {
    fn close(&mut self) -> Vec<Item> {
        let Some(round) = self.0.take() else {
            return Vec::new();
        };
        let _ = OPEN.try_with(|open| {
            let mut open = open.borrow_mut();
            if open.as_ref().is_some_and(|r| Arc::ptr_eq(r, &round)) {
                *open = None;
            }
        });
        let mut members = round.members();
        members.closed = true;
        std::mem::take(&mut members.items)
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        for item in self.close() {
            let ok = item
                .key
                .verify_strict(&item.message, &item.signature)
                .is_ok();
            let _ = item.reply.send(ok);
        }
    }
}

/// `key.verify_strict(message, signature)`, batched with other calls' when the call's
/// connection is in good standing (or unknown).
// Keys and signatures by reference: a `VerifyingKey` is about 200 bytes, and this future's
// state travels in every VerifyCard call's.
pub(crate) async fn verify(message: &[u8], signature: &Signature, key: &VerifyingKey) -> bool {
    let Ok(source) = SOURCE.try_with(|s| *s) else {
        return pooled(message, signature, key).await;
    };
    let ok = if may_pool(source) {
        pooled(message, signature, key).await
    } else {
        key.verify_strict(message, signature).is_ok()
    };
    remember(source, ok);
    ok
}

/// `key.verify_strict(message, signature)`, possibly batched with other calls'.
async fn pooled(message: &[u8], signature: &Signature, key: &VerifyingKey) -> bool {
    let joined = OPEN.with(|open| {
        let open = open.borrow();
        let round = open.as_ref()?;
        let mut members = round.members();
        if members.closed || members.items.len() + 1 >= MAX_ROUND {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        members.items.push(Item {
            message: message.to_vec(),
            signature: *signature,
            key: *key,
            reply,
        });
        Some(answer)
    });
    if let Some(answer) = joined {
        return match answer.await {
            Ok(ok) => ok,
            Err(_) => key.verify_strict(message, signature).is_ok(),
        };
    }
    let round = Arc::new(Round::default());
    OPEN.with(|open| *open.borrow_mut() = Some(round.clone()));
    let mut opener = Opener(Some(round));
    tokio::task::yield_now().await;
    let items = opener.close();
    if items.is_empty() {
        return key.verify_strict(message, signature).is_ok();
    }
    let mut messages: Vec<&[u8]> = Vec::with_capacity(items.len() + 1);
    let mut signatures = Vec::with_capacity(items.len() + 1);
    let mut keys = Vec::with_capacity(items.len() + 1);
    messages.push(message);
    signatures.push(*signature);
    keys.push(*key);
    for item in &items {
        messages.push(&item.message);
        signatures.push(item.signature);
        keys.push(item.key);
    }
    if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
        for item in items {
            let _ = item.reply.send(true);
        }
        return true;
    }
    for item in items {
        let ok = item
            .key
            .verify_strict(&item.message, &item.signature)
            .is_ok();
        let _ = item.reply.send(ok);
    }
    key.verify_strict(message, signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn a_connection_is_pooled_after_a_good_signature_until_it_sends_a_bad_one() {
        let source = 0x5eed_u64;
        assert!(!may_pool(source), "a new connection is checked alone");
        remember(source, true);
        assert!(may_pool(source));
        remember(source, false);
        assert!(!may_pool(source), "a bad signature: alone for a while");
        remember(source, true);
        assert!(!may_pool(source), "a good one does not lift it early");
        assert!(!may_pool(source + 1));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn verdicts_do_not_depend_on_standing() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let good = key.sign(b"card");
        let vk = key.verifying_key();
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut calls = tokio::task::JoinSet::new();
                for i in 0..40u64 {
                    let message: &[u8] = if i % 7 == 3 { b"forged" } else { b"card" };
                    calls.spawn_local(
                        SOURCE.scope(i % 4, async move { (i, verify(message, &good, &vk).await) }),
                    );
                }
                while let Some(r) = calls.join_next().await {
                    let (i, ok) = r.expect("joined");
                    assert_eq!(ok, i % 7 != 3, "call {i}");
                }
            })
            .await;
    }
}
