// Python str methods over code points (python_str.h); the UTF-8 codec is nmt/util/utf8's.
#include "nmt/eval/python_str.h"

#include <cstdint>
#include <utility>

#include "nmt/eval/unicode_tables.h"
#include "nmt/util/utf8.h"

namespace strata::eval {
namespace {

// CPython's handle_capital_sigma(): U+03A3 at s[i] lowers to final U+03C2 when a cased letter
// precedes it and none follows it (case-ignorable characters skipped on both sides).
bool is_final_sigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

}  // namespace

// NOTE: nmt/util/utf8's decode_utf8 rejects what Python's strict UTF-8 decoder rejects (overlong
// forms, surrogates, values past U+10FFFF, truncated sequences) and steps one byte past an invalid
// one, so every such byte gets its own escape, as with errors="surrogateescape".
std::u32string decode_code_points(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const uint32_t c = decode_utf8(s, i, &len);
    out.push_back(c == kInvalidCodePoint ? 0xDC00 + static_cast<unsigned char>(s[i]) : c);
    i += len;
  }
  return out;
}

std::string encode_code_points(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c >= 0xDC80 && c <= 0xDCFF) {
      out.push_back(static_cast<char>(c - 0xDC00));  // an escaped invalid byte
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

bool is_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::vector<std::u32string> split_ws(const std::u32string& s) {
  std::vector<std::u32string> words;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i < n && is_space(s[i])) ++i;
    size_t j = i;
    while (j < n && !is_space(s[j])) ++j;
    if (j > i) words.emplace_back(s, i, j - i);
    i = j;
  }
  return words;
}

// ' '.join(s.split())
std::u32string squeeze_ws(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (const std::u32string& w : split_ws(s)) {
    if (!out.empty()) out.push_back(U' ');
    out += w;
  }
  return out;
}

std::u32string rstrip_ws(std::u32string s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
  return s;
}

std::u32string strip_ws(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// str.replace(from, to) (all non-overlapping occurrences, left to right).
void replace_all(std::u32string* s, const std::u32string& from, const std::u32string& to) {
  size_t pos = s->find(from);
  if (pos == std::u32string::npos) return;
  std::u32string out;
  size_t start = 0;
  while (pos != std::u32string::npos) {
    out.append(*s, start, pos - start);
    out += to;
    start = pos + from.size();
    pos = s->find(from, start);
  }
  out.append(*s, start, std::u32string::npos);
  *s = std::move(out);
}

std::u32string lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == 0x130) {
      out += U"i\u0307";
    } else if (c == 0x3A3) {
      out.push_back(is_final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(lower_code_point(c));
    }
  }
  return out;
}

std::string unicode_lower(std::string_view text) {
  return encode_code_points(lower(decode_code_points(text)));
}

}  // namespace strata::eval
