#pragma once
// Python's str semantics over Unicode code points, as sacreBLEU's tokenizers and metrics see
// text: UTF-8 decoding with "surrogateescape", str.isspace()/split()/strip()/replace() and the
// full str.lower().
//
// Text is UTF-8. Bytes that are not valid UTF-8 are kept as they are and behave like Python's
// "surrogateescape" code points (one character each, neither space, letter nor punctuation).
#include <string>
#include <string_view>
#include <vector>

namespace strata::eval {

// UTF-8 -> code points. Invalid bytes become U+DC80..U+DCFF (Python's "surrogateescape").
std::u32string decode_code_points(std::string_view s);
// Code points -> UTF-8; U+DC80..U+DCFF are written back as the original bytes.
std::string encode_code_points(const std::u32string& s);

// Python's str.isspace(): what str.split(), str.strip() and str.rstrip() treat as whitespace.
bool is_space(char32_t c);
// str.split() with no argument.
std::vector<std::u32string> split_ws(const std::u32string& s);
// ' '.join(s.split())
std::u32string squeeze_ws(const std::u32string& s);
// str.rstrip() / str.strip() with no argument.
std::u32string rstrip_ws(std::u32string s);
std::u32string strip_ws(const std::u32string& s);
// str.replace(from, to) (all non-overlapping occurrences, left to right).
void replace_all(std::u32string* s, const std::u32string& from, const std::u32string& to);
// str.lower() (full Unicode lower-case mapping, final sigma included).
std::u32string lower(const std::u32string& s);

// Python's str.lower() on UTF-8 text.
std::string unicode_lower(std::string_view text);

}  // namespace strata::eval
