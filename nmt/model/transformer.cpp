#include "nmt/model/transformer.h"

#include "moe/hidden_hook.h"

#include <cmath>
#include <limits>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "moe/registry.h"

namespace strata::nmt {

namespace F = torch::nn::functional;

torch::Tensor sinusoidal_positions(int64_t n, int64_t d) {
  const int64_t half = d / 2;
  auto pos = torch::arange(n, torch::kFloat).unsqueeze(1);                          // [n, 1]
  double scale = std::log(10000.0) / std::max<int64_t>(half - 1, 1);
  auto freq = torch::exp(torch::arange(half, torch::kFloat) * -scale).unsqueeze(0);  // [1, d/2]
  auto angles = pos * freq;                                                          // [n, d/2]
  auto table = torch::cat({torch::sin(angles), torch::cos(angles)}, 1);              // [n, 2*(d/2)]
  if (d % 2) table = torch::cat({table, torch::zeros({n, 1})}, 1);
  return table;
}

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// ---------------------------------------------------------------------------------------------

MultiheadAttentionImpl::MultiheadAttentionImpl(MultiheadAttentionOptions o) : options(std::move(o)) {
  const int64_t d_model = options.d_model(), heads = options.heads();
  TORCH_CHECK(d_model % heads == 0, "attention: d_model (", d_model, ") must be divisible by heads (",
              heads, ")");
  auto linear = [&](int64_t in, int64_t out) {
    return LmsLinear(LmsLinearOptions(in, out).num_langs(options.lms_langs()).rank(options.lms_rank()));
  };
  if (options.self_attention()) {
    in_proj = register_module("in_proj", linear(d_model, 3 * d_model));
  } else {
    q_proj = register_module("q_proj", linear(d_model, d_model));
    kv_proj = register_module("kv_proj", linear(d_model, 2 * d_model));
  }
  out_proj = register_module("out_proj", linear(d_model, d_model));
  // Xavier-uniform as in fairseq; per-projection gain for fused weights. LMS banks keep their own
  // initialisation.
  for (auto& p : named_parameters()) {
    const std::string& k = p.key();
    if (k.size() >= 6 && k.compare(k.size() - 6, 6, "weight") == 0) {
      if (!kernels::is_released(p.value())) torch::nn::init::xavier_uniform_(p.value());  // else int8 next
    } else if (k.size() >= 4 && k.compare(k.size() - 4, 4, "bias") == 0) {
      torch::nn::init::zeros_(p.value());
    }
  }
}

torch::Tensor MultiheadAttentionImpl::split_heads(const torch::Tensor& x) const {
  const int64_t B = x.size(0), T = x.size(1), H = options.heads();
  return x.view({B, T, H, options.d_model() / H}).transpose(1, 2);  // [B, H, T, dh]
}

torch::Tensor MultiheadAttentionImpl::step_attention(const std::vector<torch::Tensor>& qkv,
                                                     KvCache& cache, double scale) const {
  const int64_t B = qkv[0].size(0), H = options.heads(), dh = options.d_model() / H;
  auto k = qkv[1].reshape({B, H, dh}), v = qkv[2].reshape({B, H, dh});
  const int64_t t = cache.rows.defined() ? cache.rows.size(1) : 0;
  if (!cache.steps_k.defined() || t == cache.steps_k.size(0) || B > cache.steps_k.size(1)) {
    // First step, or full: room for twice the steps (and at least this many rows).
    const int64_t cap = std::max<int64_t>(16, 2 * t), rows = std::max<int64_t>(B, t ? cache.steps_k.size(1) : B);
    auto grow = [&](const torch::Tensor& old) {
      auto n = torch::empty({cap, rows, H, dh}, k.options());
      if (t) n.narrow(0, 0, t).narrow(1, 0, old.size(1)).copy_(old.narrow(0, 0, t));
      return n;
    };
    cache.steps_k = grow(cache.steps_k);
    cache.steps_v = grow(cache.steps_v);
  }
  cache.steps_k[t].narrow(0, 0, B).copy_(k);
  cache.steps_v[t].narrow(0, 0, B).copy_(v);
  auto self = torch::arange(B, torch::kLong).unsqueeze(1);
  cache.rows = t ? torch::cat({cache.rows, self}, 1) : self;  // [B, t+1]
  return kernels::attention_one_query_steps(qkv[0].reshape({B, H, dh}), cache.steps_k,
                                            cache.steps_v, cache.rows, scale);  // [B, H, dh]
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& query,
                                              const torch::Tensor& memory,
                                              const torch::Tensor& key_pad, bool causal,
                                              KvCache* cache, const LmsKeys& lms) {
  const int64_t B = query.size(0), T = query.size(1), d_model = options.d_model();
  const double scale = 1.0 / std::sqrt(static_cast<double>(d_model / options.heads()));
  const double dropout = options.dropout();
  torch::Tensor q, k, v;
  if (options.self_attention()) {
    auto qkv = in_proj(query, lms).chunk(3, -1);  // 3 x [B, T, d]
    if (cache && T == 1 && query.is_cpu() && !torch::GradMode::is_enabled() && !cache->k.defined())
      return out_proj(step_attention(qkv, *cache, scale).view({B, 1, d_model}), lms);
    q = split_heads(qkv[0]);
    k = split_heads(qkv[1]);
    v = split_heads(qkv[2]);
    if (cache) {
      if (cache->k.defined()) {
        k = torch::cat({cache->k, k}, 2);
        v = torch::cat({cache->v, v}, 2);
      }
      cache->k = k;
      cache->v = v;
    }
  } else {
    q = split_heads(q_proj(query, lms));
    if (cache && cache->k.defined()) {
      k = cache->k;
      v = cache->v;
    } else {
      auto kv = kv_proj(memory, lms).chunk(2, -1);
      k = split_heads(kv[0]);
      v = split_heads(kv[1]);
      if (cache) {
        cache->k = k;
        cache->v = v;
      }
    }
  }
  // One query per row (incremental decoding) on CPU, inference: kernels/attention, one pass over
  // the cached keys and values per row and head.
  const bool one_query = T == 1 && q.is_cpu();
  if (one_query && !torch::GradMode::is_enabled()) {  // (k, v may have B/G rows: kernels/attention)
    auto ctx = kernels::attention_one_query(q.squeeze(2), k, v, key_pad, scale);  // [B, H, dh]
    return out_proj(ctx.view({B, 1, d_model}), lms);
  }
  // Whole sequences without gradients on CPU (the encoder in inference, cross-attention when
  // scoring): the same kernel over the B·T query rows, each attending to its sentence's keys
  // (LibTorch 1.13's CPU bmm runs one small GEMM per (sentence, head) slice: 10% of int8 greedy
  // decoding's time went to the encoder's bmm).
  if (!one_query && !causal && q.is_cpu() && q.scalar_type() == torch::kFloat &&
      !torch::GradMode::is_enabled() && !(dropout > 0 && is_training())) {
    const int64_t H = options.heads();
    auto rows = q.transpose(1, 2).reshape({B * T, H, d_model / H});  // [B·T, H, dh]
    auto ctx = kernels::attention_one_query(rows, k, v, key_pad, scale);  // (k, v: B/G rows allowed)
    return out_proj(ctx.view({B, T, d_model}), lms);
  }
  auto key_mask = key_pad;
  if (k.size(0) != B) {  // memory rows shared by G query rows (DecoderState::group)
    TORCH_CHECK(B % k.size(0) == 0, "attention: ", B, " query rows for ", k.size(0), " memory rows");
    const int64_t G = B / k.size(0);
    k = k.repeat_interleave(G, 0);
    v = v.repeat_interleave(G, 0);
    if (key_mask.defined()) key_mask = key_mask.repeat_interleave(G, 0);
  }
  // With gradients, one query per row is a broadcast multiply and a sum over the head dimension
  // (LibTorch's CPU bmm would run one small GEMM per (row, head) slice).
  const int64_t S = k.size(2);
  auto scores = one_query ? (k * (q * scale)).sum(-1).unsqueeze(2)              // [B, H, 1, S]
                          : kernels::matmul(q * scale, k.transpose(-2, -1));  // [B, H, T, S]
  if (key_mask.defined())
    scores = scores.masked_fill(key_mask.view({B, 1, 1, S}), -std::numeric_limits<float>::infinity());
  if (causal && !cache && T > 1) {
    auto future = torch::ones({T, S}, torch::dtype(torch::kBool).device(q.device())).triu(S - T + 1);
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  if (dropout > 0 && is_training()) probs = F::dropout(probs, F::DropoutFuncOptions().p(dropout).training(true));
  auto ctx = one_query ? (probs.transpose(-2, -1) * v).sum(2).reshape({B, 1, d_model})
                       : kernels::matmul(probs, v).transpose(1, 2).reshape({B, T, d_model});  // [B, T, d]
  return out_proj(ctx, lms);
}

// ---------------------------------------------------------------------------------------------

FeedForwardImpl::FeedForwardImpl(FeedForwardOptions o) : options(std::move(o)) {
  auto linear = [&](int64_t in, int64_t out) {
    return LmsLinear(LmsLinearOptions(in, out).num_langs(options.lms_langs()).rank(options.lms_rank()));
  };
  fc1 = register_module("fc1", linear(options.d_model(), options.ffn()));
  fc2 = register_module("fc2", linear(options.ffn(), options.d_model()));
  for (auto* l : {&fc1, &fc2}) {
    if (!kernels::is_released((*l)->weight)) torch::nn::init::xavier_uniform_((*l)->weight);  // else int8 next
    torch::nn::init::zeros_((*l)->bias);
  }
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x, const LmsKeys& lms) {
  auto h = moe::hook_hidden(this, -1, torch::relu(fc1(x, lms)));
  if (options.activation_dropout() > 0 && is_training())
    h = F::dropout(h, F::DropoutFuncOptions().p(options.activation_dropout()).training(true));
  return fc2(h, lms);
}

// ---------------------------------------------------------------------------------------------

namespace {
torch::nn::LayerNorm layer_norm(int64_t d) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5));
}
torch::Tensor drop(const torch::Tensor& x, double p, bool training) {
  return (p > 0 && training) ? F::dropout(x, F::DropoutFuncOptions().p(p).training(true)) : x;
}
}  // namespace

namespace {
thread_local FfnProbe* ffn_probe = nullptr;
}  // namespace

FfnProbeGuard::FfnProbeGuard(FfnProbe* probe) : previous_(ffn_probe) { ffn_probe = probe; }
FfnProbeGuard::~FfnProbeGuard() { ffn_probe = previous_; }

torch::Tensor ffn_block(FeedForward& ffn, const std::shared_ptr<moe::SparseFfnBase>& sparse,
                        torch::nn::LayerNorm& norm, const torch::Tensor& y,
                        const torch::Tensor& pad, double dropout, bool training, MoeAux* aux,
                        const LmsKeys& lms) {
  if (ffn_probe) ffn_probe->ffn_input(norm(y), lms);
  if (!sparse) return y + drop(ffn(norm(y), lms), dropout, training);
  MoeAux local;  // the sparse layer reads the stack's inputs from it and reports into it
  return sparse->block(y, norm, pad, dropout, aux ? aux : &local);
}

namespace {
// Registers the layer's FFN: the sparse one when the options give a factory, else dense.
void make_ffn(torch::nn::Module& layer, const TransformerLayerOptions& o, FeedForward& ffn,
              std::shared_ptr<moe::SparseFfnBase>& sparse) {
  if (o.make_sparse()) {
    sparse = layer.register_module(o.sparse_name(), o.make_sparse()());
  } else {
    ffn = layer.register_module("ffn", FeedForward(FeedForwardOptions(o.d_model(), o.ffn())
                                                       .activation_dropout(o.activation_dropout())
                                                       .lms_langs(o.ffn_lms_langs())
                                                       .lms_rank(o.lms_rank())));
  }
}

MultiheadAttention attention(const TransformerLayerOptions& o, bool self) {
  return MultiheadAttention(MultiheadAttentionOptions(o.d_model(), o.heads())
                                .dropout(o.attention_dropout())
                                .self_attention(self)
                                .lms_langs(o.attention_lms_langs())
                                .lms_rank(o.lms_rank()));
}
}  // namespace

EncoderLayerImpl::EncoderLayerImpl(TransformerLayerOptions o) : options(std::move(o)) {
  self_attn_norm = register_module("self_attn_norm", layer_norm(options.d_model()));
  self_attn = register_module("self_attn", attention(options, true));
  ffn_norm = register_module("ffn_norm", layer_norm(options.d_model()));
  make_ffn(*this, options, ffn, sparse);
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& src_pad,
                                        MoeAux* aux, const LmsKeys& lms) {
  const double p = options.dropout();
  auto h = self_attn_norm(x);
  auto y = x + drop(self_attn(h, h, src_pad, false, nullptr, lms), p, is_training());
  return ffn_block(ffn, sparse, ffn_norm, y, src_pad, p, is_training(), aux, lms);
}

DecoderLayerImpl::DecoderLayerImpl(TransformerLayerOptions o) : options(std::move(o)) {
  self_attn_norm = register_module("self_attn_norm", layer_norm(options.d_model()));
  self_attn = register_module("self_attn", attention(options, true));
  cross_attn_norm = register_module("cross_attn_norm", layer_norm(options.d_model()));
  cross_attn = register_module("cross_attn", attention(options, false));
  ffn_norm = register_module("ffn_norm", layer_norm(options.d_model()));
  make_ffn(*this, options, ffn, sparse);
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                        const torch::Tensor& src_pad, DecoderLayerCache* cache,
                                        const torch::Tensor& tgt_pad, MoeAux* aux,
                                        const LmsKeys& lms) {
  const double p = options.dropout();
  auto h = self_attn_norm(x);
  auto y = x + drop(self_attn(h, h, torch::Tensor(), true, cache ? &cache->self : nullptr, lms),
                    p, is_training());
  h = cross_attn_norm(y);
  y = y + drop(cross_attn(h, memory, src_pad, false, cache ? &cache->cross : nullptr, lms), p,
               is_training());
  return ffn_block(ffn, sparse, ffn_norm, y, tgt_pad, p, is_training(), aux, lms);
}

// ---------------------------------------------------------------------------------------------

void DecoderState::select(const torch::Tensor& order_in, bool same_sources, int64_t group_after) {
  const auto order = order_in.to(enc.states.device());
  const int64_t G = group_after > 0 ? group_after : group;
  TORCH_CHECK(order.size(0) % G == 0, "DecoderState::select: ", order.size(0), " rows are not blocks of ", G);
  if (!same_sources) {  // the encoder side (and the LMS keys) depend only on the source sentence
    auto src_order = G == 1 ? order : order.slice(0, 0, order.size(0), G);  // each block's first row
    if (group > 1) src_order = src_order.div(group, "floor");
    enc.states = enc.states.index_select(0, src_order);
    enc.pad = enc.pad.index_select(0, src_order);
    enc.lms = enc.lms.select(src_order);
    for (auto& l : layers)
      if (l.cross.k.defined()) {
        l.cross.k = l.cross.k.index_select(0, src_order);
        l.cross.v = l.cross.v.index_select(0, src_order);
      }
  }
  for (auto& l : layers) {
    if (l.self.k.defined()) {
      l.self.k = l.self.k.index_select(0, order);
      l.self.v = l.self.v.index_select(0, order);
    }
    if (l.self.rows.defined()) l.self.rows = l.self.rows.index_select(0, order);  // keys stay put
  }
  group = G;
}

TransformerImpl::TransformerImpl(TransformerOptions o, std::shared_ptr<moe::Communicator> comm)
    : options(std::move(o)), comm_(std::move(comm)) {
  reset();
}

TransformerLayerOptions TransformerImpl::layer_options(int64_t index) const {
  const auto& o = options;
  const auto& lms = o.lms();
  const int64_t lms_langs = lms.applies(index) ? lms.num_langs : 0;
  return TransformerLayerOptions(o.d_model(), o.heads(), o.ffn())
      .dropout(o.dropout())
      .attention_dropout(o.attention_dropout())
      .activation_dropout(o.activation_dropout())
      .attention_lms_langs(lms.attention ? lms_langs : 0)
      .ffn_lms_langs(lms_langs)
      .lms_rank(lms.rank);
}

void TransformerImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.vocab_size() > 0 && o.d_model() > 0 && o.heads() > 0,
              "transformer: vocab_size, d_model and heads must be positive");
  auto embed_options = torch::nn::EmbeddingOptions(o.vocab_size(), o.d_model()).padding_idx(o.pad_id());
  const bool deferred = kernels::DeferredStorage::defers(kernels::Deferred::kPackable);  // restored from int8 next
  if (deferred) embed_options._weight(kernels::released_placeholder({o.vocab_size(), o.d_model()}));
  embed = register_module("embed", torch::nn::Embedding(embed_options));
  torch::NoGradGuard no_grad;
  if (!deferred) {  // fairseq: N(0, d^-1/2), pad row zero.
    embed->weight.normal_(0, std::pow(static_cast<double>(o.d_model()), -0.5));
    embed->weight[o.pad_id()].zero_();
  }
  encoder_layers = register_module("encoder_layers", torch::nn::ModuleList());
  TORCH_CHECK(!o.moe().enabled() || o.moe().every_k_layers >= 1,
              "transformer: moe.every_k_layers must be >= 1");
  TORCH_CHECK(o.lms().mode == LmsMode::kNone ||
                  (o.lms().num_langs > 0 && o.lms().rank >= 1 && o.lms().every_k_layers >= 1),
              "transformer: LMS needs num_langs > 0, rank >= 1 and every_k_layers >= 1");
  const moe::MoeConfig& mc = o.moe();
  const int64_t num_layers = o.encoder_layers() + o.decoder_layers();
  // Omni-router: one router weight, registered here once and handed to every MoE layer.
  if (mc.enabled() && mc.shared_router) {
    TORCH_CHECK(moe::layer_type(mc.type).takes_router, "transformer: a shared router needs ",
                "a layer type with a router, got ", mc.type);
    shared_router = register_module("shared_router",
                                    moe::make_shared_router(mc, o.d_model(), num_layers));
  }
  // The layers' options; sparse layers get their layer type's factory (moe/registry.h).
  auto layer = [&](int64_t index) {
    TransformerLayerOptions lo = layer_options(index);
    if (mc.is_sparse(index)) {
      const moe::LayerType& type = moe::layer_type(mc.type);
      moe::SparseFfnArgs args{mc, o.d_model(), o.ffn(), o.vocab_size(), num_layers,
                              shared_router, comm_};
      lo.sparse_name(type.module_name).make_sparse([&type, args] { return type.make(args); });
    }
    return lo;
  };
  for (int64_t i = 0; i < o.encoder_layers(); ++i) encoder_layers->push_back(EncoderLayer(layer(i)));
  decoder_layers = register_module("decoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.decoder_layers(); ++i) decoder_layers->push_back(DecoderLayer(layer(i)));
  encoder_norm = register_module("encoder_norm", layer_norm(o.d_model()));
  decoder_norm = register_module("decoder_norm", layer_norm(o.d_model()));
  positions_ = register_buffer("positions", sinusoidal_positions(o.max_positions(), o.d_model()));
}

torch::Tensor TransformerImpl::embed_tokens(const torch::Tensor& tokens, int64_t offset) {
  const int64_t T = tokens.size(1);
  TORCH_CHECK(offset + T <= options.max_positions(), "transformer: sequence of ", offset + T,
              " tokens exceeds max_positions ", options.max_positions());
  // A released int8 embedding (LoadOptions::int8_only) is looked up in its int8 form: the same
  // values as the dequantized weight, row by row.
  auto x = (stored_output_.made_from(embed->weight) && kernels::is_released(embed->weight)
                ? stored_output_.dequantized_rows(tokens)
                : embed(tokens)) *
           std::sqrt(static_cast<double>(options.d_model()));
  x = x + positions_.slice(0, offset, offset + T).unsqueeze(0);
  return drop(x, options.dropout(), is_training());
}

EncoderOut TransformerImpl::encode(const torch::Tensor& src_in, MoeAux* aux, const LmsKeys& lms) {
  const auto src = on_device(src_in);
  TORCH_CHECK(options.lms().mode == LmsMode::kNone || lms.defined(),
              "transformer: this model has LMS layers; encode() needs the sentences' LMS keys "
              "(lms_keys(src_lang, tgt_lang))");
  EncoderOut out;
  out.pad = src.eq(options.pad_id());  // [B, S]
  out.lms = lms;
  auto x = embed_tokens(src, 0);
  MoeAux local;  // the MoE layers pass their choices on (AC router) even when aux is not wanted
  if (!aux) aux = &local;
  aux->start_stack(src);
  for (auto& m : *encoder_layers) x = m->as<EncoderLayer>()->forward(x, out.pad, aux, lms);
  out.states = encoder_norm(x);
  return out;
}

torch::Tensor TransformerImpl::decode(const torch::Tensor& prev, const EncoderOut& enc,
                                     MoeAux* aux) {
  return project(decode_states(prev, enc, aux));
}

torch::Tensor TransformerImpl::project(const torch::Tensor& states) {
  if (kernels::use_packed(packed_output_, embed->weight)) return packed_output_.linear(states, {});
  kernels::check_not_released({&embed->weight});
  return kernels::matmul(states, embed->weight.t());  // [..., V]
}

torch::Tensor OutputRows::project(const torch::Tensor& states) const {
  if (packed.defined()) return packed.linear(states, {});
  return kernels::matmul(states, weight.t());  // [..., C]
}

OutputRows TransformerImpl::output_rows(const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;  // inference rows: use_packed() must not depend on the caller's grad mode
  OutputRows r;
  r.ids = on_device(ids);
  TORCH_CHECK(r.ids.dim() == 1 && r.ids.scalar_type() == torch::kLong,
              "output_rows: ids must be a 1-D i64 tensor");
  if (kernels::use_packed(packed_output_, embed->weight)) {
    const auto& p = packed_output_;
    if (p.format() == kernels::WeightFormat::kInt8)  // the same integers and row scales
      r.packed = kernels::PackedWeight::from_int8(p.data().index_select(0, r.ids).contiguous(),
                                                  p.scale().index_select(0, r.ids).contiguous());
    else  // bf16 -> f32 -> bf16 is exact
      r.packed = kernels::PackedWeight::make(
          p.format(), p.data().index_select(0, r.ids).to(torch::kFloat).contiguous());
    return r;
  }
  kernels::check_not_released({&embed->weight});
  r.weight = embed->weight.index_select(0, r.ids).contiguous();
  return r;
}

void TransformerImpl::pack_weights(kernels::WeightFormat f) {
  const auto& w = embed->weight;
  if (f == kernels::WeightFormat::kInt8 && stored_output_.made_from(w)) {
    packed_output_ = stored_output_;
    return;
  }
  kernels::check_not_released({&w});
  packed_output_ = kernels::PackedWeight::make(f, w).from(w);
}

std::map<std::string, kernels::Int8Weight> TransformerImpl::int8_weights() const {
  return {{"embed.weight", kernels::int8_form(embed->weight, stored_output_)}};
}

void TransformerImpl::set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) {
  TORCH_CHECK(name == "embed.weight", "transformer: no int8 weight '", name, "'");
  stored_output_ = kernels::restore_int8(embed->weight, name, w, release);
  packed_output_ = kernels::PackedWeight();
}

torch::Tensor TransformerImpl::decode_states(const torch::Tensor& prev_in, const EncoderOut& enc,
                                            MoeAux* aux) {
  const auto prev = on_device(prev_in);
  auto x = embed_tokens(prev, 0);
  auto tgt_pad = prev.eq(options.pad_id());  // [B, T]
  MoeAux local;
  if (!aux) aux = &local;
  aux->start_stack(prev);
  for (auto& m : *decoder_layers)
    x = m->as<DecoderLayer>()->forward(x, enc.states, enc.pad, nullptr, tgt_pad, aux, enc.lms);
  return decoder_norm(x);  // [B, T, d]
}

DecoderState TransformerImpl::start(EncoderOut enc) {
  DecoderState s;
  s.enc = std::move(enc);
  s.layers.resize(decoder_layers->size());
  return s;
}

torch::Tensor TransformerImpl::step(const torch::Tensor& tokens, DecoderState& state) {
  return torch::log_softmax(step_logits(tokens, state), -1);  // [B, V]
}

torch::Tensor TransformerImpl::step_logits(const torch::Tensor& tokens_in, DecoderState& state) {
  const auto tokens = on_device(tokens_in);
  auto x = embed_tokens(tokens.view({-1, 1}), state.step);  // [B, 1, d]
  size_t i = 0;
  MoeAux aux;  // this step's tokens and first choices, for the routers of the MoE layers
  aux.start_stack(tokens.view({-1, 1}));
  for (auto& m : *decoder_layers)
    x = m->as<DecoderLayer>()->forward(x, state.enc.states, state.enc.pad, &state.layers[i++],
                                       torch::Tensor(), &aux, state.enc.lms);
  x = decoder_norm(x).squeeze(1);  // [B, d]
  state.step++;
  return state.output ? state.output->project(x) : project(x);  // [B, V] or [B, C] logits
}

}  // namespace strata::nmt
