//! no_new_privs, ambient capabilities, PTRACE_TRACEME and the parent-death signal, read from
//! the child's /proc/self/status (NoNewPrivs, Cap*, TracerPid) and its fate.

mod support;
use forkexec::attr::Capability;
use forkexec::Command;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use support::{is_root, probe, skip, status_field};

fn child_status(cmd: &mut Command) -> String {
    probe(cmd.arg("/proc/self/status"))
}

#[test]
fn no_new_privs_is_set_only_on_request() {
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    if status_field(&ours, "NoNewPrivs") == "1" {
        return skip("this process already has no_new_privs");
    }
    let st = child_status(Command::new("cat").no_new_privs(true));
    assert_eq!(status_field(&st, "NoNewPrivs"), "1");
    let st = child_status(&mut Command::new("cat"));
    assert_eq!(status_field(&st, "NoNewPrivs"), "0");
}

#[test]
fn ambient_capabilities_survive_setuid_and_exec() {
    if !is_root() {
        return skip("raising ambient capabilities for another uid needs root");
    }
    let st = child_status(
        Command::new("cat")
            .uid(65534)
            .gid(65534)
            .ambient_capabilities(["net_bind_service", "CAP_NET_RAW"]),
    );
    let want = format!("{:016x}", (1u64 << 10) | (1 << 13));
    assert_eq!(status_field(&st, "CapAmb"), want, "{st}");
    assert_eq!(status_field(&st, "CapEff"), want, "{st}");
    assert_eq!(status_field(&st, "CapPrm"), want, "{st}");
    // Without them a uid change leaves nothing.
    let st = child_status(Command::new("cat").uid(65534).gid(65534));
    assert_eq!(status_field(&st, "CapEff"), "0000000000000000", "{st}");
    assert_eq!(status_field(&st, "CapAmb"), "0000000000000000", "{st}");
}

#[test]
fn capability_names_parse() {
    for (name, n) in [
        ("CAP_NET_BIND_SERVICE", 10),
        ("net_bind_service", 10),
        ("cap_sys_admin", 21),
        ("40", 40),
    ] {
        assert_eq!(name.parse::<Capability>().unwrap().number(), n);
    }
    assert!("net_bind".parse::<Capability>().is_err());
    assert!("41".parse::<Capability>().is_err());
    let err = Command::new("true")
        .ambient_capabilities(["bogus"])
        .spawn()
        .unwrap_err();
    assert_eq!(err.stage(), forkexec::ErrorStage::InvalidInput);
    assert!(
        err.to_string().contains("unknown capability \"bogus\""),
        "{err}"
    );
}

#[test]
fn ptrace_traceme_makes_the_spawning_thread_the_tracer() {
    let child = Command::new("grep")
        .args(["TracerPid", "/proc/self/status"])
        .ptrace(true)
        .stdout(forkexec::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: waiting for our own traced child's exec stop; status is a live local.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    assert_eq!(got, pid);
    assert!(libc::WIFSTOPPED(status), "not stopped: {status:#x}");
    assert_eq!(libc::WSTOPSIG(status), libc::SIGTRAP, "the exec stop");
    // SAFETY: continuing our own tracee, which is stopped.
    let rc = unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, 0) };
    assert_eq!(rc, 0);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    assert_eq!(text.trim(), format!("TracerPid:\t{tid}"));
}

#[test]
fn pdeathsig_fires_when_the_spawning_thread_exits() {
    let child = std::thread::spawn(|| {
        Command::new("sleep")
            .arg("100")
            .pdeathsig("TERM")
            .spawn()
            .unwrap()
    })
    .join()
    .unwrap();
    let mut child = child;
    let st = child
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the child outlived its spawning thread");
    assert_eq!(st.signal(), Some(libc::SIGTERM));
}

#[test]
fn pdeathsig_does_not_fire_while_the_spawning_thread_lives() {
    let mut child = Command::new("sleep")
        .arg("100")
        .pdeathsig(libc::SIGKILL)
        .spawn()
        .unwrap();
    assert!(child
        .wait_timeout(Duration::from_millis(200))
        .unwrap()
        .is_none());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn pdeathsig_in_a_new_pid_namespace() {
    // getppid() is 0 there; the parent check must not mistake that for a dead parent.
    if !support::userns_available() {
        return skip("user namespaces are not available");
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let out = probe(
        support::sh("echo $PPID")
            .clone_namespaces("user,pid")
            .uid_map((0, uid, 1))
            .gid_map((0, gid, 1))
            .pdeathsig("KILL"),
    );
    // The shell's $PPID is getppid(): 0, the parent being outside the namespace. Before the
    // fix the child took that for a dead parent and killed itself.
    assert_eq!(out, "0\n");
}
