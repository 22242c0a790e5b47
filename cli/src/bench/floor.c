/* The floors for `forkexec bench`: spawns written in C with nothing but the kernel's work, so
 * that the Rust methods can be compared with what the kernel itself costs.
 *
 * - forkexec_bench_vfork_exec: the bare floor, vfork + execve and nothing else.
 * - forkexec_bench_vfork_pidfd: the fair floor, the same system calls forkexec makes for a plain
 *   spawn on this kernel (strace of `forkexec bench --methods forkexec`):
 *     parent: clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|CLONE_CLEAR_SIGHAND) on a stack of its own,
 *             waitid(P_PIDFD), close(pidfd)
 *     child:  rt_sigaction(SIGPIPE, SIG_DFL), close_range(3, ~0, CLOSE_RANGE_CLOEXEC),
 *             rt_sigprocmask(SIG_SETMASK, {}), execve
 *   Where clone3 or CLONE_CLEAR_SIGHAND is missing (before 5.3 / 5.5, or not x86-64) it falls
 *   back to clone(2) as forkexec does, without the by-hand handler reset forkexec then adds: a
 *   floor there, not a replica. The child makes raw system calls only: it shares the parent's
 *   memory, errno included. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define FLOOR_CLONE_CLEAR_SIGHAND 0x100000000ULL
#define FLOOR_CLOSE_RANGE_CLOEXEC 4u
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

pid_t forkexec_bench_vfork_exec(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = vfork();
    if (pid == 0) {
        execve(path, argv, envp);
        _exit(127);
    }
    return pid;
}

struct floor_child {
    const char *path;
    char *const *argv;
    char *const *envp;
};

/* The kernel's sigaction layout (what rt_sigaction takes), not glibc's. */
struct floor_kernel_sigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    uint64_t mask;
};

#if defined(__x86_64__)
static long floor_syscall4(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}
#define FLOOR_RAW(n, a, b, c, d) floor_syscall4((n), (long)(a), (long)(b), (long)(c), (long)(d))
#else
/* Elsewhere glibc's syscall(): it writes errno only on failure, which the bench never hits. */
#define FLOOR_RAW(n, a, b, c, d) syscall((n), (a), (b), (c), (d))
#endif

static int floor_child_main(void *arg)
{
    const struct floor_child *c = arg;
    struct floor_kernel_sigaction dfl = {0};
    uint64_t empty = 0;
    FLOOR_RAW(SYS_rt_sigaction, SIGPIPE, &dfl, 0, 8);
    FLOOR_RAW(SYS_close_range, 3, ~0u, FLOOR_CLOSE_RANGE_CLOEXEC, 0);
    FLOOR_RAW(SYS_rt_sigprocmask, SIG_SETMASK, &empty, 0, 8);
    FLOOR_RAW(SYS_execve, c->path, c->argv, c->envp, 0);
    FLOOR_RAW(SYS_exit_group, 127, 0, 0, 0);
    return 127;
}

#if defined(__x86_64__)
/* The kernel's clone_args up to `cgroup` (5.7): the size forkexec passes too. */
struct floor_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

/* clone3 whose child calls floor_child_main(arg) on the new stack and never returns. */
static long floor_clone3(struct floor_clone_args *args, void *arg)
{
    long ret;
    register long r12 __asm__("r12") = (long)floor_child_main;
    register long r13 __asm__("r13") = (long)arg;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r13, %%rdi\n\t"
                     "call *%%r12\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r12), "r"(r13)
                     : "rcx", "r11", "memory");
    return ret;
}
#endif

/* Spawns path with the fair floor's system calls, waits for it on the pidfd and closes it.
 * Returns the child's wait status, or -errno. The stack is the caller's, used by one child at
 * a time (the parent is suspended until the child execs). */
int forkexec_bench_vfork_pidfd(const char *path, char *const argv[], char *const envp[],
                               void *stack, size_t stack_size)
{
    struct floor_child c = {path, argv, envp};
    uintptr_t top = ((uintptr_t)stack + stack_size) & ~(uintptr_t)15;
    int pidfd = -1;
    long pid = -ENOSYS;
#if defined(__x86_64__)
    static int clone3_state; /* 0 unknown, 1 works, 2 use clone(2) */
    if (clone3_state != 2) {
        struct floor_clone_args args = {
            .flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | FLOOR_CLONE_CLEAR_SIGHAND,
            .pidfd = (uint64_t)(uintptr_t)&pidfd,
            .exit_signal = SIGCHLD,
            .stack = (uint64_t)(uintptr_t)stack,
            .stack_size = top - (uintptr_t)stack,
        };
        pid = floor_clone3(&args, &c);
        if (pid >= 0)
            clone3_state = 1;
        else if (pid == -ENOSYS || (pid == -EINVAL && clone3_state == 0))
            clone3_state = 2;
        else
            return (int)pid;
    }
    if (clone3_state == 2)
#endif
    {
        pid = clone(floor_child_main, (void *)top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                    &c, &pidfd);
        if (pid < 0)
            return -errno;
    }
    siginfo_t info;
    long r;
    do {
        r = syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, 0);
    } while (r < 0 && errno == EINTR);
    int saved = errno;
    close(pidfd);
    if (r < 0)
        return -saved;
    if (info.si_code == CLD_EXITED)
        return (info.si_status & 0xff) << 8;
    return info.si_status & 0x7f;
}
