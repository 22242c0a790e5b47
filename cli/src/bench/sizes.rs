//! Parent sizes as the user writes them (`0`, `512M`, `8G`) and as the bench prints them.

/// MiB from "0", "512M", "8G" (a bare number is MiB).
pub fn parse_size_mib(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('G') | Some('g') => (&s[..s.len() - 1], 1024),
        Some('M') | Some('m') => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("bad size {s:?} (use e.g. 0, 512M, 8G)"))
}

/// "0", "512M", "8G".
pub fn size_name(mib: u64) -> String {
    if mib == 0 {
        "0".into()
    } else if mib % 1024 == 0 {
        format!("{}G", mib / 1024)
    } else {
        format!("{mib}M")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip() {
        for (text, mib) in [("0", 0), ("512M", 512), ("8G", 8192), ("1536", 1536)] {
            assert_eq!(parse_size_mib(text), Ok(mib));
        }
        assert_eq!(size_name(8192), "8G");
        assert_eq!(size_name(1536), "1536M");
        assert_eq!(size_name(0), "0");
        assert!(parse_size_mib("8T").is_err());
        assert!(parse_size_mib("").is_err());
    }
}
