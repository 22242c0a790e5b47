//! The parent's part of a new user namespace: writing the child's setgroups, uid_map and
//! gid_map under /proc while the child waits (the release path of `sys::launch`).

use crate::attr::{Attributes, IdMap};

/// Writes setgroups, uid_map and gid_map of `pid` (called while the child waits).
pub(crate) fn write_id_maps(a: &Attributes, pid: i32) -> Result<(), i32> {
    use std::io::Write;
    let write = |file: &str, text: &str| -> Result<(), i32> {
        let path = format!("/proc/{pid}/{file}");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        // One write: the kernel accepts a map only as a single write.
        f.write_all(text.as_bytes())
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    };
    let lines = |maps: &[IdMap]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
            .collect::<String>()
    };
    if !a.uid_map.is_empty() {
        write("uid_map", &lines(&a.uid_map))?;
    }
    // setgroups must be written before gid_map; an unprivileged parent may only write a gid
    // map after "deny", so deny is the default (as Go's GidMappingsEnableSetgroups=false).
    if !a.gid_map.is_empty() || a.setgroups_allow.is_some() {
        let allow = a.setgroups_allow.unwrap_or(false);
        match write("setgroups", if allow { "allow" } else { "deny" }) {
            // Kernels before 3.19 have no setgroups file: nothing to write.
            Err(libc::ENOENT) => {}
            r => r?,
        }
    }
    if !a.gid_map.is_empty() {
        write("gid_map", &lines(&a.gid_map))?;
    }
    Ok(())
}
