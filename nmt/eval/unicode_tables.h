#pragma once
// Unicode properties that sacreBLEU's Python relies on, answered from code-point tables generated
// with that Python (unicode_tables.cpp says how): the CJK characters of TokenizerZh, "Cased",
// "Case_Ignorable" and the one-code-point lowering of str.lower(), and the `regex` module's
// \p{P}, \p{N}, \p{S} (the intl tokenizer).

namespace strata::eval {

bool is_chinese_char(char32_t c);    // TokenizerZh._is_chinese_char()
bool is_cased(char32_t c);           // Unicode "Cased" (islower/isupper/istitle)
bool is_case_ignorable(char32_t c);  // "Case_Ignorable", as str.lower()'s final-sigma rule uses it
bool is_unicode_p(char32_t c);       // \p{P}: punctuation
bool is_unicode_n(char32_t c);       // \p{N}: numbers
bool is_unicode_s(char32_t c);       // \p{S}: symbols

// str.lower() of one code point. U+0130 (which lowers to two) and the context-dependent U+03A3
// are left to python_str's lower().
char32_t lower_code_point(char32_t c);

}  // namespace strata::eval
