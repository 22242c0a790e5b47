//! The environment a command evaluates or runs with, from `--env K=V` and `--env-clear`.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// `KEY=VALUE` strings: this process's environment (or none with `env_clear`), each
/// `--env K=V` replacing the variable of that name in place or appended when new.
pub fn environment(env_clear: bool, settings: &[OsString]) -> Result<Vec<Vec<u8>>, String> {
    let mut env: Vec<Vec<u8>> = if env_clear {
        Vec::new()
    } else {
        std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.into_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_bytes());
                e
            })
            .collect()
    };
    for kv in settings {
        let kv = kv.as_bytes();
        let eq = match kv.iter().position(|&c| c == b'=') {
            Some(0) | None => {
                return Err(format!(
                    "--env wants K=V, got {:?}",
                    String::from_utf8_lossy(kv)
                ));
            }
            Some(i) => i,
        };
        let key = &kv[..=eq];
        match env.iter_mut().find(|e| e.starts_with(key)) {
            Some(slot) => *slot = kv.to_vec(),
            None => env.push(kv.to_vec()),
        }
    }
    Ok(env)
}
