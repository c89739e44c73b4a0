//! Strings to dense `u32` ids and back, shared by snapshots: both
//! directions are persistent (cloning copies pointers).

use std::sync::Arc;

use super::pvec::PVec;

/// A fast hasher seeded per process: names come from posted statements, so
/// the seed must not be predictable (flooding one bucket would cost time).
type Hasher = foldhash::fast::RandomState;

#[derive(Debug, Clone, Default)]
pub struct Names {
    names: PVec<Arc<str>>,
    ids: imbl::GenericHashMap<Arc<str>, u32, Hasher, imbl::shared_ptr::DefaultSharedPtr>,
}

impl Names {
    /// The id of `name`, added when new; the flag says whether it was new.
    pub fn intern(&mut self, name: &str) -> (u32, bool) {
        if let Some(&id) = self.ids.get(name) {
            return (id, false);
        }
        let name: Arc<str> = Arc::from(name);
        let id = self.names.push(name.clone()) as u32;
        self.ids.insert(name, id);
        (id, true)
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of an id ("" for an id never given out).
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(|n| &**n).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
