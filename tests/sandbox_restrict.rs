//! seccomp, Landlock, the bounding set and securebits, each read where the program sees it:
//! its /proc/self/status (Seccomp, NoNewPrivs, CapBnd), the errno of a denied call, setpriv's
//! view of the securebits.

mod support;
use forkexec::attr::{Landlock, SeccompFilter};
use forkexec::Command;
use support::{is_root, probe, sh, skip, status_field};

/// A filter denying mkdir and mkdirat with EPERM (coreutils' mkdir may use either).
fn deny_mkdir() -> SeccompFilter {
    SeccompFilter::deny_syscalls([libc::SYS_mkdir, libc::SYS_mkdirat], libc::EPERM).unwrap()
}

fn seccomp_available() -> bool {
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    // Not under a filter that might hide ours; and the kernel has filters at all.
    status_field(&ours, "Seccomp") == "0" && !status_field(&ours, "Seccomp").is_empty()
}

#[test]
fn a_seccomp_filter_is_in_force_in_the_program_and_denies_with_eperm() {
    if !seccomp_available() {
        return skip("this process already runs under seccomp, or the kernel has none");
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("made");
    let out = probe(
        sh("grep -E '^Seccomp:' /proc/self/status; mkdir \"$1\" 2>&1; echo \"exit $?\"")
            .arg("sh")
            .arg(&target)
            .seccomp(deny_mkdir()),
    );
    assert!(out.contains("Seccomp:\t2"), "mode 2 (filter): {out}");
    assert!(out.contains("Operation not permitted"), "EPERM: {out}");
    assert!(out.contains("exit 1"), "{out}");
    assert!(!target.exists(), "the directory must not exist");
    // Control: the same program without the filter makes it (the filter, not the path, said no).
    let out = probe(sh("mkdir \"$1\" && echo made").arg("sh").arg(&target));
    assert_eq!(out, "made\n");
}

#[test]
fn an_unprivileged_child_gets_no_new_privs_with_its_filter() {
    if !seccomp_available() || !is_root() {
        return skip("needs root (to become uid 65534) and no seccomp on this process");
    }
    let st = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .uid(65534)
            .gid(65534)
            .seccomp(deny_mkdir()),
    );
    assert_eq!(status_field(&st, "Seccomp"), "2", "{st}");
    assert_eq!(
        status_field(&st, "NoNewPrivs"),
        "1",
        "implied for uid 65534"
    );
    // root keeps CAP_SYS_ADMIN: the kernel does not demand no_new_privs, nor do we set it.
    let st = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .seccomp(deny_mkdir()),
    );
    assert_eq!(status_field(&st, "Seccomp"), "2");
    assert_eq!(
        status_field(&st, "NoNewPrivs"),
        "0",
        "root's child keeps setuid working"
    );
}

#[test]
fn raw_bpf_that_the_kernel_rejects_fails_at_the_seccomp_step() {
    if !seccomp_available() {
        return skip("this process already runs under seccomp");
    }
    // BPF_LD|BPF_W|BPF_ABS at offset 4096: far outside struct seccomp_data, which the
    // kernel's checker refuses (EINVAL) when the filter is installed.
    let mut bytes = Vec::new();
    for (code, k) in [(0x20u16, 4096u32), (0x06, 0x7fff_0000)] {
        bytes.extend_from_slice(&code.to_ne_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&k.to_ne_bytes());
    }
    let err = Command::new("true")
        .seccomp(SeccompFilter::from_bpf(&bytes).unwrap())
        .status()
        .unwrap_err();
    assert_eq!(err.step_name(), "seccomp", "{err}");
    assert!(err.to_string().contains("EINVAL"), "{err}");
}

/// The paths a dynamically linked shell and cat need to start.
fn system_paths(mut rules: Landlock) -> Landlock {
    for p in ["/usr", "/bin", "/lib", "/lib64", "/etc"] {
        if std::path::Path::new(p).exists() {
            rules = rules.read(p);
        }
    }
    rules
}

fn landlock_abi() -> i64 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) reads nothing.
    unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, 0usize, 0usize, 1u32) }
}

#[test]
fn landlock_denies_paths_outside_the_rules_and_allows_those_inside() {
    if landlock_abi() < 1 {
        return skip("this kernel has no Landlock (Linux 5.13+, enabled at boot)");
    }
    let dir = tempfile::tempdir().unwrap();
    let inside = dir.path().join("inside");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&inside).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(inside.join("f"), "in\n").unwrap();
    std::fs::write(outside.join("f"), "out\n").unwrap();
    let script =
        "cat \"$1/f\"; cat \"$2/f\" 2>&1; echo \"exit $?\"; echo new > \"$1/g\" && echo wrote";
    let out = probe(
        sh(script)
            .arg("sh")
            .arg(&inside)
            .arg(&outside)
            .landlock(system_paths(Landlock::new()).write(&inside)),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "in", "inside is readable: {out}");
    assert!(
        lines[1].contains("Permission denied"),
        "outside: EACCES: {out}"
    );
    assert_eq!(lines[2], "exit 1", "{out}");
    assert_eq!(lines[3], "wrote", "inside is writable: {out}");
    assert_eq!(std::fs::read_to_string(inside.join("g")).unwrap(), "new\n");
    // Control: without the ruleset the same process reads outside (root or not, the mode
    // allows it), so the denial above was Landlock's.
    let out = probe(sh("cat \"$1/f\"").arg("sh").arg(&outside));
    assert_eq!(out, "out\n");
}

#[test]
fn a_read_only_path_is_not_writable_under_landlock() {
    if landlock_abi() < 1 {
        return skip("this kernel has no Landlock");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = probe(
        sh("{ echo x > \"$1/new\"; } 2>&1; echo \"exit $?\"")
            .arg("sh")
            .arg(dir.path())
            .landlock(system_paths(Landlock::new()).read(dir.path())),
    );
    assert!(out.contains("Permission denied"), "{out}");
    assert!(!dir.path().join("new").exists());
}

#[test]
fn a_missing_landlock_path_is_refused_before_any_process() {
    if landlock_abi() < 1 {
        return skip("this kernel has no Landlock");
    }
    let err = Command::new("true")
        .landlock(Landlock::new().read("/no/such/path"))
        .status()
        .unwrap_err();
    assert_eq!(err.stage(), forkexec::ErrorStage::InvalidInput, "{err}");
    assert!(err.to_string().contains("Landlock ruleset"), "{err}");
}

#[test]
fn the_bounding_set_keeps_only_what_setpriv_syntax_says() {
    if !is_root() {
        return skip("dropping from the bounding set needs CAP_SETPCAP");
    }
    let st = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .bounding_set("-all,+net_bind_service"),
    );
    assert_eq!(status_field(&st, "CapBnd"), "0000000000000400", "{st}");
    // And a capability dropped that way cannot come back through setuid root: a root child
    // without CAP_SYS_ADMIN in its bounding set has none in its effective set either.
    let st = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .bounding_set("-sys_admin"),
    );
    let eff = u64::from_str_radix(status_field(&st, "CapEff"), 16).unwrap();
    let bnd = u64::from_str_radix(status_field(&st, "CapBnd"), 16).unwrap();
    assert_eq!(bnd & (1 << 21), 0, "{st}");
    assert_eq!(eff & (1 << 21), 0, "{st}");
}

#[test]
fn securebits_are_set_before_the_program_runs() {
    if !is_root() {
        return skip("setting securebits needs CAP_SETPCAP");
    }
    if which("setpriv").is_none() {
        return skip("setpriv(1) is not installed");
    }
    let out = probe(
        Command::new("setpriv")
            .arg("--dump")
            .securebits("+noroot,+noroot_locked"),
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("Securebits:"))
        .unwrap_or_default();
    assert!(
        line.contains("noroot") && line.contains("noroot_locked"),
        "{out}"
    );
    let out = probe(Command::new("setpriv").arg("--dump"));
    assert!(!out.contains("noroot"), "control: {out}");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.exists())
}
