#pragma once
// Op-level profile with LibTorch's own (legacy, CPU) profiler: the self time per op name (the op's
// time minus the time of the ops it called) as a markdown table. Used by bench/ (--profile) and by
// the trainer (STRATA_PROFILE_UPDATES=A:B profiles updates A+1..B of a real run).
// STRATA_PROFILE_PARENTS=1 keys the rows by "parent > op" instead, to find who calls a cheap op often.
//
//   OpProfile p;                     // starts profiling
//   for (...) step();
//   p.print(stdout, "training step", steps);   // stops and prints
#include <chrono>
#include <cstdio>
#include <string>

namespace strata {

class OpProfile {
 public:
  OpProfile();
  ~OpProfile();  // stops profiling if print was not called
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;
  // Stops profiling and prints "profile: TITLE; STEPS steps; wall ..." and the 20 costliest rows.
  void print(FILE* out, const std::string& title, int steps);

 private:
  std::chrono::steady_clock::time_point t0_;
  bool running_ = true;
};

}  // namespace strata
