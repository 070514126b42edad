#pragma once
// Process-level set-up shared by every subcommand: thread count and the BLAS check.
#include <string>

namespace strata {

// Sets LibTorch's intra-op threads (0 = all cores) and returns the number in use.
int set_threads(int threads);

// The path of the BLAS library this process loaded (from /proc/self/maps), or "" if none.
std::string loaded_blas();

// Prints a one-line warning to stderr when the loaded BLAS is the slow reference BLAS.
void warn_if_slow_blas();

}  // namespace strata
