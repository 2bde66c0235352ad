//! Own cards' statuses in memory: the verify path reads them here, never in the database.
//! Indices are drawn at random so they do not leak issue order.

use crate::credential::StatusList;
use crate::domain::CardStatus;
use rand::Rng;

/// The status list plus which indices are taken.
pub(crate) struct StatusBoard {
    list: StatusList,
    used: Vec<u64>,
    taken: usize,
}

impl StatusBoard {
    /// Builds the board from every card's `(index, status)`.
    pub(crate) fn load(capacity: usize, rows: &[(i64, String)]) -> Self {
        let mut b = Self {
            list: StatusList::new(capacity),
            used: vec![0; capacity.div_ceil(64)],
            taken: 0,
        };
        for (idx, status) in rows {
            let Ok(idx) = usize::try_from(*idx) else {
                continue;
            };
            let status = status.parse().unwrap_or(CardStatus::Revoked);
            b.mark_used(idx);
            b.list.set(idx, status.list_value());
        }
        b
    }

    fn mark_used(&mut self, idx: usize) {
        if let Some(w) = self.used.get_mut(idx / 64) {
            if *w & (1 << (idx % 64)) == 0 {
                self.taken += 1;
            }
            *w |= 1 << (idx % 64);
        }
    }

    fn is_used(&self, idx: usize) -> bool {
        self.used
            .get(idx / 64)
            .is_some_and(|w| w & (1 << (idx % 64)) != 0)
    }

    /// Draws a free index at random and reserves it here; None when the list is nearly full.
    pub(crate) fn allocate(&mut self) -> Option<usize> {
        let cap = self.list.capacity();
        if self.taken * 10 >= cap * 9 {
            return None;
        }
        let mut rng = rand::thread_rng();
        loop {
            let idx = rng.gen_range(0..cap);
            if !self.is_used(idx) {
                self.mark_used(idx);
                return Some(idx);
            }
        }
    }

    /// The status at `idx`.
    pub(crate) fn status(&self, idx: u64) -> CardStatus {
        match usize::try_from(idx) {
            Ok(i) if i < self.list.capacity() => CardStatus::from_list_value(self.list.get(i)),
            _ => CardStatus::Revoked,
        }
    }

    /// Records a status change made by this replica, before the next refresh.
    pub(crate) fn set(&mut self, idx: i64, status: CardStatus) {
        if let Ok(i) = usize::try_from(idx) {
            self.mark_used(i);
            self.list.set(i, status.list_value());
        }
    }

    /// The list, for publishing.
    pub(crate) fn list(&self) -> &StatusList {
        &self.list
    }
}
