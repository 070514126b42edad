#pragma once
// Helpers that the format parsers (data/gettext_mo, fluent, properties, dtd, help_html) share:
// errors naming the file and line, ASCII character classes, BOM and line-end handling, and the
// message list in which a later duplicate key replaces the earlier value.
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/formats.h"

namespace strata::data {

// Throw strata::Error("NAME: what") / ("NAME:LINE: what").
[[noreturn]] void fail(const std::string& name, const std::string& what);
[[noreturn]] void fail_at(const std::string& name, int line, const std::string& what);

// 1-based line number of byte offset `pos`.
int line_at(std::string_view text, size_t pos);

// ASCII character classes.
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// The value of a hexadecimal digit, -1 for any other character.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

// Drops a leading UTF-8 byte order mark.
std::string_view skip_bom(std::string_view text);

// Converts CR LF and lone CR line ends to LF (a copy in `storage` only when the text has a CR).
std::string_view normalise_newlines(std::string_view text, std::string& storage);

// Adds or replaces (same key: the later one wins) a message, keeping first-seen order.
class MessageList {
 public:
  void add(std::string key, std::string text, bool plural);
  std::vector<Message> take() { return std::move(messages_); }

 private:
  std::vector<Message> messages_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace strata::data
