//! A pure model of the kernel's execve: binary formats, limits, the initial stack.
