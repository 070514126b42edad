#pragma once
// The allowed range of a numeric setting (config field or command-line option): finite and
// within [lo, hi] (either end open). describe() words it for the one-line errors,
// e.g. "in (0, 10]", ">= 1" or "a finite number".
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

namespace strata {

struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  bool contains(double x) const {
    return std::isfinite(x) && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
  }
  std::string describe() const {
    auto num = [](double x) {
      std::ostringstream os;
      os.precision(10);
      os << x;
      return os.str();
    };
    const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
    if (!has_lo && !has_hi) return "a finite number";
    if (!has_hi) return std::string(lo_open ? "> " : ">= ") + num(lo);
    return std::string(lo_open ? "in (" : "in [") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
  }
  // "must be <describe()>, got <value>"
  template <class T>
  std::string violation(const T& value) const {
    std::ostringstream got;
    got << value;
    return "must be " + describe() + ", got " + got.str();
  }
};

inline Range any_finite() { return {}; }
inline Range at_least(double lo) { return {lo}; }
inline Range above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true}; }
inline Range in(double lo, double hi) { return {lo, hi}; }
inline Range left_open(double lo, double hi) { return {lo, hi, true, false}; }
inline Range prob() { return {0, 1, false, true}; }  // [0, 1): dropout rates, smoothing, betas

}  // namespace strata
