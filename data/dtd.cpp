// The XML .dtd entity parser (data/dtd.h).
#include "data/dtd.h"

#include <cstdint>
#include <string>

#include "data/format_helpers.h"
#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

// Unescapes &#N; &#xH; and the five predefined XML entities; other references stay as written.
std::string unescape_xml(std::string_view v) {
  if (v.find('&') == std::string_view::npos) return std::string(v);
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '&') {
      out += v[i];
      continue;
    }
    const size_t semi = v.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += '&';
      continue;
    }
    const std::string_view ref = v.substr(i + 1, semi - i - 1);
    if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char d : digits) {
        const int h = hex ? hex_value(d) : (is_digit(d) ? d - '0' : -1);
        if (h < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(h);
      }
      if (ok) {
        append_utf8(out, cp);
        i = semi;
        continue;
      }
    } else {
      const char* rep = ref == "amp"    ? "&"
                        : ref == "lt"   ? "<"
                        : ref == "gt"   ? ">"
                        : ref == "quot" ? "\""
                        : ref == "apos" ? "'"
                                        : nullptr;
      if (rep != nullptr) {
        out += rep;
        i = semi;
        continue;
      }
    }
    out += '&';
  }
  return out;
}

}  // namespace

std::vector<Message> parse_dtd(std::string_view input, const std::string& name) {
  const std::string_view text = skip_bom(input);
  MessageList messages;
  size_t p = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  auto skip_ws = [&] {
    while (p < text.size() && is_space(text[p])) ++p;
  };
  // Skips to just past the next '>' outside quotes.
  auto skip_declaration = [&](size_t start) {
    char quote = 0;
    for (; p < text.size(); ++p) {
      if (quote != 0) {
        if (text[p] == quote) quote = 0;
      } else if (text[p] == '"' || text[p] == '\'') {
        quote = text[p];
      } else if (text[p] == '>') {
        ++p;
        return;
      }
    }
    fail_at(name, line_at(text, start), "unterminated declaration");
  };
  while (true) {
    skip_ws();
    if (p >= text.size()) break;
    const size_t start = p;
    if (text.compare(p, 4, "<!--") == 0) {
      const size_t close = text.find("-->", p + 4);
      if (close == std::string_view::npos) fail_at(name, line_at(text, p), "unterminated comment");
      p = close + 3;
    } else if (text.compare(p, 2, "<?") == 0) {
      const size_t close = text.find("?>", p + 2);
      if (close == std::string_view::npos) {
        fail_at(name, line_at(text, p), "unterminated processing instruction");
      }
      p = close + 2;
    } else if (text.compare(p, 8, "<!ENTITY") == 0 && p + 8 < text.size() &&
               is_space(text[p + 8])) {
      p += 8;
      skip_ws();
      if (p < text.size() && text[p] == '%') {  // a parameter entity
        skip_declaration(start);
        continue;
      }
      const size_t name_start = p;
      while (p < text.size() && !is_space(text[p]) && text[p] != '"' && text[p] != '\'' &&
             text[p] != '>') {
        ++p;
      }
      const std::string entity(text.substr(name_start, p - name_start));
      if (entity.empty()) fail_at(name, line_at(text, start), "entity declaration without a name");
      skip_ws();
      if (p < text.size() && (text[p] == '"' || text[p] == '\'')) {
        const char quote = text[p];
        const size_t close = text.find(quote, p + 1);
        if (close == std::string_view::npos) {
          fail_at(name, line_at(text, start), "unterminated value of entity \"" + entity + "\"");
        }
        std::string value = unescape_xml(text.substr(p + 1, close - p - 1));
        p = close + 1;
        skip_ws();
        if (p >= text.size() || text[p] != '>') {
          fail_at(name, line_at(text, p),
                  "expected '>' after the value of entity \"" + entity + "\"");
        }
        ++p;
        messages.add(entity, std::move(value), false);
      } else {  // an external entity (SYSTEM/PUBLIC): no text
        skip_declaration(start);
      }
    } else if (text.compare(p, 2, "<!") == 0) {  // <!ATTLIST ...>, <!ELEMENT ...>
      skip_declaration(start);
    } else if (text[p] == '%') {  // parameter entity reference %name;
      const size_t semi = text.find(';', p);
      if (semi == std::string_view::npos) fail_at(name, line_at(text, p), "unterminated '%name;'");
      p = semi + 1;
    } else {
      fail_at(name, line_at(text, p), "expected <!ENTITY ...> or a comment");
    }
  }
  return messages.take();
}

}  // namespace strata::data
