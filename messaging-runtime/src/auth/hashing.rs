//! Where password hashes run: on a fixed set of threads of their own, never on a runtime
//! worker, at most one per thread at once. An argon2id hash at the recommended cost takes
//! 19 MiB and tens of milliseconds: unbounded, a burst of logins took gigabytes and a thread
//! each. Dedicated threads also bound what the allocator keeps after a burst: each thread's
//! arena holds at most one hash's memory, where a thread per hash left one behind per thread.
//! A hash that cannot start within the wait fails at once with
//! [`super::AuthError::Overloaded`].

use std::sync::{mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use super::AuthError;

type Job = Box<dyn FnOnce() + Send>;

/// How long a login waits for a hashing slot by default: 1 s.
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(1);

/// A bounded pool of password hashing threads. Cheap to clone; clones share the threads.
#[derive(Debug, Clone)]
pub(crate) struct HashingPool {
    slots: Arc<Semaphore>,
    wait: Duration,
    threads: usize,
    /// The threads' queue, started with the first hash.
    jobs: Arc<OnceLock<Mutex<mpsc::Sender<Job>>>>,
}

impl Default for HashingPool {
    /// One slot per core the machine has, and [`DEFAULT_HASH_WAIT`].
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cores, DEFAULT_HASH_WAIT)
    }
}

impl HashingPool {
    /// `slots` hashes at once (at least 1), each waiting at most `wait` for its slot.
    pub(crate) fn new(slots: usize, wait: Duration) -> Self {
        let threads = slots.clamp(1, 256);
        Self { slots: Arc::new(Semaphore::new(threads)), wait, threads, jobs: Arc::default() }
    }

    /// The threads' queue; starts them on first use. They end when the pool is dropped.
    fn jobs(&self) -> Result<mpsc::Sender<Job>, AuthError> {
        let queue = self.jobs.get_or_init(|| {
            let (jobs, queued) = mpsc::channel::<Job>();
            let queued = Arc::new(Mutex::new(queued));
            for n in 0..self.threads {
                let queued = Arc::clone(&queued);
                let spawned = std::thread::Builder::new()
                    .name(format!("password-hashing-{n}"))
                    .spawn(move || loop {
                        let job = queued.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start a password hashing thread");
                }
            }
            Mutex::new(jobs)
        });
        Ok(queue.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// Runs `work` on one of the pool's threads once a slot is free (inline when there is
    /// no runtime to wait on).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(work());
        }
        let acquired = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned());
        let permit = match acquired.await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => return Err(AuthError::Overloaded),
        };
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        let lost = || AuthError::Internal("the password hashing threads are gone".to_owned());
        self.jobs()?.send(job).map_err(|_| lost())?;
        result.await.map_err(|_| lost())
    }
}
