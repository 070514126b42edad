// The expert predictor (issue 22): network, predicted expert sets, file.
#include "nmt/model/expert_predictor.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nmt/model/expert_file.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"

namespace strata::nmt {

namespace {

constexpr char kMagic[8] = {'S', 'T', 'R', 'A', 'T', 'A', 'P', 'R'};
constexpr int kVersion = 1;

// The indices where a [E] bool tensor is true, ascending.
std::vector<int64_t> true_indices(const torch::Tensor& b) {
  const auto c = b.contiguous();
  const bool* p = c.data_ptr<bool>();
  std::vector<int64_t> out;
  for (int64_t e = 0; e < c.numel(); ++e)
    if (p[e]) out.push_back(e);
  return out;
}

}  // namespace

ExpertPredictorImpl::ExpertPredictorImpl(ExpertPredictorOptions o) : options(std::move(o)) {
  if (options.vocab <= 0 || options.dim <= 0 || options.experts <= 0)
    throw Error("expert predictor: vocab, dim and experts must be positive");
  const int64_t D = options.dim;
  embed = register_module("embed", torch::nn::Embedding(options.vocab, D));
  conv1 = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(D, D, 3).padding(1)));
  conv2 = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(D, D, 3).padding(1)));
  encoder_heads = register_module("encoder_heads", torch::nn::ModuleList());
  decoder_heads = register_module("decoder_heads", torch::nn::ModuleList());
  for (size_t i = 0; i < options.encoder_layers.size(); ++i)
    encoder_heads->push_back(torch::nn::Linear(2 * D, options.experts));
  for (size_t i = 0; i < options.decoder_layers.size(); ++i)
    decoder_heads->push_back(torch::nn::Linear(2 * D, options.experts));
}

void ExpertPredictorImpl::init_embedding(const torch::Tensor& model_embedding, uint64_t seed) {
  if (model_embedding.dim() != 2 || model_embedding.size(0) != options.vocab)
    throw Error("expert predictor: the model's embedding is not [vocab, d]");
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(seed);
  const auto w = model_embedding.detach().to(torch::kCPU, torch::kFloat);
  const auto proj = at::randn({w.size(1), options.dim}, gen, torch::kFloat);
  auto e = w.matmul(proj);
  e = (e - e.mean()) / e.std().clamp_min(1e-12);
  embed->weight.copy_(e);
}

ExpertPrediction ExpertPredictorImpl::forward(const torch::Tensor& src) {
  // [B, S] -> mask [B, S, 1]; every stage zeroes the padding so that it never reaches a real token.
  const auto mask = src.ne(0).unsqueeze(-1).to(torch::kFloat);
  const auto conv = [&](torch::nn::Conv1d& c, const torch::Tensor& h) {
    return torch::relu(c(h.transpose(1, 2)).transpose(1, 2)) * mask;
  };
  const auto h0 = embed(src) * mask;
  const auto h1 = conv(conv1, h0);
  const auto h2 = conv(conv2, h1) + h1;  // >= 0, zero at padding
  const auto n = mask.sum(1).clamp_min(1);              // [B, 1]
  const auto mean = h2.sum(1) / n;                      // [B, D]
  const auto tokens = torch::cat({h2, mean.unsqueeze(1).expand_as(h2)}, -1);  // [B, S, 2D]
  const auto sentence = torch::cat({std::get<0>(h2.max(1)), mean}, -1);       // [B, 2D]
  ExpertPrediction out;
  for (const auto& h : *encoder_heads) out.encoder.push_back(h->as<torch::nn::Linear>()->forward(tokens));
  for (const auto& h : *decoder_heads) out.decoder.push_back(h->as<torch::nn::Linear>()->forward(sentence));
  return out;
}

std::vector<std::vector<int64_t>> predicted_experts(const ExpertPredictorOptions& options,
                                                    const ExpertPrediction& prediction,
                                                    const torch::Tensor& src, int64_t top_k,
                                                    double threshold) {
  std::vector<std::vector<int64_t>> sets;
  const auto keep = src.ne(0).reshape(-1);
  const int64_t k = std::max<int64_t>(1, std::min(top_k, options.experts));
  for (const auto& logits : prediction.encoder) {
    const auto top = std::get<1>(logits.reshape({-1, options.experts}).topk(k, -1));  // [B·S, k]
    auto use = torch::zeros({options.experts}, torch::kBool);
    use.index_put_({top.index({keep}).reshape(-1)}, true);
    sets.push_back(true_indices(use));
  }
  for (const auto& logits : prediction.decoder) {
    const auto p = torch::sigmoid(logits);  // [B, E]
    auto use = p.ge(threshold);
    use.scatter_(1, p.argmax(1, true), true);  // each sentence's most likely expert at least
    sets.push_back(true_indices(use.any(0)));
  }
  return sets;
}

void save_expert_predictor(const std::string& path, ExpertPredictorImpl& predictor,
                           const std::string& checkpoint_digest, const nlohmann::json& extra) {
  torch::serialize::OutputArchive ar;
  predictor.save(ar);
  std::ostringstream payload;
  ar.save_to(payload);
  const std::string bytes = payload.str();
  const auto& o = predictor.options;
  nlohmann::json header = {{"version", kVersion},
                           {"checkpoint", checkpoint_digest},
                           {"vocab", o.vocab},
                           {"dim", o.dim},
                           {"experts", o.experts},
                           {"encoder_layers", o.encoder_layers},
                           {"decoder_layers", o.decoder_layers},
                           {"payload_bytes", bytes.size()},
                           {"payload_fnv1a64", std::to_string(fnv1a64(bytes.data(), bytes.size()))},
                           {"report", extra}};
  const std::string h = header.dump();
  const uint64_t n = h.size();
  AtomicFile f(path);
  f.write(kMagic, sizeof kMagic);
  f.write(&n, sizeof n);
  f.write(h);
  f.write(bytes);
  f.commit();
}

ExpertPredictor load_expert_predictor(const std::string& path, const std::string& checkpoint_digest,
                                      nlohmann::json* header_out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the expert predictor (" + std::strerror(errno) + ")");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read the expert predictor");
  if (all.size() < 16 || std::memcmp(all.data(), kMagic, 8) != 0)
    throw Error(path + ": not an expert predictor file (written by `strata predictor train`)");
  uint64_t n = 0;
  std::memcpy(&n, all.data() + 8, 8);
  if (n > all.size() - 16) throw Error(path + ": truncated expert predictor (header)");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(all.substr(16, n));
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": corrupt expert predictor header");
  }
  ExpertPredictorOptions o;
  uint64_t payload_bytes = 0;
  std::string fnv, digest;
  try {
    if (h.at("version").get<int>() != kVersion)
      throw Error(path + ": expert predictor version " + h.at("version").dump() + " (this strata reads " +
                  std::to_string(kVersion) + ")");
    digest = h.at("checkpoint").get<std::string>();
    o.vocab = h.at("vocab").get<int64_t>();
    o.dim = h.at("dim").get<int64_t>();
    o.experts = h.at("experts").get<int64_t>();
    o.encoder_layers = h.at("encoder_layers").get<std::vector<std::string>>();
    o.decoder_layers = h.at("decoder_layers").get<std::vector<std::string>>();
    payload_bytes = h.at("payload_bytes").get<uint64_t>();
    fnv = h.at("payload_fnv1a64").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": corrupt expert predictor header (" + e.what() + ")");
  }
  if (payload_bytes != all.size() - 16 - n)
    throw Error(path + ": truncated expert predictor (" + std::to_string(all.size() - 16 - n) + " of " +
                std::to_string(payload_bytes) + " payload bytes)");
  const char* payload = all.data() + 16 + n;
  if (std::to_string(fnv1a64(payload, payload_bytes)) != fnv)
    throw Error(path + ": corrupt expert predictor (checksum mismatch)");
  if (!checkpoint_digest.empty() && digest != checkpoint_digest)
    throw Error(path + ": the expert predictor was trained for another checkpoint (digest " +
                digest.substr(0, 12) + ", the model's " + checkpoint_digest.substr(0, 12) + ")");
  if (o.vocab <= 0 || o.dim <= 0 || o.experts <= 0 || o.vocab > (int64_t{1} << 24) || o.dim > 4096 ||
      o.experts > 65536)
    throw Error(path + ": corrupt expert predictor header (sizes out of range)");
  ExpertPredictor p(o);
  try {
    torch::serialize::InputArchive ar;
    std::istringstream is(std::string(payload, payload_bytes));
    ar.load_from(is);
    p->load(ar);
  } catch (const c10::Error&) {
    throw Error(path + ": the expert predictor's weights do not match its header");
  }
  p->eval();
  if (header_out) *header_out = std::move(h);
  return p;
}

}  // namespace strata::nmt
