//! `forkexec bench --json` keeps its contract: one object with results per scenario, method and
//! size. Only the shape is checked: speed is for the benchmark itself, never for a test.

use std::process::Command;

#[test]
fn bench_json_has_one_row_per_method_and_scenario() {
    let out = Command::new(env!("CARGO_BIN_EXE_forkexec"))
        .args([
            "bench",
            "--json",
            "--runs",
            "20",
            "--seconds",
            "0.5",
            "--scenarios",
            "plain,userns",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    let ids = |sc: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["scenario"] == sc)
            .map(|r| r["method"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids("plain"),
        [
            "forkexec",
            "std",
            "std_pre_exec",
            "posix_spawn",
            "fork_exec",
            "vfork_exec"
        ]
    );
    // Only forkexec and std's fork path can do namespaces with maps.
    assert_eq!(ids("userns"), ["forkexec", "std_pre_exec"]);
    for r in rows {
        assert_eq!(r["rss_mib"], 0);
        assert_eq!(r["runs"], 20);
        assert!(r["median_us"].as_f64().unwrap() > 0.0);
    }
}
