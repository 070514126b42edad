#pragma once
// The x86 intrinsics for the hand-written AVX-512 loops of kernels/ (include in .cpp files only).
#if defined(__x86_64__)
#include <immintrin.h>
#endif
// GCC 12's AVX-512 headers make their _mm512_undefined_* placeholders from themselves (GCC bug
// 105593), which -Wuninitialized reports in every function that inlines a reduction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
