// Fuzz target: Java .properties files, data::parse_properties (data/properties.h). Only strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>

#include "data/properties.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = strata::fuzz::as_view(data, size);
  try {
    strata::data::parse_properties(text, "fuzz.properties");
  } catch (const strata::Error&) {
    // a rejection with a message: expected for most inputs
  }
  return 0;
}
