// Fuzz target: `strata translate --format po|ftl|properties` without a model (data/catalog.h).
// The first byte picks the format, the target language and the protection; a stand-in
// translator reverses each piece's words (tokens move) and drops a token from every third piece
// (refusals). Only strata::Error may leave, and whatever is written must read back with the
// format's own parser: the writer never makes a file its reader rejects.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "data/catalog.h"
#include "data/fluent.h"
#include "data/po.h"
#include "data/properties.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::vector<std::string> stand_in(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (size_t i = 0; i < in.size(); ++i) {
    std::istringstream words(in[i]);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    std::string t;
    for (size_t k = w.size(); k-- > 0;) t += (t.empty() ? "" : " ") + w[k];
    if (i % 3 == 2) {
      const size_t p = t.find("%1");
      if (p != std::string::npos) t.erase(p, 2);
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kLangs[] = {"de", "ru", "ja", "fr"};
  const uint8_t sel = data[0];
  strata::data::CatalogOptions opt;
  opt.format = sel % 3 == 0 ? strata::data::CatalogFormat::kPo
               : sel % 3 == 1 ? strata::data::CatalogFormat::kFtl
                              : strata::data::CatalogFormat::kProperties;
  opt.tgt_lang = kLangs[(sel / 3) % 4];
  opt.protect = (sel & 0x40) == 0;
  opt.scope = (sel & 0x80) ? strata::data::CatalogScope::kAll : strata::data::CatalogScope::kUntranslated;
  const std::string_view text = strata::fuzz::as_view(data + 1, size - 1);
  std::string out;
  try {
    strata::data::CatalogStats st;
    out = strata::data::translate_catalog(text, "fuzz", opt, stand_in, &st);
  } catch (const strata::Error&) {
    return 0;  // a rejection with a message: expected for most inputs
  }
  try {
    switch (opt.format) {
      case strata::data::CatalogFormat::kPo: strata::data::parse_po(out, "out.po"); break;
      case strata::data::CatalogFormat::kFtl: strata::data::parse_ftl(out, "out.ftl"); break;
      default: strata::data::parse_properties(out, "out.properties"); break;
    }
  } catch (const strata::Error& e) {
    std::fprintf(stderr, "the written file does not read back: %s\n--- written:\n", e.what());
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fprintf(stderr, "--- end\n");
    std::abort();
  }
  return 0;
}
