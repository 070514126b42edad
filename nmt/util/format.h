#pragma once
// printf-style formatting into a std::string (for tables that are printed and also returned), and
// the reverse for integers (parse_int: the text readers of lid.model and shortlist.tsv).
//   std::string row = format("| %s | %.2f |\n", name.c_str(), score);
//   std::fprintf(stderr, "%s elapsed\n", hms(seconds).c_str());
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace strata {

// The text std::printf(fmt, ...) would print.
inline std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list again;
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, again);
  va_end(again);
  return s;
}

// A whole decimal integer (std::strtoll's syntax); *ok = false for empty text, trailing
// characters or a value outside int64.
inline int64_t parse_int(const std::string& s, bool* ok) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  *ok = !s.empty() && end == s.c_str() + s.size() && errno == 0;
  return v;
}

// Seconds on the steady clock (for elapsed times and rates).
inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A duration for progress lines: "7m05s", "1h52m".
inline std::string hms(double seconds) {
  const int t = static_cast<int>(seconds);
  return t >= 3600 ? format("%dh%02dm", t / 3600, t / 60 % 60) : format("%dm%02ds", t / 60, t % 60);
}

}  // namespace strata
