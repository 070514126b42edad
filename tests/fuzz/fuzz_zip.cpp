// Fuzz target: zip archives (.xpi/.ja) read from memory, data::for_each_zip_member (data/archive.h). Only strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>

#include "data/archive.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = strata::fuzz::as_view(data, size);
  try {
    size_t n = 0;
    strata::data::for_each_zip_member(
        text, "fuzz.zip", [](const std::string&) { return true; },
        [&](const std::string& path, std::string&& bytes) { n += path.size() + bytes.size(); });
    (void)n;
  } catch (const strata::Error&) {
    // a rejection with a message: expected for most inputs
  }
  return 0;
}
