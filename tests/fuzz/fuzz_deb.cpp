// Fuzz target: Debian .deb packages (ar + inner tar, any compression), data::for_each_deb_member
// and data::deb_control_field. The reader takes a path, so the input goes through a temporary
// file. Only strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>

#include "data/archive.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const strata::fuzz::TempFile deb(strata::fuzz::as_view(data, size), "deb", ".deb");
  try {
    size_t n = 0;
    strata::data::for_each_deb_member(
        deb.path(), [](const std::string&) { return true; },
        [&](const std::string& path, std::string&& bytes) { n += path.size() + bytes.size(); });
    (void)n;
  } catch (const strata::Error&) {
  }
  try {
    strata::data::deb_control_field(deb.path(), "Version");
  } catch (const strata::Error&) {
  }
  return 0;
}
