//! Rendered rule pages, kept while the catalog does not change (it never does while serving):
//! a page is made once (its report, translations and template cost about a millisecond), then
//! served from memory. Bounded in bytes: when full, the least recently used half goes.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct PageCache {
    inner: Mutex<Inner>,
    /// The most bytes of pages kept.
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    pages: HashMap<String, (Bytes, u64)>,
    bytes: usize,
    tick: u64,
}

impl PageCache {
    pub fn new(capacity: usize) -> PageCache {
        PageCache {
            inner: Mutex::default(),
            capacity,
        }
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let (page, used) = inner.pages.get_mut(key)?;
        *used = tick;
        Some(page.clone())
    }

    pub fn insert(&self, key: &str, page: Bytes) {
        if page.len() > self.capacity / 4 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.bytes + page.len() > self.capacity {
            let mut ticks: Vec<u64> = inner.pages.values().map(|(_, t)| *t).collect();
            ticks.sort_unstable();
            let median = ticks[ticks.len() / 2];
            inner.pages.retain(|_, (_, t)| *t > median);
            inner.bytes = inner.pages.values().map(|(p, _)| p.len()).sum();
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.bytes += page.len();
        if let Some((old, _)) = inner.pages.insert(key.to_string(), (page, tick)) {
            inner.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_to_its_capacity_dropping_the_least_recently_used() {
        let c = PageCache::new(400);
        for k in ["a", "b", "c", "d"] {
            c.insert(k, Bytes::from(vec![b'x'; 100]));
        }
        assert!(c.get("a").is_some(), "a used last");
        c.insert("e", Bytes::from(vec![b'x'; 100]));
        let inner = c.inner.lock().unwrap();
        assert!(inner.bytes <= 400);
        assert!(inner.pages.contains_key("a") && inner.pages.contains_key("e"));
        assert!(!inner.pages.contains_key("b"), "b was least recently used");
    }
}
