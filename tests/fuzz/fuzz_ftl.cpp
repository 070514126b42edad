// Fuzz target: Fluent .ftl files, data::parse_ftl and expand_ftl_terms (data/fluent.h). Only strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>

#include "data/fluent.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = strata::fuzz::as_view(data, size);
  try {
    const auto res = strata::data::parse_ftl(text, "fuzz.ftl");
    for (const auto& m : res.messages) strata::data::expand_ftl_terms(m.text, res.terms);
  } catch (const strata::Error&) {
    // a rejection with a message: expected for most inputs
  }
  return 0;
}
