#pragma once
// Process-level set-up shared by every subcommand: thread count and the BLAS check.
#include <cstdint>
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

// How use_spinning_threads lets LibTorch's OpenMP threads wait between parallel regions.
enum class Spin {
  kAlways,   // OMP_WAIT_POLICY=ACTIVE: a process that computes without pause (training)
  kBriefly,  // libgomp's default: spin a little, then sleep (decoding, which may wait for input)
};

// Re-executes the process once with the spinning policy `how` when configure_runtime chose
// PASSIVE (not when the user set a policy). For work whose products all run on LibTorch's own
// OpenMP threads (oneDNN: bf16 training, decoding in the bfloat16 and int8 compute types), where
// waking sleeping threads for each of thousands of small parallel ops costs more than spinning
// (quickstart training on 2 cores of an AMX Xeon: 19.3 -> 15.3 minutes for 3,300 updates; int8
// decoding of Transformer-base on Zen 4: 1.2x; fp32 with ACTIVE runs at a quarter of its PASSIVE
// speed). OpenBLAS gets one thread (unless the user set OPENBLAS_NUM_THREADS) for what still runs
// on it. Call before any side effect: the command starts again from main().
void use_spinning_threads(Spin how = Spin::kAlways);

// OMP_WAIT_POLICY as this process runs with ("" if unset).
std::string omp_wait_policy();

// Sets LibTorch's intra-op threads (0 = all cores) and returns the number in use.
int set_threads(int threads);

// The path of the BLAS library this process loaded (from /proc/self/maps), or "" if none.
std::string loaded_blas();

// Prints a one-line warning to stderr when the loaded BLAS is the slow reference BLAS.
void warn_if_slow_blas();

}  // namespace strata

namespace strata {

// Returns the heap's free memory to the system (malloc_trim): after freeing a large part of a
// model (configure_runtime keeps freed memory otherwise).
void release_free_memory();

// This process's resident memory now (VmRSS) and at its peak (VmHWM), in bytes; -1 if unknown.
int64_t resident_bytes();
int64_t peak_resident_bytes();

}  // namespace strata
