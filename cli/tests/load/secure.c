/* Prints AT_SECURE as the program received it. */
#include <stdio.h>
#include <sys/auxv.h>

int main(void) {
  printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
  return 0;
}
