//! A thread-safe table filled on first use: the model's per-configuration caches (layer terms
//! per memory configuration, SRAM banks per memory shape). Readers share the lock; a missing
//! value is computed outside it and then inserted, so a slow computation never blocks readers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::RwLock;

/// Values of `V` by key, computed once per key.
#[derive(Debug)]
pub struct Memo<K, V> {
    entries: RwLock<HashMap<K, V, BuildHasherDefault<SmallIntHasher>>>,
}

impl<K: Copy + Eq + Hash, V> Memo<K, V> {
    pub const fn new() -> Self {
        Self {
            entries: RwLock::new(HashMap::with_hasher(BuildHasherDefault::new())),
        }
    }

    /// Runs `f` on the value of `key`, computing it with `make` the first time.
    pub fn with<R>(&self, key: &K, make: impl FnOnce(&K) -> V, f: impl FnOnce(&V) -> R) -> R {
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(value) = entries.get(key) {
                return f(value);
            }
        }
        let value = make(key);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        f(entries.entry(*key).or_insert(value))
    }

    /// How many keys have been computed.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Copy + Eq + Hash, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// A multiply-rotate hasher for keys made of a few small integers: the lookups sit on the
/// model's hot path, where SipHash would cost as much as the rest of the lookup.
#[derive(Default)]
pub struct SmallIntHasher(u64);

impl Hasher for SmallIntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_computed_once() {
        let memo: Memo<(u32, u64), u64> = Memo::new();
        let mut calls = 0;
        for _ in 0..3 {
            let v = memo.with(
                &(2, 3),
                |&(a, b)| {
                    calls += 1;
                    u64::from(a) * b
                },
                |v| *v,
            );
            assert_eq!(v, 6);
        }
        assert_eq!((calls, memo.len()), (1, 1));
    }
}
