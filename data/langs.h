#pragma once
// Language codes: Strata uses BCP-47-style codes as Debian's Mozilla packages do
// (de, zh-CN, pt-BR); this maps them to Debian package suffixes and gettext locale folders.
#include <string>
#include <vector>

namespace strata::data {

// All codes `strata data` knows, sorted.
const std::vector<std::string>& known_langs();
// Throws strata::Error "<where>: unknown language code 'xx' (valid: ...)" when not known.
void check_lang(const std::string& code, const std::string& where);
// "zh-CN" -> "zh-cn" (Debian package suffix).
std::string package_suffix(const std::string& code);
// "zh-CN" -> "zh_CN" (gettext locale folder).
std::string gettext_locale(const std::string& code);
// Scripts without spaces between words: ja, zh-*, ko (wider length-ratio range, char tokenizers).
bool is_cjk(const std::string& code);
// The tag prepended to a source sentence to ask for this target language: ">>de<<".
std::string lang_tag(const std::string& code);

}  // namespace strata::data
