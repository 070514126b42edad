#pragma once
// `strata data prepare`: builds a multi-way benchmark from Debian's localisation packages.
//   apt download (cached) -> stream members out of the .debs -> parse (.mo/.ftl/.properties/.dtd/
//   help HTML) -> clean -> align by English -> dedup -> leak-free splits -> TSV + manifest.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/data_config.h"

namespace strata::data {

// One aligned segment: the cleaned text per language (empty = missing) and its source.
struct Row {
  std::string source;
  std::vector<std::string> text;  // indexed like DataConfig::langs; text[en] is never empty
};

// Raw units of one source before cleaning: one English string and its translations.
struct Unit {
  std::string en;
  std::map<std::string, std::string> tr;  // lang -> translation (raw)
  bool plural = false;
  Accel accel = Accel::kNone;  // accelerator convention of the catalogue it came from
};

struct Splits {
  std::vector<Row> train, valid, test, ood_test;
};

// Cleans and aligns the units of each source (in `cfg.sources` order, then the OOD source),
// keyed by the cleaned English; keeps the most frequent translation per language.
// `units[source]` holds that source's units. Drop counts by reason go to `drops`.
struct AlignStats {
  std::map<std::string, int64_t> drops;  // "en:code", "de:ratio", "plural", ...
};
std::map<std::string, std::vector<Row>> align_sources(
    const DataConfig& cfg, const std::map<std::string, std::vector<Unit>>& units,
    AlignStats* stats);

// Leak-free split by normalised English key (see corpus.md, "Splits").
Splits split_rows(const DataConfig& cfg, const std::map<std::string, std::vector<Row>>& rows);

// md5 of a string as 32 lowercase hex digits.
std::string md5_hex(const std::string& s);

// Writes/reads a split as TSV: header "source<TAB>lang1<TAB>lang2...", one row per line.
void write_split(const std::string& path, const std::vector<std::string>& langs,
                 const std::vector<Row>& rows);
std::vector<Row> read_split(const std::string& path, std::vector<std::string>* langs);

// The whole pipeline; prints progress to stderr and the summary table to stdout.
void prepare(const DataConfig& cfg);

}  // namespace strata::data
