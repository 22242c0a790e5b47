/* Prints what a program's memory looks like from inside: its VmSize and VmRSS lines from
 * /proc/self/status, then its /proc/self/maps, for comparing the userland loader's in-place
 * load with the kernel's execve. */
#include <stdio.h>
#include <string.h>

static void copy(const char *path, const char *only) {
  char line[512];
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (!only || !strncmp(line, "VmSize:", 7) || !strncmp(line, "VmRSS:", 6)) fputs(line, stdout);
  if (f) fclose(f);
}

int main(void) {
  copy("/proc/self/status", "Vm");
  copy("/proc/self/maps", NULL);
  return 0;
}
