//! The issues' speed goals, and how one run's figures are judged against them.
//!
//! A target is a ratio of two figures of the same run (so drift on the machine cancels out) with
//! a limit. Each scenario declares its own targets beside its definition (scenarios/*.rs), so the
//! targets section always shows every goal: `ok`, `MISSED`, or why it was not measured.

use super::methods::Method;
use super::report::Row;
use super::sizes::size_name;
use serde::Serialize;

/// One figure of a run.
#[derive(Clone, Copy, Debug)]
pub enum Figure {
    /// The median spawn+wait time of `method` in latency scenario `scenario` at `mib` MiB.
    Median {
        scenario: &'static str,
        method: Method,
        mib: u64,
    },
    /// Spawns per second of `method` in the `threads` scenario, `threads` threads, `mib` MiB.
    Rate {
        method: Method,
        threads: usize,
        mib: u64,
    },
}

/// Shorthand for a median figure.
pub const fn median(scenario: &'static str, method: Method, mib: u64) -> Figure {
    Figure::Median {
        scenario,
        method,
        mib,
    }
}

/// Shorthand for a throughput figure.
pub const fn rate(method: Method, threads: usize, mib: u64) -> Figure {
    Figure::Rate {
        method,
        threads,
        mib,
    }
}

/// 8 GiB, the parent size most targets are stated at.
pub const GIB8: u64 = 8192;

/// The limit a ratio must keep.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    AtMost(f64),
    AtLeast(f64),
}

/// What a target measures.
#[derive(Clone, Copy, Debug)]
pub enum Measure {
    /// `num / den` within `limit`.
    Ratio {
        num: Figure,
        den: Figure,
        limit: Limit,
    },
    /// `num / den` within `limit`, in a run under `--emulate-kernel profile`.
    Emulated {
        profile: &'static str,
        num: Figure,
        den: Figure,
        limit: Limit,
    },
}

/// A speed goal from an issue.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub issue: u32,
    /// The goal in words, e.g. "plain spawn faster than glibc's posix_spawn".
    pub goal: &'static str,
    pub measure: Measure,
}

/// What this run selected: the reasons a figure may be missing.
pub struct Selection<'a> {
    pub scenarios: &'a [&'static str],
    pub methods: &'a [Method],
    /// Methods left out because they cannot run here, and why (bwrap not installed).
    pub unavailable: &'a [(Method, String)],
    pub sizes: &'a [u64],
    pub threads: &'a [usize],
    /// The kernel profile the run emulates, if any: then only the targets stated for that
    /// profile are judged (the others are goals on the real kernel).
    pub profile: Option<&'a str>,
}

/// A target judged on one run.
#[derive(Serialize, Clone, Debug)]
pub struct Verdict {
    pub issue: u32,
    pub goal: String,
    /// The ratio as a formula, e.g. "plain forkexec@0 / plain posix_spawn@0".
    pub ratio: String,
    /// "ok", "MISSED" or "not measured".
    pub status: &'static str,
    pub value: Option<f64>,
    /// "<= 0.8" or ">= 1.8".
    pub limit: Option<String>,
    /// Why it was not measured.
    pub reason: Option<String>,
}

fn describe(f: &Figure) -> String {
    match *f {
        Figure::Median {
            scenario,
            method,
            mib,
        } => format!("{scenario} {}@{}", method.id(), size_name(mib)),
        Figure::Rate {
            method,
            threads,
            mib,
        } => format!(
            "{} spawns/s x{threads} threads@{}",
            method.id(),
            size_name(mib)
        ),
    }
}

/// Why the run cannot have the figure: something it needs was not selected.
fn not_selected(f: &Figure, sel: &Selection) -> Option<String> {
    let (scenario, method, mib, threads) = match *f {
        Figure::Median {
            scenario,
            method,
            mib,
        } => (scenario, method, mib, None),
        Figure::Rate {
            method,
            threads,
            mib,
        } => ("threads", method, mib, Some(threads)),
    };
    if !sel.scenarios.contains(&scenario) {
        Some(format!("scenario {scenario} not run"))
    } else if !sel.sizes.contains(&mib) {
        Some(format!("--rss {} not run", size_name(mib)))
    } else if !sel.methods.contains(&method) {
        Some(match sel.unavailable.iter().find(|(m, _)| *m == method) {
            Some((_, why)) => format!("method {} not run: {why}", method.id()),
            None => format!("method {} not run", method.id()),
        })
    } else if threads.is_some_and(|t| !sel.threads.contains(&t)) {
        Some(format!("--threads {} not run", threads.unwrap_or(0)))
    } else {
        None
    }
}

/// The figure's value among the rows.
fn value(f: &Figure, rows: &[Row]) -> Option<f64> {
    match *f {
        Figure::Median {
            scenario,
            method,
            mib,
        } => rows
            .iter()
            .find(|r| {
                r.scenario == scenario
                    && r.method == method.id()
                    && r.rss_mib == mib
                    && r.threads.is_none()
            })
            .map(|r| r.median_us),
        Figure::Rate {
            method,
            threads,
            mib,
        } => rows
            .iter()
            .find(|r| {
                r.scenario == "threads"
                    && r.method == method.id()
                    && r.rss_mib == mib
                    && r.threads == Some(threads)
            })
            .and_then(|r| r.spawns_per_s),
    }
}

/// Judges `t` on this run's rows.
pub fn judge(t: &Target, rows: &[Row], sel: &Selection) -> Verdict {
    let mut v = Verdict {
        issue: t.issue,
        goal: t.goal.to_string(),
        ratio: String::new(),
        status: "not measured",
        value: None,
        limit: None,
        reason: None,
    };
    match t.measure {
        Measure::Ratio { .. } if sel.profile.is_some() => {
            let p = sel.profile.unwrap_or_default();
            v.reason = Some(format!(
                "a goal on the real kernel; this run emulates kernel {p}"
            ));
        }
        Measure::Emulated { profile, .. } if sel.profile != Some(profile) => {
            v.reason = Some(format!("run with --emulate-kernel {profile}"));
        }
        Measure::Ratio { num, den, limit }
        | Measure::Emulated {
            num, den, limit, ..
        } => {
            v.ratio = format!("{} / {}", describe(&num), describe(&den));
            v.limit = Some(match limit {
                Limit::AtMost(l) => format!("<= {l}"),
                Limit::AtLeast(l) => format!(">= {l}"),
            });
            let missing = not_selected(&num, sel).or_else(|| not_selected(&den, sel));
            let figures = (value(&num, rows), value(&den, rows));
            match (missing, figures) {
                (Some(why), _) => v.reason = Some(why),
                (None, (Some(n), Some(d))) => {
                    let value = n / d;
                    let pass = match limit {
                        Limit::AtMost(l) => value <= l,
                        Limit::AtLeast(l) => value >= l,
                    };
                    v.value = Some(value);
                    v.status = if pass { "ok" } else { "MISSED" };
                }
                (None, (n, _)) => {
                    let absent = if n.is_none() { &num } else { &den };
                    v.reason = Some(format!("{} has no figure in this run", describe(absent)));
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, method: Method, mib: u64, median_us: f64) -> Row {
        Row {
            scenario: scenario.into(),
            method: method.id().into(),
            rss_mib: mib,
            median_us,
            mean_us: median_us,
            p90_us: median_us,
            p99_us: median_us,
            runs: 1,
            threads: None,
            spawns_per_s: None,
        }
    }

    const T: Target = Target {
        issue: 2,
        goal: "faster than posix_spawn",
        measure: Measure::Ratio {
            num: median("plain", Method::Forkexec, 0),
            den: median("plain", Method::PosixSpawn, 0),
            limit: Limit::AtMost(0.8),
        },
    };

    fn sel<'a>(scenarios: &'a [&'static str], methods: &'a [Method]) -> Selection<'a> {
        Selection {
            scenarios,
            methods,
            unavailable: &[],
            sizes: &[0],
            threads: &[],
            profile: None,
        }
    }

    #[test]
    fn a_ratio_within_its_limit_is_ok_and_outside_is_missed() {
        let methods = [Method::Forkexec, Method::PosixSpawn];
        let s = sel(&["plain"], &methods);
        let fast = [
            row("plain", Method::Forkexec, 0, 70.0),
            row("plain", Method::PosixSpawn, 0, 100.0),
        ];
        let v = judge(&T, &fast, &s);
        assert_eq!((v.status, v.value), ("ok", Some(0.7)));
        let slow = [
            row("plain", Method::Forkexec, 0, 90.0),
            row("plain", Method::PosixSpawn, 0, 100.0),
        ];
        assert_eq!(judge(&T, &slow, &s).status, "MISSED");
    }

    #[test]
    fn a_figure_outside_the_selection_says_what_was_not_run() {
        let v = judge(&T, &[], &sel(&["attrs"], &[Method::Forkexec]));
        assert_eq!(v.status, "not measured");
        assert_eq!(v.reason.as_deref(), Some("scenario plain not run"));
        let v = judge(&T, &[], &sel(&["plain"], &[Method::Forkexec]));
        assert_eq!(v.reason.as_deref(), Some("method posix_spawn not run"));
    }
}
