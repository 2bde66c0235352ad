//! Signature checks of calls in flight, batched. The first call on a thread to need one
//! opens a round and yields once; the calls that run meanwhile on the same thread (on a
//! current_thread runtime: every call whose request was read with it) join the round and
//! wait. Back in, the opener checks all signatures with one `verify_batch` and answers each;
//! only when the batch fails is each checked alone. Only own keys are pooled: a batch can
//! accept what `verify_strict` refuses only for a signer who holds the private key (torsion
//! added to R), and for own keys that signer is this gateway. A lone call checks its
//! signature alone, one yield later.

use ed25519_dalek::{Signature, VerifyingKey};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Most signatures in one batch.
const MAX_ROUND: usize = 64;

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
        self.0.lock().unwrap_or_else(|p| p.into_inner())
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

/// `key.verify_strict(message, signature)`, possibly batched with other calls'.
pub(crate) async fn verify(message: &[u8], signature: Signature, key: VerifyingKey) -> bool {
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
            signature,
            key,
            reply,
        });
        Some(answer)
    });
    if let Some(answer) = joined {
        return match answer.await {
            Ok(ok) => ok,
            Err(_) => key.verify_strict(message, &signature).is_ok(),
        };
    }
    let round = Arc::new(Round::default());
    OPEN.with(|open| *open.borrow_mut() = Some(round.clone()));
    let mut opener = Opener(Some(round));
    tokio::task::yield_now().await;
    let items = opener.close();
    if items.is_empty() {
        return key.verify_strict(message, &signature).is_ok();
    }
    let mut messages: Vec<&[u8]> = Vec::with_capacity(items.len() + 1);
    let mut signatures = Vec::with_capacity(items.len() + 1);
    let mut keys = Vec::with_capacity(items.len() + 1);
    messages.push(message);
    signatures.push(signature);
    keys.push(key);
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
    key.verify_strict(message, &signature).is_ok()
}
