#pragma once
// The Java-style .properties parser (the contract of every format parser: data/formats.h).
#include <string>
#include <string_view>
#include <vector>

#include "data/formats.h"

namespace strata::data {

// .properties: `key = value` (or `key: value`, `key value`) lines, `#`/`!` comments, `\` line
// continuations, \uXXXX (surrogate pairs combined; a lone surrogate becomes U+FFFD), \n, \t,
// \\ escapes, in keys and values. Read as UTF-8 (Mozilla's are). A value with `;`-separated forms
// and a `#1`-style number is marked plural; its text is the whole value ("#1 file;#1 files").
// A malformed \u escape is an error naming the line.
std::vector<Message> parse_properties(std::string_view text, const std::string& name);

// Unescapes a raw key or value (\uXXXX with surrogate pairs, \t \n \r \f, \x -> x); a bad \u
// escape is an error naming NAME:LINE.
std::string unescape_properties(std::string_view raw, const std::string& name, int line);

}  // namespace strata::data
