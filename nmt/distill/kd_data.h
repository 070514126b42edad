#pragma once
// Sequence-level knowledge-distillation data (Kim & Rush 2016): a teacher translates the training
// sources with beam search into <train.out_dir>/kd_data, resumably; the student then trains on it
// (`strata distill kd`).
//   KdDataOptions o;
//   o.teacher = "teacher/best.pt";
//   o.beam = 4;
//   o.batch = 32;
//   cfg.train.data = generate_kd_data(cfg, o);  // the data config of the KD data
#include <cstddef>
#include <cstdint>
#include <string>

#include "nmt/config.h"

#include "kernels/precision.h"

namespace strata::nmt {

struct KdDataOptions {
  std::string teacher;      // teacher checkpoint (the student's SentencePiece model)
  int beam = 0;             // teacher beam size (>= 1)
  int batch = 0;            // teacher sentences per batch (>= 1)
  size_t max_rows = 0;      // translate a random sample of this many rows (0 = all)
  size_t chunk_rows = 512;  // rows per resumable chunk (>= 1)
  uint64_t seed = 1;        // seed of the row order (the CLI passes train.seed)
  kernels::ComputeType compute_type = kernels::ComputeType::kFloat32;  // the teacher's decoding
};

// Writes <cfg.train.out_dir>/kd_data: every training row of cfg.train.data keeps one original
// source text (the row's languages in turn, row i of train.tsv taking the (i mod n)-th of its n
// languages) and gets the teacher's beam-search translation of it in each other language the row
// has. The rows are taken in a seeded random order: train.tsv is grouped by source (its first
// 5,000 Core-8 rows are all LibreOffice UI strings), so max_rows takes a sample of the whole
// corpus, and a larger max_rows extends the same order. Chunks of chunk_rows rows are written
// atomically, so an interrupted (or enlarged) run resumes where it stopped; chunks made with other
// settings (kd_data/settings.txt) are an error. Returns the path of the result's data config.
std::string generate_kd_data(const Config& cfg, const KdDataOptions& options);

}  // namespace strata::nmt
