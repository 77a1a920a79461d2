//! The store's read connections, used off the async runtime: a query takes a free connection
//! (waiting at most its budget for one), runs on tokio's blocking threads, and SQLite stops it
//! when its budget is spent or when the request that wanted it is gone. So a slow search costs
//! at most its budget and never holds the threads that serve other pages.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Budget, Reader, Store};
use tokio::sync::Semaphore;

pub struct Pool {
    readers: Mutex<Vec<Reader>>,
    /// One permit per reader: a query holds one while it runs.
    permits: Arc<Semaphore>,
    /// The writing connection; it also keeps an in-memory database alive for the readers.
    store: Mutex<Store>,
}

impl Pool {
    /// `size` read-only connections to `store`'s database. One more reads the store's term
    /// index on a thread of its own, after which searches rank in memory
    /// (`Reader::read_term_index`); until then they rank by SQL, with the same results.
    pub fn new(store: Store, size: usize) -> store::Result<Pool> {
        let size = size.max(1);
        let readers = (0..size)
            .map(|_| store.reader())
            .collect::<store::Result<Vec<_>>>()?;
        let indexer = store.reader()?;
        std::thread::Builder::new()
            .name("detdex-term-index".into())
            .spawn(move || {
                if let Err(e) = indexer.read_term_index() {
                    eprintln!("detdex: search ranks by SQL (term index not read: {e})");
                }
            })
            .map_err(|e| {
                store::Error::Db(format!("rule store: no thread for the term index: {e}"))
            })?;
        Ok(Pool {
            readers: Mutex::new(readers),
            permits: Arc::new(Semaphore::new(size)),
            store: Mutex::new(store),
        })
    }

    /// Run `f` on a reader on a blocking thread, within `time`: waiting for a reader counts
    /// against it, and the query is interrupted when it runs out ([`store::Error::Interrupted`])
    /// or when this future is dropped (the client went away).
    pub async fn run<T, F>(self: &Arc<Self>, time: Duration, f: F) -> store::Result<T>
    where
        F: FnOnce(&Reader, &Budget) -> store::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let budget = Budget::new(time);
        let _cancel = CancelOnDrop(budget.clone());
        let permit =
            match tokio::time::timeout(time, Arc::clone(&self.permits).acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => return Err(store::Error::Interrupted),
            };
        let pool = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let reader = Lent::take(&pool)?;
            f(reader.get(), &budget)
        })
        .await;
        joined.unwrap_or_else(|e| Err(store::Error::Db(format!("rule store: query failed: {e}"))))
    }
}

/// Cancels a budget when dropped.
struct CancelOnDrop(Budget);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A reader taken from the pool, given back when dropped (also when the query panicked).
struct Lent<'a> {
    pool: &'a Pool,
    reader: Option<Reader>,
}

impl<'a> Lent<'a> {
    fn take(pool: &'a Pool) -> store::Result<Lent<'a>> {
        let reader = pool.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        // A permit was held, so a reader is free; one lost to a panic is opened again.
        let reader = match reader {
            Some(r) => r,
            None => pool
                .store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reader()?,
        };
        Ok(Lent {
            pool,
            reader: Some(reader),
        })
    }

    fn get(&self) -> &Reader {
        self.reader.as_ref().expect("lent until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            self.pool
                .readers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(r);
        }
    }
}
