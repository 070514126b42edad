#pragma once
// sacreBLEU's BLEU tokenizers (13a, zh, char, none, intl; sacrebleu/tokenizers/), their names,
// and the default tokenizer for a target language.
#include <string>
#include <string_view>

namespace strata::eval {

// BLEU tokenizers, named as in sacreBLEU's `-tok` option.
enum class BleuTokenizer {
  k13a,   // "13a": mteval-v13a.pl (the default)
  kZh,    // "zh": every CJK character is a token, the rest as 13a's regular expressions
  kChar,  // "char": every non-space character is a token
  kNone,  // "none": whitespace split only
  kIntl,  // "intl": mteval-v14.pl international tokenization (Unicode punctuation and symbols)
};

// The tokenizer for a target language code (BCP 47 or ISO 639, case-insensitive): zh, zho, chi,
// cmn, yue (any region or script subtag) -> kZh; ja, jpn -> kChar (sacreBLEU would pick ja-mecab,
// which needs MeCab); everything else -> k13a.
BleuTokenizer default_tokenizer_for(const std::string& target_lang);

// sacreBLEU's name of a tokenizer ("13a", "zh", "char", "none", "intl").
std::string tokenizer_name(BleuTokenizer tokenizer);

// The tokenizer called `name` (as tokenizer_name() spells it); throws std::invalid_argument for
// any other name.
BleuTokenizer parse_tokenizer(const std::string& name);

// What sacreBLEU's tokenizer object returns for `line` (tokens joined by single spaces; the char
// tokenizer joins every character, spaces included, with a space, exactly as sacreBLEU does).
std::string tokenize(std::string_view line, BleuTokenizer tokenizer);

// The same over code points (python_str's decode_code_points), as BLEU uses it.
std::u32string tokenize_code_points(const std::u32string& line, BleuTokenizer tokenizer);

}  // namespace strata::eval
