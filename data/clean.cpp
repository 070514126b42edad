// Cleaning and plausibility rules of data/clean.h: hand-written single-pass scanners (no regex).
#include "data/clean.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
bool istarts_with(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (to_lower(s[i]) != to_lower(p[i])) return false;
  }
  return true;
}

// White space other than ASCII: NBSP, Ogham space, U+2000-U+200A, line/paragraph separators,
// narrow NBSP, medium mathematical space, ideographic space.
bool is_unicode_space(uint32_t cp) {
  return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Removed by clean(): soft hyphen, zero-width space/non-joiner/joiner, LRM/RLM, bidi embeddings
// and overrides (U+202A-U+202E), word joiner, bidi isolates (U+2066-U+2069), BOM.
bool is_invisible(uint32_t cp) {
  return cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
         cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

// Non-ASCII code points that are not letters or digits: punctuation, symbols, spaces, marks of
// formatting, emoji. Everything else non-ASCII counts as a letter (scripts, CJK, kana, ...).
bool is_unicode_non_word(uint32_t cp) {
  if (cp >= 0x80 && cp <= 0x9F) return true;  // C1 controls
  if (cp >= 0xA0 && cp <= 0xBF) {             // Latin-1 punctuation and symbols
    return cp != 0xAA && cp != 0xB2 && cp != 0xB3 && cp != 0xB5 && cp != 0xB9 && cp != 0xBA &&
           cp != 0xBC && cp != 0xBD && cp != 0xBE;
  }
  if (cp == 0xD7 || cp == 0xF7) return true;   // × ÷
  if (cp >= 0x2000 && cp <= 0x2BFF) {          // general punctuation ... misc symbols
    return !(cp >= 0x2070 && cp <= 0x209F) &&  // super/subscripts
           !(cp >= 0x2150 && cp <= 0x218F) &&  // number forms
           !(cp >= 0x2460 && cp <= 0x24FF);    // enclosed alphanumerics
  }
  if (cp >= 0x2E00 && cp <= 0x2E7F) return true;  // supplemental punctuation
  if ((cp >= 0x3000 && cp <= 0x3004) || (cp >= 0x3008 && cp <= 0x3020) || cp == 0x3030 ||
      cp == 0x30FB) {
    return true;  // CJK punctuation, ・
  }
  if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE10 && cp <= 0xFE1F) ||
      (cp >= 0xFE30 && cp <= 0xFE6F) || cp == 0xFEFF) {
    return true;  // variation selectors, vertical/small forms
  }
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
      (cp >= 0xFFE0 && cp <= 0xFFEE) || cp == 0xFFFD) {
    return true;  // full-width punctuation
  }
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return true;  // emoji, pictographs
  return false;
}

// ---------------------------------------------------------------------------------------------
// clean() passes

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";        // …
constexpr std::string_view kFullColon = "\xEF\xBC\x9A";       // ：
constexpr std::string_view kFullOpenParen = "\xEF\xBC\x88";   // （
constexpr std::string_view kFullCloseParen = "\xEF\xBC\x89";  // ）

// "保存(&S)..." -> "保存...": a CJK-style accelerator suffix "(&X)", "(_X)" or "(~X)" (ASCII or
// full-width parentheses, X an ASCII letter or digit) at the end, before any trailing
// "..." / "…" / ":" / "：".
std::string strip_cjk_accelerator(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    const char c = s[end - 1];
    if (c == ' ' || c == '.' || c == ':') {
      --end;
    } else if (ends_with(s.substr(0, end), kEllipsis) || ends_with(s.substr(0, end), kFullColon)) {
      end -= 3;
    } else {
      break;
    }
  }
  const std::string_view head = s.substr(0, end);
  size_t q;
  if (ends_with(head, ")")) {
    q = end - 1;
  } else if (ends_with(head, kFullCloseParen)) {
    q = end - 3;
  } else {
    return std::string(s);
  }
  // s[q-1] = X, s[q-2] = marker, then the opening parenthesis.
  if (q < 3 || !is_alnum(s[q - 1])) return std::string(s);
  const char marker = s[q - 2];
  if (marker != '&' && marker != '_' && marker != '~') return std::string(s);
  size_t open;
  if (s[q - 3] == '(') {
    open = q - 3;
  } else if (q >= 5 && s.substr(q - 5, 3) == kFullOpenParen) {
    open = q - 5;
  } else {
    return std::string(s);
  }
  while (open > 0 && s[open - 1] == ' ') --open;
  std::string out(s.substr(0, open));
  out.append(s.substr(end));
  return out;
}

// A character entity reference at s[i] == '&': &name; &#N; &#xH;
bool entity_at(std::string_view s, size_t i) {
  size_t k = i + 1;
  if (k < s.size() && s[k] == '#') {
    ++k;
    const bool hex = k < s.size() && (s[k] == 'x' || s[k] == 'X');
    if (hex) ++k;
    const size_t start = k;
    while (k < s.size() && (hex ? hex_value(s[k]) >= 0 : is_digit(s[k]))) ++k;
    return k > start && k < s.size() && s[k] == ';';
  }
  if (k >= s.size() || !is_alpha(s[k])) return false;
  const size_t start = k;
  while (k < s.size() && is_alnum(s[k]) && k - start < 32) ++k;
  return k < s.size() && s[k] == ';';
}

bool accel_target(std::string_view s, size_t i) {
  return i < s.size() && (is_alnum(s[i]) || is_high(s[i]));
}

std::string remove_accelerator(std::string s, Accel accel) {
  switch (accel) {
    case Accel::kNone:
      return s;
    case Accel::kTilde: {
      if (s.find('~') == std::string::npos) return s;
      std::string out;
      out.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '~' && accel_target(s, i + 1)) continue;
        out += s[i];
      }
      return out;
    }
    case Accel::kUnderscore: {
      const size_t pos = s.find('_');
      if (pos == std::string::npos || s.find('_', pos + 1) != std::string::npos) return s;
      if (accel_target(s, pos + 1)) s.erase(pos, 1);
      return s;
    }
    case Accel::kAmpersand: {
      if (s.find('&') == std::string::npos) return s;
      std::string out;
      out.reserve(s.size() + 4);
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
          out += s[i];
        } else if (i + 1 < s.size() && s[i + 1] == '&') {
          out += "&amp;";  // a literal '&', turned back by the entity pass
          ++i;
        } else if (entity_at(s, i) || !accel_target(s, i + 1)) {
          out += '&';
        }
      }
      return out;
    }
  }
  return s;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// Markup elements removed by clean() (lower case, sorted). Other "<...>" text, such as
// "<None>" or "<filename>", is text and stays.
// clang-format off
constexpr std::string_view kTags[] = {
    "a", "abbr", "ahelp", "alt", "b", "bdi", "bdo", "big", "blockquote", "bookmark_value", "br",
    "button", "caseinline", "center", "cite", "code", "dd", "defaultinline", "del", "dfn", "div",
    "dl", "dt", "em", "embedvar", "emph", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "input", "ins", "item", "kbd", "label", "li", "link", "mark", "menuitem", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "switchinline",
    "table", "tbody", "td", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "variable"};
// Of those, the ones that separate words (replaced by a space).
constexpr std::string_view kBlockTags[] = {
    "blockquote", "br", "dd", "div", "dl", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "table", "td", "th", "tr"};
// clang-format on

template <size_t N>
constexpr bool is_sorted_set(const std::string_view (&set)[N]) {
  for (size_t i = 1; i < N; ++i) {
    if (!(set[i - 1] < set[i])) return false;
  }
  return true;
}
static_assert(is_sorted_set(kTags) && is_sorted_set(kBlockTags), "tag tables must be sorted");

template <size_t N>
bool in_sorted(const std::string_view (&set)[N], std::string_view name) {
  return std::binary_search(std::begin(set), std::end(set), name);
}

// Length of the markup tag at s[i] == '<' (0 when it is not a known tag); *block is set for
// tags that separate words.
size_t tag_length(std::string_view s, size_t i, bool* block) {
  size_t k = i + 1;
  if (k < s.size() && s[k] == '/') ++k;
  char name[24];
  size_t n = 0;
  const size_t name_start = k;
  while (k < s.size() && (is_alnum(s[k]) || s[k] == '_' || s[k] == ':') && n < sizeof name) {
    name[n++] = to_lower(s[k++]);
  }
  if (n == 0 || !is_alpha(s[name_start]) || k >= s.size()) return 0;
  if (s[k] != '>' && s[k] != '/' && !is_space(s[k])) return 0;
  std::string_view tag(name, n);
  if (starts_with(tag, "html:")) tag.remove_prefix(5);
  if (!in_sorted(kTags, tag)) return 0;
  *block = in_sorted(kBlockTags, tag);
  char quote = 0;
  for (; k < s.size(); ++k) {
    const char c = s[k];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return k + 1 - i;
    } else if (c == '<') {
      return 0;
    }
  }
  return 0;
}

std::string strip_tags(const std::string& s) {
  if (s.find('<') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '<') {
      out += s[i];
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t close = s.find("-->", i + 4);
      if (close != std::string::npos) {
        i = close + 2;
        continue;
      }
    }
    bool block = false;
    const size_t len = tag_length(s, i, &block);
    if (len == 0) {
      out += '<';
      continue;
    }
    i += len - 1;
    if (block) {
      out += ' ';
    } else if (!out.empty() && out.back() == ' ' && i + 1 < s.size() &&
               std::string_view(".,;:!?)").find(s[i + 1]) != std::string_view::npos) {
      out.pop_back();  // "the icon <img ...>." reads "the icon."
    }
  }
  return out;
}

struct NamedEntity {
  std::string_view name;
  uint32_t cp;
};
// Sorted by name (byte order) for binary search.
// clang-format off
constexpr NamedEntity kEntities[] = {
    {"AElig", 0xC6},   {"Aacute", 0xC1},  {"Acirc", 0xC2},   {"Agrave", 0xC0},
    {"Aring", 0xC5},   {"Atilde", 0xC3},  {"Auml", 0xC4},    {"Ccedil", 0xC7},
    {"Dagger", 0x2021}, {"ETH", 0xD0},    {"Eacute", 0xC9},  {"Ecirc", 0xCA},
    {"Egrave", 0xC8},  {"Euml", 0xCB},    {"Iacute", 0xCD},  {"Icirc", 0xCE},
    {"Igrave", 0xCC},  {"Iuml", 0xCF},    {"Ntilde", 0xD1},  {"OElig", 0x152},
    {"Oacute", 0xD3},  {"Ocirc", 0xD4},   {"Ograve", 0xD2},  {"Oslash", 0xD8},
    {"Otilde", 0xD5},  {"Ouml", 0xD6},    {"Prime", 0x2033}, {"Scaron", 0x160},
    {"THORN", 0xDE},   {"Uacute", 0xDA},  {"Ucirc", 0xDB},   {"Ugrave", 0xD9},
    {"Uuml", 0xDC},    {"Yacute", 0xDD},  {"Yuml", 0x178},   {"aacute", 0xE1},
    {"acirc", 0xE2},   {"acute", 0xB4},   {"aelig", 0xE6},   {"agrave", 0xE0},
    {"amp", 0x26},     {"apos", 0x27},    {"aring", 0xE5},   {"asymp", 0x2248},
    {"atilde", 0xE3},  {"auml", 0xE4},    {"bdquo", 0x201E}, {"brvbar", 0xA6},
    {"bull", 0x2022},  {"ccedil", 0xE7},  {"cedil", 0xB8},   {"cent", 0xA2},
    {"circ", 0x2C6},   {"copy", 0xA9},    {"curren", 0xA4},  {"dagger", 0x2020},
    {"darr", 0x2193},  {"deg", 0xB0},     {"divide", 0xF7},  {"eacute", 0xE9},
    {"ecirc", 0xEA},   {"egrave", 0xE8},  {"emsp", 0x2003},  {"ensp", 0x2002},
    {"eth", 0xF0},     {"euml", 0xEB},    {"euro", 0x20AC},  {"fnof", 0x192},
    {"frac12", 0xBD},  {"frac14", 0xBC},  {"frac34", 0xBE},  {"ge", 0x2265},
    {"gt", 0x3E},      {"hArr", 0x21D4},  {"harr", 0x2194},  {"hellip", 0x2026},
    {"iacute", 0xED},  {"icirc", 0xEE},   {"iexcl", 0xA1},   {"igrave", 0xEC},
    {"infin", 0x221E}, {"iquest", 0xBF},  {"iuml", 0xEF},    {"laquo", 0xAB},
    {"larr", 0x2190},  {"ldquo", 0x201C}, {"le", 0x2264},    {"lrm", 0x200E},
    {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3C},     {"macr", 0xAF},
    {"mdash", 0x2014}, {"micro", 0xB5},   {"middot", 0xB7},  {"minus", 0x2212},
    {"nbsp", 0xA0},    {"ndash", 0x2013}, {"ne", 0x2260},    {"not", 0xAC},
    {"ntilde", 0xF1},  {"oacute", 0xF3},  {"ocirc", 0xF4},   {"oelig", 0x153},
    {"ograve", 0xF2},  {"ordf", 0xAA},    {"ordm", 0xBA},    {"oslash", 0xF8},
    {"otilde", 0xF5},  {"ouml", 0xF6},    {"para", 0xB6},    {"permil", 0x2030},
    {"plusmn", 0xB1},  {"pound", 0xA3},   {"prime", 0x2032}, {"quot", 0x22},
    {"rArr", 0x21D2},  {"raquo", 0xBB},   {"rarr", 0x2192},  {"rdquo", 0x201D},
    {"reg", 0xAE},     {"rlm", 0x200F},   {"rsaquo", 0x203A}, {"rsquo", 0x2019},
    {"sbquo", 0x201A}, {"scaron", 0x161}, {"sect", 0xA7},    {"shy", 0xAD},
    {"sup1", 0xB9},    {"sup2", 0xB2},    {"sup3", 0xB3},    {"szlig", 0xDF},
    {"thinsp", 0x2009}, {"thorn", 0xFE},  {"tilde", 0x2DC},  {"times", 0xD7},
    {"trade", 0x2122}, {"uacute", 0xFA},  {"uarr", 0x2191},  {"ucirc", 0xFB},
    {"ugrave", 0xF9},  {"uml", 0xA8},     {"uuml", 0xFC},    {"yacute", 0xFD},
    {"yen", 0xA5},     {"yuml", 0xFF},    {"zwj", 0x200D},   {"zwnj", 0x200C},
};
// clang-format on

constexpr bool entities_sorted() {
  for (size_t i = 1; i < std::size(kEntities); ++i) {
    if (!(kEntities[i - 1].name < kEntities[i].name)) return false;
  }
  return true;
}
static_assert(entities_sorted(), "kEntities must be sorted by name");

// Unescapes HTML character references (named from kEntities, &#N;, &#xH;); unknown names and
// invalid numbers stay as written.
std::string unescape_entities(const std::string& s) {
  if (s.find('&') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&' || !entity_at(s, i)) {
      out += s[i];
      continue;
    }
    const size_t semi = s.find(';', i);
    const std::string_view ref(s.data() + i + 1, semi - i - 1);
    uint32_t cp = 0;
    bool ok = false;
    if (ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      ok = true;
      for (char d : ref.substr(hex ? 2 : 1)) {
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(hex_value(d));
        if (cp > 0x10FFFF) {
          ok = false;
          break;
        }
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
    } else {
      auto it =
          std::lower_bound(std::begin(kEntities), std::end(kEntities), ref,
                           [](const NamedEntity& e, std::string_view n) { return e.name < n; });
      if (it != std::end(kEntities) && it->name == ref) {
        cp = it->cp;
        ok = true;
      }
    }
    if (!ok) {
      out += '&';
      continue;
    }
    append_utf8(out, cp);
    i = semi;
  }
  return out;
}

// Removes invisible characters and control characters, turns every run of white space (ASCII
// and Unicode spaces) into one space, and trims.
std::string tidy_spaces(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (!is_high(c)) {
      ++i;
      if (is_space(c)) {
        pending_space = true;
      } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) {
        if (pending_space && !out.empty()) out += ' ';
        pending_space = false;
        out += c;
      }
      continue;
    }
    size_t len;
    const uint32_t cp = decode_utf8(s, i, &len);
    if (cp != kInvalidCodePoint) {
      if (is_unicode_space(cp)) {
        pending_space = true;
        i += len;
        continue;
      }
      if (is_invisible(cp) || (cp >= 0x80 && cp <= 0x9F)) {
        i += len;
        continue;
      }
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out.append(s, i, len);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Placeholders

// Length of a printf conversion at s[i] == '%' (0 if none): %[N$][flags][width][.prec][len]conv.
size_t printf_length(std::string_view s, size_t i) {
  size_t k = i + 1;
  auto at = [&](size_t j) { return j < s.size() ? s[j] : '\0'; };
  if (is_digit(at(k))) {
    size_t m = k;
    while (is_digit(at(m))) ++m;
    if (at(m) == '$') k = m + 1;
  }
  while (at(k) == '-' || at(k) == '+' || at(k) == '#' || at(k) == '0' || at(k) == '\'') ++k;
  if (at(k) == '*') {
    ++k;
  } else {
    while (is_digit(at(k))) ++k;
  }
  if (at(k) == '.') {
    ++k;
    if (at(k) == '*') {
      ++k;
    } else {
      while (is_digit(at(k))) ++k;
    }
  }
  const char l = at(k);
  if (l == 'h' || l == 'l') {
    ++k;
    if (at(k) == l) ++k;
  } else if (l == 'L' || l == 'q' || l == 'j' || l == 'z' || l == 't') {
    ++k;
  } else if (l == 'I' && at(k + 1) == '6' && at(k + 2) == '4') {
    k += 3;
  }
  static constexpr std::string_view kConversions = "diouxXeEfFgGaAcsSpn@";
  const char c = at(k);
  if (c == '\0' || kConversions.find(c) == std::string_view::npos) return 0;
  return k + 1 - i;
}

// Calls f(begin, end, token) for each placeholder of s, left to right.
template <class F>
void scan_placeholders(std::string_view s, F&& f) {
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 1 >= n) break;
      const char d = s[i + 1];
      if (d == '%') {  // "%%" is a literal percent sign
        ++i;
        continue;
      }
      if (is_upper(d) && i + 2 < n && (is_upper(s[i + 2]) || s[i + 2] == '_')) {
        size_t k = i + 1;  // %PRODUCTNAME-style token (with an optional closing '%')
        while (k < n && (is_upper(s[k]) || is_digit(s[k]) || s[k] == '_')) ++k;
        if (k < n && s[k] == '%') ++k;
        f(i, k, std::string(s.substr(i, k - i)));
        i = k - 1;
        continue;
      }
      const size_t len = printf_length(s, i);
      if (len > 0) {
        f(i, i + len, std::string(s.substr(i, len)));
        i += len - 1;
      } else if (d >= '1' && d <= '9') {  // Qt/LibreOffice %1 .. %9
        f(i, i + 2, std::string(s.substr(i, 2)));
        ++i;
      }
    } else if (c == '$' && i + 1 < n && s[i + 1] == '(') {  // $(ARG1)
      size_t k = i + 2;
      while (k < n && is_word(s[k])) ++k;
      if (k > i + 2 && k < n && s[k] == ')') {
        f(i, k + 1, std::string(s.substr(i, k + 1 - i)));
        i = k;
      }
    } else if (c == '#' && i + 1 < n && is_digit(s[i + 1]) && (i == 0 || s[i - 1] != '&')) {
      size_t k = i + 1;  // Mozilla #1
      while (k < n && is_digit(s[k])) ++k;
      if (k >= n || !is_alpha(s[k])) {
        f(i, k, std::string(s.substr(i, k - i)));
        i = k - 1;
      }
    } else if (c == '{') {
      size_t k = i + 1;
      while (k < n && s[k] == ' ') ++k;
      std::string var;
      if (k < n && s[k] == '$') {  // { $name }
        const size_t start = ++k;
        while (k < n && (is_word(s[k]) || s[k] == '-')) ++k;
        var.assign(s.substr(start, k - start));
      } else if (k < n && is_digit(s[k])) {  // {0}
        const size_t start = k;
        while (k < n && is_digit(s[k])) ++k;
        size_t e = k;
        while (e < n && s[e] == ' ') ++e;
        if (e < n && s[e] == '}') {
          f(i, e + 1, "{" + std::string(s.substr(start, k - start)) + "}");
          i = e;
        }
        continue;
      } else if (k < n && is_upper(s[k])) {  // { NUMBER($n, ...) }
        while (k < n && (is_upper(s[k]) || is_digit(s[k]) || s[k] == '_' || s[k] == '-')) ++k;
        while (k < n && s[k] == ' ') ++k;
        if (k >= n || s[k] != '(') continue;
        const size_t close = s.find(')', k);
        if (close == std::string_view::npos) continue;
        const size_t dollar = s.substr(0, close).find('$', k);
        if (dollar == std::string_view::npos) continue;
        size_t v = dollar + 1;
        while (v < close && (is_word(s[v]) || s[v] == '-')) ++v;
        var.assign(s.substr(dollar + 1, v - dollar - 1));
        k = close + 1;
      } else {
        continue;
      }
      while (k < n && s[k] == ' ') ++k;
      if (!var.empty() && k < n && s[k] == '}') {
        f(i, k + 1, "{ $" + var + " }");
        i = k;
      }
    }
  }
}

// s with every placeholder replaced by a space.
std::string without_placeholders(std::string_view s) {
  std::string out;
  size_t copied = 0;
  scan_placeholders(s, [&](size_t b, size_t e, const std::string&) {
    out.append(s.substr(copied, b - copied));
    out += ' ';
    copied = e;
  });
  out.append(s.substr(copied));
  return out;
}

bool has_placeholder(std::string_view s) {
  bool any = false;
  scan_placeholders(s, [&](size_t, size_t, const std::string&) { any = true; });
  return any;
}

// ---------------------------------------------------------------------------------------------
// Rejection rules

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

// The whole segment is one URL: a scheme://, www., mailto: or about: token.
bool is_url(std::string_view s) {
  while (!s.empty() && (s.front() == '<' || s.front() == '"' || s.front() == '(')) {
    s.remove_prefix(1);
  }
  if (s.empty() || has_space(s)) return false;
  if (istarts_with(s, "www.") || istarts_with(s, "mailto:") || istarts_with(s, "about:")) {
    return true;
  }
  const size_t scheme = s.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return false;
  for (size_t i = 0; i < scheme; ++i) {
    if (!is_alpha(s[i]) && !(i > 0 && (is_digit(s[i]) || s[i] == '+' || s[i] == '-'))) {
      return false;
    }
  }
  return true;
}

// CSS: ^[a-z-]+\s*:\s*[0-9#] ("width: 30em", "color: #fff").
bool is_css(std::string_view s) {
  size_t k = 0;
  while (k < s.size() && (is_lower(s[k]) || s[k] == '-')) ++k;
  if (k == 0) return false;
  while (k < s.size() && is_space(s[k])) ++k;
  if (k >= s.size() || s[k] != ':') return false;
  ++k;
  while (k < s.size() && is_space(s[k])) ++k;
  return k < s.size() && (is_digit(s[k]) || s[k] == '#');
}

// One token (no white space) that looks like an identifier or a path: '.', '/', '\' or '_'
// between word characters, or camelCase (a lower-case letter followed by an upper-case one).
bool is_code(std::string_view s) {
  if (s.empty() || has_space(s)) return false;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const char c = s[i];
    if (is_lower(c) && is_upper(s[i + 1])) return true;
    if (i > 0 && (c == '.' || c == '/' || c == '\\' || c == '_') && is_word(s[i - 1]) &&
        is_word(s[i + 1])) {
      return true;
    }
  }
  return false;
}

bool has_two_letters(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (is_alpha(s[i]) && is_alpha(s[i + 1])) return true;
  }
  return false;
}

// A letter or digit in any script.
bool has_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!is_high(s[i])) {
      if (is_alnum(s[i])) return true;
      ++i;
      continue;
    }
    size_t len;
    const uint32_t cp = decode_utf8(s, i, &len);
    if (cp != kInvalidCodePoint && !is_unicode_non_word(cp) && !is_invisible(cp) &&
        !is_unicode_space(cp)) {
      return true;
    }
    i += len;
  }
  return false;
}

// LibreOffice help build junk: "[text/scalc/01/04060106.xhp#sum_head not found]." and the
// "D'oh! You found a bug" marker of broken links.
bool is_junk(std::string_view s) {
  const size_t xhp = s.find(".xhp");
  if (xhp != std::string_view::npos && s.find("not found", xhp) != std::string_view::npos) {
    return true;
  }
  return s.find("D'oh! You found a bug") != std::string_view::npos;
}

bool is_cjk_language(std::string_view lang) {
  for (std::string_view l : {"ja", "ko", "zh"}) {
    if (starts_with(lang, l) && (lang.size() == 2 || lang[2] == '-' || lang[2] == '_')) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string clean(std::string_view text, Accel accel) {
  std::string s = strip_cjk_accelerator(text);
  s = remove_accelerator(std::move(s), accel);
  if (s.find("%PRODUCTNAME") != std::string::npos) replace_all(s, "%PRODUCTNAME", "LibreOffice");
  s = strip_tags(s);
  s = unescape_entities(s);
  return tidy_spaces(s);
}

std::vector<std::string> placeholders(std::string_view text) {
  std::vector<std::string> out;
  scan_placeholders(text,
                    [&](size_t, size_t, std::string token) { out.push_back(std::move(token)); });
  std::sort(out.begin(), out.end());
  return out;
}

std::string reject_english(const std::string& en, const CleanOptions& opt) {
  if (count_words(en) > opt.max_words || count_chars(en) > opt.max_chars) return "too-long";
  if (opt.drop_placeholders && has_placeholder(en)) return "placeholder";
  if (!has_two_letters(without_placeholders(en))) return "no-letters";
  const std::string_view s = trim(en);
  if (is_url(s)) return "url";
  if (is_css(s)) return "css";
  if (is_code(s)) return "code";
  return "";
}

std::string reject_translation(const std::string& en, const std::string& tr,
                               const std::string& lang, const CleanOptions& opt) {
  if (trim(tr).empty()) return "empty";
  if (tr == en) return "identical";
  if (opt.drop_placeholders && (has_placeholder(tr) || has_placeholder(en))) return "placeholder";
  if (!has_text(without_placeholders(tr))) return "no-text";
  if (placeholders(en) != placeholders(tr)) return "placeholders";
  if (is_junk(tr) || is_junk(en)) return "junk";
  const int en_chars = count_chars(en);
  if (en_chars >= 20) {
    const double ratio = static_cast<double>(count_chars(tr)) / en_chars;
    const bool cjk = is_cjk_language(lang);
    const double lo = cjk ? 0.06 : 0.3;
    const double hi = cjk ? 2.5 : 3.0;
    if (ratio < lo || ratio > hi) return "ratio";
  }
  return "";
}

std::string normalise_key(std::string_view en) {
  std::string out;
  out.reserve(en.size());
  for (size_t i = 0; i < en.size();) {
    const char c = en[i];
    if (!is_high(c)) {
      if (is_alnum(c)) out += to_lower(c);
      ++i;
      continue;
    }
    size_t len;
    const uint32_t cp = decode_utf8(en, i, &len);
    const bool drop =
        cp != kInvalidCodePoint && (is_unicode_non_word(cp) || is_unicode_space(cp) || is_invisible(cp));
    if (!drop) out.append(en, i, len);
    i += len;
  }
  return out;
}

int count_words(std::string_view s) {
  int words = 0;
  bool in_word = false;
  for (char c : s) {
    if (is_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++words;
    }
  }
  return words;
}

int count_chars(std::string_view s) {
  int n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace strata::data
