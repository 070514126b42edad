// Fuzz target: the split files (<out_dir>/{train,valid,test,ood_test}.tsv), data::read_split, which
// train, eval, data lid/spm, distill and analyze all read. The reader takes a path, so the input
// goes through a temporary file. Only strata::Error may leave the reader, and every row it
// returns has one text per language of the header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/prepare.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const strata::fuzz::TempFile tsv(strata::fuzz::as_view(data, size), "split", ".tsv");
  try {
    std::vector<std::string> langs;
    for (const auto& row : strata::data::read_split(tsv.path(), &langs))
      if (row.text.size() != langs.size()) std::abort();  // a row that does not match its header
  } catch (const strata::Error&) {
  }
  return 0;
}
