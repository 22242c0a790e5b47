//! a.out headers: recognised and reported, never run. x86 lost its a.out loader in Linux 5.19,
//! so on this kernel every a.out file ends in ENOEXEC; recognising one lets us say why.

/// Old impure format: text and data contiguous, writable text.
pub const OMAGIC: u16 = 0o407;
/// Pure text: read-only text, data on the next page boundary.
pub const NMAGIC: u16 = 0o410;
/// Demand-paged: text starts at file offset 1024 (Linux 0.12's only format).
pub const ZMAGIC: u16 = 0o413;
/// Demand-paged with the header inside the first text page.
pub const QMAGIC: u16 = 0o314;
/// `N_MACHINE` for i386.
pub const M_386: u8 = 100;

/// The fields of `struct exec` (32 bytes, little-endian, x86 layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AoutHeader {
    /// `N_MAGIC`: one of OMAGIC, NMAGIC, ZMAGIC, QMAGIC.
    pub magic: u16,
    /// `N_MACHINE` (100 = i386).
    pub machine: u8,
    /// `N_FLAGS`.
    pub flags: u8,
    /// Text size.
    pub a_text: u32,
    /// Data size.
    pub a_data: u32,
    /// BSS size.
    pub a_bss: u32,
    /// Symbol table size.
    pub a_syms: u32,
    /// Entry point.
    pub a_entry: u32,
    /// Text relocation size.
    pub a_trsize: u32,
    /// Data relocation size.
    pub a_drsize: u32,
}

impl AoutHeader {
    /// The magic's traditional name.
    pub fn magic_name(&self) -> &'static str {
        match self.magic {
            OMAGIC => "OMAGIC",
            NMAGIC => "NMAGIC",
            ZMAGIC => "ZMAGIC",
            QMAGIC => "QMAGIC",
            _ => "?",
        }
    }
}

fn word(b: &[u8], i: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(i * 4..i * 4 + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

/// Recognises an a.out header by its magic number (the file must hold the whole header).
pub fn parse(head: &[u8]) -> Option<AoutHeader> {
    if head.len() < 32 {
        return None;
    }
    let info = word(head, 0);
    let magic = (info & 0xffff) as u16;
    if !matches!(magic, OMAGIC | NMAGIC | ZMAGIC | QMAGIC) {
        return None;
    }
    Some(AoutHeader {
        magic,
        machine: ((info >> 16) & 0xff) as u8,
        flags: (info >> 24) as u8,
        a_text: word(head, 1),
        a_data: word(head, 2),
        a_bss: word(head, 3),
        a_syms: word(head, 4),
        a_entry: word(head, 5),
        a_trsize: word(head, 6),
        a_drsize: word(head, 7),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zmagic_i386_header_is_recognised() {
        let mut h = vec![0u8; 32];
        let info: u32 = u32::from(ZMAGIC) | (u32::from(M_386) << 16);
        h[0..4].copy_from_slice(&info.to_le_bytes());
        h[4..8].copy_from_slice(&0x1000u32.to_le_bytes());
        h[20..24].copy_from_slice(&0x1020u32.to_le_bytes());
        let a = parse(&h).unwrap();
        assert_eq!(a.magic_name(), "ZMAGIC");
        assert_eq!(a.machine, M_386);
        assert_eq!(a.a_text, 0x1000);
        assert_eq!(a.a_entry, 0x1020);
    }

    #[test]
    fn other_magics_and_short_files_are_not_aout() {
        assert!(parse(b"\x7fELF").is_none());
        assert!(parse(&[0u8; 32]).is_none());
        let mut h = vec![0u8; 31];
        h[0] = 0x0b;
        h[1] = 0x01;
        assert!(parse(&h).is_none());
        for m in [OMAGIC, NMAGIC, QMAGIC] {
            let mut h = vec![0u8; 32];
            h[0..2].copy_from_slice(&m.to_le_bytes());
            assert!(parse(&h).is_some());
        }
    }
}
