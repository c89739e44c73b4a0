//! Persistent containers for snapshots: cloning one copies pointers, and a
//! write copies only the part it touches (`Arc::make_mut`), so the
//! aggregator can publish an immutable snapshot after every step while
//! readers keep computing on the previous one.

use std::cmp::Ordering;
use std::sync::Arc;

/// Elements per chunk of a `PVec`.
pub const CHUNK: usize = 64;

/// A vector in chunks of `CHUNK` elements behind `Arc`.
#[derive(Debug, Clone)]
pub struct PVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for PVec<T> {
    fn default() -> PVec<T> {
        PVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> PVec<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The element, its chunk copied first when a snapshot shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let chunk = self.chunks.get_mut(i / CHUNK)?;
        Arc::make_mut(chunk).get_mut(i % CHUNK)
    }

    /// Appends; answers the new element's index.
    pub fn push(&mut self, value: T) -> usize {
        let i = self.len;
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(value),
            _ => {
                let mut chunk = Vec::with_capacity(4);
                chunk.push(value);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
        i
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The chunks in order, each a slice of consecutive elements.
    pub fn slices(&self) -> impl Iterator<Item = &[T]> + '_ {
        self.chunks.iter().map(|c| c.as_slice())
    }
}

impl<T: Clone> FromIterator<T> for PVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> PVec<T> {
        let mut v = PVec::default();
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in iter {
            chunk.push(item);
            if chunk.len() == CHUNK {
                v.len += CHUNK;
                v.chunks.push(Arc::new(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK),
                )));
            }
        }
        if !chunk.is_empty() {
            v.len += chunk.len();
            chunk.shrink_to_fit();
            v.chunks.push(Arc::new(chunk));
        }
        v
    }
}

/// A sorted sequence as an immutable shared base plus a small sorted tail:
/// an insert copies only the tail, and the tail is merged into a new base
/// when it outgrows a fraction of it (so each element is copied a bounded
/// number of times on average).
#[derive(Debug, Clone)]
pub struct Run<T> {
    base: Arc<Vec<T>>,
    tail: Vec<T>,
}

impl<T> Default for Run<T> {
    fn default() -> Run<T> {
        Run {
            base: Arc::new(Vec::new()),
            tail: Vec::new(),
        }
    }
}

impl<T: Clone + Ord> Run<T> {
    pub fn len(&self) -> usize {
        self.base.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts (an element equal to one held is inserted beside it).
    pub fn insert(&mut self, value: T) {
        let at = self.tail.partition_point(|x| *x <= value);
        self.tail.insert(at, value);
        if self.tail.len() > 32 + self.base.len() / 8 {
            self.merge();
        }
    }

    /// Removes the element equal to `probe` (by `Ord`); answers it.
    pub fn remove(&mut self, probe: &T) -> Option<T> {
        if let Ok(i) = self.tail.binary_search(probe) {
            return Some(self.tail.remove(i));
        }
        let i = self.base.binary_search(probe).ok()?;
        Some(Arc::make_mut(&mut self.base).remove(i))
    }

    pub fn find(&self, probe: &T) -> Option<&T> {
        if let Ok(i) = self.tail.binary_search(probe) {
            return self.tail.get(i);
        }
        let i = self.base.binary_search(probe).ok()?;
        self.base.get(i)
    }

    fn merge(&mut self) {
        let mut merged = Vec::with_capacity(self.len());
        merged.extend(Merged::new(&self.base, &self.tail).cloned());
        self.base = Arc::new(merged);
        self.tail.clear();
    }

    /// Every element in order.
    pub fn iter(&self) -> Merged<'_, T> {
        Merged::new(&self.base, &self.tail)
    }

    /// The elements `x` with `lower(x)` false and `upper(x)` true, in order:
    /// `lower` and `upper` are monotone predicates ("is before the range",
    /// "is before the range's end").
    pub fn range(&self, lower: impl Fn(&T) -> bool, upper: impl Fn(&T) -> bool) -> Merged<'_, T> {
        let cut = |s: &'_ [T]| -> (usize, usize) {
            let a = s.partition_point(&lower);
            let b = s.partition_point(&upper).max(a);
            (a, b)
        };
        let (a, b) = cut(&self.base);
        let (c, d) = cut(&self.tail);
        Merged::new(
            self.base.get(a..b).unwrap_or_default(),
            self.tail.get(c..d).unwrap_or_default(),
        )
    }
}

/// Two sorted slices merged, from either end.
#[derive(Debug, Clone)]
pub struct Merged<'a, T> {
    a: &'a [T],
    b: &'a [T],
}

impl<'a, T: Ord> Merged<'a, T> {
    pub fn new(a: &'a [T], b: &'a [T]) -> Merged<'a, T> {
        Merged { a, b }
    }
}

impl<'a, T: Ord> Iterator for Merged<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let take_a = match (self.a.first(), self.b.first()) {
            (Some(x), Some(y)) => x.cmp(y) != Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let side = if take_a { &mut self.a } else { &mut self.b };
        let (first, rest) = side.split_first()?;
        *side = rest;
        Some(first)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.a.len() + self.b.len();
        (n, Some(n))
    }
}

impl<'a, T: Ord> DoubleEndedIterator for Merged<'a, T> {
    fn next_back(&mut self) -> Option<&'a T> {
        let take_a = match (self.a.last(), self.b.last()) {
            (Some(x), Some(y)) => x.cmp(y) == Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let side = if take_a { &mut self.a } else { &mut self.b };
        let (last, rest) = side.split_last()?;
        *side = rest;
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_chunks_and_a_write_copies_only_its_chunk() {
        let mut v: PVec<u32> = (0..200).collect();
        let snapshot = v.clone();
        *v.get_mut(130).unwrap() = 7;
        assert_eq!(v.get(130), Some(&7));
        assert_eq!(snapshot.get(130), Some(&130));
        assert!(Arc::ptr_eq(&v.chunks[0], &snapshot.chunks[0]));
        assert!(!Arc::ptr_eq(&v.chunks[2], &snapshot.chunks[2]));
        assert_eq!(v.push(9), 200);
        assert_eq!(v.len(), 201);
        assert_eq!(snapshot.len(), 200);
        assert_eq!(v.iter().count(), 201);
        assert_eq!(v.get(201), None);
    }

    #[test]
    fn a_run_stays_sorted_through_inserts_merges_and_removals() {
        let mut run = Run::default();
        let mut model = Vec::new();
        let mut x: u64 = 12345;
        for i in 0..2000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 33) % 500;
            if i % 7 == 3 {
                let removed = run.remove(&v);
                let at = model.iter().position(|m| *m == v);
                assert_eq!(removed.is_some(), at.is_some());
                if let Some(at) = at {
                    model.remove(at);
                }
            } else {
                run.insert(v);
                model.push(v);
            }
            model.sort();
        }
        assert_eq!(run.iter().copied().collect::<Vec<_>>(), model);
        assert_eq!(
            run.iter().rev().copied().collect::<Vec<_>>(),
            model.iter().rev().copied().collect::<Vec<_>>()
        );
        let window: Vec<u64> = run.range(|v| *v < 100, |v| *v < 200).copied().collect();
        let want: Vec<u64> = model
            .iter()
            .copied()
            .filter(|v| (100..200).contains(v))
            .collect();
        assert_eq!(window, want);
    }
}
