// Protection of placeholders, markup, URLs and accelerators (data/protect.h).
#include "data/protect.h"

#include <algorithm>
#include <cstring>

#include "data/format_helpers.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

bool word_byte(char c) { return is_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }
bool ident_start(char c) { return is_alpha(c) || c == '_'; }
bool ident_char(char c) { return is_alnum(c) || c == '_'; }
bool upper(char c) { return c >= 'A' && c <= 'Z'; }

// The length of a printf-style directive or other %-placeholder at s[i] ('%'), 0 when none.
size_t match_percent(std::string_view s, size_t i) {
  const size_t n = s.size();
  auto at = [&](size_t k) { return k < n ? s[k] : '\0'; };
  if (at(i + 1) == '%') return 2;
  size_t j = i + 1;
  if (at(j) == '(') {  // Python %(name)s
    size_t k = j + 1;
    while (k < n && k - j < 64 && ident_char(s[k])) ++k;
    if (k == j + 1 || at(k) != ')') return 0;
    j = k + 1;
  } else {
    size_t k = j;
    while (is_digit(at(k))) ++k;
    if (k > j && at(k) == '$') j = k + 1;  // positional %1$s
  }
  while (std::strchr("-+#0'", at(j)) != nullptr && at(j) != '\0') ++j;
  if (at(j) == '*') {
    ++j;
  } else {
    while (is_digit(at(j))) ++j;
  }
  if (at(j) == '.') {
    ++j;
    if (at(j) == '*') {
      ++j;
    } else {
      while (is_digit(at(j))) ++j;
    }
  }
  if (at(j) == '<') {  // <inttypes.h> macros: %<PRIuMAX>
    size_t k = j + 1;
    while (k < n && k - j < 16 && (is_alnum(s[k]) || s[k] == '_')) ++k;
    if (at(k) == '>' && k > j + 4 && s.substr(j + 1, 3) == "PRI") return k + 1 - i;
  }
  // length modifiers
  if ((at(j) == 'h' && at(j + 1) == 'h') || (at(j) == 'l' && at(j + 1) == 'l')) {
    j += 2;
  } else if (std::strchr("hlLqjzt", at(j)) != nullptr && at(j) != '\0') {
    ++j;
  } else if (at(j) == 'I' && ((at(j + 1) == '6' && at(j + 2) == '4') || (at(j + 1) == '3' && at(j + 2) == '2'))) {
    j += 3;
  }
  const char conv = at(j);
  if (conv != '\0' && std::strchr("diouxXeEfFgGaAcspnSCm@", conv) != nullptr) {
    // "%s" followed by a letter is still a directive ("%sfoo"); but an upper-case run like
    // "%PRODUCTNAME" is a LibreOffice placeholder, handled below.
    if (!(upper(conv) && upper(at(j + 1)) && j == i + 1)) return j + 1 - i;
  }
  // Qt / LibreOffice numbered: %1 .. %99, %L1
  j = i + 1;
  if (at(j) == 'L' && is_digit(at(j + 1)) && at(j + 1) != '0') ++j;
  if (is_digit(at(j)) && at(j) != '0') {
    size_t k = j;
    while (is_digit(at(k)) && k - j < 2) ++k;
    return k - i;
  }
  // %PRODUCTNAME, %FILENAME%
  if (upper(at(i + 1)) && upper(at(i + 2))) {
    size_t k = i + 1;
    while (upper(at(k)) || is_digit(at(k)) || at(k) == '_') ++k;
    if (at(k) == '%') ++k;
    return k - i;
  }
  return 0;
}

// Balanced {...} on one line, at most 200 bytes, not empty. Braces inside a "string literal"
// (Fluent's `{ "}" }`, with \" and \\ escapes) do not count.
size_t match_brace(std::string_view s, size_t i) {
  int depth = 0;
  bool content = false, in_string = false;
  for (size_t k = i; k < s.size() && k - i < 200; ++k) {
    const char c = s[k];
    if (c == '\n') return 0;
    if (in_string) {
      if (c == '\\') ++k;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = content = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) return content ? k + 1 - i : 0;
    } else if (c != ' ') {
      content = true;
    }
  }
  return 0;
}

size_t match_dollar(std::string_view s, size_t i) {
  const char open = i + 1 < s.size() ? s[i + 1] : '\0';
  if (open == '(' || open == '{') {
    const char close = open == '(' ? ')' : '}';
    for (size_t k = i + 2; k < s.size() && k - i < 64; ++k) {
      if (s[k] == close) return k > i + 2 ? k + 1 - i : 0;
      if (!ident_char(s[k]) && s[k] != ':' && s[k] != '-' && s[k] != '.') return 0;
    }
    return 0;
  }
  if (!ident_start(open)) return 0;
  size_t k = i + 1;
  while (k < s.size() && ident_char(s[k])) ++k;
  return k - i;
}

size_t match_entity(std::string_view s, size_t i) {
  size_t k = i + 1;
  if (k < s.size() && s[k] == '#') {
    ++k;
    const bool hex = k < s.size() && (s[k] == 'x' || s[k] == 'X');
    if (hex) ++k;
    const size_t start = k;
    while (k < s.size() && k - start < 8 && (hex ? hex_value(s[k]) >= 0 : is_digit(s[k]))) ++k;
    return k > start && k < s.size() && s[k] == ';' ? k + 1 - i : 0;
  }
  const size_t start = k;
  while (k < s.size() && k - start < 32 && is_alnum(s[k])) ++k;
  return k > start && is_alpha(s[start]) && k < s.size() && s[k] == ';' ? k + 1 - i : 0;
}

size_t match_tag(std::string_view s, size_t i) {
  if (s.substr(i, 4) == "<!--") {
    const size_t end = s.find("-->", i + 4);
    return end == std::string_view::npos ? 0 : end + 3 - i;
  }
  size_t k = i + 1;
  if (k < s.size() && s[k] == '/') ++k;
  if (k >= s.size() || !is_alpha(s[k])) return 0;
  for (; k < s.size() && k - i < 300; ++k) {
    if (s[k] == '>') return k + 1 - i;
    if (s[k] == '<' || s[k] == '\n') return 0;
  }
  return 0;
}

// URL or e-mail address starting at a word start.
size_t match_address(std::string_view s, size_t i) {
  size_t k = i;
  // Braces end an address: they are not URL characters (RFC 3986 percent-encodes them), and in a
  // catalogue "www.{ $host }" is an address prefix and a placeable, not one span.
  while (k < s.size() && std::strchr(" \t\n<>\"'`{}", s[k]) == nullptr) ++k;
  while (k > i && std::strchr(".,;:!?)]}'\"", s[k - 1]) != nullptr) --k;
  const std::string_view w = s.substr(i, k - i);
  if (w.size() < 5) return 0;
  size_t p = 0;
  while (p < w.size() && (is_alnum(w[p]) || w[p] == '+' || w[p] == '.' || w[p] == '-')) ++p;
  if (p > 0 && is_alpha(w[0]) && w.substr(p, 3) == "://" && w.size() > p + 3) return w.size();
  if (starts_with(w, "www.") || starts_with(w, "mailto:")) return w.size();
  const size_t at = w.find('@');
  if (at != std::string_view::npos && at > 0 && w.find('.', at) != std::string_view::npos &&
      w.find('@', at + 1) == std::string_view::npos && is_alnum(w[at + 1 < w.size() ? at + 1 : at]) &&
      w.back() != '.') {
    for (char c : w) {
      if (!(is_alnum(c) || std::strchr("._%+-@", c) != nullptr)) return 0;
    }
    return w.size();
  }
  return 0;
}

// --long-option, --opt=VALUE, --color[=WHEN], -x at a word start.
size_t match_option(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return k < s.size() ? s[k] : '\0'; };
  if (at(i + 1) == '-') {
    if (!is_alpha(at(i + 2))) return 0;
    size_t k = i + 2;
    while (is_alnum(at(k)) || at(k) == '-' || at(k) == '_') ++k;
    if (at(k - 1) == '-') return 0;
    if (at(k) == '=' && (is_alnum(at(k + 1)) || at(k + 1) == '[')) {
      ++k;
      while (is_alnum(at(k)) || (at(k) != '\0' && std::strchr("_[]-", at(k)) != nullptr)) ++k;
    } else if (at(k) == '[' && at(k + 1) == '=') {
      const size_t close = s.find(']', k);
      if (close != std::string_view::npos && close - k < 32) k = close + 1;
    }
    return k - i;
  }
  if (is_alpha(at(i + 1)) && !word_byte(at(i + 2)) && at(i + 2) != '-') return 2;
  return 0;
}

bool word_start(std::string_view s, size_t i) {
  return i == 0 || !(word_byte(s[i - 1]) || s[i - 1] == '-' || s[i - 1] == '.' || s[i - 1] == '/');
}

size_t match_at(std::string_view s, size_t i) {
  switch (s[i]) {
    case '%': return match_percent(s, i);
    case '{': return match_brace(s, i);
    case '$': return match_dollar(s, i);
    case '&': return match_entity(s, i);
    case '<': return match_tag(s, i);
    case '#':
      return i + 1 < s.size() && is_digit(s[i + 1]) && s[i + 1] != '0' &&
                     (i + 2 >= s.size() || !is_digit(s[i + 2]))
                 ? 2
                 : 0;
    case '-': return word_start(s, i) ? match_option(s, i) : 0;
    default:
      if (is_alpha(s[i]) && word_start(s, i)) return match_address(s, i);
      return 0;
  }
}

// A printf directive that takes the next argument: %s, %5.2f, %lld, %<PRIuMAX>; not %%,
// positional %1$s, named %(x)s, Qt %1 or %PRODUCTNAME.
bool ordered_directive(const std::string& sp) {
  if (sp.size() < 2 || sp[0] != '%' || sp == "%%" || sp.find('$') != std::string::npos ||
      sp.find('(') != std::string::npos) {
    return false;
  }
  if (sp.back() == '>') return true;
  if (upper(sp[1]) && sp.size() > 2 && upper(sp[2])) return false;  // %PRODUCTNAME, %FILENAME%
  return std::strchr("diouxXeEfFgGaAcspnSCm@", sp.back()) != nullptr;
}

bool cjk_target(const std::string& lang) {
  return lang == "ja" || lang == "ko" || lang.rfind("zh", 0) == 0;
}

// ASCII letters compare case-insensitively; other characters exactly.
bool same_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Is the code point at s[i] a letter or digit (ASCII, or any non-ASCII character that is not
// punctuation we know)?
bool key_char(std::string_view s, size_t i, size_t* len) {
  const uint32_t cp = decode_utf8(s, i, len);
  if (cp == kInvalidCodePoint) return false;
  if (cp < 0x80) return is_alnum(static_cast<char>(cp));
  // Latin-1 punctuation, general punctuation, CJK symbols and full-width forms are not keys.
  if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
      (cp >= 0xFF00 && cp <= 0xFF20)) {
    return false;
  }
  return true;
}

}  // namespace

AccelMode parse_accel_mode(const std::string& s, const std::string& what) {
  if (s == "auto") return AccelMode::kAuto;
  if (s == "none") return AccelMode::kNone;
  if (s == "_") return AccelMode::kUnderscore;
  if (s == "&") return AccelMode::kAmpersand;
  if (s == "~") return AccelMode::kTilde;
  throw Error(what + ": expected auto, none, _, & or ~, not '" + s + "'");
}

std::vector<Span> find_spans(std::string_view s) {
  std::vector<Span> out;
  for (size_t i = 0; i < s.size();) {
    const size_t len = match_at(s, i);
    if (len > 0) {
      out.push_back({i, i + len});
      i += len;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<std::string> protected_spans(std::string_view text) {
  std::vector<std::string> out;
  for (const Span& sp : find_spans(text)) out.emplace_back(text.substr(sp.begin, sp.end - sp.begin));
  return out;
}

std::string protection_token(size_t i) { return "%" + std::to_string(i + 1); }

Protected protect(std::string_view text, const ProtectOptions& opt) {
  Protected p;
  const std::vector<Span> spans = find_spans(text);
  auto inside = [&](size_t pos) {
    for (const Span& sp : spans) {
      if (pos >= sp.begin && pos < sp.end) return true;
    }
    return false;
  };
  // The accelerator: exactly one candidate marker outside the spans.
  size_t marker = std::string::npos;
  if (opt.accel != AccelMode::kNone) {
    int candidates = 0;
    int underscores = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (inside(i)) continue;
      if (c == '_') ++underscores;
      const bool kind_ok =
          (opt.accel == AccelMode::kAuto && (c == '_' || c == '&' || c == '~')) ||
          (opt.accel == AccelMode::kUnderscore && c == '_') ||
          (opt.accel == AccelMode::kAmpersand && c == '&') ||
          (opt.accel == AccelMode::kTilde && c == '~');
      if (!kind_ok) continue;
      if (c == '&' && i + 1 < text.size() && text[i + 1] == '&') {
        ++i;  // "&&" is a literal '&'
        continue;
      }
      size_t len = 0;
      if (i + 1 >= text.size() || !key_char(text, i + 1, &len)) continue;
      if (opt.accel == AccelMode::kAuto && i > 0 && word_byte(text[i - 1])) continue;
      ++candidates;
      marker = i;
    }
    const bool underscore_ok = marker == std::string::npos || text[marker] != '_' || underscores == 1;
    if (candidates != 1 || !underscore_ok) marker = std::string::npos;
  }
  if (marker != std::string::npos) {
    p.accel = text[marker];
    size_t len = 1;
    key_char(text, marker + 1, &len);
    p.accel_key = std::string(text.substr(marker + 1, len));
  }
  if (!opt.placeholders) {
    p.text = std::string(text);
    if (marker != std::string::npos) p.text.erase(marker, 1);
    return p;
  }
  size_t pos = 0;
  for (const Span& sp : spans) {
    for (size_t i = pos; i < sp.begin; ++i) {
      if (i != marker) p.text += text[i];
    }
    p.text += protection_token(p.spans.size());
    p.spans.emplace_back(text.substr(sp.begin, sp.end - sp.begin));
    pos = sp.end;
  }
  for (size_t i = pos; i < text.size(); ++i) {
    if (i != marker) p.text += text[i];
  }
  return p;
}

std::string check_format_order(const std::vector<std::string>& source_spans, const std::string& text,
                               bool format_string = false) {
  std::vector<std::string> want_order, got_order;
  for (const std::string& sp : source_spans) {
    if (ordered_directive(sp)) want_order.push_back(sp);
  }
  if (want_order.empty() && !format_string) return "";
  const std::vector<Span> got_spans = find_spans(text);
  size_t next = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (next < got_spans.size() && i == got_spans[next].begin) {
      const std::string sp = text.substr(i, got_spans[next].end - i);
      if (ordered_directive(sp)) got_order.push_back(sp);
      i = got_spans[next].end - 1;
      ++next;
      continue;
    }
    if (text[i] == '%') return "the translation has a '%' that starts no directive (a format string needs %%)";
  }
  if (got_order != want_order) {
    if (want_order.empty()) return "the translation adds a format directive";
    return "the translation changes the order of the format directives " + want_order[0] +
           (want_order.size() > 1 ? " … " + want_order.back() : "");
  }
  return "";
}

std::string check_format(std::string_view source, const std::string& translation, bool format_string) {
  return check_format_order(protected_spans(source), translation, format_string);
}

Restored restore(const Protected& p, std::string_view translation, const std::string& tgt_lang) {
  Restored r;
  // Tokens of the translation ("%" + digits) and where they are.
  struct Tok {
    size_t begin, end, index;
  };
  std::vector<Tok> toks;
  std::string text;  // the translation, tokens still in
  if (p.spans.empty()) {
    text = std::string(translation);
  } else {
    std::vector<int> seen(p.spans.size(), 0);
    for (size_t i = 0; i < translation.size(); ++i) {
      if (translation[i] != '%' || i + 1 >= translation.size() || !is_digit(translation[i + 1])) continue;
      size_t k = i + 1;
      size_t value = 0;
      while (k < translation.size() && is_digit(translation[k]) && k - i < 4) {
        value = value * 10 + static_cast<size_t>(translation[k] - '0');
        ++k;
      }
      if (value < 1 || value > p.spans.size()) {
        r.problem = "the translation has an unknown token %" + std::to_string(value);
        return r;
      }
      if (++seen[value - 1] > 1) {
        r.problem = "the translation repeats " + p.spans[value - 1];
        return r;
      }
      toks.push_back({i, k, value - 1});
      i = k - 1;
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      if (seen[i] == 0) {
        r.problem = "the translation drops " + p.spans[i];
        return r;
      }
    }
    text = std::string(translation);
  }
  auto in_token = [&](size_t pos) {
    for (const Tok& t : toks) {
      if (pos >= t.begin && pos < t.end) return true;
    }
    return false;
  };
  // The accelerator, inserted into the token text (so never inside a span).
  if (p.accel != 0) {
    const std::string marker(1, p.accel);
    size_t at = std::string::npos;
    if (cjk_target(tgt_lang)) {
      std::string key = p.accel_key;
      if (key.size() == 1 && key[0] >= 'a' && key[0] <= 'z') key[0] = static_cast<char>(key[0] - 'a' + 'A');
      const std::string suffix = "(" + marker + key + ")";
      size_t end = text.size();
      for (const char* tail : {"…", "...", ":", "："}) {
        const size_t n = std::strlen(tail);
        if (end >= n && text.compare(end - n, n, tail) == 0) {
          end -= n;
          break;
        }
      }
      text.insert(end, suffix);
      for (Tok& t : toks) {
        if (t.begin >= end) t.begin += suffix.size(), t.end += suffix.size();
      }
    } else {
      size_t first_letter = std::string::npos;
      for (size_t i = 0; i < text.size();) {
        size_t len = 1;
        if (!in_token(i) && key_char(text, i, &len)) {
          if (first_letter == std::string::npos) first_letter = i;
          if (same_key(std::string_view(text).substr(i, len), p.accel_key)) {
            at = i;
            break;
          }
        }
        i += len;
      }
      if (at == std::string::npos) at = first_letter;
      if (at == std::string::npos) {
        r.problem = "the translation has no letter for the accelerator";
        return r;
      }
      text.insert(at, marker);
      for (Tok& t : toks) {
        if (t.begin >= at) ++t.begin, ++t.end;
      }
    }
  }
  // Tokens back to their spans.
  if (!toks.empty()) {
    std::string out;
    size_t pos = 0;
    for (const Tok& t : toks) {
      out.append(text, pos, t.begin - pos);
      out += p.spans[t.index];
      pos = t.end;
    }
    out.append(text, pos, std::string::npos);
    text = std::move(out);
  }
  // The restored text carries exactly the source's spans (the model may have made new ones).
  std::vector<std::string> want = p.spans;
  if (want.empty()) {
    // Without protection (or without spans) compare with the source's own spans.
    std::string source = p.text;
    want = protected_spans(source);
  }
  std::vector<std::string> got = protected_spans(text);
  // A literal percent ("%%") may be added or left out; it takes no argument.
  auto literal_percent = [](const std::string& x) { return x == "%%"; };
  want.erase(std::remove_if(want.begin(), want.end(), literal_percent), want.end());
  got.erase(std::remove_if(got.begin(), got.end(), literal_percent), got.end());
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  if (want != got) {
    std::vector<std::string> missing, extra;
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
    r.problem = !missing.empty() ? "the translation drops " + missing[0]
                                 : "the translation adds " + extra[0];
    return r;
  }
  // C/Python format strings: unnumbered directives take the arguments in order, and a '%' that
  // starts no directive is an error there (a literal percent is "%%").
  std::vector<std::string> source_order = p.spans.empty() ? protected_spans(p.text) : p.spans;
  r.problem = check_format_order(source_order, text);
  if (!r.problem.empty()) return r;
  r.ok = true;
  r.text = std::move(text);
  return r;
}

size_t mask_row_placeholders(std::vector<std::string>& texts, size_t en) {
  const std::string english = texts.at(en);
  const std::vector<Span> spans = find_spans(english);
  if (spans.empty()) return 0;
  std::vector<std::string> span_text;
  for (const Span& sp : spans) span_text.emplace_back(english, sp.begin, sp.end - sp.begin);
  auto mask = [&](const std::string& text, bool is_english) {
    const std::vector<Span> own = is_english ? spans : find_spans(text);
    std::vector<bool> used(span_text.size(), false);
    std::string out;
    size_t pos = 0;
    for (size_t k = 0; k < own.size(); ++k) {
      const Span& sp = own[k];
      const std::string_view s(text.data() + sp.begin, sp.end - sp.begin);
      size_t index = is_english ? k : span_text.size();
      for (size_t i = 0; !is_english && i < span_text.size(); ++i) {
        if (!used[i] && span_text[i] == s) {
          index = i;
          break;
        }
      }
      if (index == span_text.size()) continue;  // a span the English lacks: left as it is
      used[index] = true;
      out.append(text, pos, sp.begin - pos);
      out += protection_token(index);
      pos = sp.end;
    }
    out.append(text, pos, std::string::npos);
    return out;
  };
  for (size_t l = 0; l < texts.size(); ++l) {
    if (l != en && !texts[l].empty()) texts[l] = mask(texts[l], false);
  }
  texts[en] = mask(english, true);
  return spans.size();
}

}  // namespace strata::data
