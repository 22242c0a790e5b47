//! Tiny programs: static, no libc, a few dozen bytes of x86_64 code each, written with the
//! library's ELF builder. A spawn of one costs the clone and the exec and nothing else, which
//! is what lets the storm reach 20,000 spawns in seconds on two cores.

use forkexec::model::elf_builder::ElfBuilder;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `exit_group(argc)`: the exit status tells which argv the kernel handed to the program.
#[rustfmt::skip]
const CODE_EXIT_ARGC: &[u8] = &[
    0x48, 0x8b, 0x3c, 0x24,             // mov rdi, [rsp]      ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// `write(1, "x", 1); read(0, buf, 1); exit_group(argc)`: proves it runs (the byte) and then
/// stays alive until its stdin is closed, so the parent can look at it in /proc.
#[rustfmt::skip]
const CODE_PIPE_PROBE: &[u8] = &[
    0x6a, 0x78,                         // push 'x'
    0xb8, 0x01, 0x00, 0x00, 0x00,       // mov eax, 1          ; write
    0xbf, 0x01, 0x00, 0x00, 0x00,       // mov edi, 1
    0x48, 0x89, 0xe6,                   // mov rsi, rsp
    0xba, 0x01, 0x00, 0x00, 0x00,       // mov edx, 1
    0x0f, 0x05,                         // syscall
    0x31, 0xc0,                         // xor eax, eax        ; read
    0x31, 0xff,                         // xor edi, edi
    0x48, 0x89, 0xe6,                   // mov rsi, rsp
    0xba, 0x01, 0x00, 0x00, 0x00,       // mov edx, 1
    0x0f, 0x05,                         // syscall
    0x48, 0x8b, 0x7c, 0x24, 0x08,       // mov rdi, [rsp+8]    ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// `kill(getpid(), SIGSTOP); exit_group(argc)`: stops itself once it runs, so the parent can
/// inspect it with waitid(WSTOPPED) as the proof that the exec is complete (no fd of the
/// parent's is used to signal readiness, so every fd number is free for the test).
#[rustfmt::skip]
const CODE_STOP_PROBE: &[u8] = &[
    0xb8, 0x27, 0x00, 0x00, 0x00,       // mov eax, 39         ; getpid
    0x0f, 0x05,                         // syscall
    0x89, 0xc7,                         // mov edi, eax
    0xbe, 0x13, 0x00, 0x00, 0x00,       // mov esi, 19         ; SIGSTOP
    0xb8, 0x3e, 0x00, 0x00, 0x00,       // mov eax, 62         ; kill
    0x0f, 0x05,                         // syscall
    0x48, 0x8b, 0x3c, 0x24,             // mov rdi, [rsp]      ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// The tiny programs, written once per test process into a private temporary directory.
pub struct Programs {
    _dir: tempfile::TempDir,
    /// Exits with status argc.
    pub exit_argc: PathBuf,
    /// Writes one byte to fd 1, waits for EOF (or a byte) on fd 0, exits with argc.
    pub pipe_probe: PathBuf,
    /// Stops itself with SIGSTOP; after SIGCONT exits with argc.
    pub stop_probe: PathBuf,
    /// A path that does not exist (its directory does).
    pub missing: PathBuf,
}

/// The tiny programs (x86_64 code: callers check [`is_x86_64`]). Call this before starting
/// threads that spawn: a file being written is
/// ETXTBSY to exec for as long as any process (a concurrent clone child, too) holds it open
/// for writing, so they are written once, up front, and never again.
pub fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("forkexec-rel-")
            .tempdir()
            .expect("temp dir");
        // Readable and searchable by everyone: helper processes drop to unprivileged uids.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let write = |name: &str, code: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, ElfBuilder::exec(code).bytes()).expect("write tiny program");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        Programs {
            exit_argc: write("fx-exit-argc", CODE_EXIT_ARGC),
            pipe_probe: write("fx-pipe-probe", CODE_PIPE_PROBE),
            stop_probe: write("fx-stop-probe", CODE_STOP_PROBE),
            missing: dir.path().join("no-such-program"),
            _dir: dir,
        }
    })
}

/// Whether the tiny programs can run here (they are x86_64 code).
pub fn is_x86_64() -> bool {
    cfg!(target_arch = "x86_64")
}
