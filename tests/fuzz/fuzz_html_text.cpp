// Fuzz target: HTML through a translator, data::translate_html (data/html_text.h; the server's
// format html). Three translators: the identity, one that reverses each line (tokens break: the
// fallbacks run) and one that repeats it (tokens repeat). Nothing may leave but strata::Error, a
// call must return one document per input and the translator is called at most twice.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "data/html_text.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string doc(strata::fuzz::as_view(data, size));
  for (int mode = 0; mode < 3; ++mode) {
    int calls = 0;
    auto translate = [&](const std::vector<std::string>& lines) {
      ++calls;
      std::vector<std::string> out;
      for (std::string l : lines) {
        if (mode == 1) std::reverse(l.begin(), l.end());
        if (mode == 2) l += " " + l;
        out.push_back(l);
      }
      return out;
    };
    try {
      const auto out = strata::data::translate_html({doc, "<p>x</p>"}, translate);
      if (out.size() != 2 || calls > 2) std::abort();
    } catch (const strata::Error&) {
      // a rejection with a message
    }
  }
  return 0;
}
