#pragma once
// The oneDNN CPU engine and each thread's in-order stream, shared by the kernels that call oneDNN
// directly (packed_linear, bf16_matmul). Making a stream per call costs a few microseconds.
#include <oneapi/dnnl/dnnl.hpp>

namespace strata::kernels {

inline dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

inline dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

}  // namespace strata::kernels
