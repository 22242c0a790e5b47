//! Joining namespaces and a fresh /proc, read from inside the child: its /proc/self/ns links
//! against the target's, the hostname it sees, its pid, what `ps` lists; and from outside: the
//! parent's mounts stay as they were.

mod support;
use forkexec::attr::{NamespaceTarget, Namespaces};
use forkexec::{Child, Command, Stdio};
use std::io::{BufRead, BufReader};
use support::{is_root, probe, sh, skip, userns_available};

fn ns_link(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A process in new namespaces `kinds` that set its hostname to `name`, printed "ready" and
/// sleeps until killed.
fn target(cmd: &mut Command, name: &str) -> Child {
    let mut child = cmd
        .arg("-c")
        .arg(format!("hostname {name} && echo ready && exec sleep 60"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n", "the target could not start");
    child
}

const LINKS: &str =
    "hostname; for k in uts net ipc pid mnt user; do readlink /proc/self/ns/$k; done";

/// Prints the links, then the NSpid line of the program's status: its pid in each pid
/// namespace from the machine's down.
const LINKS_AND_PIDS: &str = "hostname; for k in uts net ipc pid mnt user; do readlink /proc/self/ns/$k; done; exec grep NSpid /proc/self/status";

/// Runs `cmd` (a LINKS_AND_PIDS shell), returns what it printed without the NSpid line, and
/// checks that line: the program is in a nested pid namespace (two pids), and the first one is
/// the pid of the Child we were given (the hop's process, not the one that joined).
fn run_in_joined_pid_namespace(cmd: &mut Command) -> String {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let id = child.id();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?} {out}");
    let (links, nspid) = out.rsplit_once("NSpid:").expect("an NSpid line");
    let pids: Vec<&str> = nspid.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "one level below ours: {nspid}");
    assert_eq!(
        pids[0],
        id.to_string(),
        "the Child is the program's process"
    );
    assert!(
        pids[1].parse::<u32>().unwrap() > 1,
        "not the namespace's init: {nspid}"
    );
    links.to_string()
}

fn expected_links(pid: u32, name: &str) -> String {
    let pid = pid.to_string();
    let mut want = format!("{name}\n");
    for k in ["uts", "net", "ipc", "pid", "mnt", "user"] {
        want += &ns_link(&pid, k);
        want.push('\n');
    }
    want
}

#[test]
fn joining_a_process_gives_its_namespaces_and_its_hostname() {
    if !is_root() {
        return skip("joining another process's uts/net/ipc namespaces needs CAP_SYS_ADMIN");
    }
    let mut t = target(
        Command::new("sh").clone_namespaces("uts,net,ipc"),
        "fx-joined",
    );
    let out = probe(sh(LINKS).join_namespaces(t.id(), "uts,net,ipc"));
    assert_eq!(out, expected_links(t.id(), "fx-joined"));
    assert_ne!(ns_link("self", "uts"), ns_link(&t.id().to_string(), "uts"));
    t.kill().unwrap();
}

#[test]
fn joining_every_namespace_of_a_container_like_process_including_user_and_pid() {
    if !is_root() || !userns_available() {
        return skip("needs root and user namespaces");
    }
    let mut t = target(
        Command::new("sh")
            .clone_namespaces("user,pid,mount,uts,ipc,net")
            .uid_map((0, 0, 1))
            .gid_map((0, 0, 1)),
        "fx-container",
    );
    // nsenter -a: every namespace that differs. The pid namespace takes the hop: the shell is
    // pid 2 there (the target's sh is 1), and the Child's pid is the one we can wait for.
    let out =
        run_in_joined_pid_namespace(sh(LINKS_AND_PIDS).join_namespaces(t.id(), Namespaces::ALL));
    assert_eq!(out, expected_links(t.id(), "fx-container"));
    t.kill().unwrap();
}

#[test]
fn joining_by_ns_files_and_by_pidfd_gives_the_same_namespaces() {
    if !is_root() {
        return skip("joining another process's namespaces needs CAP_SYS_ADMIN");
    }
    let mut t = target(
        Command::new("sh").clone_namespaces("uts,net,pid"),
        "fx-files",
    );
    let pid = t.id();
    // ns files, one per kind (the path of kernels before 5.8, and bind-mounted namespaces).
    let mut cmd = sh(LINKS_AND_PIDS);
    for k in ["net", "uts", "pid"] {
        cmd.join_namespaces(format!("/proc/{pid}/ns/{k}").as_str(), Namespaces::ALL);
    }
    let out = run_in_joined_pid_namespace(&mut cmd);
    assert_eq!(out, expected_links(pid, "fx-files"));
    // A pidfd: no pid-reuse race.
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .unwrap();
    let out = run_in_joined_pid_namespace(
        sh(LINKS_AND_PIDS).join_namespaces(NamespaceTarget::pidfd(pidfd), "uts,net,pid"),
    );
    assert_eq!(out, expected_links(pid, "fx-files"));
    t.kill().unwrap();
}

#[test]
fn an_ns_file_of_another_kind_is_refused_before_any_process() {
    let err = Command::new("true")
        .join_namespaces("/proc/self/ns/net", "uts")
        .status()
        .unwrap_err();
    assert_eq!(err.stage(), forkexec::ErrorStage::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("it is a net namespace, not uts"),
        "{err}"
    );
}

#[test]
fn mount_proc_shows_only_the_new_pid_namespace() {
    let mut cmd = Command::new("ps");
    cmd.args(["-e", "-o", "pid=,comm="]).mount_proc(true);
    if is_root() {
        cmd.clone_namespaces("pid,mount");
    } else if userns_available() {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        cmd.clone_namespaces("user,pid,mount")
            .uid_map((0, uid, 1))
            .gid_map((0, gid, 1));
    } else {
        return skip("needs root or user namespaces");
    }
    let out = probe(&mut cmd);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, [vec!["1", "ps"]], "ps sees only itself, as pid 1");
    // Control: without mount_proc, ps in a new pid namespace still reads the parent's /proc.
    let mut cmd = Command::new("ps");
    cmd.args(["-e", "-o", "pid="]).clone_namespaces("pid,mount");
    if !is_root() {
        return;
    }
    let n = probe(&mut cmd).lines().count();
    assert!(n > 1, "the machine's /proc lists more than one process");
}

/// The proc mounts this thread sees (mount points of type proc in its mountinfo; the thread's:
/// a helper unshares its mount namespace on the test's thread only).
fn proc_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - proc "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_fresh_proc_never_shows_in_the_parent_namespace_whatever_the_propagation() {
    if !is_root() {
        return skip("mounting proc without a user namespace needs root");
    }
    let before = proc_mounts();
    for propagation in ["private", "slave", "shared", "unchanged"] {
        let out = probe(
            Command::new("sh")
                .args(["-c", "grep -c ' - proc ' /proc/self/mountinfo"])
                .clone_namespaces("pid,mount")
                .mount_proc(true)
                .propagation(propagation),
        );
        assert!(
            out.trim().parse::<u32>().unwrap() >= 1,
            "{propagation}: {out}"
        );
        assert_eq!(
            proc_mounts(),
            before,
            "{propagation}: the new /proc leaked out"
        );
    }
    // The propagation itself, read from the child's mountinfo: / is shared:N under "shared",
    // master:N under "slave", neither under "private".
    let root_line = |p: &str| {
        probe(
            Command::new("sh")
                .args(["-c", "awk '$5 == \"/\"' /proc/self/mountinfo"])
                .clone_namespaces("mount")
                .propagation(p),
        )
    };
    let private = root_line("private");
    assert!(
        !private.contains("shared:") && !private.contains("master:"),
        "{private}"
    );
    let ours = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root_shared = ours
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/") && l.contains("shared:"));
    if root_shared {
        assert!(root_line("shared").contains("shared:"), "shared");
        assert!(root_line("slave").contains("master:"), "slave");
    } else {
        skip("/ is not a shared mount here: shared and slave look like private");
    }
}

#[test]
fn mount_proc_without_a_pid_namespace_is_refused() {
    let err = Command::new("true")
        .clone_namespaces("mount")
        .mount_proc(true)
        .status()
        .unwrap_err();
    assert!(err.to_string().contains("pid namespace"), "{err}");
    let err = Command::new("true")
        .unshare_namespaces("pid,mount")
        .mount_proc(true)
        .status()
        .unwrap_err();
    assert!(
        err.to_string().contains("use clone_namespaces(\"pid\")"),
        "{err}"
    );
}

/// Where setns takes no pidfd (before Linux 5.8) it answers EINVAL; the child then joins the
/// /proc/PID/ns files the parent opened for that case. Shown here on a new kernel by a helper
/// process whose own seccomp filter (inherited by its children) answers EINVAL to the pidfd
/// call's flag combination, uts|net, and lets single-kind setns calls through.
#[test]
fn without_pidfd_setns_the_ns_files_are_joined_instead() {
    const NAME: &str = "pidfd-setns-missing";
    if support::helper_mode(NAME) {
        let pid: u32 = std::env::var("FX_TARGET").unwrap().parse().unwrap();
        let both = (libc::CLONE_NEWUTS | libc::CLONE_NEWNET) as u64;
        let cond = seccompiler::SeccompCondition::new(
            1,
            seccompiler::SeccompCmpArgLen::Dword,
            seccompiler::SeccompCmpOp::Eq,
            both,
        )
        .unwrap();
        let rule = seccompiler::SeccompRule::new(vec![cond]).unwrap();
        let filter = seccompiler::SeccompFilter::new(
            [(libc::SYS_setns, vec![rule])].into_iter().collect(),
            seccompiler::SeccompAction::Allow,
            seccompiler::SeccompAction::Errno(libc::EINVAL as u32),
            std::env::consts::ARCH.try_into().unwrap(),
        )
        .unwrap();
        let program: seccompiler::BpfProgram = filter.try_into().unwrap();
        seccompiler::apply_filter(&program).unwrap();
        // The filter answers as an old kernel would.
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid as i32).unwrap(),
            rustix::process::PidfdFlags::empty(),
        )
        .unwrap();
        // SAFETY: setns reads no memory; it fails (EINVAL from the filter) without effect.
        let r = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&pidfd), both as i32) };
        assert_eq!(r, -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINVAL)
        );
        // Twice: the first spawn learns that pidfds do not work, the second opens files only.
        for _ in 0..2 {
            print!("{}", probe(sh(LINKS).join_namespaces(pid, "uts,net")));
        }
        return;
    }
    if !is_root() {
        return skip("joining another process's namespaces needs CAP_SYS_ADMIN");
    }
    let mut t = target(
        Command::new("sh").clone_namespaces("uts,net"),
        "fx-old-kernel",
    );
    let run = support::run_helper(
        "without_pidfd_setns_the_ns_files_are_joined_instead",
        NAME,
        &[("FX_TARGET", t.id().to_string().into())],
        std::time::Duration::from_secs(60),
    );
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    let want = expected_links(t.id(), "fx-old-kernel");
    assert!(
        run.stdout.contains(&format!("{want}{want}")),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    t.kill().unwrap();
}

/// Where / is shared, a copy made with `shared` or `slave` propagation would carry a /proc
/// mounted on it back to the parent namespace, unless the inherited /proc is made private
/// first (unshare's rule). A helper process makes its own mount namespace with a shared / so
/// that the case is real on any machine, spawns, and looks at its own mounts.
#[test]
fn with_a_shared_root_the_fresh_proc_stays_in_the_child() {
    const NAME: &str = "shared-root";
    if support::helper_mode(NAME) {
        // SAFETY: unshare and mount with constant arguments; they change only this helper.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
            let none = c"none".as_ptr();
            let flags = libc::MS_REC | libc::MS_SHARED;
            assert_eq!(
                libc::mount(none, c"/".as_ptr(), none, flags, std::ptr::null()),
                0
            );
        }
        let before = proc_mounts();
        assert!(
            std::fs::read_to_string("/proc/thread-self/mountinfo")
                .unwrap()
                .lines()
                .any(|l| l.split(' ').nth(4) == Some("/") && l.contains("shared:")),
            "the helper's / must be shared"
        );
        for propagation in ["shared", "slave", "unchanged"] {
            probe(
                Command::new("true")
                    .clone_namespaces("pid,mount")
                    .mount_proc(true)
                    .propagation(propagation),
            );
            assert_eq!(
                proc_mounts(),
                before,
                "{propagation}: the new /proc leaked out"
            );
        }
        println!("checked");
        return;
    }
    if !is_root() {
        return skip("mount namespaces and proc mounts without a user namespace need root");
    }
    let run = support::run_helper(
        "with_a_shared_root_the_fresh_proc_stays_in_the_child",
        NAME,
        &[],
        std::time::Duration::from_secs(60),
    );
    assert!(
        run.success && run.stdout.contains("checked"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}
