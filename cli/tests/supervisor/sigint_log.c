/* Logs every SIGINT it receives, with who sent it, until none has come for one second:
 * "INT code=C from=PID" per signal (si_code 128 = SI_KERNEL: a terminal; 0 = SI_USER: kill).
 * SIGINT is blocked and taken with sigtimedwait, so each one is dequeued as soon as it comes. */
#include <signal.h>
#include <stdio.h>
#include <time.h>

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ready\n");
    fflush(stdout);
    struct timespec quiet = {1, 0};
    siginfo_t si;
    while (sigtimedwait(&set, &si, &quiet) == SIGINT) {
        printf("INT code=%d from=%d\n", si.si_code, (int)si.si_pid);
        fflush(stdout);
    }
    return 0;
}
