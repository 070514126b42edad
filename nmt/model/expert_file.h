#pragma once
// Experts off the heap (issue 22): an MoE checkpoint's expert weights laid out in a file that is
// memory-mapped read-only, so that only the experts a batch is dispatched to are resident, in an
// ExpertCache bounded in bytes (moe/expert_store.h); the rest of the model stays in memory.
//
//   strata checkpoint experts --in moe.pt --out moe.experts      (write_expert_file)
//   strata translate -m moe.pt --expert-file moe.experts --expert-memory 25% …
//
// Layout (little endian): "STRATAXF" | u64 n | n bytes of JSON header | zero padding to 4096 |
// the experts, each at a 4096-aligned offset: w1 [d, ffn], b1 [ffn], w2 [ffn, d] as f32, the layout
// of moe::ExpertsImpl (b2 stays in the checkpoint). Header: {"version": 1, "checkpoint": the
// checkpoint's integrity digest, "layers": [{"module", "experts", "d", "ffn", "offsets": [..],
// "checksums": [..]}]}, a 64-bit FNV-1a checksum (over 8-byte words) per expert, verified each time
// the expert is read. Reading copies the expert out of the mapping and drops the mapped pages
// (madvise), so resident memory is the cache's, not the page cache's.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moe/expert_store.h"
#include "nmt/model/transformer.h"

namespace strata::nmt {

// Writes every Experts module of `model` (all experts on this process) to `path` atomically,
// bound to the checkpoint whose integrity digest is `checkpoint_digest`. Throws strata::Error for
// a model without MoE layers or a failed write.
void write_expert_file(const std::string& path, TransformerImpl& model, const std::string& checkpoint_digest);

// An opened expert file: the header checked against the file's size, the data mapped read-only.
class ExpertFile {
 public:
  struct Layer {
    std::string module;  // e.g. "encoder.layers.1.ffn.experts"
    int64_t experts = 0, d = 0, ffn = 0;
    std::vector<uint64_t> offsets, checksums;
  };
  // Throws strata::Error "<path>: <what>" for a missing, truncated or malformed file.
  explicit ExpertFile(const std::string& path);
  ~ExpertFile();
  ExpertFile(const ExpertFile&) = delete;
  ExpertFile& operator=(const ExpertFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& checkpoint_digest() const { return digest_; }
  const std::vector<Layer>& layers() const { return layers_; }
  // Expert e of layer l, copied out of the mapping and checked (strata::Error on a checksum
  // mismatch). Safe from several threads at once.
  moe::ExpertWeights read(size_t layer, int64_t e) const;
  // Bytes of one expert's f32 weights in layer l.
  int64_t expert_bytes(size_t layer) const;

 private:
  std::string path_, digest_;
  std::vector<Layer> layers_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t size_ = 0;
};

// One layer of an expert file as an ExpertSource.
class MappedSource : public moe::ExpertSource {
 public:
  MappedSource(std::shared_ptr<const ExpertFile> file, size_t layer) : file_(std::move(file)), layer_(layer) {}
  moe::ExpertWeights load(int64_t e) const override { return file_->read(layer_, e); }
  int64_t num_experts() const override { return file_->layers()[layer_].experts; }

 private:
  std::shared_ptr<const ExpertFile> file_;
  size_t layer_;
};

// 64-bit FNV-1a over the 8-byte words of `data` (the tail byte by byte).
uint64_t fnv1a64(const void* data, size_t bytes);

}  // namespace strata::nmt
