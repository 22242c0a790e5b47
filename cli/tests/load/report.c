/* Prints what a program can see of how it was started, for comparing the userland loader
 * with the kernel's execve: argv, envp, the auxv (values that do not depend on addresses,
 * and which pointers are set), the thread name, signal state, open fds, heap and bss. */
#include <dirent.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

extern char **environ;
static char bss[100000];

static void status_line(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key))) fputs(line, stdout);
  if (f) fclose(f);
}

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d] %s\n", i, argv[i]);
  char **e = environ;
  for (; *e; e++) printf("env %s\n", *e);
  for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++) {
    unsigned long t = a->a_type, v = a->a_un.a_val;
    switch (t) {
    case AT_SYSINFO_EHDR: case AT_PHDR: case AT_ENTRY: case AT_BASE: case AT_RANDOM:
      printf("aux %lu set %d\n", t, v != 0);
      break;
    case AT_EXECFN: case AT_PLATFORM:
      printf("aux %lu \"%s\"\n", t, (char *)v);
      break;
    default:
      printf("aux %lu %#lx\n", t, v);
    }
  }
  printf("phdr-entry %#lx\n", getauxval(AT_PHDR) - getauxval(AT_ENTRY));
  unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
  int nz = 0;
  for (int i = 0; i < 16; i++) nz |= r[i];
  printf("random bytes set %d\n", nz != 0);
  status_line("Name:");
  status_line("SigBlk:");
  status_line("SigIgn:");
  status_line("SigCgt:");
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  printf("fds");
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.') printf(" %s", de->d_name);
  printf("\n");
  if (d) closedir(d);
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  char *q = malloc(100);
  strcpy(q, "heap ok");
  puts(q);
  int zero = 1;
  for (size_t i = 0; i < sizeof bss; i++) zero &= bss[i] == 0;
  printf("bss zero %d\n", zero);
  return 40 + argc;
}
