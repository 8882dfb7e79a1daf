#pragma once
// MOAT_CHECK guards programming invariants only; never use it on untrusted input (use Result).

#include <cstdio>
#include <cstdlib>

#define MOAT_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
