/* An LD_PRELOAD library that says when ld.so loaded it (it must not for a program started in
 * secure mode, AT_SECURE = 1). */
#include <stdio.h>

__attribute__((constructor)) static void loaded(void) { puts("PRELOADED"); }
