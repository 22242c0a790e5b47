//! The supervisor primitives on `SignalSet`: blocking signals in the calling thread returns the
//! mask it had (real-time signals included), and the ignored dispositions of this process.
//! Read back from the kernel's view, /proc/thread-self/status and /proc/self/status.

mod support;
use forkexec::attr::{Signal, SignalSet};
use support::status_field;

fn mask_bits(field: &str, path: &str) -> u64 {
    let status = std::fs::read_to_string(path).unwrap();
    u64::from_str_radix(status_field(&status, field), 16).unwrap()
}

#[test]
fn blocking_returns_the_previous_mask_real_time_signals_included() {
    // A fresh thread: its mask is its own, whatever other tests do with theirs.
    std::thread::spawn(|| {
        let before = mask_bits("SigBlk", "/proc/thread-self/status");
        let rt: Signal = "RTMIN+3".parse().unwrap();
        let old = SignalSet::from(rt).block_in_this_thread().unwrap();
        assert_eq!(
            old.bits(),
            before,
            "the first call returns the thread's mask"
        );
        let old = SignalSet::from(Signal::USR2)
            .block_in_this_thread()
            .unwrap();
        assert_eq!(
            old.bits(),
            before | SignalSet::from(rt).bits(),
            "the real-time signal blocked first is in the returned mask"
        );
        let now = mask_bits("SigBlk", "/proc/thread-self/status");
        assert_eq!(now, old.with(Signal::USR2).bits(), "the kernel's mask");
    })
    .join()
    .unwrap();
}

#[test]
fn ignored_in_this_process_reads_the_dispositions() {
    // Rust's runtime ignores SIGPIPE in every program; nothing here ignores SIGUSR2.
    let ignored = mask_bits("SigIgn", "/proc/self/status");
    assert_ne!(ignored & SignalSet::from(Signal::PIPE).bits(), 0);
    let asked = SignalSet::from(Signal::PIPE).with(Signal::USR2);
    assert_eq!(
        asked.ignored_in_this_process().bits(),
        ignored & asked.bits()
    );
    assert_eq!(
        asked.ignored_in_this_process(),
        SignalSet::from(Signal::PIPE)
    );
}
