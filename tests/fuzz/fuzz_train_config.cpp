// Fuzz target: the training config (configs/*.yaml; `strata train --config`), nmt::load_config,
// the one field table of nmt/config.cpp. The input is the YAML file, optionally followed by a
// line "#--set" and one `--set` override per line (a.b=value), as in the data_config target.
// Only strata::Error may leave the reader, and a config it accepts must survive the way a
// checkpoint stores it: to_yaml, then parse_config, gives the same config (to_yaml again equal).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "nmt/config.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [text, overrides] = strata::fuzz::split_config_input(strata::fuzz::as_view(data, size));
  const strata::fuzz::TempFile yaml(text, "train_config", ".yaml");
  strata::nmt::Config config;
  try {
    config = strata::nmt::load_config(yaml.path(), overrides);
  } catch (const strata::Error&) {
    return 0;
  }
  const std::string stored = strata::nmt::to_yaml(config);
  try {
    const std::string again = strata::nmt::to_yaml(strata::nmt::parse_config(stored, "stored"));
    if (again != stored) {
      std::fprintf(stderr, "the stored config reads back differently:\n--- stored:\n%s\n--- read back:\n%s\n",
                   stored.c_str(), again.c_str());
      std::abort();
    }
  } catch (const strata::Error& e) {
    std::fprintf(stderr, "the stored config does not load: %s\n--- stored:\n%s\n", e.what(), stored.c_str());
    std::abort();  // a config that loads but whose stored form does not
  }
  return 0;
}
