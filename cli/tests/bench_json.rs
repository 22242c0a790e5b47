//! `forkexec bench` keeps its contracts: the JSON shape (one row per scenario, method, size and
//! thread count, with median, mean, p90, p99 and runs), every issue's target in the targets
//! section, the SVG plot, and exit 2 for usage mistakes. Only shapes are checked: speed is for
//! the benchmark itself, never for a test.

use std::process::Command;

fn forkexec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_forkexec"))
}

/// `forkexec bench --json ARGS`, which must succeed, parsed.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = forkexec()
        .args(["bench", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The scenarios the other tests leave out run too: each makes its spawns, by each of its
/// methods (attrs needs root: uid/gid changes and chroot).
#[test]
fn attrs_load_and_load_mem_run() {
    let root = rustix::process::geteuid().is_root();
    let scenarios = if root {
        "attrs,load,load_mem"
    } else {
        println!("SKIP (attrs): needs root; load and load_mem only");
        "load,load_mem"
    };
    let v = bench_json(&["--runs", "5", "--seconds", "0.2", "--scenarios", scenarios]);
    let mut cells: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["runs"].as_u64(), Some(5), "{r}");
            format!(
                "{} {}",
                r["scenario"].as_str().unwrap(),
                r["method"].as_str().unwrap()
            )
        })
        .collect();
    cells.sort();
    let mut want = vec!["load forkexec", "load_mem forkexec"];
    if root {
        want.extend(["attrs forkexec", "attrs std_pre_exec"]);
    }
    want.sort();
    assert_eq!(cells, want);
}

#[test]
fn bench_json_has_every_figure_for_every_cell_and_every_target() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("bench.svg");
    let v = bench_json(&[
        "--runs",
        "20",
        "--seconds",
        "0.5",
        "--scenarios",
        "plain,userns,threads",
        "--threads",
        "1,2",
        "--thread-seconds",
        "0.1",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let rows = v["results"].as_array().unwrap();
    let ids = |sc: &str, threads: Option<u64>| -> Vec<String> {
        rows.iter()
            .filter(|r| r["scenario"] == sc && r["threads"].as_u64() == threads)
            .map(|r| r["method"].as_str().unwrap().to_string())
            .collect()
    };
    let all = [
        "forkexec",
        "std",
        "std_pre_exec",
        "posix_spawn",
        "fork_exec",
        "vfork_exec",
        "vfork_pidfd",
    ];
    assert_eq!(ids("plain", None), all);
    // Only forkexec and std's fork path can do namespaces with maps.
    assert_eq!(ids("userns", None), ["forkexec", "std_pre_exec"]);
    assert_eq!(ids("threads", Some(1)), all);
    assert_eq!(ids("threads", Some(2)), all);
    assert_eq!(rows.len(), 7 + 2 + 2 * 7);
    for r in rows {
        assert_eq!(r["rss_mib"], 0);
        let figures: Vec<f64> = ["median_us", "mean_us", "p90_us", "p99_us"]
            .iter()
            .map(|k| r[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}")))
            .collect();
        assert!(figures.iter().all(|&f| f > 0.0), "{r}");
        // p90 and p99 are samples at or above the median.
        assert!(figures[2] >= figures[0] && figures[3] >= figures[2], "{r}");
        let runs = r["runs"].as_u64().unwrap();
        if r["scenario"] == "threads" {
            assert!(runs >= 1, "{r}");
            assert!(r["spawns_per_s"].as_f64().unwrap() > 0.0, "{r}");
        } else {
            assert_eq!(runs, 20, "{r}");
            assert!(r.get("threads").is_none() && r.get("spawns_per_s").is_none());
        }
    }

    // Every issue with a bench target shows in the targets section, judged or with a reason.
    let targets = v["targets"].as_array().unwrap();
    let mut issues: Vec<u64> = targets
        .iter()
        .map(|t| t["issue"].as_u64().unwrap())
        .collect();
    issues.sort_unstable();
    issues.dedup();
    assert_eq!(issues, [2, 3, 10, 13, 15, 16, 17]);
    for t in targets {
        match t["status"].as_str().unwrap() {
            "ok" | "MISSED" => assert!(t["value"].as_f64().unwrap() > 0.0, "{t}"),
            "not measured" => assert!(t["reason"].as_str().unwrap().len() > 5, "{t}"),
            other => panic!("status {other} in {t}"),
        }
    }
    let reason = |goal_part: &str| -> String {
        let t = targets
            .iter()
            .find(|t| t["goal"].as_str().unwrap().contains(goal_part))
            .unwrap_or_else(|| panic!("no target {goal_part}"));
        format!("{} {}", t["status"], t["reason"])
    };
    // Measured in this run: plain at 0 against posix_spawn, 8 threads is not.
    assert!(!reason("faster than glibc").contains("not measured"));
    assert!(reason("8 threads: throughput >= 1.8x glibc").contains("--threads 8 not run"));
    assert!(reason("attributes flat").contains("scenario attrs not run"));
    assert!(reason("bubblewrap").contains("scenario sandbox not run"));

    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for text in [
        "plain: median spawn+wait",
        "userns: median spawn+wait",
        "threads, parent 0: spawns per second",
        "clone3 vfork + pidfd in C (fair floor)",
    ] {
        assert!(svg.contains(text), "the plot lacks {text:?}");
    }
}

/// The async scenario: a row per async method (each sample a batch of 100 spawns), and issue
/// 13's plain target judged on them; the sync methods do not run there.
#[test]
fn bench_async_has_a_row_per_async_method_and_judges_issue_13() {
    let v = bench_json(&["--runs", "3", "--scenarios", "async"]);
    let rows = v["results"].as_array().unwrap();
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["forkexec_tokio", "tokio"]);
    for r in rows {
        assert_eq!(
            (r["scenario"].as_str(), r["runs"].as_u64()),
            (Some("async"), Some(3))
        );
        assert!(r["median_us"].as_f64().unwrap() > 0.0, "{r}");
    }
    let judged = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["goal"] == "forkexec::tokio >= 1.3x tokio::process throughput, plain")
        .unwrap()
        .clone();
    assert!(
        matches!(judged["status"].as_str(), Some("ok" | "MISSED")),
        "{judged}"
    );
    assert_eq!(judged["ratio"], "async tokio@0 / async forkexec_tokio@0");
}

/// One `forkexec bench --json --scenarios sandbox` run, as the test reads it.
struct SandboxRun {
    /// The rows' methods, in order.
    methods: Vec<String>,
    /// (status, reason) of the issue-15 targets: against bwrap, and flat in the parent's size.
    against_bwrap: (String, String),
    flat: (String, String),
    stderr: String,
}

/// The sandbox scenario at 0 with this PATH; None when the machine cannot run it (no Landlock).
fn sandbox_run(path: &std::ffi::OsStr) -> Option<SandboxRun> {
    let out = forkexec()
        .args(["bench", "--json", "--runs", "20", "--seconds", "0.5"])
        .args(["--scenarios", "sandbox"])
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() && stderr.contains("needs Landlock") {
        println!("SKIP: {stderr}");
        return None;
    }
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    for r in rows {
        assert_eq!(r["scenario"], "sandbox", "{r}");
        assert_eq!(
            (r["rss_mib"].as_u64(), r["runs"].as_u64()),
            (Some(0), Some(20)),
            "{r}"
        );
        assert!(r["median_us"].as_f64().unwrap() > 0.0, "{r}");
    }
    let target = |goal: &str| {
        let t = v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["issue"] == 15 && t["goal"].as_str().unwrap().contains(goal))
            .unwrap_or_else(|| panic!("no issue-15 target {goal:?}"));
        let reason = t["reason"].as_str().unwrap_or("").to_string();
        (t["status"].as_str().unwrap().to_string(), reason)
    };
    Some(SandboxRun {
        methods: rows
            .iter()
            .map(|r| r["method"].as_str().unwrap().to_string())
            .collect(),
        against_bwrap: target("bubblewrap"),
        flat: target("flat"),
        stderr,
    })
}

#[test]
fn sandbox_runs_forkexec_std_and_bwrap_or_says_bwrap_is_missing() {
    // As installed here: bwrap is measured when PATH has it, and only then.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let has_bwrap = std::env::split_paths(&path).any(|d| d.join("bwrap").is_file());
    let Some(run) = sandbox_run(&path) else {
        return;
    };
    assert_eq!(run.flat, ("not measured".into(), "--rss 8G not run".into()));
    if has_bwrap {
        assert_eq!(run.methods, ["forkexec", "std_pre_exec", "bwrap"]);
        let status = run.against_bwrap.0.as_str();
        assert!(
            status == "ok" || status == "MISSED",
            "{:?}",
            run.against_bwrap
        );
    } else {
        println!("note: bwrap is not installed here; only its absence is checked");
        assert_eq!(run.methods, ["forkexec", "std_pre_exec"]);
    }
    // Without bwrap in PATH: the other methods still run, and the bench says why bwrap's
    // figure, and so the target, is missing.
    let empty = tempfile::tempdir().unwrap();
    let run = sandbox_run(empty.path().as_os_str()).unwrap();
    assert_eq!(run.methods, ["forkexec", "std_pre_exec"]);
    let (status, reason) = &run.against_bwrap;
    assert_eq!(status, "not measured");
    assert!(
        reason.starts_with("method bwrap not run: bubblewrap is not installed"),
        "{reason}"
    );
    assert!(
        run.stderr
            .contains("method bwrap not measured: bubblewrap is not installed"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_mistakes_exit_2_with_the_reason() {
    for (args, says) in [
        (&["--runs", "0"][..], "--runs must be at least 1"),
        (
            &["--scenarios", "emulate-kernel"][..],
            "is not a scenario: run the others with",
        ),
        (&["--scenarios", "nope"][..], "unknown scenario \"nope\""),
        (&["--methods", "nope"][..], "unknown method \"nope\""),
        (&["--rss", "8T"][..], "bad size"),
        (&["--threads", "0"][..], "0 threads"),
        (&["--target", "/nonexistent/x"][..], "cannot read --target"),
        (&["--rss", "100000G"][..], "resident at once"),
    ] {
        let out = forkexec().arg("bench").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Under an emulated old kernel every method that can run there runs, by default; the fair
/// floor (clone3 in C, no fallback) is said to be not measured, and issue 10's targets are
/// judged on this run's figures.
#[test]
fn emulate_kernel_runs_what_the_old_kernel_can_and_judges_issue_10() {
    let out = forkexec()
        .args(["bench", "--json", "--emulate-kernel", "3.10"])
        .args(["--runs", "5", "--seconds", "0.2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("method vfork_pidfd not measured: it calls clone3"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let methods: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"forkexec") && methods.contains(&"posix_spawn"));
    assert!(!methods.contains(&"vfork_pidfd"), "{methods:?}");
    let judged = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["goal"] == "oldest profile: plain <= 0.85x posix_spawn")
        .unwrap()
        .clone();
    assert!(
        matches!(judged["status"].as_str(), Some("ok" | "MISSED")),
        "{judged}"
    );
}
