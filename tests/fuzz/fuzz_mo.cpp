// Fuzz target: gettext .mo files, data::parse_mo (data/gettext_mo.h). Only strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>

#include "data/gettext_mo.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = strata::fuzz::as_view(data, size);
  try {
    size_t n = 0;
    for (const auto& e : strata::data::parse_mo(text, "fuzz.mo"))
      n += e.context.size() + e.msgid.size() + e.msgstr.size();
    (void)n;
  } catch (const strata::Error&) {
    // a rejection with a message: expected for most inputs
  }
  return 0;
}
