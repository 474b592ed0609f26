//! The task a thread runs, for metrics that generated code counts without naming its
//! table (late rows, rows dropped at sinks) and for connectors made without a context
//! (Redis lookups).
//!
//! [`run_tasks`](crate::pipeline::run_tasks) enters a [`TaskScope`] on each task's thread;
//! the task names itself when it opens its checkpoint handle
//! ([`TaskCheckpoint::new`](crate::checkpoint::TaskCheckpoint::new)), and says its source
//! runs when it starts reading ([`run_to_end`](crate::connectors::run_to_end)).

use super::{Registry, TaskMeter};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

struct Scope {
    registry: Arc<Registry>,
    task: Option<Arc<TaskMeter>>,
    task_name: Option<String>,
    /// Whether the task said its source runs.
    running: bool,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// While alive, the calling thread runs a task of `registry`'s run; when dropped, the
/// task has ended (it no longer holds readiness back) and the thread's earlier scope is
/// back.
pub(crate) struct TaskScope {
    earlier: Option<Scope>,
}

impl TaskScope {
    /// Enters a task of the run of `registry` on this thread.
    pub(crate) fn enter(registry: &Arc<Registry>) -> Self {
        let scope = Scope { registry: Arc::clone(registry), task: None, task_name: None, running: false };
        TaskScope { earlier: SCOPE.with_borrow_mut(|s| s.replace(scope)) }
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        let ended = SCOPE.with_borrow_mut(|s| std::mem::replace(s, self.earlier.take()));
        if let Some(scope) = ended
            && !scope.running
        {
            scope.registry.task_running();
        }
    }
}

/// Task `name` of `registry`'s run starts on this thread: what generated code counts on
/// [`TaskCounter`]s is counted for it.
pub(crate) fn name_task(registry: &Arc<Registry>, name: &str) {
    let meter = registry.task(name);
    SCOPE.with_borrow_mut(|s| {
        if let Some(scope) = s.as_mut()
            && Arc::ptr_eq(&scope.registry, registry)
        {
            scope.task = Some(meter);
            scope.task_name = Some(name.to_string());
        }
    });
}

/// The task on this thread runs its source: once every task does, the pipeline is ready.
pub(crate) fn source_running() {
    let registry = SCOPE.with_borrow_mut(|s| match s.as_mut() {
        Some(scope) if !scope.running => {
            scope.running = true;
            Some(Arc::clone(&scope.registry))
        }
        _ => None,
    });
    if let Some(r) = registry {
        r.task_running();
    }
}

/// The name of the task running on this thread, if it named itself.
pub(crate) fn current_task() -> Option<String> {
    SCOPE.with_borrow(|s| s.as_ref().and_then(|scope| scope.task_name.clone()))
}

/// The registry of the task running on this thread, if any.
#[cfg(feature = "redis")]
pub(crate) fn current_registry() -> Option<Arc<Registry>> {
    SCOPE.with_borrow(|s| s.as_ref().map(|scope| Arc::clone(&scope.registry)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Late,
    Dropped,
}

/// A run-wide counter of [`Counters`](crate::pipeline::Counters) that generated code adds
/// to as to an `AtomicU64` ([`fetch_add`](Self::fetch_add)); each add is also counted for
/// the task running on the calling thread (`dfl_late_records_total{table}`,
/// `dfl_skipped_records_total{reason="not_null_dropped"}`), found in a thread-local (late
/// and dropped rows are rare: no cost per row that is not).
#[derive(Debug)]
pub struct TaskCounter {
    total: AtomicU64,
    what: What,
}

impl TaskCounter {
    /// The counter of late rows.
    pub(crate) const fn late() -> Self {
        TaskCounter { total: AtomicU64::new(0), what: What::Late }
    }

    /// The counter of skipped records, whose adds through [`fetch_add`](Self::fetch_add)
    /// are rows dropped at sinks (`'table.exec.sink.not-null-enforcer' = 'drop'`).
    pub(crate) const fn dropped() -> Self {
        TaskCounter { total: AtomicU64::new(0), what: What::Dropped }
    }

    /// Adds `n` to the run's total and to the task on this thread; returns the total before.
    #[inline]
    pub fn fetch_add(&self, n: u64, order: Ordering) -> u64 {
        self.attribute(n);
        self.total.fetch_add(n, order)
    }

    /// Adds `n` to the run's total only (for callers that count their own breakdown, such
    /// as sources counting skipped records by reason).
    #[inline]
    pub fn add(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    /// The run's total.
    pub fn load(&self, order: Ordering) -> u64 {
        self.total.load(order)
    }

    #[cold]
    fn attribute(&self, n: u64) {
        SCOPE.with_borrow(|s| {
            let Some(scope) = s else { return };
            let Some(task) = &scope.task else { return };
            let c = &scope.registry.counters;
            let (mine, counter) = match self.what {
                What::Late => (&c.late, &task.late),
                What::Dropped => (&c.skipped, &task.dropped),
            };
            // Only the counters of the scope's own run.
            if std::ptr::eq(mine, self) {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        });
    }
}
