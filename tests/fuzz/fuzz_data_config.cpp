// Fuzz target: the data YAML config (configs/data/*.yaml), data::load_data_config. The input is
// the YAML file, optionally followed by a line "#--set" and one `--set` override per line
// (a.b=value). The reader takes a path, so the YAML goes through a temporary file. Only
// strata::Error may leave the reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [text, overrides] = strata::fuzz::split_config_input(strata::fuzz::as_view(data, size));
  const strata::fuzz::TempFile yaml(text, "data_config", ".yaml");
  try {
    strata::data::load_data_config(yaml.path(), overrides);
  } catch (const strata::Error&) {
  }
  return 0;
}
