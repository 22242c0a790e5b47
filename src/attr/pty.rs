//! The size of a pseudo-terminal the child gets as its controlling terminal.

/// Rows and columns of a pty (struct winsize without the pixel fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtySize {
    /// Lines.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

impl Default for PtySize {
    /// 24x80, the VT100's size, as script(1) and creack/pty use when nothing else is known.
    fn default() -> Self {
        PtySize { rows: 24, cols: 80 }
    }
}

impl From<(u16, u16)> for PtySize {
    /// `(rows, cols)`.
    fn from((rows, cols): (u16, u16)) -> Self {
        PtySize { rows, cols }
    }
}
