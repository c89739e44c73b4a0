//! Accumulators keyed by a period index (cohorts, survey periods), found in
//! O(1) for the common case of consecutive rows in the same group.

use std::collections::HashMap;

/// Accumulators keyed by `i64`, listed in key order at the end.
#[derive(Debug)]
pub struct Groups<T> {
    slots: Vec<(i64, T)>,
    at: HashMap<i64, usize>,
    last: Option<(i64, usize)>,
}

impl<T: Default> Default for Groups<T> {
    fn default() -> Groups<T> {
        Groups {
            slots: Vec::new(),
            at: HashMap::new(),
            last: None,
        }
    }
}

impl<T> Groups<T> {
    /// The accumulator of `key`, made by `new` when absent.
    pub fn slot(&mut self, key: i64, new: impl FnOnce() -> T) -> &mut T {
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => {
                let next = self.slots.len();
                let i = *self.at.entry(key).or_insert(next);
                if i == next {
                    self.slots.push((key, new()));
                }
                self.last = Some((key, i));
                i
            }
        };
        &mut self.slots[i].1
    }

    /// The accumulators in key order.
    pub fn into_sorted(mut self) -> Vec<(i64, T)> {
        self.slots.sort_unstable_by_key(|s| s.0);
        self.slots
    }
}
