/* The floor for `forkexec bench`: raw vfork + execve with nothing else, in C, so that the
 * "vfork_exec" method measures the kernel's cost and not any Rust or library code. */
#include <sys/types.h>
#include <unistd.h>

pid_t forkexec_bench_vfork_exec(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = vfork();
    if (pid == 0) {
        execve(path, argv, envp);
        _exit(127);
    }
    return pid;
}
