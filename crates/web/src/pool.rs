//! The store's read connections, used off the async runtime: each is owned by a thread of its
//! own that runs queries one after the other, at a lower OS priority than the async workers
//! (on Linux), so searches never take the cores from rule pages. A query waits at most its
//! budget for a free connection, and SQLite stops it when its budget is spent or when the
//! request that wanted it is gone. So a slow search costs at most its budget and never holds
//! the threads that serve other pages.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Budget, Reader, Store};

/// A query, run on a reader's thread.
type Job = Box<dyn FnOnce(&Reader) + Send>;

/// How much lower than the async workers the readers' threads run (`nice`, Linux).
#[cfg(target_os = "linux")]
const NICENESS: i32 = 10;

pub struct Pool {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// The writing connection; it also keeps an in-memory database alive for the readers.
    _store: Mutex<Store>,
}

impl Pool {
    /// `size` read-only connections to `store`'s database, each on its own thread.
    pub fn new(store: Store, size: usize) -> store::Result<Pool> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..size.max(1) {
            let reader = store.reader()?;
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("detdex-reader-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = job else {
                            return; // the pool is gone
                        };
                        // A query that panics answers nothing (its caller sees the failure);
                        // the reader and its thread go on with the next.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&reader)));
                    }
                })
                .map_err(|e| store::Error::Db(format!("rule store: no reader thread: {e}")))?;
        }
        Ok(Pool {
            jobs: Mutex::new(tx),
            _store: Mutex::new(store),
        })
    }

    /// Run `f` on a reader's thread within `time`: waiting for a reader counts against it, and
    /// the query is interrupted when it runs out ([`store::Error::Interrupted`]) or when this
    /// future is dropped (the client went away).
    pub async fn run<T, F>(self: &Arc<Self>, time: Duration, f: F) -> store::Result<T>
    where
        F: FnOnce(&Reader, &Budget) -> store::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let budget = Budget::new(time);
        let _cancel = CancelOnDrop(budget.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job_budget = budget.clone();
        let job: Job = Box::new(move |reader| {
            let _ = tx.send(f(reader, &job_budget));
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job);
        if sent.is_err() {
            return Err(store::Error::Db("rule store: no reader left".into()));
        }
        match tokio::time::timeout(time, rx).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(store::Error::Db("rule store: query failed".into())),
            // Still queued or running at the end of its budget: the budget stops it.
            Err(_) => Err(store::Error::Interrupted),
        }
    }
}

/// Cancels a budget when dropped.
struct CancelOnDrop(Budget);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Lower this thread's priority by [`NICENESS`] (on Linux `nice` is per thread); elsewhere,
/// where it would lower the whole process, nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who` 0 is the calling thread.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, now + NICENESS);
    }
}
