#pragma once
// printf-style formatting into a std::string (for tables that are printed and also returned).
//   std::string row = format("| %s | %.2f |\n", name.c_str(), score);
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

}  // namespace strata
