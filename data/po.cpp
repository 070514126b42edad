// gettext .po parser and writer (data/po.h).
#include "data/po.h"

#include <algorithm>
#include <unordered_map>

#include "data/format_helpers.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace strata::data {
namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// Parses the C string literal at line[pos] ('"'), appending its value to *out.
void read_string(std::string_view line, size_t pos, std::string* out, const std::string& name,
                 int lineno) {
  if (pos >= line.size() || line[pos] != '"') fail_at(name, lineno, "expected a string in double quotes");
  size_t i = pos + 1;
  while (true) {
    if (i >= line.size()) fail_at(name, lineno, "string not closed (a '\"' is missing)");
    const char c = line[i];
    if (c == '"') break;
    if (c != '\\') {
      *out += c;
      ++i;
      continue;
    }
    if (i + 1 >= line.size()) fail_at(name, lineno, "string not closed (it ends in a backslash)");
    const char e = line[i + 1];
    i += 2;
    switch (e) {
      case 'n': *out += '\n'; break;
      case 't': *out += '\t'; break;
      case 'r': *out += '\r'; break;
      case 'a': *out += '\a'; break;
      case 'b': *out += '\b'; break;
      case 'f': *out += '\f'; break;
      case 'v': *out += '\v'; break;
      case '\\': *out += '\\'; break;
      case '"': *out += '"'; break;
      case '\'': *out += '\''; break;
      case '?': *out += '?'; break;
      case 'x': {
        int v = 0, digits = 0;
        while (i < line.size() && hex_value(line[i]) >= 0 && digits < 2) v = v * 16 + hex_value(line[i++]), ++digits;
        if (digits == 0) fail_at(name, lineno, "bad \\x escape (expected hex digits)");
        *out += static_cast<char>(v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', digits = 1;
          while (i < line.size() && line[i] >= '0' && line[i] <= '7' && digits < 3) v = v * 8 + (line[i++] - '0'), ++digits;
          *out += static_cast<char>(v & 0xFF);
        } else {
          fail_at(name, lineno, std::string("unknown escape \\") + e);
        }
    }
  }
  for (size_t k = i + 1; k < line.size(); ++k) {
    if (line[k] != ' ' && line[k] != '\t' && line[k] != '\r') {
      fail_at(name, lineno, "text after the closing '\"'");
    }
  }
}

std::string escape_c(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char* oct = "01234567";
          out += '\\';
          out += oct[(c >> 6) & 7];
          out += oct[(c >> 3) & 7];
          out += oct[c & 7];
        } else {
          out += c;
        }
    }
  }
  return out;
}

class PoParser {
 public:
  PoParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  PoFile parse() {
    size_t pos = 0;
    int lineno = 0;
    while (pos < text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      const std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++lineno;
      const size_t bad = find_invalid_utf8(line);
      if (bad != std::string::npos) {
        fail_at(name_, lineno, "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
      }
      handle(line, lineno);
    }
    finish(lineno);
    check_header();
    return std::move(po_);
  }

 private:
  enum class Last { kNone, kContext, kId, kPlural, kStr };

  void handle(std::string_view line, int lineno) {
    const std::string t = trim(line);
    if (t.empty()) {
      finish(lineno);
      return;
    }
    if (t[0] == '#') {
      if (t.size() > 1 && t[1] == '~') {
        if (keyword_seen_ && !cur_.obsolete) finish(lineno);
        cur_.obsolete = true;
        cur_.raw.emplace_back(line);
        return;
      }
      if (keyword_seen_ || cur_.obsolete) finish(lineno);
      cur_.raw.emplace_back(line);
      if (t.size() > 1 && t[1] == ',') {
        std::string_view rest = std::string_view(t).substr(2);
        while (!rest.empty()) {
          const size_t comma = rest.find(',');
          std::string flag = trim(rest.substr(0, comma));
          if (!flag.empty() && std::find(cur_.flags.begin(), cur_.flags.end(), flag) == cur_.flags.end()) {
            cur_.flags.push_back(flag);
          }
          if (comma == std::string_view::npos) break;
          rest.remove_prefix(comma + 1);
        }
        flags_seen_ = true;
      } else if ((t.size() > 1 && t[1] == '|') || flags_seen_) {
        cur_.comments_after_flags.emplace_back(line);
      } else {
        cur_.comments_before_flags.emplace_back(line);
      }
      return;
    }
    if (cur_.obsolete) finish(lineno);
    if (t[0] == '"') {
      std::string* target = current_target();
      if (target == nullptr) fail_at(name_, lineno, "a string continues no keyword");
      read_string(t, 0, target, name_, lineno);
      cur_.raw.emplace_back(line);
      return;
    }
    size_t k = 0;
    while (k < t.size() && (is_alnum(t[k]) || t[k] == '_' || t[k] == '[' || t[k] == ']')) ++k;
    const std::string kw = t.substr(0, k);
    size_t s = k;
    while (s < t.size() && (t[s] == ' ' || t[s] == '\t')) ++s;
    if (kw == "msgctxt" || kw == "msgid") {
      if (last_ == Last::kStr) finish(lineno);
      if (kw == "msgctxt") {
        if (last_ != Last::kNone) fail_at(name_, lineno, "msgctxt must come before msgid");
        cur_.has_context = true;
        last_ = Last::kContext;
      } else {
        if (last_ != Last::kNone && last_ != Last::kContext) fail_at(name_, lineno, "a second msgid");
        last_ = Last::kId;
        cur_.line = lineno;
      }
      if (!keyword_seen_) cur_.keyword_line = cur_.raw.size();
      keyword_seen_ = true;
    } else if (kw == "msgid_plural") {
      if (last_ != Last::kId) fail_at(name_, lineno, "msgid_plural must follow msgid");
      cur_.plural = true;
      last_ = Last::kPlural;
    } else if (kw == "msgstr" || kw.rfind("msgstr[", 0) == 0) {
      if (last_ == Last::kNone || last_ == Last::kContext) fail_at(name_, lineno, "msgstr without msgid");
      if (last_ != Last::kStr) cur_.msgstr_line = cur_.raw.size();
      if (kw == "msgstr") {
        if (cur_.plural) fail_at(name_, lineno, "a plural entry needs msgstr[0], msgstr[1], ...");
        if (!cur_.msgstr.empty()) fail_at(name_, lineno, "a second msgstr");
      } else {
        if (!cur_.plural) fail_at(name_, lineno, "msgstr[N] without msgid_plural");
        const std::string num = kw.substr(7, kw.size() - 8);
        if (kw.back() != ']' || num.empty() || num.size() > 2 ||
            !std::all_of(num.begin(), num.end(), [](char c) { return is_digit(c); }) ||
            std::stoi(num) != static_cast<int>(cur_.msgstr.size())) {
          fail_at(name_, lineno, "expected msgstr[" + std::to_string(cur_.msgstr.size()) + "], not " + kw);
        }
      }
      cur_.msgstr.emplace_back();
      last_ = Last::kStr;
    } else {
      fail_at(name_, lineno, "expected a comment, a keyword (msgctxt, msgid, msgid_plural, msgstr) or a string");
    }
    std::string* target = current_target();
    read_string(t, s, target, name_, lineno);
    cur_.raw.emplace_back(line);
  }

  std::string* current_target() {
    switch (last_) {
      case Last::kContext: return &cur_.context;
      case Last::kId: return &cur_.msgid;
      case Last::kPlural: return &cur_.msgid_plural;
      case Last::kStr: return &cur_.msgstr.back();
      default: return nullptr;
    }
  }

  void finish(int lineno) {
    if (cur_.raw.empty()) return;
    if (!cur_.obsolete) {
      if (!keyword_seen_) {
        cur_.obsolete = true;  // comments only: kept as written
      } else {
        if (last_ != Last::kStr) fail_at(name_, cur_.line > 0 ? cur_.line : lineno, "msgid without msgstr");
        // Each line is valid UTF-8, but an octal or \x escape can make a byte that is not.
        auto check = [&](const std::string& v, const char* what) {
          if (find_invalid_utf8(v) != std::string::npos)
            fail_at(name_, cur_.line > 0 ? cur_.line : lineno,
                    std::string("invalid UTF-8 in ") + what + " (from an octal or \\x escape)");
        };
        check(cur_.context, "msgctxt");
        check(cur_.msgid, "msgid");
        check(cur_.msgid_plural, "msgid_plural");
        for (const std::string& m : cur_.msgstr) check(m, "msgstr");
        const std::string key = (cur_.has_context ? "\x05" + cur_.context : std::string()) + "\x04" + cur_.msgid;
        auto [it, inserted] = seen_.emplace(key, cur_.line);
        if (!inserted) {
          fail_at(name_, cur_.line, "duplicate message definition (first at line " + std::to_string(it->second) + ")");
        }
      }
    }
    po_.entries.push_back(std::move(cur_));
    cur_ = PoEntry();
    keyword_seen_ = flags_seen_ = false;
    last_ = Last::kNone;
  }

  void check_header() {
    for (const PoEntry& e : po_.entries) {
      if (!e.is_header() || e.msgstr.empty()) continue;
      std::string ct = po_header_field(e.msgstr[0], "Content-Type");
      const size_t cs = ct.find("charset=");
      if (cs == std::string::npos) return;
      std::string charset = trim(ct.substr(cs + 8));
      if (!(iequals(charset, "UTF-8") || iequals(charset, "utf8") || iequals(charset, "ASCII") ||
            iequals(charset, "US-ASCII") || charset == "CHARSET")) {
        fail_at(name_, e.line, "the header's charset is " + charset +
                                   ", not UTF-8 (convert the file: msgconv --to-code=UTF-8)");
      }
      return;
    }
  }

  std::string_view text_;
  const std::string& name_;
  PoFile po_;
  PoEntry cur_;
  bool keyword_seen_ = false, flags_seen_ = false;
  Last last_ = Last::kNone;
  std::unordered_map<std::string, int> seen_;
};

}  // namespace

bool PoEntry::fuzzy() const { return std::find(flags.begin(), flags.end(), "fuzzy") != flags.end(); }

void PoEntry::set_fuzzy(bool on) {
  auto it = std::find(flags.begin(), flags.end(), "fuzzy");
  if (on && it == flags.end()) flags.insert(flags.begin(), "fuzzy");
  if (!on && it != flags.end()) flags.erase(it);
  changed = true;
}

bool PoEntry::translated() const {
  return !msgstr.empty() && std::all_of(msgstr.begin(), msgstr.end(), [](const std::string& s) { return !s.empty(); });
}

PoFile parse_po(std::string_view text, const std::string& name) {
  std::string storage;
  const std::string_view src = normalise_newlines(skip_bom(text), storage);
  return PoParser(src, name).parse();
}

std::string po_string_lines(const std::string& keyword, const std::string& value) {
  // Segments end after each "\n".
  std::vector<std::string> segments;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n' && i + 1 < value.size()) {
      segments.push_back(escape_c(std::string_view(value).substr(start, i + 1 - start)));
      start = i + 1;
    }
  }
  segments.push_back(escape_c(std::string_view(value).substr(start)));
  constexpr size_t kWidth = 79;
  if (segments.size() == 1 && keyword.size() + 3 + segments[0].size() <= kWidth) {
    return keyword + " \"" + segments[0] + "\"\n";
  }
  std::string out = keyword + " \"\"\n";
  for (const std::string& seg : segments) {
    std::string_view rest = seg;
    while (rest.size() + 2 > kWidth) {
      // Break after the last space that keeps the line within the width.
      size_t cut = std::string_view::npos;
      for (size_t i = 0; i + 2 < kWidth && i < rest.size(); ++i) {
        if (rest[i] == ' ') cut = i + 1;
      }
      if (cut == std::string_view::npos || cut >= rest.size()) break;
      out += "\"" + std::string(rest.substr(0, cut)) + "\"\n";
      rest.remove_prefix(cut);
    }
    out += "\"" + std::string(rest) + "\"\n";
  }
  return out;
}

std::string write_po(const PoFile& po) {
  std::string out;
  bool first = true;
  for (const PoEntry& e : po.entries) {
    if (!first) out += '\n';
    first = false;
    if (!e.changed || e.obsolete) {
      for (const std::string& l : e.raw) out += l + '\n';
      continue;
    }
    for (const std::string& l : e.comments_before_flags) out += l + '\n';
    if (!e.flags.empty()) {
      out += "#, ";
      for (size_t i = 0; i < e.flags.size(); ++i) out += (i ? ", " : "") + e.flags[i];
      out += '\n';
    }
    for (const std::string& l : e.comments_after_flags) out += l + '\n';
    for (size_t i = e.keyword_line; i < e.msgstr_line && i < e.raw.size(); ++i) {
      const std::string& l = e.raw[i];
      if (!l.empty() && l[0] == '#') continue;  // comments are written above
      out += l + '\n';
    }
    for (size_t i = 0; i < e.msgstr.size(); ++i) {
      out += po_string_lines(e.plural ? "msgstr[" + std::to_string(i) + "]" : "msgstr", e.msgstr[i]);
    }
  }
  return out;
}

namespace {

// The line [begin, end) of `field` in the header text, or begin = npos.
std::pair<size_t, size_t> find_header_field(const std::string& header, const std::string& field) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find('\n', pos);
    if (end == std::string::npos) end = header.size();
    const std::string_view line(header.data() + pos, end - pos);
    if (line.size() > field.size() && line[field.size()] == ':' && iequals(line.substr(0, field.size()), field)) {
      return {pos, end};
    }
    pos = end + 1;
  }
  return {std::string::npos, 0};
}

}  // namespace

std::string po_header_field(const std::string& header, const std::string& field) {
  const auto [begin, end] = find_header_field(header, field);
  if (begin == std::string::npos) return "";
  return trim(std::string_view(header).substr(begin + field.size() + 1, end - begin - field.size() - 1));
}

void set_po_header_field(std::string& header, const std::string& field, const std::string& value) {
  const auto [begin, end] = find_header_field(header, field);
  if (begin != std::string::npos) {
    header.replace(begin, end - begin, field + ": " + value);
    return;
  }
  if (!header.empty() && header.back() != '\n') header += '\n';
  header += field + ": " + value + "\n";
}

}  // namespace strata::data
