#pragma once
// Process-level set-up shared by every subcommand: thread count and the BLAS check.
#include <string>

namespace strata {

// Call first in main(). Tunes the process for LibTorch on CPU:
// - OMP_WAIT_POLICY=PASSIVE: LibTorch's OpenMP threads otherwise spin between parallel regions and
//   fight OpenBLAS's own threads for the cores (measured: training 1.8x faster on 2 cores). libgomp
//   reads it when it loads, so the process re-executes itself once with it set (unless the user
//   set it).
// - glibc malloc keeps freed tensor memory instead of returning it with munmap on every free, also
//   for blocks over 32 MB (glibc's largest mmap threshold), which it would otherwise map afresh on
//   every allocation: [tokens, vocab] logits and their gradients are 64 MB at 2,000 tokens and an
//   8k vocabulary, and page-faulting them in cost half of all CPU time in Fuse Distillation
//   training (2.1x faster with the heap; docs/PERFORMANCE.md).
// Neither changes results.
void configure_runtime(char** argv);

// Sets LibTorch's intra-op threads (0 = all cores) and returns the number in use.
int set_threads(int threads);

// The path of the BLAS library this process loaded (from /proc/self/maps), or "" if none.
std::string loaded_blas();

// Prints a one-line warning to stderr when the loaded BLAS is the slow reference BLAS.
void warn_if_slow_blas();

}  // namespace strata
