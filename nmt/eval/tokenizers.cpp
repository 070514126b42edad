// The BLEU tokenizers as sacreBLEU 2.x runs them (sacrebleu/tokenizers/tokenizer_{13a,re,zh,char,
// none,intl}.py), reimplemented over Unicode code points.
#include "nmt/eval/tokenizers.h"

#include <stdexcept>

#include "nmt/eval/python_str.h"
#include "nmt/eval/unicode_tables.h"

namespace strata::eval {
namespace {

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// The four substitutions of TokenizerRegexp, each a Python re.sub() with a pattern of one or two
// fixed-width characters: scanning left to right, a match replaces its characters and scanning
// resumes after it.
template <typename Match2, typename Emit2>
std::u32string sub_pairs(const std::u32string& s, Match2 match, Emit2 emit) {
  std::u32string out;
  out.reserve(s.size() + s.size() / 2);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(s[i], s[i + 1], &out);
      i += 2;
    } else {
      out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

// The replacements of a two-character match: '\1 \2 ' and ' \1 \2'.
void space_after_each(char32_t a, char32_t b, std::u32string* out) {
  out->push_back(a);
  out->push_back(U' ');
  out->push_back(b);
  out->push_back(U' ');
}
void space_before_each(char32_t a, char32_t b, std::u32string* out) {
  out->push_back(U' ');
  out->push_back(a);
  out->push_back(U' ');
  out->push_back(b);
}

// re.sub('(<class>)', r' \1 ', s): a space on both sides of every character of the class.
template <typename Pred>
std::u32string pad_each(const std::u32string& s, Pred in_class) {
  std::u32string out;
  out.reserve(s.size() * 2);
  for (char32_t c : s) {
    if (in_class(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII punctuation and symbols except ' , - . and the space range.
bool is_13a_symbol(char32_t c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

bool is_period_or_comma(char32_t c) { return c == U'.' || c == U','; }

// TokenizerRegexp.__call__ (the post-tokenizer of 13a and zh).
std::u32string tokenize_regexp(const std::u32string& line) {
  std::u32string s = pad_each(line, is_13a_symbol);  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
  // ([^0-9])([\.,]) -> '\1 \2 '
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return !is_ascii_digit(a) && is_period_or_comma(b); },
      space_after_each);
  // ([\.,])([^0-9]) -> ' \1 \2'
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_period_or_comma(a) && !is_ascii_digit(b); },
      space_before_each);
  // ([0-9])(-) -> '\1 \2 '
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_ascii_digit(a) && b == U'-'; }, space_after_each);
  return squeeze_ws(s);
}

// Tokenizer13a.__call__
std::u32string tokenize_13a(std::u32string line) {
  replace_all(&line, U"<skipped>", U"");
  replace_all(&line, U"-\n", U"");
  replace_all(&line, U"\n", U" ");
  replace_all(&line, U"&quot;", U"\"");
  replace_all(&line, U"&amp;", U"&");
  replace_all(&line, U"&lt;", U"<");
  replace_all(&line, U"&gt;", U">");
  return tokenize_regexp(U" " + line + U" ");
}

// TokenizerZh.__call__
std::u32string tokenize_zh(const std::u32string& line) {
  return tokenize_regexp(pad_each(strip_ws(line), is_chinese_char));
}

// TokenizerChar.__call__: " ".join(line)
std::u32string tokenize_char(const std::u32string& line) {
  std::u32string out;
  out.reserve(line.size() * 2);
  for (char32_t c : line) {
    if (!out.empty()) out.push_back(U' ');
    out.push_back(c);
  }
  return out;
}

// TokenizerV14International.__call__
std::u32string tokenize_intl(const std::u32string& line) {
  // (\P{N})(\p{P}) -> '\1 \2 '
  std::u32string s = sub_pairs(
      line, [](char32_t a, char32_t b) { return !is_unicode_n(a) && is_unicode_p(b); },
      space_after_each);
  // (\p{P})(\P{N}) -> ' \1 \2'
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_unicode_p(a) && !is_unicode_n(b); },
      space_before_each);
  return squeeze_ws(pad_each(s, is_unicode_s));  // (\p{S}) -> ' \1 '
}

}  // namespace

std::u32string tokenize_code_points(const std::u32string& line, BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      return tokenize_13a(line);
    case BleuTokenizer::kZh:
      return tokenize_zh(line);
    case BleuTokenizer::kChar:
      return tokenize_char(line);
    case BleuTokenizer::kNone:
      return line;
    case BleuTokenizer::kIntl:
      return tokenize_intl(line);
  }
  throw std::invalid_argument("unknown BLEU tokenizer");
}

BleuTokenizer default_tokenizer_for(const std::string& target_lang) {
  std::string primary;
  for (char c : target_lang) {
    if (c == '-' || c == '_') break;
    primary.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  if (primary == "zh" || primary == "zho" || primary == "chi" || primary == "cmn" ||
      primary == "yue") {
    return BleuTokenizer::kZh;
  }
  if (primary == "ja" || primary == "jpn") return BleuTokenizer::kChar;
  return BleuTokenizer::k13a;
}

std::string tokenizer_name(BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      return "13a";
    case BleuTokenizer::kZh:
      return "zh";
    case BleuTokenizer::kChar:
      return "char";
    case BleuTokenizer::kNone:
      return "none";
    case BleuTokenizer::kIntl:
      return "intl";
  }
  throw std::invalid_argument("unknown BLEU tokenizer");
}

BleuTokenizer parse_tokenizer(const std::string& name) {
  for (BleuTokenizer t : {BleuTokenizer::k13a, BleuTokenizer::kZh, BleuTokenizer::kChar,
                          BleuTokenizer::kNone, BleuTokenizer::kIntl}) {
    if (tokenizer_name(t) == name) return t;
  }
  throw std::invalid_argument("unknown BLEU tokenizer '" + name +
                              "' (expected 13a, zh, char, none or intl)");
}

std::string tokenize(std::string_view line, BleuTokenizer tokenizer) {
  return encode_code_points(tokenize_code_points(decode_code_points(line), tokenizer));
}

}  // namespace strata::eval
