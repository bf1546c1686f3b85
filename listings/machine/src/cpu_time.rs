//! A criterion measurement that counts the CPU time of the benchmark's
//! thread instead of wall-clock time.
//!
//! On a machine whose cores are shared with other work, wall-clock time
//! includes the time slices given to other processes; the thread's CPU
//! time does not (cache and memory contention remain). `bench/compare.py`
//! times PyTorch and NumPy the same way, with `time.thread_time()`.
//! Used by the benchmarks of chapters 2, 3 and 4.

use std::time::Duration;

use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
pub struct ThreadCpuTime;

fn now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant that Linux supports.
    let rc =
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Durations are formatted as criterion formats wall-clock time.
static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        now()
    }
    fn end(&self, start: Duration) -> Duration {
        now() - start
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

/// Criterion timing the thread's CPU time, with few samples and short
/// measurements, so that a whole suite runs in a few minutes on a shared
/// machine; criterion reports the spread. Benchmarks of slower steps
/// lengthen the measurement.
pub fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}
