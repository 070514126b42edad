#include "nmt/model/expert_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "moe/dispatch.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"

namespace strata::nmt {

namespace {

constexpr char kMagic[8] = {'S', 'T', 'R', 'A', 'T', 'A', 'X', 'F'};
constexpr uint64_t kAlign = 4096;
constexpr int kVersion = 1;

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// The three tensors of one expert, in file order.
std::vector<torch::Tensor> expert_parts(const moe::ExpertsImpl& x, int64_t e) {
  return {x.w1[e].detach().to(torch::kFloat).contiguous(), x.b1[e].detach().to(torch::kFloat).contiguous(),
          x.w2[e].detach().to(torch::kFloat).contiguous()};
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t bytes) {
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t h = 14695981039346656037ull;
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kPrime;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

void write_expert_file(const std::string& path, TransformerImpl& model, const std::string& checkpoint_digest) {
  std::vector<std::pair<std::string, moe::ExpertsImpl*>> layers;
  for (const auto& m : model.named_modules())
    if (auto* x = m.value()->as<moe::ExpertsImpl>()) layers.emplace_back(m.key(), x);
  if (layers.empty()) throw Error(path + ": the model has no MoE layers (nothing to write)");
  // Offsets first (the header must know them), relative to the data start.
  nlohmann::json header = {{"version", kVersion}, {"checkpoint", checkpoint_digest}, {"layers", nlohmann::json::array()}};
  uint64_t at = 0;
  std::vector<std::vector<uint64_t>> offsets;
  for (const auto& [name, x] : layers) {
    if (x->has_source()) throw Error(path + ": layer " + name + " takes its experts from elsewhere; load it whole");
    const int64_t E = x->w1.size(0), d = x->w1.size(1), ffn = x->w1.size(2);
    const uint64_t bytes = 4 * static_cast<uint64_t>(d * ffn + ffn + ffn * d);
    std::vector<uint64_t> off, sums;
    for (int64_t e = 0; e < E; ++e) {
      off.push_back(at);
      at = align_up(at + bytes);
      // The checksum over the expert's bytes as written.
      std::string buf;
      for (const auto& t : expert_parts(*x, e)) buf.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
      sums.push_back(fnv1a64(buf.data(), buf.size()));
    }
    header["layers"].push_back({{"module", name}, {"experts", E}, {"d", d}, {"ffn", ffn}, {"offsets", off},
                                {"checksums", sums}});
    offsets.push_back(off);
  }
  const std::string h = header.dump();
  const uint64_t n = h.size();
  const uint64_t data_start = align_up(sizeof kMagic + sizeof n + n);
  AtomicFile f(path);
  f.write(kMagic, sizeof kMagic);
  f.write(&n, sizeof n);
  f.write(h);
  uint64_t pos = sizeof kMagic + sizeof n + n;
  const std::string zeros(kAlign, '\0');
  auto pad_to = [&](uint64_t target) {
    while (pos < target) {
      const uint64_t k = std::min<uint64_t>(target - pos, kAlign);
      f.write(zeros.data(), k);
      pos += k;
    }
  };
  for (size_t l = 0; l < layers.size(); ++l) {
    auto* x = layers[l].second;
    for (int64_t e = 0; e < x->w1.size(0); ++e) {
      pad_to(data_start + offsets[l][e]);
      for (const auto& t : expert_parts(*x, e)) {
        f.write(t.data_ptr(), t.nbytes());
        pos += t.nbytes();
      }
    }
  }
  pad_to(data_start + at);
  f.commit();
}

ExpertFile::ExpertFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw Error(path + ": cannot stat (" + std::strerror(errno) + ")");
    size_ = static_cast<size_t>(st.st_size);
    char magic[8];
    uint64_t n = 0;
    if (size_ < sizeof magic + sizeof n || ::pread(fd_, magic, sizeof magic, 0) != sizeof magic ||
        std::memcmp(magic, kMagic, sizeof magic) != 0)
      throw Error(path + ": not a Strata expert file (write one with `strata checkpoint experts`)");
    if (::pread(fd_, &n, sizeof n, sizeof magic) != sizeof n || n > size_ - sizeof magic - sizeof n)
      throw Error(path + ": truncated header");
    std::string h(n, '\0');
    if (::pread(fd_, h.data(), n, sizeof magic + sizeof n) != static_cast<ssize_t>(n))
      throw Error(path + ": truncated header");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(h);
      if (j.at("version").get<int>() != kVersion)
        throw Error(path + ": expert file version " + std::to_string(j.at("version").get<int>()) +
                    " (this build reads " + std::to_string(kVersion) + ")");
      digest_ = j.at("checkpoint").get<std::string>();
      const uint64_t data_start = align_up(sizeof magic + sizeof n + n);
      for (const auto& lj : j.at("layers")) {
        Layer l;
        l.module = lj.at("module").get<std::string>();
        l.experts = lj.at("experts").get<int64_t>();
        l.d = lj.at("d").get<int64_t>();
        l.ffn = lj.at("ffn").get<int64_t>();
        l.offsets = lj.at("offsets").get<std::vector<uint64_t>>();
        l.checksums = lj.at("checksums").get<std::vector<uint64_t>>();
        if (l.experts <= 0 || l.d <= 0 || l.ffn <= 0 || l.offsets.size() != static_cast<size_t>(l.experts) ||
            l.checksums.size() != l.offsets.size())
          throw Error(path + ": layer " + l.module + ": bad shape or offsets in the header");
        const uint64_t bytes = 4 * static_cast<uint64_t>(l.d * l.ffn * 2 + l.ffn);
        for (auto& o : l.offsets) {
          if (o % kAlign != 0) throw Error(path + ": layer " + l.module + ": misaligned expert offset");
          o += data_start;
          if (o + bytes > size_)
            throw Error(path + ": truncated (layer " + l.module + " needs " + std::to_string(o + bytes) +
                        " bytes, the file has " + std::to_string(size_) + ")");
        }
        layers_.push_back(std::move(l));
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": bad header (" + std::string(e.what()) + ")");
    }
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      throw Error(path + ": cannot map (" + std::strerror(errno) + ")");
    }
    ::madvise(map_, size_, MADV_RANDOM);  // experts are read whole, in no order
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

ExpertFile::~ExpertFile() {
  if (map_) ::munmap(map_, size_);
  if (fd_ >= 0) ::close(fd_);
}

int64_t ExpertFile::expert_bytes(size_t layer) const {
  const auto& l = layers_.at(layer);
  return 4 * (2 * l.d * l.ffn + l.ffn);
}

moe::ExpertWeights ExpertFile::read(size_t layer, int64_t e) const {
  const Layer& l = layers_.at(layer);
  TORCH_CHECK(e >= 0 && e < l.experts, "expert file: no expert ", e, " in ", l.module);
  const size_t bytes = static_cast<size_t>(expert_bytes(layer));
  const char* p = static_cast<const char*>(map_) + l.offsets[e];
  if (fnv1a64(p, bytes) != l.checksums[e])
    throw Error(path_ + ": corrupt expert file (expert " + std::to_string(e) + " of " + l.module +
                " does not match its checksum)");
  // Copies the checked bytes into tensors of their own (aligned like any other), then gives the
  // mapped pages back: the cache holds the expert, not the page cache.
  const int64_t d = l.d, ffn = l.ffn;
  moe::ExpertWeights w;
  w.w1 = torch::empty({d, ffn}, torch::kFloat);
  w.b1 = torch::empty({ffn}, torch::kFloat);
  w.w2 = torch::empty({ffn, d}, torch::kFloat);
  size_t at = 0;
  for (auto* t : {&w.w1, &w.b1, &w.w2}) {
    std::memcpy(t->data_ptr(), p + at, t->nbytes());
    at += t->nbytes();
  }
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) / page * page;
  ::madvise(reinterpret_cast<void*>(start), reinterpret_cast<uintptr_t>(p) + bytes - start, MADV_DONTNEED);
  return w;
}

}  // namespace strata::nmt
