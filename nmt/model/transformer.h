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

#include <functional>
#include <memory>
#include <string>

#include "moe/comm.h"
#include "moe/moe_config.h"
#include "moe/sparse_ffn.h"
#include "nmt/model/lms.h"

namespace strata::nmt {

// What the MoE layers report (moe/sparse_ffn.h); the name is used across nmt/.
using moe::MoeAux;

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
  TORCH_ARG(moe::MoeConfig, moe) = moe::MoeConfig();  // sparse FFN layers (type none: dense)
  TORCH_ARG(LmsOptions, lms) = LmsOptions();  // language-specific low-rank modules (dense FFNs)
};

// Cached keys/values of one attention layer during incremental decoding: [B, H, t, dh].
struct KvCache {
  torch::Tensor k, v;  // [B, H, t, dh] (cross-attention: [B, H, S, dh], computed once)
  // Self-attention in inference decoding on CPU (kernels/attention_one_query_steps): keys and
  // values by step, written once and never moved: steps_k/steps_v [capacity, R, H, dh] (row r of
  // step s = the r-th decoder row of step s); rows [B, t] i64: for decoder row b, the row of each
  // step it descends from. Beam reordering and finished sentences only select rows of `rows`.
  torch::Tensor steps_k, steps_v, rows;
};

struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t d_model, int64_t heads) : d_model_(d_model), heads_(heads) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(double, dropout) = 0.0;        // on the attention probabilities
  TORCH_ARG(bool, self_attention) = true;  // false: cross-attention over a memory
  TORCH_ARG(int64_t, lms_langs) = 0;       // > 0: LMS projections with this many languages
  TORCH_ARG(int64_t, lms_rank) = 4;
};

// Multi-head attention. Self-attention uses one fused [3d, d] input projection; cross-attention
// a [d, d] query and a fused [2d, d] key/value projection. With lms_langs > 0 every projection is
// an LMS linear (NOTE: the fused projections get one rank-r delta each, where the reference has
// separate q, k, v deltas).
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiheadAttentionImpl(MultiheadAttentionOptions options);
  // query [B, T, d]; memory [B, S, d] (cross only); key_pad [B, S] bool (true = pad) or undefined;
  // causal: mask future positions (self, full sequence). With `cache` (incremental decoding):
  // self-attention appends this step's keys/values; cross-attention computes them once.
  // lms: per-sentence LMS bank indices (used only by LMS projections). Cross-attention in beam
  // search: memory (and key_pad, and the cached keys/values) may have B/G rows, each serving G
  // consecutive query rows (DecoderState::group; not with LMS projections).
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& memory,
                        const torch::Tensor& key_pad, bool causal, KvCache* cache = nullptr,
                        const LmsKeys& lms = {});

  MultiheadAttentionOptions options;
  LmsLinear in_proj{nullptr};   // self: [3d, d]
  LmsLinear q_proj{nullptr};    // cross: [d, d]
  LmsLinear kv_proj{nullptr};   // cross: [2d, d]
  LmsLinear out_proj{nullptr};  // [d, d]

 private:
  // One decoding step of self-attention through the step-indexed cache (KvCache::steps_k):
  // appends this step's keys and values, returns the context [B, H, dh].
  torch::Tensor step_attention(const std::vector<torch::Tensor>& qkv, KvCache& cache,
                               double scale) const;

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B, T, d] -> [B, H, T, dh]
};
TORCH_MODULE(MultiheadAttention);

struct FeedForwardOptions {
  FeedForwardOptions(int64_t d_model, int64_t ffn) : d_model_(d_model), ffn_(ffn) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, ffn);                   // hidden width
  TORCH_ARG(double, activation_dropout) = 0.0;  // on the hidden activation
  TORCH_ARG(int64_t, lms_langs) = 0;         // > 0: LMS linears with this many languages
  TORCH_ARG(int64_t, lms_rank) = 4;
};

// Position-wise feed-forward: Linear -> ReLU -> dropout -> Linear (LMS linears with lms_langs > 0).
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(FeedForwardOptions options);
  // [B, ..., d] -> [B, ..., d]; lms: per-sentence bank indices [B] (LMS layers only).
  torch::Tensor forward(const torch::Tensor& x, const LmsKeys& lms = {});
  FeedForwardOptions options;
  LmsLinear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FeedForward);

// Builds a layer's sparse FFN sub-layer (moe/registry.h); called by the layer at the point of its
// construction where the dense FFN would be made, so parameters are initialised in layer order.
using SparseFfnFactory = std::function<std::shared_ptr<moe::SparseFfnBase>()>;

// The options of one encoder or decoder layer.
struct TransformerLayerOptions {
  TransformerLayerOptions(int64_t d_model, int64_t heads, int64_t ffn)
      : d_model_(d_model), heads_(heads), ffn_(ffn) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(int64_t, ffn);                      // dense FFN hidden width
  TORCH_ARG(double, dropout) = 0.1;             // residual dropout
  TORCH_ARG(double, attention_dropout) = 0.0;
  TORCH_ARG(double, activation_dropout) = 0.0;
  TORCH_ARG(int64_t, attention_lms_langs) = 0;  // > 0: LMS attention projections
  TORCH_ARG(int64_t, ffn_lms_langs) = 0;        // > 0: LMS FFN linears
  TORCH_ARG(int64_t, lms_rank) = 4;
  // A sparse FFN instead of the dense one: its submodule name ("moe", "smoe") and factory.
  TORCH_ARG(std::string, sparse_name) = "";
  TORCH_ARG(SparseFfnFactory, make_sparse) = nullptr;
};

// An observer of the FFN sub-layers (nmt/analysis/modularity): while one is set on this thread,
// every ffn_block passes it its FFN's input after the norm, x [B, T, d], and the LMS keys, in
// call order (a teacher-forced forward: encoder layers bottom up, then decoder layers).
struct FfnProbe {
  virtual ~FfnProbe() = default;
  virtual void ffn_input(const torch::Tensor& x, const LmsKeys& lms) = 0;
};
// Sets `probe` on this thread for the guard's lifetime (the previous one is restored after).
class FfnProbeGuard {
 public:
  explicit FfnProbeGuard(FfnProbe* probe);
  ~FfnProbeGuard();
  FfnProbeGuard(const FfnProbeGuard&) = delete;
  FfnProbeGuard& operator=(const FfnProbeGuard&) = delete;

 private:
  FfnProbe* previous_;
};

// The FFN sub-layer with its residual: y + dropout(FFN(LN(y))) for dense layers; the sparse
// sub-layer's own block otherwise (moe/sparse_ffn.h).
torch::Tensor ffn_block(FeedForward& ffn, const std::shared_ptr<moe::SparseFfnBase>& sparse,
                        torch::nn::LayerNorm& norm, const torch::Tensor& y,
                        const torch::Tensor& pad, double dropout, bool training, MoeAux* aux,
                        const LmsKeys& lms = {});

class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(TransformerLayerOptions options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& src_pad,
                        MoeAux* aux = nullptr, const LmsKeys& lms = {});  // [B, S, d]
  TransformerLayerOptions options;
  torch::nn::LayerNorm self_attn_norm{nullptr}, ffn_norm{nullptr};
  MultiheadAttention self_attn{nullptr};
  FeedForward ffn{nullptr};                      // dense layers
  std::shared_ptr<moe::SparseFfnBase> sparse;    // sparse layers (registered as sparse_name)
};
TORCH_MODULE(EncoderLayer);

struct DecoderLayerCache {
  KvCache self, cross;
};

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(TransformerLayerOptions options);
  // x [B, T, d]; memory [B, S, d]; with `cache`, x is one step [B, 1, d]. `tgt_pad` [B, T]
  // marks padding positions (not routed to experts), or is undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory,
                        const torch::Tensor& src_pad, DecoderLayerCache* cache = nullptr,
                        const torch::Tensor& tgt_pad = torch::Tensor(), MoeAux* aux = nullptr,
                        const LmsKeys& lms = {});
  TransformerLayerOptions options;
  torch::nn::LayerNorm self_attn_norm{nullptr}, cross_attn_norm{nullptr}, ffn_norm{nullptr};
  MultiheadAttention self_attn{nullptr}, cross_attn{nullptr};
  FeedForward ffn{nullptr};
  std::shared_ptr<moe::SparseFfnBase> sparse;
};
TORCH_MODULE(DecoderLayer);

// Encoder output: states [B, S, d], the padding mask [B, S] (true = pad) and the LMS bank
// indices of each sentence, which the decoder uses too.
struct EncoderOut {
  torch::Tensor states, pad;
  LmsKeys lms;
};

// The output layer over a subset of the vocabulary (a shortlist, data/shortlist.h): rows `ids`
// of the output weight in the form project() used when TransformerImpl::output_rows made it
// (the thread's compute type then), so project(states) = the model's project(states)[..., ids]
// (int8: exactly, the rows keep their scales; float32 and bfloat16: up to summation order).
struct OutputRows {
  torch::Tensor ids;             // [C] i64, ascending
  torch::Tensor weight;          // [C, d] f32 (float32), or undefined
  kernels::PackedWeight packed;  // [C, d] bfloat16 / int8, or empty
  torch::Tensor project(const torch::Tensor& states) const;  // [..., d] -> [..., C] f32
};

// State of incremental decoding for a batch of hypotheses.
struct DecoderState {
  // step()/step_logits() score only these pieces (columns in ids' order); null: the vocabulary.
  std::shared_ptr<const OutputRows> output;
  EncoderOut enc;
  std::vector<DecoderLayerCache> layers;
  int64_t step = 0;
  // Each source row (enc.states, enc.pad, the cross-attention caches) serves `group` consecutive
  // decoder rows: beam search sets it to the beam size instead of repeating the encoder output,
  // so cross-attention keys and values are computed and read once per sentence, not per beam.
  int64_t group = 1;
  // Keeps rows `order` ([N] i64) of every cached tensor: beam reordering and finished sentences.
  // With group G > 1, order must keep blocks of G rows that each come from one source row (beam
  // search's blocks of K beams per sentence); the source side keeps row order[i·G] / G of block i.
  // `same_sources`: every new row i has the same source sentence as old row i (beams reordered
  // within their sentences, none removed), so the encoder output and the cross-attention caches,
  // which depend only on the source, are left as they are.
  // `group_after` > 0: the rows after are in blocks of that many instead (beam search's first step
  // runs one row per sentence, then K); same_sources then says no source row was removed.
  void select(const torch::Tensor& order, bool same_sources = false, int64_t group_after = 0);
};

class TransformerImpl : public torch::nn::Module, public kernels::PackableModule {
 public:
  // comm (expert parallelism, moe/expert_parallel.h): every MoE layer holds only this rank's
  // experts and exchanges tokens with the other ranks; null for a single process.
  explicit TransformerImpl(TransformerOptions options,
                           std::shared_ptr<moe::Communicator> comm = nullptr);
  void reset();

  // `aux` (optional) collects the MoE layers' losses and statistics. `lms`: per-sentence LMS bank
  // indices (lms_keys()); required when the model has LMS layers, kept in EncoderOut for decoding.
  EncoderOut encode(const torch::Tensor& src, MoeAux* aux = nullptr,
                    const LmsKeys& lms = {});  // src [B, S] i64
  // Teacher-forced decoder: prev [B, T] i64 -> logits [B, T, V] (f32).
  torch::Tensor decode(const torch::Tensor& prev, const EncoderOut& enc, MoeAux* aux = nullptr);
  // The same pass up to the final norm: prev [B, T] -> states [B, T, d]; decode() = project(that).
  // The training loss projects them itself, in chunks (kernels/output_loss.h).
  torch::Tensor decode_states(const torch::Tensor& prev, const EncoderOut& enc,
                              MoeAux* aux = nullptr);
  // The output layer (the shared embedding): states [..., d] -> logits [..., V] f32.
  torch::Tensor project(const torch::Tensor& states);
  // The output layer's rows `ids` ([C] i64, ascending) in the form project() uses now.
  OutputRows output_rows(const torch::Tensor& ids);
  // Inference: the output layer's weight packed in format f (kernels/); the embedding lookup stays
  // fp32. kernels::pack_weights(model, compute_type) packs this and every linear and expert.
  void pack_weights(kernels::WeightFormat f) override;
  // Int8 checkpoints: "embed.weight" (the output layer's; a released one is also looked up in int8).
  std::map<std::string, kernels::Int8Weight> int8_weights() const override;
  void set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) override;
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& prev,
                        MoeAux* aux = nullptr, const LmsKeys& lms = {}) {
    return decode(prev, encode(src, aux, lms), aux);
  }
  // LMS bank indices for sentences with languages src_lang, tgt_lang ([B] i64 indices into the
  // model's languages); shared: the fused slot for all. Undefined keys for a model without LMS.
  LmsKeys lms_keys(const torch::Tensor& src_lang, const torch::Tensor& tgt_lang,
                   bool shared = false) const {
    return nmt::lms_keys(options.lms().mode, options.lms().num_langs, on_device(src_lang),
                         on_device(tgt_lang), shared);
  }
  // Where the parameters are (kernels/device.h). encode, decode_states, step and lms_keys move
  // their index inputs there, so callers build batches on the CPU whatever the device.
  torch::Device device() const { return embed->weight.device(); }
  DecoderState start(EncoderOut enc);
  // One incremental step: tokens [B] i64 -> log-probabilities [B, V] (f32); [B, C] over
  // state.output's pieces when it is set.
  torch::Tensor step(const torch::Tensor& tokens, DecoderState& state);
  // The same step's scores before the log-softmax, logits [B, V] (f32); step() = log_softmax(this).
  torch::Tensor step_logits(const torch::Tensor& tokens, DecoderState& state);

  TransformerOptions options;
  torch::nn::Embedding embed{nullptr};  // shared: source, target and output projection
  torch::nn::ModuleList encoder_layers{nullptr}, decoder_layers{nullptr};
  torch::nn::LayerNorm encoder_norm{nullptr}, decoder_norm{nullptr};
  // Omni-router (moe.shared_router): the one [E, d] router weight of every MoE layer, registered
  // here once (the layers hold it unregistered), so its gradient sums those of all layers.
  torch::nn::Linear shared_router{nullptr};

 private:
  torch::Tensor embed_tokens(const torch::Tensor& tokens, int64_t offset);  // [B, T] -> [B, T, d]
  torch::Tensor on_device(const torch::Tensor& t) const {  // t on device() (undefined stays so)
    return t.defined() ? t.to(device()) : t;
  }
  TransformerLayerOptions layer_options(int64_t index) const;  // of encoder/decoder layer `index`
  std::shared_ptr<moe::Communicator> comm_;
  torch::Tensor positions_;  // [max_positions, d] sinusoidal table (buffer)
  kernels::PackedWeight packed_output_;  // embed->weight for the output layer (pack_weights)
  kernels::PackedWeight stored_output_;  // embed->weight as an int8 checkpoint stored it
};
TORCH_MODULE(Transformer);

// The sinusoidal position table: row p = [sin(p·w_0..w_{d/2-1}), cos(p·w_0..)], w_i = 10000^(-i/(d/2-1)).
torch::Tensor sinusoidal_positions(int64_t n, int64_t d);

// Number of parameters (shared embedding counted once).
int64_t count_parameters(const torch::nn::Module& m);

}  // namespace strata::nmt
