/* Prints what a program can see of how it was started, for comparing the userland loader
 * with the kernel's execve: argv, envp, the auxv (values that do not depend on addresses,
 * and which pointers are set), the thread name, signal state, open fds, heap and bss. */
#include <dirent.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif

extern char **environ;
extern char end;
static char bss[100000];

static void status_line(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key))) fputs(line, stdout);
  if (f) fclose(f);
}

int main(int argc, char **argv) {
  /* The heap starts after the bss, moved up by less than 1 GiB (plus what the C library
   * took before main); a static PIE's starts at ELF_ET_DYN_BASE instead. */
  long from_end = (char *)sbrk(0) - &end;
  long from_base = (char *)sbrk(0) - (char *)0x555555555000L;
  int brk_ok = (from_end >= 0 && from_end < (1025L << 20)) ||
               (getauxval(AT_BASE) == 0 && from_base >= 0 && from_base < (1025L << 20));
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
  /* /proc/self/auxv is the kernel's copy of the auxv: the same pairs. */
  Elf64_auxv_t *stack_auxv = (Elf64_auxv_t *)(e + 1);
  unsigned char buf[1024];
  FILE *fa = fopen("/proc/self/auxv", "r");
  size_t n = fa ? fread(buf, 1, sizeof buf, fa) : 0;
  if (fa) fclose(fa);
  size_t want = 0;
  while (stack_auxv[want].a_type != AT_NULL) want++;
  want = (want + 1) * sizeof(Elf64_auxv_t);
  printf("proc auxv matches %d\n", n == want && !memcmp(buf, stack_auxv, want));
  char cmd[4096];
  FILE *fc = fopen("/proc/self/cmdline", "r");
  size_t cn = fc ? fread(cmd, 1, sizeof cmd, fc) : 0;
  if (fc) fclose(fc);
  size_t off = 0;
  printf("cmdline");
  while (off < cn) { printf(" [%s]", cmd + off); off += strlen(cmd + off) + 1; }
  printf("\n");
  printf("brk after bss %d\n", brk_ok);
#if __has_include(<sys/rseq.h>)
  /* The C library registered its rseq area (the loader's own was unregistered first). */
  if (__rseq_size) {
    struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
    printf("rseq registered %d\n", (int)rs->cpu_id >= 0);
  }
#endif
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
