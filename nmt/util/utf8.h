#pragma once
// UTF-8 decoding and encoding shared by the format parsers, the cleaning rules, the BLEU/chrF
// text handling (nmt/eval/python_str) and the CLI's input check.
#include <cstdint>
#include <string>
#include <string_view>

namespace strata {

// Returned by decode_utf8 for a byte that does not start a valid sequence.
constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point at s[i]; *len is its byte length (1 for an invalid byte, which decodes
// to kInvalidCodePoint). Rejects overlong forms, surrogates and values past U+10FFFF.
uint32_t decode_utf8(std::string_view s, size_t i, size_t* len);

// Appends `cp` as UTF-8; surrogates and values past U+10FFFF become U+FFFD.
void append_utf8(std::string& out, uint32_t cp);

// Byte offset of the first invalid UTF-8 sequence, or std::string_view::npos.
size_t find_invalid_utf8(std::string_view s);

}  // namespace strata
