//! The engine's own threads: a few workers, one per core, that run questions off the async
//! workers (which also serve the collector). A fixed pool rather than tokio's blocking pool: a
//! dashboard page asks some twenty questions at once, and a thread per question costs memory
//! (each thread keeps its allocator's pages) without answering any sooner on two cores.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: SyncSender<Job>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
        let (jobs, queue) = sync_channel::<Job>(1024);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("query-engine-{i}"))
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a query engine thread");
            }
        }
        Pool { jobs }
    })
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            // A job that panics takes down only its own question (its sender is dropped).
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// Runs `f` on an engine thread and waits for it without blocking the caller's thread. `None`
/// when the job could not run (no threads, or it panicked).
pub(crate) async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(f());
    });
    // The queue is bounded; when it is full, hand the job over from a blocking thread rather
    // than block this one.
    match pool().jobs.try_send(job) {
        Ok(()) => {}
        Err(std::sync::mpsc::TrySendError::Full(job)) => {
            let jobs = pool().jobs.clone();
            tokio::task::spawn_blocking(move || jobs.send(job))
                .await
                .ok()?
                .ok()?;
        }
        Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return None,
    }
    answer.await.ok()
}
