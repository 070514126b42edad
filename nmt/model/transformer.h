#pragma once
// Pre-LN Transformer encoder-decoder (Vaswani et al. 2017; pre-LN as in fairseq's
// --encoder-normalize-before): shared source/target/output embeddings, sinusoidal positions,
// incremental decoding with cached self-attention keys/values and cross-attention keys/values
// computed once per sentence.
//
//   Transformer model(TransformerOptions(vocab).d_model(256).heads(4));
//   auto enc = model->encode(src);                 // src [B, S] i64, pad = 0
//   auto logits = model->forward(src, prev_tgt);   // [B, T, V]
#include <torch/torch.h>

#include <vector>

#include "moe/moe_layer.h"
#include "moe/smoe_layer.h"
#include "nmt/model/lms.h"

namespace strata::nmt {

// Sparse FFN settings of a Transformer (num_experts 0 = dense everywhere).
struct MoeOptions {
  int64_t num_experts = 0;
  int64_t expert_ffn = 0;             // hidden width of each expert (0: the dense ffn)
  int64_t top_k = 1;                  // 1: Switch, 2: GShard
  int64_t every_k_layers = 2;         // layer i (0-based) is sparse when (i + 1) % k == 0
  double capacity_factor = 1.25;      // training; <= 0: dropless
  double eval_capacity_factor = 0.0;  // inference; <= 0: dropless (batch-invariant decoding)
  double eom = 0.0;                   // expert-output masking probability
  double expert_ffn_dropout = 0.0;    // dropout inside the experts (hidden activation)
  std::vector<int64_t> strata;        // non-empty: Stratified MoE with these experts per stratum
  moe::RouterKind router = moe::RouterKind::kTopK;  // router of the (non-SMoE) MoE layers
  bool shared_router = false;         // Omni-router: one router weight for all MoE layers
  double expert_dropout = 0.0;        // σ-MoE selection dropout (training)
  moe::Dispersion ac_dispersion = moe::Dispersion::kMad;
  double ac_momentum = 0.1;           // AC running statistics
  // Expert parallelism (moe/expert_parallel.h): when set, every MoE layer holds only this rank's
  // num_experts / world experts and exchanges tokens with the other ranks.
  std::shared_ptr<moe::Communicator> comm;
  torch::nn::Linear shared_weight{nullptr};  // set by the Transformer when shared_router
  bool is_sparse(int64_t layer) const {
    return num_experts > 0 && (layer + 1) % every_k_layers == 0;
  }
};

// Auxiliary outputs of the MoE layers of one forward pass, summed over layers.
struct MoeAux {
  torch::Tensor aux_loss, z_loss;    // sums over MoE layers (scalars)
  int64_t layers = 0;                // number of MoE layers that ran
  std::vector<torch::Tensor> load;   // per MoE layer [E]: fraction of routed rows per expert
  std::vector<double> drop_rate;     // per MoE layer
  std::vector<torch::Tensor> top1;   // per MoE layer: first-choice expert per position [B·T]
                                     // (-1 for padding), encoder layers first
  std::vector<double> agreement;     // per MoE layer: fraction of tokens whose first choice equals
                                     // the previous MoE layer's of the same stack (NaN: first)
  // First choices of the last MoE layer of the current stack (the AC router's clusters; the
  // Transformer resets it at the start of the encoder, the decoder and every decoding step).
  torch::Tensor prev_top1;
  void add(const moe::MoeOutput& o);
  void add(const moe::SmoeOutput& o);

 private:
  void push_top1(const torch::Tensor& t);
};

struct TransformerOptions {
  explicit TransformerOptions(int64_t vocab_size) : vocab_size_(vocab_size) {}
  TORCH_ARG(int64_t, vocab_size);
  TORCH_ARG(int64_t, d_model) = 512;
  TORCH_ARG(int64_t, heads) = 8;
  TORCH_ARG(int64_t, ffn) = 2048;
  TORCH_ARG(int64_t, encoder_layers) = 6;
  TORCH_ARG(int64_t, decoder_layers) = 6;
  TORCH_ARG(double, dropout) = 0.1;            // residual and embedding dropout
  TORCH_ARG(double, attention_dropout) = 0.0;  // on attention probabilities
  TORCH_ARG(double, activation_dropout) = 0.0; // on the FFN hidden activation
  TORCH_ARG(int64_t, max_positions) = 1024;
  TORCH_ARG(int64_t, pad_id) = 0;
  TORCH_ARG(MoeOptions, moe) = MoeOptions();
  TORCH_ARG(LmsOptions, lms) = LmsOptions();  // language-specific low-rank modules (dense FFNs)
};

// Cached keys/values of one attention layer during incremental decoding: [B, H, t, dh].
struct KvCache {
  torch::Tensor k, v;
};

// Multi-head attention. Self-attention uses one fused [3d, d] input projection; cross-attention
// a [d, d] query and a fused [2d, d] key/value projection. With lms_langs > 0 every projection is
// an LMS linear (NOTE: the fused projections get one rank-r delta each, where the reference has
// separate q, k, v deltas).
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t d_model, int64_t heads, double dropout, bool self_attention,
                         int64_t lms_langs = 0, int64_t lms_rank = 4);
  // query [B, T, d]; memory [B, S, d] (cross only); key_pad [B, S] bool (true = pad) or undefined;
  // causal: mask future positions (self, full sequence). With `cache` (incremental decoding):
  // self-attention appends this step's keys/values; cross-attention computes them once.
  // lms: per-sentence LMS bank indices (used only by LMS projections).
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& memory,
                        const torch::Tensor& key_pad, bool causal, KvCache* cache = nullptr,
                        const LmsKeys& lms = {});

  LmsLinear in_proj{nullptr};   // self: [3d, d]
  LmsLinear q_proj{nullptr};    // cross: [d, d]
  LmsLinear kv_proj{nullptr};   // cross: [2d, d]
  LmsLinear out_proj{nullptr};  // [d, d]

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B, T, d] -> [B, H, T, dh]
  int64_t d_model_, heads_;
  double dropout_;
  bool self_;
};
TORCH_MODULE(MultiheadAttention);

// Position-wise feed-forward: Linear -> ReLU -> dropout -> Linear (LMS linears with lms_langs > 0).
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t d_model, int64_t ffn, double activation_dropout, int64_t lms_langs = 0,
                  int64_t lms_rank = 4);
  // [B, ..., d] -> [B, ..., d]; lms: per-sentence bank indices [B] (LMS layers only).
  torch::Tensor forward(const torch::Tensor& x, const LmsKeys& lms = {});
  LmsLinear fc1{nullptr}, fc2{nullptr};

 private:
  double activation_dropout_;
};
TORCH_MODULE(FeedForward);

// The FFN sub-layer with its residual: y + dropout(FFN(LN(y))) for dense and MoE layers; for
// SMoE the stratified block (its own residuals and norms, see moe/smoe_layer.h).
torch::Tensor ffn_block(FeedForward& ffn, moe::MoeLayer& moe, moe::SmoeLayer& smoe,
                        torch::nn::LayerNorm& norm, const torch::Tensor& y,
                        const torch::Tensor& pad, double dropout, bool training, MoeAux* aux,
                        const LmsKeys& lms = {});

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(const TransformerOptions& o, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& src_pad,
                        MoeAux* aux = nullptr, const LmsKeys& lms = {});  // [B, S, d]
  torch::nn::LayerNorm self_attn_norm{nullptr}, ffn_norm{nullptr};
  MultiheadAttention self_attn{nullptr};
  FeedForward ffn{nullptr};    // dense layers
  moe::MoeLayer moe{nullptr};  // sparse layers
  moe::SmoeLayer smoe{nullptr};  // stratified sparse layers

 private:
  double dropout_;
};
TORCH_MODULE(EncoderLayer);

struct DecoderLayerCache {
  KvCache self, cross;
};

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const TransformerOptions& o, int64_t index);
  // x [B, T, d]; memory [B, S, d]; with `cache`, x is one step [B, 1, d]. `tgt_pad` [B, T]
  // marks padding positions (not routed to experts), or is undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory,
                        const torch::Tensor& src_pad, DecoderLayerCache* cache = nullptr,
                        const torch::Tensor& tgt_pad = torch::Tensor(), MoeAux* aux = nullptr,
                        const LmsKeys& lms = {});
  torch::nn::LayerNorm self_attn_norm{nullptr}, cross_attn_norm{nullptr}, ffn_norm{nullptr};
  MultiheadAttention self_attn{nullptr}, cross_attn{nullptr};
  FeedForward ffn{nullptr};
  moe::MoeLayer moe{nullptr};
  moe::SmoeLayer smoe{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DecoderLayer);

// Encoder output: states [B, S, d], the padding mask [B, S] (true = pad) and the LMS bank
// indices of each sentence, which the decoder uses too.
struct EncoderOut {
  torch::Tensor states, pad;
  LmsKeys lms;
};

// State of incremental decoding for a batch of hypotheses.
struct DecoderState {
  EncoderOut enc;
  std::vector<DecoderLayerCache> layers;
  int64_t step = 0;
  // Keeps rows `order` ([N] i64) of every cached tensor: beam reordering and finished sentences.
  // `same_sources`: every new row i has the same source sentence as old row i (beams reordered
  // within their sentences, none removed), so the encoder output and the cross-attention caches,
  // which depend only on the source, are left as they are.
  void select(const torch::Tensor& order, bool same_sources = false);
};

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(TransformerOptions options);
  void reset();

  // `aux` (optional) collects the MoE layers' losses and statistics. `lms`: per-sentence LMS bank
  // indices (lms_keys()); required when the model has LMS layers, kept in EncoderOut for decoding.
  EncoderOut encode(const torch::Tensor& src, MoeAux* aux = nullptr,
                    const LmsKeys& lms = {});  // src [B, S] i64
  // Teacher-forced decoder: prev [B, T] i64 -> logits [B, T, V] (f32).
  torch::Tensor decode(const torch::Tensor& prev, const EncoderOut& enc, MoeAux* aux = nullptr);
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& prev,
                        MoeAux* aux = nullptr, const LmsKeys& lms = {}) {
    return decode(prev, encode(src, aux, lms), aux);
  }
  // LMS bank indices for sentences with languages src_lang, tgt_lang ([B] i64 indices into the
  // model's languages); shared: the fused slot for all. Undefined keys for a model without LMS.
  LmsKeys lms_keys(const torch::Tensor& src_lang, const torch::Tensor& tgt_lang,
                   bool shared = false) const {
    return nmt::lms_keys(options.lms().mode, options.lms().num_langs, src_lang, tgt_lang, shared);
  }
  DecoderState start(EncoderOut enc);
  // One incremental step: tokens [B] i64 -> log-probabilities [B, V] (f32).
  torch::Tensor step(const torch::Tensor& tokens, DecoderState& state);

  TransformerOptions options;
  torch::nn::Embedding embed{nullptr};  // shared: source, target and output projection
  torch::nn::ModuleList encoder_layers{nullptr}, decoder_layers{nullptr};
  torch::nn::LayerNorm encoder_norm{nullptr}, decoder_norm{nullptr};
  // Omni-router (moe.shared_router): the one [E, d] router weight of every MoE layer, registered
  // here once (the layers hold it unregistered), so its gradient sums those of all layers.
  torch::nn::Linear shared_router{nullptr};

 private:
  torch::Tensor embed_tokens(const torch::Tensor& tokens, int64_t offset);  // [B, T] -> [B, T, d]
  torch::Tensor positions_;  // [max_positions, d] sinusoidal table (buffer)
};
TORCH_MODULE(Transformer);

// The sinusoidal position table: row p = [sin(p·w_0..w_{d/2-1}), cos(p·w_0..)], w_i = 10000^(-i/(d/2-1)).
torch::Tensor sinusoidal_positions(int64_t n, int64_t d);

// Number of parameters (shared embedding counted once).
int64_t count_parameters(const torch::nn::Module& m);

}  // namespace strata::nmt
