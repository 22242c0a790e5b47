//! `--status-fd N`: a status channel for supervisors, as bubblewrap's `--json-status-fd`. One
//! JSON object per line on fd N: `{"child-pid":PID}` once the program has started (exec'd),
//! then `{"child-pid":PID,"exit-code":N,"signal":S}` when it has ended (`exit-code` is what
//! forkexec exits with, 128+S when killed by S; `signal` is null for a normal exit).
//!
//! Each line goes out in a single write (atomic on a pipe), blocking like any write: a reader
//! that never reads stalls forkexec, not the program. The child never sees the fd (only fds
//! 0-2 and `--fd` mappings reach it).

use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

pub struct StatusChannel {
    fd: i32,
    file: File,
}

impl StatusChannel {
    /// Opens the channel on this process's fd `fd` (a duplicate, so the number stays the
    /// caller's). A fd that is not open is the user's mistake.
    pub fn open(fd: i32) -> Result<StatusChannel, String> {
        forkexec::fd::dup_inherited(fd)
            .map(|owned| StatusChannel {
                fd,
                file: File::from(owned),
            })
            .map_err(|e| format!("--status-fd {fd}: fd {fd} is not open: {e}"))
    }

    pub fn started(&mut self, pid: u32) {
        self.send(serde_json::json!({ "child-pid": pid }));
    }

    pub fn ended(&mut self, pid: u32, status: ExitStatus, exit_code: i32) {
        self.send(serde_json::json!({
            "child-pid": pid,
            "exit-code": exit_code,
            "signal": status.signal(),
        }));
    }

    /// A supervisor that closed its end must not make the job fail: say so and go on.
    fn send(&mut self, event: serde_json::Value) {
        let mut line = event.to_string();
        line.push('\n');
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            eprintln!("forkexec: --status-fd {}: {e}", self.fd);
        }
    }
}
