#pragma once
// The expert predictor of data-aware offloading (SiDA, Du et al. MLSys 2024; issue 22): a small
// network, trained offline on an MoE model's own routing (nmt/train/predictor_training.h), that
// says from the source sentence alone which experts the model will use: for every encoder MoE
// layer each source token's expert, for every decoder MoE layer the set of experts the sentence's
// decoding will touch (its target tokens are unknown ahead of time; the target language is the
// source's first token, >>xx<<). Offloading (--expert-file) uses it to bring experts in before
// they are dispatched.
//
//   strata predictor train -m moe.pt -o moe.predictor
//   ExpertPredictor p = load_expert_predictor("moe.predictor", ck.digest);
//   ExpertPrediction x = p->forward(src);               // src [B, S] i64, the encoder's input
//   auto sets = predicted_experts(p->options, x, src, 2, 0.5);   // per MoE layer, sorted
//
// The network (our choice, small and batch-invariant; SiDA runs an LSTM over the model's
// embeddings): an embedding of `dim` per piece, initialised as a random projection of the MoE
// model's own embedding; two width-3 convolutions over the sentence (the second with a residual),
// ReLU, padding masked to zero before each, so a sentence's prediction does not depend on its
// batch-mates; the sentence's masked mean appended to every position. One linear head per encoder
// MoE layer over positions (logits over the E experts), one per decoder MoE layer over the
// sentence (masked max ‖ mean; independent logits: "the decoding uses expert e").
//
// File: "STRATAPR" | u64 n | n bytes of JSON header {"version", "checkpoint" (the MoE checkpoint's
// integrity digest), "vocab", "dim", "experts", "encoder_layers", "decoder_layers", "payload_bytes",
// "payload_fnv1a64"} | the payload, LibTorch's archive of the module. Written atomically; on load
// the payload's checksum is verified before LibTorch parses it, and the digest must match.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace strata::nmt {

struct ExpertPredictorOptions {
  int64_t vocab = 0;    // pieces of the MoE model's vocabulary
  int64_t dim = 64;     // width of the embedding and convolutions
  int64_t experts = 0;  // experts per MoE layer (E)
  // The MoE layers' names as `strata analyze routing` gives them ("enc1", "dec1"), bottom up.
  std::vector<std::string> encoder_layers, decoder_layers;
};

struct ExpertPrediction {
  std::vector<torch::Tensor> encoder;  // per encoder MoE layer: [B, S, E] logits of each token's expert
  std::vector<torch::Tensor> decoder;  // per decoder MoE layer: [B, E] logits of "the sentence uses e"
};

class ExpertPredictorImpl : public torch::nn::Module {
 public:
  explicit ExpertPredictorImpl(ExpertPredictorOptions options);
  // src [B, S] i64 (pad 0), laid out as the MoE model's encoder input (>>tgt<< x_1 … x_n </s>).
  ExpertPrediction forward(const torch::Tensor& src);
  // The embedding as a random projection of `model_embedding` [vocab, d] (seeded by `seed`),
  // scaled to unit standard deviation.
  void init_embedding(const torch::Tensor& model_embedding, uint64_t seed);

  ExpertPredictorOptions options;
  torch::nn::Embedding embed{nullptr};
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::nn::ModuleList encoder_heads{nullptr}, decoder_heads{nullptr};
};
TORCH_MODULE(ExpertPredictor);

// The experts each MoE layer (encoder layers first, then decoder layers: the order of MoeAux::top1)
// is predicted to use for the batch `src`: encoder layers, the union over its tokens of each
// token's `top_k` most likely experts; decoder layers, the union over its sentences of the experts
// with probability >= `threshold` (and at least each sentence's most likely one). Sorted.
std::vector<std::vector<int64_t>> predicted_experts(const ExpertPredictorOptions& options,
                                                    const ExpertPrediction& prediction,
                                                    const torch::Tensor& src, int64_t top_k,
                                                    double threshold);

// Writes `predictor` for the checkpoint whose integrity digest is `checkpoint_digest`, atomically.
// `extra` (e.g. the accuracy measured at training) is stored in the header as "report".
void save_expert_predictor(const std::string& path, ExpertPredictorImpl& predictor,
                           const std::string& checkpoint_digest,
                           const nlohmann::json& extra = nlohmann::json::object());

// Loads and checks a predictor file; with a non-empty `checkpoint_digest`, it must have been
// trained for that checkpoint. Throws strata::Error "<path>: <what>" for a missing, truncated,
// corrupt or foreign file. `header` (optional) receives the JSON header.
ExpertPredictor load_expert_predictor(const std::string& path, const std::string& checkpoint_digest,
                                      nlohmann::json* header = nullptr);

}  // namespace strata::nmt
