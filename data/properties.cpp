// The .properties parser (data/properties.h).
#include "data/properties.h"

#include <cstdint>
#include <string>

#include "data/format_helpers.h"
#include "nmt/util/utf8.h"

namespace strata::data {
// Unescapes a .properties key or value (\uXXXX with surrogate pairs, \t \n \r \f, \x -> x).
std::string unescape_properties(std::string_view raw, const std::string& name, int line) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out += c;
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        auto hex4 = [&](size_t at, uint32_t* v) {
          if (at + 4 > raw.size()) return false;
          *v = 0;
          for (size_t k = 0; k < 4; ++k) {
            const int h = hex_value(raw[at + k]);
            if (h < 0) return false;
            *v = *v * 16 + static_cast<uint32_t>(h);
          }
          return true;
        };
        uint32_t cp = 0;
        if (!hex4(i + 1, &cp)) {
          fail_at(name, line,
                  "bad \\u escape (expected 4 hex digits): \"" +
                      std::string(raw.substr(i - 1, std::min<size_t>(6, raw.size() - i + 1))) +
                      "\"");
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < raw.size() && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t low = 0;
          if (hex4(i + 3, &low) && low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);  // a lone surrogate becomes U+FFFD
        break;
      }
      default:
        out += e;
        break;
    }
  }
  return out;
}

namespace {

bool properties_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

}  // namespace

std::vector<Message> parse_properties(std::string_view input, const std::string& name) {
  std::string storage;
  const std::string_view text = normalise_newlines(skip_bom(input), storage);
  MessageList messages;
  size_t p = 0;
  int line = 1;
  std::string logical;
  while (p < text.size()) {
    const int start_line = line;
    while (p < text.size() && properties_space(text[p])) ++p;
    if (p >= text.size()) break;
    if (text[p] == '\n' || text[p] == '#' || text[p] == '!') {
      while (p < text.size() && text[p] != '\n') ++p;
      ++p;
      ++line;
      continue;
    }
    // Gather the logical line: escapes kept, `\` + line end joins the next line (minus its
    // leading white space).
    logical.clear();
    while (p < text.size() && text[p] != '\n') {
      if (text[p] == '\\' && p + 1 < text.size()) {
        if (text[p + 1] == '\n') {
          p += 2;
          ++line;
          while (p < text.size() && properties_space(text[p])) ++p;
          continue;
        }
        logical += text[p];
        logical += text[p + 1];
        p += 2;
        continue;
      }
      if (text[p] == '\\') {  // a backslash at the end of the file
        ++p;
        continue;
      }
      logical += text[p++];
    }
    ++p;
    ++line;
    // key: up to the first unescaped '=', ':' or white space.
    size_t k = 0;
    while (k < logical.size() && logical[k] != '=' && logical[k] != ':' &&
           !properties_space(logical[k])) {
      k += logical[k] == '\\' ? 2 : 1;
    }
    k = std::min(k, logical.size());
    size_t v = k;
    while (v < logical.size() && properties_space(logical[v])) ++v;
    if (v < logical.size() && (logical[v] == '=' || logical[v] == ':')) ++v;
    while (v < logical.size() && properties_space(logical[v])) ++v;
    std::string key = unescape_properties(std::string_view(logical).substr(0, k), name, start_line);
    std::string value = unescape_properties(std::string_view(logical).substr(v), name, start_line);
    if (key.empty()) fail_at(name, start_line, "empty key");
    bool plural = false;
    if (value.find(';') != std::string::npos) {
      for (size_t i = 0; i + 1 < value.size(); ++i) {
        if (value[i] == '#' && is_digit(value[i + 1])) {
          plural = true;
          break;
        }
      }
    }
    messages.add(std::move(key), std::move(value), plural);
  }
  return messages.take();
}

}  // namespace strata::data
