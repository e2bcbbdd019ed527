//! Where the request log goes: stderr, written by a background thread in batches.
//!
//! A request thread appends its formatted line to a shared buffer and returns; it never
//! waits on stderr and, while the writer thread is busy or gathering a batch, makes no
//! system call for it. The writer thread sleeps until the buffer stops being empty, lets
//! lines gather for [`GATHER`], then writes them with one `write(2)`. So an idle server
//! holds no line back for more than [`GATHER`], and a loaded one writes a few hundred
//! times a second instead of once per request (DECISIONS D34). When stderr cannot keep up
//! and [`LIMIT`] bytes are waiting, further lines are dropped and counted; the count is
//! written when the writer catches up.

use std::io::{self, Write};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// How long the writer lets lines gather once the first one of a batch arrives.
pub const GATHER: Duration = Duration::from_millis(5);
/// Bytes waiting beyond which lines are dropped (about 6,000 request lines).
pub const LIMIT: usize = 1 << 20;
/// A batch buffer larger than this is given back to the allocator after its write.
const KEEP: usize = 64 * 1024;
/// How long [`LogGuard`]'s drop waits for the writer to finish: a stalled stderr (a blocked
/// pipe) must not keep the process from exiting.
pub const FINISH: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    dropped: u64,
    closed: bool,
    /// Set by the writer thread when it has written everything and stopped.
    finished: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The `MakeWriter` for `tracing_subscriber::fmt`: cheap to clone, each clone appending to
/// the same buffer.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread when dropped, after it has written every line appended before
/// (waiting at most [`FINISH`]). Lines appended after the drop are not written.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `out`.
pub fn start<W: Write + Send + 'static>(out: W) -> io::Result<(LogWriter, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("kiln-log".into())
            .spawn(move || run(&shared, out))?
    };
    Ok((
        LogWriter {
            shared: Arc::clone(&shared),
        },
        LogGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn run<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut st = shared.state.lock();
            while st.pending.is_empty() && !st.closed {
                shared.wake.wait(&mut st);
            }
            st.closed
        };
        if !closed {
            std::thread::sleep(GATHER);
        }
        let dropped = {
            let mut st = shared.state.lock();
            std::mem::swap(&mut st.pending, &mut batch);
            std::mem::take(&mut st.dropped)
        };
        if dropped > 0 {
            let _ = writeln!(
                batch,
                "kiln: {dropped} log lines dropped: stderr did not keep up"
            );
        }
        // Nothing useful can be done when stderr itself fails; the lines are gone.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if batch.capacity() > KEEP {
            batch.shrink_to(KEEP);
        }
        if closed {
            let mut st = shared.state.lock();
            if st.pending.is_empty() {
                st.finished = true;
                shared.wake.notify_all();
                return;
            }
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        st.closed = true;
        self.shared.wake.notify_all();
        let deadline = std::time::Instant::now() + FINISH;
        while !st.finished {
            if self.shared.wake.wait_until(&mut st, deadline).timed_out() {
                // stderr is stalled: leave the thread behind rather than hang the exit.
                return;
            }
        }
        drop(st);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl LogWriter {
    fn append(&self, line: &[u8]) {
        let was_empty = {
            let mut st = self.shared.state.lock();
            // A line longer than the limit is still taken into an empty buffer.
            if st.pending.len() + line.len() > LIMIT && !st.pending.is_empty() {
                st.dropped += 1;
                return;
            }
            let was_empty = st.pending.is_empty();
            st.pending.extend_from_slice(line);
            was_empty
        };
        // Only the first line of a batch can find the writer waiting; parking_lot's
        // `notify_all` makes no system call when nobody waits (the guard's drop may be
        // waiting on the same condition variable, hence all).
        if was_empty {
            self.shared.wake.notify_all();
        }
    }
}

impl Write for &LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone()).unwrap_or_else(|e| panic!("{e}"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let mut w = &writer;
                        let _ = w.write_all(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().clone()).unwrap_or_default();
        assert_eq!(text.lines().count(), 2000);
        for t in 0..4 {
            let mine: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&format!("t{t} ")))
                .collect();
            let want: Vec<String> = (0..500).map(|i| format!("t{t} line {i}")).collect();
            assert_eq!(mine, want);
        }
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_more() {
        let sink = Sink::default();
        let (writer, _guard) = start(sink.clone()).unwrap_or_else(|e| panic!("{e}"));
        let _ = (&writer).write_all(b"hello\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.0.lock().as_slice(), b"hello\n");
    }

    /// A sink that blocks until released, so lines pile up.
    #[derive(Clone)]
    struct Gate(Arc<(Mutex<bool>, Condvar)>, Sink);

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (open, cv) = &*self.0;
            let mut open_now = open.lock();
            while !*open_now {
                cv.wait(&mut open_now);
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_stderr_does_not_hold_the_exit() {
        let gate = Gate(
            Arc::new((Mutex::new(false), Condvar::new())),
            Sink::default(),
        );
        let (writer, guard) = start(gate).unwrap_or_else(|e| panic!("{e}"));
        let _ = (&writer).write_all(b"stuck\n");
        let began = std::time::Instant::now();
        drop(guard);
        let waited = began.elapsed();
        assert!(waited >= FINISH && waited < FINISH * 5, "{waited:?}");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_written_whole() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut line = vec![b'y'; LIMIT + 10];
        line.push(b'\n');
        let _ = (&writer).write_all(&line);
        drop(guard);
        assert_eq!(sink.0.lock().len(), LIMIT + 11);
    }

    #[test]
    fn lines_past_the_limit_are_dropped_and_counted() {
        let sink = Sink::default();
        let gate = Gate(Arc::new((Mutex::new(false), Condvar::new())), sink.clone());
        let (writer, guard) = start(gate.clone()).unwrap_or_else(|e| panic!("{e}"));
        let line = vec![b'x'; 1023];
        let mut w = &writer;
        // The first batch is taken by the blocked writer; wait until it has been.
        let _ = w.write_all(b"first\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !writer.shared.state.lock().pending.is_empty() && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..(LIMIT / 1024 + 10) {
            let _ = w.write_all(&[line.as_slice(), b"\n"].concat());
        }
        assert_eq!(writer.shared.state.lock().dropped, 10);
        *gate.0.0.lock() = true;
        gate.0.1.notify_all();
        drop(guard);
        let text = String::from_utf8(sink.0.lock().clone()).unwrap_or_default();
        assert!(text.starts_with("first\n"));
        assert_eq!(
            text.lines().filter(|l| l.starts_with('x')).count(),
            LIMIT / 1024
        );
        assert!(
            text.contains("kiln: 10 log lines dropped"),
            "{}",
            &text[text.len() - 100..]
        );
    }
}
