// Translating localisation catalogues (data/catalog.h): the shared text pipeline and the .po and
// .properties writers; .ftl is in data/catalog_ftl.cpp.
#include "data/catalog.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "data/catalog_internal.h"
#include "data/format_helpers.h"
#include "data/plural_rules.h"
#include "data/po.h"
#include "data/properties.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace strata::data {

CatalogFormat parse_catalog_format(const std::string& s, const std::string& what) {
  if (s == "text") return CatalogFormat::kText;
  if (s == "po" || s == "pot") return CatalogFormat::kPo;
  if (s == "ftl") return CatalogFormat::kFtl;
  if (s == "properties") return CatalogFormat::kProperties;
  throw Error(what + ": expected text, po, ftl or properties, not '" + s + "'");
}

CatalogScope parse_catalog_scope(const std::string& s, const std::string& what) {
  if (s == "untranslated") return CatalogScope::kUntranslated;
  if (s == "fuzzy") return CatalogScope::kFuzzy;
  if (s == "all") return CatalogScope::kAll;
  throw Error(what + ": expected untranslated, fuzzy or all, not '" + s + "'");
}

// ---- TextBatch ----

namespace {

bool space(char c) { return c == ' ' || c == '\t'; }

// Does the text have a letter outside protection tokens ("%3")?
bool has_letter(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 1 < s.size() && is_digit(s[i + 1])) {
      ++i;
      while (i + 1 < s.size() && is_digit(s[i + 1])) ++i;
      continue;
    }
    if (is_alpha(s[i]) || static_cast<unsigned char>(s[i]) >= 0x80) return true;
  }
  return false;
}

}  // namespace

TextBatch::TextBatch(const ProtectOptions& protect, std::string tgt_lang)
    : protect_(protect), tgt_(std::move(tgt_lang)) {}

void TextBatch::add_piece(Unit& u, std::string_view piece) {
  Part part;
  // A piece without letters outside its spans is copied as it is.
  const std::vector<Span> spans = find_spans(piece);
  std::string rest;
  size_t pos = 0;
  for (const Span& sp : spans) {
    rest.append(piece.substr(pos, sp.begin - pos));
    pos = sp.end;
  }
  rest.append(piece.substr(pos));
  bool letters = false;
  for (char c : rest) letters |= is_alpha(c) || static_cast<unsigned char>(c) >= 0x80;
  if (!letters) {
    part.literal = std::string(piece);
    u.parts.push_back(std::move(part));
    return;
  }
  part.translate = true;
  part.prot = protect(piece, protect_);
  if (!has_letter(part.prot.text)) {  // e.g. "_1" with the accelerator removed
    part.translate = false;
    part.literal = std::string(piece);
    u.parts.push_back(std::move(part));
    return;
  }
  auto [it, inserted] = query_index_.emplace(part.prot.text, static_cast<int>(queries_.size()));
  if (inserted) queries_.push_back(part.prot.text);
  part.query = it->second;
  u.any_translated = true;
  u.parts.push_back(std::move(part));
}

int TextBatch::add(std::string_view text) {
  Unit u;
  u.source = std::string(text);
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    // Columns: runs of 2+ spaces or a tab separate pieces (never inside a protected span);
    // white space is kept as it is.
    const std::vector<Span> spans = find_spans(line);
    auto span_end = [&](size_t pos) {  // the end of the span that contains pos, or pos
      for (const Span& sp : spans) {
        if (pos >= sp.begin && pos < sp.end) return sp.end;
      }
      return pos;
    };
    size_t i = 0;
    while (i < line.size()) {
      size_t ws = i;
      while (ws < line.size() && space(line[ws])) ++ws;
      if (ws > i) {
        Part lit;
        lit.literal = std::string(line.substr(i, ws - i));
        u.parts.push_back(std::move(lit));
        i = ws;
        continue;
      }
      size_t end = i;
      while (end < line.size()) {
        const size_t skip = span_end(end);
        if (skip != end) {
          end = skip;
          continue;
        }
        if (line[end] == '\t') break;
        if (line[end] == ' ' && (end + 1 >= line.size() || space(line[end + 1]))) break;
        ++end;
      }
      add_piece(u, line.substr(i, end - i));
      i = end;
    }
    if (line_end >= text.size()) break;
    Part nl;
    nl.literal = "\n";
    u.parts.push_back(std::move(nl));
    line_start = line_end + 1;
  }
  units_.push_back(std::move(u));
  return static_cast<int>(units_.size()) - 1;
}

void TextBatch::run(const TranslateFn& translate) {
  if (queries_.empty()) return;
  answers_ = translate(queries_);
  if (answers_.size() != queries_.size()) {
    throw Error("internal: the translator returned " + std::to_string(answers_.size()) +
                " translations for " + std::to_string(queries_.size()) + " pieces");
  }
}

TextBatch::Result TextBatch::result(int id, bool format_string) const {
  const Unit& u = units_.at(static_cast<size_t>(id));
  Result r;
  r.copied = !u.any_translated;
  std::string raw;  // the model's output with tokens, for the comment of a flagged string
  for (const Part& p : u.parts) {
    if (!p.translate) {
      r.text += p.literal;
      raw += p.literal;
      continue;
    }
    const std::string& answer = answers_.at(static_cast<size_t>(p.query));
    raw += answer;
    if (!r.problem.empty()) continue;
    bool blank = true;
    for (char c : answer) blank &= space(c);
    if (blank) {
      r.problem = "the translation is empty";
      continue;
    }
    Restored back = restore(p.prot, answer, tgt_);
    if (!back.ok) {
      r.problem = back.problem;
      continue;
    }
    r.text += back.text;
  }
  // A format string checked whole: a stray '%' in a piece without directives counts too.
  if (r.problem.empty() && !r.copied) r.problem = check_format(u.source, r.text, format_string);
  r.ok = r.problem.empty();
  if (!r.ok) {
    r.text.clear();
    r.refused = raw;
  }
  return r;
}

// ---- .po ----

namespace {

void note_flag(CatalogStats* st, const std::string& name, int line, const std::string& what,
               const std::string& problem) {
  ++st->flagged;
  st->problems.push_back(name + ":" + std::to_string(line) + ": " + what + ": " + problem);
}

// Which source form each msgstr[i] translates: the singular for the form that n = 1 selects,
// unless that form also serves other numbers and the singular lacks a placeholder the plural has.
std::vector<bool> singular_forms(const PluralForms& pf, const std::string& msgid,
                                 const std::string& msgid_plural) {
  std::vector<bool> singular(static_cast<size_t>(pf.nplurals()), false);
  const int one = pf.index(1);
  if (one < 0) return singular;
  bool shared = false;
  for (unsigned long n = 0; n <= 1000; ++n) {
    if (n != 1 && pf.index(n) == one) shared = true;
  }
  std::vector<std::string> a = protected_spans(msgid), b = protected_spans(msgid_plural);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  singular[static_cast<size_t>(one)] = !shared || a == b;
  return singular;
}

std::string fill_po(std::string_view input, const std::string& name, const CatalogOptions& opt,
                    const TranslateFn& translate, CatalogStats* st) {
  PoFile po = parse_po(input, name);
  // The header: Language, Plural-Forms and charset for the target language.
  PoEntry* header = nullptr;
  for (PoEntry& e : po.entries) {
    if (e.is_header()) header = &e;
  }
  if (header == nullptr) {
    PoEntry h;
    h.raw = {"msgid \"\"", "msgstr \"\""};
    h.keyword_line = 0;
    h.msgstr_line = 1;
    h.msgstr = {""};
    h.line = 1;
    po.entries.insert(po.entries.begin(), std::move(h));
    header = &po.entries.front();
  }
  std::string& head = header->msgstr.at(0);
  const std::string language = po_header_field(head, "Language");
  std::string tgt_code = opt.tgt_lang;
  std::replace(tgt_code.begin(), tgt_code.end(), '-', '_');
  if (!language.empty() && language != opt.tgt_lang && language != tgt_code) {
    throw Error(name + ":" + std::to_string(header->line) + ": the catalogue's Language is " +
                language + ", not " + opt.tgt_lang + " (--tgt-lang)");
  }
  std::string plural_forms = po_header_field(head, "Plural-Forms");
  const bool template_forms = plural_forms.empty() || plural_forms.find("INTEGER") != std::string::npos;
  if (template_forms) {
    plural_forms = gettext_plural_forms(opt.tgt_lang);
    bool any_plural = false;
    for (const PoEntry& e : po.entries) any_plural |= e.plural && !e.obsolete;
    if (plural_forms.empty() && any_plural) {
      throw Error(name + ": no Plural-Forms is known for '" + opt.tgt_lang +
                  "': put the language's \"Plural-Forms: nplurals=N; plural=EXPRESSION;\" in the header");
    }
  }
  const std::string before = head;
  if (language.empty()) set_po_header_field(head, "Language", tgt_code);
  if (template_forms && !plural_forms.empty()) set_po_header_field(head, "Plural-Forms", plural_forms);
  const std::string content_type = po_header_field(head, "Content-Type");
  if (content_type.empty() || content_type.find("CHARSET") != std::string::npos) {
    set_po_header_field(head, "Content-Type", "text/plain; charset=UTF-8");
  }
  if (po_header_field(head, "Content-Transfer-Encoding").empty() ||
      po_header_field(head, "Content-Transfer-Encoding") == "ENCODING") {
    set_po_header_field(head, "Content-Transfer-Encoding", "8bit");
  }
  if (head != before) {
    header->changed = true;
    // A template's header is fuzzy; once it names the language and its plural forms it is not.
    if (header->fuzzy()) header->set_fuzzy(false);
  }
  std::unique_ptr<PluralForms> pf;
  if (!plural_forms.empty()) pf = std::make_unique<PluralForms>(plural_forms, name + ": Plural-Forms");

  ProtectOptions popt;
  popt.placeholders = opt.protect;
  popt.accel = opt.accel_set ? opt.accel : AccelMode::kAuto;
  TextBatch batch(popt, opt.tgt_lang);
  struct Job {
    PoEntry* e;
    int singular = -1, plural = -1;
  };
  std::vector<Job> jobs;
  for (PoEntry& e : po.entries) {
    if (e.obsolete || e.is_header() || e.msgid.empty()) continue;
    ++st->entries;
    const bool replace = !e.translated() || (opt.scope == CatalogScope::kFuzzy && e.fuzzy()) ||
                         opt.scope == CatalogScope::kAll;
    if (!replace) {
      ++st->kept;
      continue;
    }
    if (e.plural && !pf) throw Error(name + ":" + std::to_string(e.line) + ": a plural entry needs Plural-Forms");
    Job j{&e};
    j.singular = batch.add(e.msgid);
    if (e.plural) j.plural = batch.add(e.msgid_plural);
    jobs.push_back(j);
  }
  batch.run(translate);
  for (const Job& j : jobs) {
    PoEntry& e = *j.e;
    bool format_string = false;  // "c-format", "python-format", ...; not "no-c-format"
    for (const std::string& f : e.flags) {
      format_string |= f.size() > 7 && f.compare(f.size() - 7, 7, "-format") == 0 && f.rfind("no-", 0) != 0;
    }
    const TextBatch::Result one = batch.result(j.singular, format_string);
    TextBatch::Result many;
    if (e.plural) many = batch.result(j.plural, format_string);
    const bool ok = one.ok && (!e.plural || many.ok);
    // Drop an earlier comment of ours.
    auto& comments = e.comments_before_flags;
    comments.erase(std::remove_if(comments.begin(), comments.end(),
                                  [](const std::string& c) { return c.rfind("# strata:", 0) == 0; }),
                   comments.end());
    if (!ok) {
      const std::string problem = !one.ok ? one.problem : many.problem;
      note_flag(st, name, e.line, "msgid \"" + one_line(e.msgid.substr(0, 40)) + "\"", problem);
      if (opt.comment_flagged) {
        // Translator comments ("# ") come first in an entry.
        comments.insert(comments.begin(), "# strata: not translated (" + one_line(problem) + "): " +
                           one_line(!one.ok ? one.refused : many.refused));
        e.changed = true;
      }
      continue;
    }
    if (e.plural) {
      const std::vector<bool> singular = singular_forms(*pf, e.msgid, e.msgid_plural);
      e.msgstr.assign(static_cast<size_t>(pf->nplurals()), "");
      for (size_t i = 0; i < e.msgstr.size(); ++i) e.msgstr[i] = singular[i] ? one.text : many.text;
    } else {
      e.msgstr.assign(1, one.text);
    }
    e.changed = true;
    const bool copied = one.copied && (!e.plural || many.copied);
    if (copied) {
      ++st->copied;
      e.set_fuzzy(false);
    } else {
      ++st->translated;
      e.set_fuzzy(opt.mark_fuzzy);
    }
  }
  return write_po(po);
}

// ---- .properties ----

bool prop_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

std::string escape_properties(std::string_view v, bool ascii) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (static_cast<unsigned char>(c) >= 0x80 && ascii) {
      size_t len = 1;
      uint32_t cp = decode_utf8(v, i, &len);
      if (cp == kInvalidCodePoint) cp = 0xFFFD;
      auto hex4 = [&](uint32_t u) {
        const char* hex = "0123456789ABCDEF";
        out += "\\u";
        for (int s = 12; s >= 0; s -= 4) out += hex[(u >> s) & 0xF];
      };
      if (cp >= 0x10000) {
        hex4(0xD800 + ((cp - 0x10000) >> 10));
        hex4(0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        hex4(cp);
      }
      i += len;
      continue;
    }
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\f': out += "\\f"; break;
      case ' ':
        out += out.empty() ? "\\ " : " ";  // a leading space would be dropped by the reader
        break;
      default: out += c;
    }
    ++i;
  }
  return out;
}

struct PropEntry {
  std::string prefix;  // the first line up to the value ("key = ")
  std::string key, value;
  std::string raw;     // the logical line as written (with continuation lines), ending in '\n'
  int line = 0;
};

bool is_plural_value(const std::string& v) {
  if (v.find(';') == std::string::npos) return false;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] == '#' && is_digit(v[i + 1])) return true;
  }
  return false;
}

std::vector<std::string> split_semicolons(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t semi = v.find(';', start);
    out.push_back(v.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  return out;
}

// Keys whose values are not text: kept as they are (access keys are derived, see below).
bool keep_key(const std::string& key) {
  static const char* kSuffixes[] = {".key", ".commandkey", ".keycode", ".keybinding", ".style",
                                    ".width", ".height", ".modifiers"};
  for (const char* s : kSuffixes) {
    const std::string suffix(s);
    if (key.size() >= suffix.size() && iequals(std::string_view(key).substr(key.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool is_accesskey_name(const std::string& key) {
  const std::string suffix = "accesskey";
  return key.size() >= suffix.size() && iequals(std::string_view(key).substr(key.size() - suffix.size()), suffix);
}

std::string derive_accesskey(const std::string& old_key, const std::string& label,
                             const std::string& tgt_lang) {
  const bool cjk = tgt_lang == "ja" || tgt_lang == "ko" || tgt_lang.rfind("zh", 0) == 0;
  if (cjk || label.empty()) return old_key;
  // The old key when the translated label has it (any case), else the label's first letter.
  std::string first;
  const std::vector<Span> spans = find_spans(label);
  for (size_t i = 0; i < label.size();) {
    size_t len = 1;
    bool in_span = false;
    for (const Span& sp : spans) in_span |= i >= sp.begin && i < sp.end;
    const uint32_t cp = decode_utf8(label, i, &len);
    const bool letter = cp != kInvalidCodePoint && (cp >= 0x80 ? cp >= 0xC0 : is_alnum(static_cast<char>(cp)));
    if (!in_span && letter) {
      const std::string ch = label.substr(i, len);
      if (first.empty()) first = ch;
      if (ch.size() == 1 && old_key.size() == 1 &&
          std::tolower(static_cast<unsigned char>(ch[0])) == std::tolower(static_cast<unsigned char>(old_key[0]))) {
        return ch;
      }
    }
    i += len;
  }
  return first.empty() ? old_key : first;
}

namespace {

std::string fill_properties(std::string_view input, const std::string& name, const CatalogOptions& opt,
                            const TranslateFn& translate, CatalogStats* st) {
  // Validates the whole file first (errors name the line), then walks it keeping its layout.
  (void)parse_properties(input, name);
  std::string storage;
  const std::string_view text = normalise_newlines(skip_bom(input), storage);
  bool has_u_escape = text.find("\\u") != std::string_view::npos;
  bool has_raw_unicode = false;
  for (char c : text) has_raw_unicode |= static_cast<unsigned char>(c) >= 0x80;
  const bool ascii = has_u_escape && !has_raw_unicode;

  struct Item {
    bool entry = false;
    std::string raw;  // comment, blank line or the entry as written
    PropEntry e;
  };
  std::vector<Item> items;
  size_t p = 0;
  int line = 1;
  while (p < text.size()) {
    Item it;
    const size_t start = p;
    const int start_line = line;
    size_t q = p;
    while (q < text.size() && prop_space(text[q])) ++q;
    if (q >= text.size() || text[q] == '\n' || text[q] == '#' || text[q] == '!') {
      while (p < text.size() && text[p] != '\n') ++p;
      if (p < text.size()) ++p;
      ++line;
      it.raw = std::string(text.substr(start, p - start));
      items.push_back(std::move(it));
      continue;
    }
    // The logical line (escapes kept; continuation lines joined).
    std::string logical;
    p = q;
    while (p < text.size() && text[p] != '\n') {
      if (text[p] == '\\' && p + 1 < text.size()) {
        if (text[p + 1] == '\n') {
          p += 2;
          ++line;
          while (p < text.size() && prop_space(text[p])) ++p;
          continue;
        }
        logical += text.substr(p, 2);
        p += 2;
        continue;
      }
      if (text[p] == '\\') {
        ++p;
        continue;
      }
      logical += text[p++];
    }
    if (p < text.size()) ++p;
    ++line;
    size_t k = 0;
    while (k < logical.size() && logical[k] != '=' && logical[k] != ':' && !prop_space(logical[k])) {
      k += logical[k] == '\\' ? 2 : 1;
    }
    k = std::min(k, logical.size());
    size_t v = k;
    while (v < logical.size() && prop_space(logical[v])) ++v;
    if (v < logical.size() && (logical[v] == '=' || logical[v] == ':')) ++v;
    while (v < logical.size() && prop_space(logical[v])) ++v;
    it.entry = true;
    it.raw = std::string(text.substr(start, p - start));
    if (it.raw.empty() || it.raw.back() != '\n') it.raw += '\n';
    it.e.prefix = std::string(text.substr(start, q - start)) + logical.substr(0, v);
    it.e.key = unescape_properties(std::string_view(logical).substr(0, k), name, start_line);
    it.e.value = unescape_properties(std::string_view(logical).substr(v), name, start_line);
    it.e.line = start_line;
    items.push_back(std::move(it));
  }

  ProtectOptions popt;
  popt.placeholders = opt.protect;
  popt.accel = opt.accel_set ? opt.accel : AccelMode::kNone;
  TextBatch batch(popt, opt.tgt_lang);
  struct Job {
    size_t item;
    std::vector<int> forms;  // one id, or singular + plural for a plural list
    bool plural = false;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].entry) continue;
    const PropEntry& e = items[i].e;
    ++st->entries;
    if (keep_key(e.key) || is_accesskey_name(e.key) || e.value.empty()) {
      ++st->kept;
      continue;
    }
    Job j;
    j.item = i;
    if (is_plural_value(e.value)) {
      const std::vector<std::string> forms = split_semicolons(e.value);
      j.plural = true;
      j.forms = {batch.add(forms.front()), batch.add(forms.back())};
    } else {
      j.forms = {batch.add(e.value)};
    }
    jobs.push_back(j);
  }
  batch.run(translate);
  std::map<std::string, std::string> translated;  // key -> new value (for access keys)
  std::map<size_t, std::string> out_value;
  std::map<size_t, std::string> comment;
  for (const Job& j : jobs) {
    const PropEntry& e = items[j.item].e;
    std::vector<TextBatch::Result> r;
    for (int id : j.forms) r.push_back(batch.result(id));
    std::string problem, refused;
    bool copied = true;
    for (const auto& x : r) {
      if (!x.ok && problem.empty()) problem = x.problem, refused = x.refused;
      copied &= x.copied;
    }
    if (!problem.empty()) {
      note_flag(st, name, e.line, e.key, problem);
      if (opt.comment_flagged) comment[j.item] = "# strata: not translated (" + one_line(problem) + "): " + one_line(refused) + "\n";
      continue;
    }
    std::string value;
    if (j.plural) {
      const int n = mozilla_plural_count(opt.tgt_lang);
      for (int f = 0; f < n; ++f) value += (f ? ";" : "") + (f == 0 && n > 1 ? r[0].text : r[1].text);
    } else {
      value = r[0].text;
    }
    (copied ? st->copied : st->translated) += 1;
    translated[e.key] = value;
    out_value[j.item] = value;
  }
  // Access keys: a letter of the translated label.
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].entry || !is_accesskey_name(items[i].e.key)) continue;
    const std::string& key = items[i].e.key;
    const std::string stem = key.substr(0, key.size() - std::string("accesskey").size());
    std::string label;
    for (const std::string& cand : {stem + "label", stem.empty() ? stem : stem.substr(0, stem.size() - 1), stem + "title"}) {
      auto t = translated.find(cand);
      if (t != translated.end()) {
        label = t->second;
        break;
      }
    }
    if (label.empty()) continue;
    const std::string k = derive_accesskey(items[i].e.value, label, opt.tgt_lang);
    if (k != items[i].e.value) out_value[i] = k;
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    auto c = comment.find(i);
    if (c != comment.end()) out += c->second;
    auto v = out_value.find(i);
    if (v == out_value.end()) {
      out += items[i].raw;
    } else {
      out += items[i].e.prefix + escape_properties(v->second, ascii) + "\n";
    }
  }
  // The input's byte-order mark was skipped; a U+FEFF now at the start belongs to the first key
  // and would read back as a byte-order mark (an empty key): escape it.
  if (out.rfind("\xEF\xBB\xBF", 0) == 0) out.replace(0, 3, "\\uFEFF");
  return out;
}

}  // namespace

void note_flagged(CatalogStats* st, const std::string& name, int line, const std::string& what,
                  const std::string& problem) {
  note_flag(st, name, line, what, problem);
}

std::string translate_catalog(std::string_view input, const std::string& name,
                              const CatalogOptions& opt, const TranslateFn& translate,
                              CatalogStats* stats) {
  CatalogStats local;
  CatalogStats* st = stats ? stats : &local;
  const size_t bad = find_invalid_utf8(input);
  if (bad != std::string::npos) {
    const size_t nl = input.rfind('\n', bad);
    const size_t column = nl == std::string_view::npos ? bad + 1 : bad - nl;
    throw Error(name + ":" + std::to_string(line_at(input, bad)) + ": invalid UTF-8 at byte " +
                std::to_string(column) + " of the line");
  }
  switch (opt.format) {
    case CatalogFormat::kPo: return fill_po(input, name, opt, translate, st);
    case CatalogFormat::kProperties: return fill_properties(input, name, opt, translate, st);
    case CatalogFormat::kFtl: return fill_ftl(input, name, opt, translate, st);
    case CatalogFormat::kText: break;
  }
  throw Error(name + ": --format text is not a catalogue");
}

}  // namespace strata::data
