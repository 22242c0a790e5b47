//! This process's mappings, as /proc/self/maps lists them: where its stack is (the new stack
//! goes below it), which mappings are the kernel's own (the vDSO and vvar pages, which an
//! in-place load keeps), and which map the current executable (which must go before
//! /proc/PID/exe can change).

/// One line of /proc/self/maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// The device of the mapped file, as maps prints it ("fe:00"; "00:00" for none).
    pub device: String,
    /// The inode of the mapped file (0 for none).
    pub inode: u64,
    /// The path or the kernel's name (`[stack]`, `[vdso]`), empty for anonymous memory.
    pub name: String,
}

impl Mapping {
    /// Parses one line; None for a line that does not read as maps prints them.
    pub fn parse(line: &str) -> Option<Mapping> {
        let mut fields = line.splitn(6, ' ');
        let range = fields.next()?;
        let _perms = fields.next()?;
        let _offset = fields.next()?;
        let device = fields.next()?.to_string();
        let inode = fields.next()?.parse().ok()?;
        let name = fields.next().unwrap_or("").trim_start().to_string();
        let (a, b) = range.split_once('-')?;
        Some(Mapping {
            start: usize::from_str_radix(a, 16).ok()?,
            end: usize::from_str_radix(b, 16).ok()?,
            device,
            inode,
            name,
        })
    }

    /// Whether this is one of the kernel's mappings that an exec gives the new program: the
    /// vDSO and its data pages (`[vvar]`, and `[vvar_vclock]` since Linux 6.13).
    pub fn is_vdso_or_vvar(&self) -> bool {
        self.name == "[vdso]" || self.name.starts_with("[vvar")
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Always false: the kernel lists no empty mapping.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// The mappings of this process, in address order.
pub fn current() -> std::io::Result<Vec<Mapping>> {
    let text = std::fs::read_to_string("/proc/self/maps")?;
    Ok(text.lines().filter_map(Mapping::parse).collect())
}

/// The main thread's stack (`[stack]`: the mapping that holds the stack start the kernel
/// recorded, which a previous userland load moved to its own stack).
pub fn stack(maps: &[Mapping]) -> Option<&Mapping> {
    maps.iter().find(|m| m.name == "[stack]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_and_without_names() {
        let m = Mapping::parse(
            "7ffc780d8000-7ffc780f9000 rw-p 00000000 00:00 0                          [stack]",
        )
        .unwrap();
        assert_eq!(
            (m.start, m.end, m.name.as_str()),
            (0x7ffc780d8000, 0x7ffc780f9000, "[stack]")
        );
        let f = Mapping::parse(
            "557d21244000-557d21246000 r--p 00000000 fe:00 247030     /usr/bin/my cat",
        )
        .unwrap();
        assert_eq!(
            (f.device.as_str(), f.inode, f.name.as_str()),
            ("fe:00", 247030, "/usr/bin/my cat")
        );
        let anon = Mapping::parse("7f569969f000-7f56996c1000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(anon.name, "");
        assert!(Mapping::parse("garbage").is_none());
        assert!(
            Mapping::parse("7f5699911000-7f5699915000 r--p 00000000 00:00 0   [vvar]")
                .unwrap()
                .is_vdso_or_vvar()
        );
    }
}
