//! The bounded, sharded store of every caller's bucket state.

use super::bucket::BucketOwner;
use crate::locks;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// Shards of the bucket map: calls from different callers rarely wait for one another.
pub(super) const SHARDS: usize = 16;

/// governor's keyed state (each caller's theoretical arrival time), bounded: governor's own
/// stores grow with every key until `retain_recent` is called, and a scan from many addresses
/// must not grow this one. Sharded behind short-held mutexes, so a charge locks one shard.
#[derive(Debug)]
pub(crate) struct BoundedStore {
    hasher: RandomState,
    shard_capacity: usize,
    shards: Vec<Mutex<HashMap<BucketOwner, Nanos>>>,
}

impl BoundedStore {
    pub(super) fn new(shard_capacity: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            shard_capacity: shard_capacity.max(2),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl StateStore for BoundedStore {
    type Key = BucketOwner;

    fn measure_and_replace<T, F, E>(&self, key: &BucketOwner, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut map = locks::lock(shard);
        if let Some(tat) = map.get_mut(key) {
            let (outcome, next) = f(Some(*tat))?;
            *tat = next;
            return Ok(outcome);
        }
        // A refused charge writes nothing, not even the new caller's entry.
        let (outcome, next) = f(None)?;
        if map.len() >= self.shard_capacity {
            sweep(&mut map, self.shard_capacity / 2);
        }
        map.insert(key.clone(), next);
        Ok(outcome)
    }
}

/// What governor's `retain_recent` and `len` need; the sweep above bounds the store without it.
impl ShrinkableKeyedStateStore<BucketOwner> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        for shard in &self.shards {
            let mut map = locks::lock(shard);
            map.retain(|_, tat| *tat >= drop_below);
        }
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| locks::lock(s).len()).sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the `keep` callers with the latest theoretical arrival times. The others are the
/// nearest to a full bucket, and a forgotten caller starts full: those already full lose
/// nothing. Sweeps are rare: each leaves half the shard free.
pub(super) fn sweep(map: &mut HashMap<BucketOwner, Nanos>, keep: usize) {
    if map.len() <= keep {
        return;
    }
    let excess = map.len() - keep;
    let mut tats: Vec<Nanos> = map.values().copied().collect();
    let (_, cut, _) = tats.select_nth_unstable(excess - 1);
    let cut = *cut;
    // Fewer than `excess` are earlier; the rest are dropped from those at the cut.
    let mut ties = excess - tats.iter().filter(|&&t| t < cut).count();
    map.retain(|_, t| {
        let tie = *t == cut && ties > 0;
        ties -= usize::from(tie);
        *t > cut || (*t == cut && !tie)
    });
}
