#pragma once
// Training metrics as named sums (name -> value since the last log), reduced across ranks once.
// Loss terms add their own ("ce.loss", "fd.kl", ...), the objective the token counts.
// Usage:
//   TrainMetrics m;
//   m.add("ce.nll", l.nll.item<double>());
//   if (comm) m.all_reduce(*comm);  // one collective for every metric
//   double nll = m.get("ce.nll") / m.get("target_tokens");
//   m.reset();
#include <map>
#include <string>

#include "moe/comm.h"

namespace strata::nmt {

class TrainMetrics {
 public:
  void add(const std::string& name, double value) { sums_[name] += value; }
  double get(const std::string& name) const;  // 0 when never added
  // Sums every value over the ranks: one all-reduce, in name order. Every rank must hold the
  // same names (loss terms add theirs for every batch; the count is checked).
  void all_reduce(moe::Communicator& comm);
  void reset();  // every value to 0; the names stay
  const std::map<std::string, double>& values() const { return sums_; }

 private:
  std::map<std::string, double> sums_;
};

}  // namespace strata::nmt
