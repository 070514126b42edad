#include "data/langs.h"

#include <algorithm>
#include <cctype>

#include "nmt/util/error.h"

namespace strata::data {

const std::vector<std::string>& known_langs() {
  // Languages with Debian LibreOffice, Firefox, Thunderbird or gettext catalogues
  // (../shared/docs/corpus.md), plus en.
  static const std::vector<std::string> langs = [] {
    std::vector<std::string> v = {
        "af", "am", "ar", "ast", "be", "bg", "bn", "br", "bs", "ca", "cs", "cy", "da", "de",
        "dsb", "el", "en", "eo", "es", "es-AR", "es-CL", "es-MX", "et", "eu", "fa", "fi", "fr",
        "fur", "fy", "ga", "gd", "gl", "gn", "gu", "he", "hi", "hr", "hsb", "hu", "hy", "ia",
        "id", "is", "it", "ja", "ka", "kab", "kk", "km", "kn", "ko", "lt", "lv", "mk", "ml",
        "mr", "ms", "nb", "ne", "nl", "nn", "oc", "pa", "pl", "pt", "pt-BR", "ro", "ru", "si",
        "sk", "skr", "sl", "sq", "sr", "sv", "ta", "te", "tg", "th", "tr", "ug", "uk", "uz",
        "vi", "xh", "zh-CN", "zh-TW"};
    std::sort(v.begin(), v.end());
    return v;
  }();
  return langs;
}

void check_lang(const std::string& code, const std::string& where) {
  const auto& k = known_langs();
  if (std::binary_search(k.begin(), k.end(), code)) return;
  std::string all;
  for (const auto& c : k) all += (all.empty() ? "" : " ") + c;
  throw Error(where + ": unknown language code '" + code + "' (valid: " + all + ")");
}

std::string package_suffix(const std::string& code) {
  std::string s = code;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string gettext_locale(const std::string& code) {
  std::string s = code;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

bool is_cjk(const std::string& code) {
  return code == "ja" || code == "ko" || code.rfind("zh", 0) == 0;
}

std::string lang_tag(const std::string& code) { return ">>" + code + "<<"; }

}  // namespace strata::data
