//! Property tests: what the child receives, for any input, read from the kernel's side.
//!
//! - Any byte string without NUL reaches the child exactly, as argv[0], as an argument, as an
//!   environment variable's name or value: read back from /proc/PID/cmdline and
//!   /proc/PID/environ of the stopped child (the kernel's copy of what execve received).
//!   Breaks on: lossy conversions (UTF-8 assumed somewhere), a truncated or merged string, a
//!   missing NUL terminator in the prepared arrays, env entries reordered or deduplicated
//!   wrongly, an argument dropped or duplicated (argc is also checked by the exit status).
//! - Any string with a NUL, anywhere, is refused before a process exists: the command would
//!   create a marker file, and the marker must not appear. Breaks on: a silent truncation at
//!   the NUL (the child would run with a shortened argument).
//! - Any fd map (permutations, swaps, cycles, targets equal to other entries' sources, targets
//!   0-2 and high numbers, closes) ends with each child fd pointing at the right file and no
//!   other fd open. Breaks on: a dup order that overwrites a source before it is used (the
//!   classic swap bug), a source equal to its target left close-on-exec, a moved copy left
//!   open in the child, a close applied after a dup onto the same number. Mutation-checked:
//!   with the move step disabled it fails and shrinks to a 2-entry chain (406<-411, 409<-406).
//! - The E2BIG boundary (below) matches the model (mutation-checked: 7-byte pointers fail it).

mod support;

use forkexec::{Command, ErrorStage};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::programs;

const BOUND: Duration = Duration::from_secs(20);

/// Waits until the child has stopped itself (its exec is done), bounded.
fn wait_stopped(child: &forkexec::Child) {
    let deadline = Instant::now() + BOUND;
    loop {
        match rustix::process::waitid(
            rustix::process::WaitId::PidFd(child.pidfd()),
            rustix::process::WaitIdOptions::STOPPED
                | rustix::process::WaitIdOptions::NOHANG
                | rustix::process::WaitIdOptions::NOWAIT,
        ) {
            Ok(Some(_)) => return,
            Ok(None) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("waitid: {e}"),
        }
        assert!(Instant::now() < deadline, "probe did not stop: a hang");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Lets a stopped probe finish and returns its exit code (its argc).
fn finish(mut child: forkexec::Child) -> Option<i32> {
    child.send_signal(libc::SIGCONT).unwrap();
    child
        .wait_timeout(BOUND)
        .unwrap()
        .expect("probe exit")
        .code()
}

/// `s` split at NULs, as /proc shows NUL-terminated string lists.
fn split_nul(s: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = s.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    // A terminated list ends with an empty piece after the last NUL.
    assert_eq!(v.pop(), Some(Vec::new()), "list not NUL-terminated: {s:?}");
    v
}

fn no_nul(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

fn env_key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((1u8..=255).prop_filter("no '='", |&b| b != b'='), 1..24)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES overrides, as usual.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn argv_and_env_bytes_reach_the_child_exactly(
        arg0 in no_nul(64),
        args in prop::collection::vec(no_nul(300), 0..12),
        env in prop::collection::btree_map(env_key(), no_nul(300), 0..12),
    ) {
        if !support::is_x86_64() {
            return Ok(());
        }
        let mut cmd = Command::new(&programs().stop_probe);
        cmd.arg0(OsStr::from_bytes(&arg0))
            .args(args.iter().map(|a| OsStr::from_bytes(a)))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (OsStr::from_bytes(k), OsStr::from_bytes(v))));
        let child = cmd.spawn().expect("spawn");
        wait_stopped(&child);
        let pid = child.id();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let code = finish(child);

        let mut want_argv = vec![arg0.clone()];
        want_argv.extend(args.iter().cloned());
        prop_assert_eq!(split_nul(&cmdline), want_argv);
        prop_assert_eq!(code, Some(1 + args.len() as i32));
        let got_env: BTreeMap<Vec<u8>, Vec<u8>> = split_nul(&environ)
            .into_iter()
            .map(|kv| {
                let eq = kv.iter().position(|&b| b == b'=').expect("K=V");
                (kv[..eq].to_vec(), kv[eq + 1..].to_vec())
            })
            .collect();
        prop_assert_eq!(split_nul(&environ).len(), env.len(), "no duplicate or extra entry");
        prop_assert_eq!(got_env, env);
    }

    #[test]
    fn a_nul_anywhere_is_refused_before_any_process_exists(
        before in no_nul(20),
        after in no_nul(20),
        place in 0usize..6,
    ) {
        let mut bad = before.clone();
        bad.push(0);
        bad.extend_from_slice(&after);
        let bad = OsStr::from_bytes(&bad);
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let script = format!("touch '{}'", marker.display());
        let mut cmd = Command::new(if place == 0 { bad } else { OsStr::new("sh") });
        cmd.args(["-c", &script]);
        match place {
            0 => {}
            1 => { cmd.arg(bad); }
            2 => { cmd.arg0(bad); }
            3 => { cmd.env(bad, "v"); }
            4 => { cmd.env("FORKEXEC_K", bad); }
            _ => { cmd.current_dir(bad); }
        }
        let err = cmd.status().expect_err("a NUL must be refused");
        prop_assert_eq!(err.stage(), ErrorStage::InvalidInput, "{}", err);
        // An env name with both a NUL and an '=' may be refused for the '=' first.
        let msg = err.to_string();
        prop_assert!(msg.contains("NUL") || (place == 3 && msg.contains("'='")), "{}", msg);
        prop_assert!(!marker.exists(), "the command ran");
    }
}

// ---------------------------------------------------------------------------------------------
// The fd map
// ---------------------------------------------------------------------------------------------

/// Parent fd numbers the sources are placed at. High enough that nothing else in this test
/// process uses them, and also offered as targets, so that targets hit other entries' sources.
const SOURCE_SLOTS: std::ops::Range<i32> = 400..412;
/// Other targets: the child's stdio, small numbers, numbers far above anything open.
const OTHER_TARGETS: [i32; 11] = [0, 1, 2, 3, 4, 7, 10, 63, 200, 1000, 1023];

#[derive(Debug, Clone)]
struct FdCase {
    /// (target, source slot or None for "close target")
    entries: Vec<(i32, Option<i32>)>,
}

fn fd_case() -> impl Strategy<Value = FdCase> {
    let all_targets: Vec<i32> = SOURCE_SLOTS.chain(OTHER_TARGETS).collect();
    (1usize..=8).prop_flat_map(move |n| {
        let slots: Vec<i32> = SOURCE_SLOTS.collect();
        (
            prop::sample::subsequence(slots, n).prop_shuffle(),
            prop::sample::subsequence(all_targets.clone(), n).prop_shuffle(),
            prop::collection::vec(prop::bool::weighted(0.15), n),
        )
            .prop_map(|(sources, targets, closes)| FdCase {
                entries: targets
                    .into_iter()
                    .zip(sources)
                    .zip(closes)
                    .map(|((t, s), close)| (t, (!close).then_some(s)))
                    .collect(),
            })
    })
}

/// Puts `file` at exactly fd `slot` in this process (close-on-exec, as Rust opens files).
fn place_at(file: std::fs::File, slot: i32) -> OwnedFd {
    // SAFETY: F_GETFD only queries; the slot must be free so that nothing else is replaced.
    assert_eq!(
        unsafe { libc::fcntl(slot, libc::F_GETFD) },
        -1,
        "fd {slot} is in use in the test process"
    );
    let fd = file.into_raw_fd();
    // SAFETY: dup3 onto a free slot; both fds are ours; the old one is closed right after.
    let placed = unsafe { libc::dup3(fd, slot, libc::O_CLOEXEC) };
    assert_eq!(placed, slot);
    // SAFETY: closing our own original fd, and owning the new one.
    unsafe {
        libc::close(fd);
        OwnedFd::from_raw_fd(placed)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_fd_map_gives_each_child_fd_the_right_file(case in fd_case()) {
        if !support::is_x86_64() {
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&programs().stop_probe);
        // What each child fd must point at: the file placed in its source slot.
        let mut want: BTreeMap<i32, PathBuf> = BTreeMap::new();
        // 0-2 not mentioned by the map are inherited from this process.
        for fd in 0..3 {
            if !case.entries.iter().any(|&(t, _)| t == fd) {
                want.insert(fd, support::own_fd_target(fd));
            }
        }
        let mut placed = Vec::new();
        for &(target, source) in &case.entries {
            match source {
                Some(slot) => {
                    let path = dir.path().join(format!("src-{slot}-for-{target}"));
                    std::fs::write(&path, b"").unwrap();
                    placed.push((target, place_at(std::fs::File::open(&path).unwrap(), slot)));
                    want.insert(target, path);
                }
                None => {
                    cmd.close_fd(target);
                }
            }
        }
        // Mapped only once every source is in place: their slots are taken before the
        // spawn looks at any of them.
        for (target, fd) in placed {
            cmd.fd(target, fd);
        }
        let child = cmd.spawn().expect("spawn");
        wait_stopped(&child);
        let got = support::fd_table(child.id()).unwrap();
        let code = finish(child);
        prop_assert_eq!(code, Some(1));
        prop_assert_eq!(got, want, "case {:?}", case);
        // The Command lends its fds to each spawn and closes them when dropped: then the
        // slots are free again (no fd of the map leaks in the parent).
        drop(cmd);
        for slot in SOURCE_SLOTS {
            // SAFETY: F_GETFD only queries.
            prop_assert_eq!(unsafe { libc::fcntl(slot, libc::F_GETFD) }, -1, "slot {} left open", slot);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The E2BIG boundary
// ---------------------------------------------------------------------------------------------

/// Strings of argv and envp that use exactly `limit - used` more bytes, as `k` pad arguments of
/// at most MAX_ARG_STRLEN bytes each (NUL included); `k` changes the limit (8 bytes per pointer),
/// so it is solved for.
fn pads_to_fill(
    rlimit: Option<u64>,
    argc: usize,
    envc: usize,
    used: u64,
) -> Option<(u64, Vec<Vec<u8>>)> {
    use forkexec::model::limits::{budget, MAX_ARG_STRLEN};
    let mut k = 1u64;
    loop {
        let b = budget(rlimit, argc as u64 + k, envc as u64).ok()?;
        let room = b.limit.checked_sub(used)?;
        let need = room.div_ceil(MAX_ARG_STRLEN).max(1);
        if need <= k {
            if room < k {
                return None; // cannot charge at least 1 byte per pad
            }
            // Split `room` bytes (NULs included) over k pads of 1..=MAX_ARG_STRLEN each.
            let mut pads = Vec::new();
            let mut left = room;
            for i in 0..k {
                let rest = k - i - 1;
                let charge = (left - rest).min(MAX_ARG_STRLEN);
                pads.push(vec![b'p'; (charge - 1) as usize]);
                left -= charge;
            }
            assert_eq!(left, 0);
            return Some((b.limit, pads));
        }
        k = need;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Strings filling exactly the model's limit (`model::limits`) pass execve's copy; one
    /// byte more is E2BIG at step exec; and the whole outcome matches `model::plan::evaluate`.
    /// Breaks on: a model that forgets the filename or the pointers, charges the NUL wrongly,
    /// or reads the wrong rlimit (the child's RLIMIT_STACK is set by the spawn, before exec).
    #[test]
    fn e2big_boundary_is_where_the_model_puts_it(
        rlimit_kib in prop::sample::select(vec![Some(160u64), Some(700), Some(4096), Some(8192), Some(30_000), None]),
        args in prop::collection::vec(0usize..3000, 0..30),
        envs in prop::collection::vec(0usize..3000, 0..30),
        one_more_in_env in any::<bool>(),
    ) {
        use forkexec::model::{limits::charge, plan::{evaluate, Outcome}, Credentials, ExecInput};
        if !support::is_x86_64() {
            return Ok(());
        }
        let program = programs().exit_argc.clone();
        let path = program.as_os_str().as_bytes().to_vec();
        let rlimit = rlimit_kib.map(|k| k * 1024);
        let mut argv: Vec<Vec<u8>> = vec![b"p".to_vec()];
        argv.extend(args.iter().map(|&n| vec![b'a'; n]));
        // Sorted and unique, as the Command passes them.
        let envp: Vec<Vec<u8>> = envs
            .iter()
            .enumerate()
            .map(|(i, &n)| [format!("E{i:03}=").into_bytes(), vec![b'e'; n]].concat())
            .collect();
        let used = charge(&path)
            + argv.iter().map(|a| charge(a)).sum::<u64>()
            + envp.iter().map(|e| charge(e)).sum::<u64>();
        let filled = pads_to_fill(rlimit, argv.len(), envp.len(), used);
        // The fixed strings alone may be over the limit: not a boundary case.
        prop_assume!(filled.is_some());
        let (limit, pads) = filled.unwrap();
        argv.extend(pads);
        let run = |argv: &[Vec<u8>], envp: &[Vec<u8>]| {
            let mut cmd = Command::new(&program);
            cmd.arg0(OsStr::from_bytes(&argv[0]))
                .args(argv[1..].iter().map(|a| OsStr::from_bytes(a)))
                .env_clear();
            for e in envp {
                let eq = e.iter().position(|&b| b == b'=').unwrap();
                cmd.env(OsStr::from_bytes(&e[..eq]), OsStr::from_bytes(&e[eq + 1..]));
            }
            cmd.rlimit(libc::RLIMIT_STACK as i32, rlimit.unwrap_or(u64::MAX), rlimit.unwrap_or(u64::MAX));
            match cmd.spawn() {
                Ok(mut c) => {
                    let st = c.wait_timeout(BOUND).unwrap().expect("exit");
                    match (st.code(), std::os::unix::process::ExitStatusExt::signal(&st)) {
                        (Some(code), _) => Ok(Ok(code)),
                        (None, Some(sig)) => Ok(Err(sig)),
                        _ => unreachable!(),
                    }
                }
                Err(e) => Err((e.step_name(), e.raw_os_error())),
            }
        };
        let model = |argv: &[Vec<u8>], envp: &[Vec<u8>]| {
            let input = ExecInput {
                program: path.clone(),
                argv: argv.to_vec(),
                envp: envp.to_vec(),
                cwd: "/".into(),
                credentials: Credentials::current(),
                stack_rlimit: rlimit,
            };
            evaluate(&input, &forkexec::model::HostFileSystem::new(None).unwrap())
        };

        // Exactly at the limit.
        let plan = model(&argv, &envp);
        prop_assert_eq!(plan.arg_bytes, limit, "the model charges what we computed");
        let got = run(&argv, &envp);
        match plan.outcome {
            Outcome::Runs => prop_assert_eq!(got, Ok(Ok((argv.len() % 256) as i32)), "at the limit {}", limit),
            Outcome::Killed(sig) => prop_assert_eq!(got, Ok(Err(sig))),
            Outcome::Fails(e) => prop_assert_eq!(got, Err(("exec", Some(e.0)))),
        }
        prop_assert!(plan.errno().is_none(), "at the limit the model predicts {:?}", plan.outcome);

        // One byte more, in an env string or in the last pad.
        let (mut argv2, mut envp2) = (argv.clone(), envp.clone());
        if one_more_in_env && !envp2.is_empty() {
            envp2[0].push(b'+');
        } else {
            let last = argv2.last_mut().unwrap();
            if last.len() + 1 >= forkexec::model::limits::MAX_ARG_STRLEN as usize {
                argv2[0].push(b'+');
            } else {
                last.push(b'+');
            }
        }
        let plan2 = model(&argv2, &envp2);
        prop_assert_eq!(plan2.errno(), Some(forkexec::Errno(libc::E2BIG)), "{}", plan2.reason);
        prop_assert_eq!(run(&argv2, &envp2), Err(("exec", Some(libc::E2BIG))), "one byte over {}", limit);
    }
}
