#include "nmt/model/transformer.h"

#include <cmath>
#include <limits>

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

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t d_model, int64_t heads, double dropout,
                                               bool self_attention, int64_t lms_langs,
                                               int64_t lms_rank)
    : d_model_(d_model), heads_(heads), dropout_(dropout), self_(self_attention) {
  TORCH_CHECK(d_model % heads == 0, "attention: d_model (", d_model, ") must be divisible by heads (",
              heads, ")");
  auto linear = [&](int64_t in, int64_t out) {
    return LmsLinear(LmsLinearOptions(in, out).num_langs(lms_langs).rank(lms_rank));
  };
  if (self_) {
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
    if (k.size() >= 6 && k.compare(k.size() - 6, 6, "weight") == 0)
      torch::nn::init::xavier_uniform_(p.value());
    else if (k.size() >= 4 && k.compare(k.size() - 4, 4, "bias") == 0)
      torch::nn::init::zeros_(p.value());
  }
}

torch::Tensor MultiheadAttentionImpl::split_heads(const torch::Tensor& x) const {
  const int64_t B = x.size(0), T = x.size(1);
  return x.view({B, T, heads_, d_model_ / heads_}).transpose(1, 2);  // [B, H, T, dh]
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& query,
                                              const torch::Tensor& memory,
                                              const torch::Tensor& key_pad, bool causal,
                                              KvCache* cache, const LmsKeys& lms) {
  const int64_t B = query.size(0), T = query.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d_model_ / heads_));
  torch::Tensor q, k, v;
  if (self_) {
    auto qkv = in_proj(query, lms).chunk(3, -1);  // 3 x [B, T, d]
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
  // One query per row (incremental decoding) on CPU: LibTorch's CPU bmm runs one small GEMM per
  // (row, head) slice through select/as_strided (~60% of beam-search time, bench_decode --profile);
  // a broadcast multiply and a sum over the head dimension compute the same products in one pass.
  const bool one_query = T == 1 && q.is_cpu();
  auto scores = one_query ? (k * (q * scale)).sum(-1).unsqueeze(2)        // [B, H, 1, S]
                          : torch::matmul(q * scale, k.transpose(-2, -1));  // [B, H, T, S]
  const int64_t S = k.size(2);
  if (key_pad.defined())
    scores = scores.masked_fill(key_pad.view({B, 1, 1, S}), -std::numeric_limits<float>::infinity());
  if (causal && !cache && T > 1) {
    auto future = torch::ones({T, S}, torch::dtype(torch::kBool).device(q.device())).triu(S - T + 1);
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  if (dropout_ > 0 && is_training()) probs = F::dropout(probs, F::DropoutFuncOptions().p(dropout_).training(true));
  auto ctx = one_query ? (probs.transpose(-2, -1) * v).sum(2).reshape({B, 1, d_model_})
                       : torch::matmul(probs, v).transpose(1, 2).reshape({B, T, d_model_});  // [B, T, d]
  return out_proj(ctx, lms);
}

// ---------------------------------------------------------------------------------------------

FeedForwardImpl::FeedForwardImpl(int64_t d_model, int64_t ffn, double activation_dropout,
                                 int64_t lms_langs, int64_t lms_rank)
    : activation_dropout_(activation_dropout) {
  fc1 = register_module("fc1", LmsLinear(LmsLinearOptions(d_model, ffn).num_langs(lms_langs)
                                             .rank(lms_rank)));
  fc2 = register_module("fc2", LmsLinear(LmsLinearOptions(ffn, d_model).num_langs(lms_langs)
                                             .rank(lms_rank)));
  for (auto* l : {&fc1, &fc2}) {
    torch::nn::init::xavier_uniform_((*l)->weight);
    torch::nn::init::zeros_((*l)->bias);
  }
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x, const LmsKeys& lms) {
  auto h = torch::relu(fc1(x, lms));
  if (activation_dropout_ > 0 && is_training())
    h = F::dropout(h, F::DropoutFuncOptions().p(activation_dropout_).training(true));
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

void MoeAux::add(const moe::MoeOutput& o) {
  aux_loss = aux_loss.defined() ? aux_loss + o.aux_loss : o.aux_loss;
  z_loss = z_loss.defined() ? z_loss + o.z_loss : o.z_loss;
  ++layers;
  load.push_back(o.load);
  drop_rate.push_back(o.drop_rate);
  push_top1(o.top1);
}

void MoeAux::push_top1(const torch::Tensor& t) {
  agreement.push_back(prev_top1.defined() && prev_top1.numel() == t.numel()
                          ? moe::top1_agreement(prev_top1, t)
                          : std::numeric_limits<double>::quiet_NaN());
  top1.push_back(t);
  prev_top1 = t;
}

void MoeAux::add(const moe::SmoeOutput& o) {
  aux_loss = aux_loss.defined() ? aux_loss + o.aux_loss : o.aux_loss;
  auto zero = torch::zeros({}, o.aux_loss.options());
  z_loss = z_loss.defined() ? z_loss : zero;
  ++layers;
  // Load: fraction of (non-pad) tokens by number of expert passes (1..L).
  auto p = o.passes.index_select(0, o.passes.gt(0).nonzero().squeeze(1));
  auto hist = p.numel() > 0 ? torch::bincount(p - 1).to(torch::kFloat) / p.numel()
                            : torch::zeros({1});
  load.push_back(hist);
  drop_rate.push_back(o.drop_rate);
  push_top1(o.top1);
}

namespace {
// Registers the layer's FFN: dense, or sparse when the MoE options select this layer.
void make_ffn(torch::nn::Module& layer, const TransformerOptions& o, int64_t index,
              FeedForward& ffn, moe::MoeLayer& moe, moe::SmoeLayer& smoe) {
  const auto& m = o.moe();
  const int64_t expert_ffn = m.expert_ffn > 0 ? m.expert_ffn : o.ffn();
  if (m.is_sparse(index) && !m.strata.empty()) {
    smoe = layer.register_module(
        "smoe", moe::SmoeLayer(moe::SmoeLayerOptions(o.d_model(), expert_ffn, m.strata)
                                   .capacity_factor(m.capacity_factor)
                                   .eval_capacity_factor(m.eval_capacity_factor)
                                   .eom(m.eom)
                                   .expert_ffn_dropout(m.expert_ffn_dropout)
                                   .comm(m.comm)));
  } else if (m.is_sparse(index)) {
    // σ-MoE init scale for pre-LN: sqrt(2 / n_layers), here over both stacks.
    const double init_scale =
        std::sqrt(2.0 / static_cast<double>(o.encoder_layers() + o.decoder_layers()));
    moe = layer.register_module(
        "moe", moe::MoeLayer(moe::MoeLayerOptions(o.d_model(), expert_ffn, m.num_experts)
                                 .top_k(m.top_k)
                                 .capacity_factor(m.capacity_factor)
                                 .eval_capacity_factor(m.eval_capacity_factor)
                                 .eom(m.eom)
                                 .expert_ffn_dropout(m.expert_ffn_dropout)
                                 .router(m.router)
                                 .shared_router(m.shared_weight)
                                 .expert_dropout(m.expert_dropout)
                                 .init_scale(init_scale)
                                 .ac_dispersion(m.ac_dispersion)
                                 .ac_momentum(m.ac_momentum)
                                 .comm(m.comm)));
  } else {
    const int64_t lms_langs = o.lms().applies(index) ? o.lms().num_langs : 0;
    ffn = layer.register_module(
        "ffn", FeedForward(o.d_model(), o.ffn(), o.activation_dropout(), lms_langs, o.lms().rank));
  }
}

// Number of languages of the LMS banks of a layer's attention projections (0: plain).
int64_t attention_lms_langs(const TransformerOptions& o, int64_t index) {
  return o.lms().attention && o.lms().applies(index) ? o.lms().num_langs : 0;
}
}  // namespace

torch::Tensor ffn_block(FeedForward& ffn, moe::MoeLayer& moe, moe::SmoeLayer& smoe,
                        torch::nn::LayerNorm& norm, const torch::Tensor& y,
                        const torch::Tensor& pad, double dropout, bool training, MoeAux* aux,
                        const LmsKeys& lms) {
  if (smoe) {
    const int64_t d = y.size(-1);
    auto o = smoe(y.reshape({-1, d}), norm(y).reshape({-1, d}),
                  pad.defined() ? pad.reshape({-1}) : pad);
    if (aux) aux->add(o);
    return o.output.view(y.sizes());
  }
  if (!moe) return y + drop(ffn(norm(y), lms), dropout, training);
  moe::MoeOutput o = moe(norm(y), pad, aux ? aux->prev_top1 : torch::Tensor());
  if (aux) aux->add(o);
  return y + drop(o.output, dropout, training);
}

EncoderLayerImpl::EncoderLayerImpl(const TransformerOptions& o, int64_t index)
    : dropout_(o.dropout()) {
  self_attn_norm = register_module("self_attn_norm", layer_norm(o.d_model()));
  self_attn = register_module(
      "self_attn", MultiheadAttention(o.d_model(), o.heads(), o.attention_dropout(), true,
                                      attention_lms_langs(o, index), o.lms().rank));
  ffn_norm = register_module("ffn_norm", layer_norm(o.d_model()));
  make_ffn(*this, o, index, ffn, moe, smoe);
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& src_pad,
                                        MoeAux* aux, const LmsKeys& lms) {
  auto h = self_attn_norm(x);
  auto y = x + drop(self_attn(h, h, src_pad, false, nullptr, lms), dropout_, is_training());
  return ffn_block(ffn, moe, smoe, ffn_norm, y, src_pad, dropout_, is_training(), aux, lms);
}

DecoderLayerImpl::DecoderLayerImpl(const TransformerOptions& o, int64_t index)
    : dropout_(o.dropout()) {
  self_attn_norm = register_module("self_attn_norm", layer_norm(o.d_model()));
  self_attn = register_module(
      "self_attn", MultiheadAttention(o.d_model(), o.heads(), o.attention_dropout(), true,
                                      attention_lms_langs(o, index), o.lms().rank));
  cross_attn_norm = register_module("cross_attn_norm", layer_norm(o.d_model()));
  cross_attn = register_module(
      "cross_attn", MultiheadAttention(o.d_model(), o.heads(), o.attention_dropout(), false,
                                       attention_lms_langs(o, index), o.lms().rank));
  ffn_norm = register_module("ffn_norm", layer_norm(o.d_model()));
  make_ffn(*this, o, index, ffn, moe, smoe);
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                        const torch::Tensor& src_pad, DecoderLayerCache* cache,
                                        const torch::Tensor& tgt_pad, MoeAux* aux,
                                        const LmsKeys& lms) {
  auto h = self_attn_norm(x);
  auto y = x + drop(self_attn(h, h, torch::Tensor(), true, cache ? &cache->self : nullptr, lms),
                    dropout_, is_training());
  h = cross_attn_norm(y);
  y = y + drop(cross_attn(h, memory, src_pad, false, cache ? &cache->cross : nullptr, lms),
               dropout_, is_training());
  return ffn_block(ffn, moe, smoe, ffn_norm, y, tgt_pad, dropout_, is_training(), aux, lms);
}

// ---------------------------------------------------------------------------------------------

void DecoderState::select(const torch::Tensor& order, bool same_sources) {
  if (!same_sources) {  // the encoder side (and the LMS keys) depend only on the source sentence
    enc.states = enc.states.index_select(0, order);
    enc.pad = enc.pad.index_select(0, order);
    enc.lms = enc.lms.select(order);
  }
  for (auto& l : layers)
    for (KvCache* c : {&l.self, &l.cross})
      if (c->k.defined() && !(same_sources && c == &l.cross)) {
        c->k = c->k.index_select(0, order);
        c->v = c->v.index_select(0, order);
      }
}

TransformerImpl::TransformerImpl(TransformerOptions o) : options(std::move(o)) { reset(); }

void TransformerImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.vocab_size() > 0 && o.d_model() > 0 && o.heads() > 0,
              "transformer: vocab_size, d_model and heads must be positive");
  embed = register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(
                                                            o.vocab_size(), o.d_model())
                                                            .padding_idx(o.pad_id())));
  // fairseq: N(0, d^-1/2), pad row zero.
  torch::NoGradGuard no_grad;
  embed->weight.normal_(0, std::pow(static_cast<double>(o.d_model()), -0.5));
  embed->weight[o.pad_id()].zero_();
  encoder_layers = register_module("encoder_layers", torch::nn::ModuleList());
  TORCH_CHECK(o.moe().num_experts == 0 || o.moe().every_k_layers >= 1,
              "transformer: moe.every_k_layers must be >= 1");
  TORCH_CHECK(o.lms().mode == LmsMode::kNone ||
                  (o.lms().num_langs > 0 && o.lms().rank >= 1 && o.lms().every_k_layers >= 1),
              "transformer: LMS needs num_langs > 0, rank >= 1 and every_k_layers >= 1");
  // Omni-router: one router weight, registered here once and handed to every MoE layer.
  TransformerOptions lo = o;
  if (o.moe().shared_router && o.moe().num_experts > 0) {
    TORCH_CHECK(o.moe().strata.empty(), "transformer: a shared router needs switch/gshard layers");
    shared_router = register_module("shared_router",
                                    moe::make_router_weight(o.d_model(), o.moe().num_experts));
    if (o.moe().router == moe::RouterKind::kSigma)
      moe::sigma_router_init(shared_router->weight,
                             std::sqrt(2.0 / static_cast<double>(o.encoder_layers() +
                                                                 o.decoder_layers())));
    lo.moe().shared_weight = shared_router;
  }
  for (int64_t i = 0; i < o.encoder_layers(); ++i) encoder_layers->push_back(EncoderLayer(lo, i));
  decoder_layers = register_module("decoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.decoder_layers(); ++i) decoder_layers->push_back(DecoderLayer(lo, i));
  encoder_norm = register_module("encoder_norm", layer_norm(o.d_model()));
  decoder_norm = register_module("decoder_norm", layer_norm(o.d_model()));
  positions_ = register_buffer("positions", sinusoidal_positions(o.max_positions(), o.d_model()));
}

torch::Tensor TransformerImpl::embed_tokens(const torch::Tensor& tokens, int64_t offset) {
  const int64_t T = tokens.size(1);
  TORCH_CHECK(offset + T <= options.max_positions(), "transformer: sequence of ", offset + T,
              " tokens exceeds max_positions ", options.max_positions());
  auto x = embed(tokens) * std::sqrt(static_cast<double>(options.d_model()));
  x = x + positions_.slice(0, offset, offset + T).unsqueeze(0);
  return drop(x, options.dropout(), is_training());
}

EncoderOut TransformerImpl::encode(const torch::Tensor& src, MoeAux* aux, const LmsKeys& lms) {
  TORCH_CHECK(options.lms().mode == LmsMode::kNone || lms.defined(),
              "transformer: this model has LMS layers; encode() needs the sentences' LMS keys "
              "(lms_keys(src_lang, tgt_lang))");
  EncoderOut out;
  out.pad = src.eq(options.pad_id());  // [B, S]
  out.lms = lms;
  auto x = embed_tokens(src, 0);
  MoeAux local;  // the MoE layers pass their choices on (AC router) even when aux is not wanted
  if (!aux) aux = &local;
  aux->prev_top1 = torch::Tensor();  // a new stack
  for (auto& m : *encoder_layers) x = m->as<EncoderLayer>()->forward(x, out.pad, aux, lms);
  out.states = encoder_norm(x);
  return out;
}

torch::Tensor TransformerImpl::decode(const torch::Tensor& prev, const EncoderOut& enc,
                                     MoeAux* aux) {
  auto x = embed_tokens(prev, 0);
  auto tgt_pad = prev.eq(options.pad_id());  // [B, T]
  MoeAux local;
  if (!aux) aux = &local;
  aux->prev_top1 = torch::Tensor();  // a new stack
  for (auto& m : *decoder_layers)
    x = m->as<DecoderLayer>()->forward(x, enc.states, enc.pad, nullptr, tgt_pad, aux, enc.lms);
  x = decoder_norm(x);
  return torch::matmul(x, embed->weight.t());  // [B, T, V]
}

DecoderState TransformerImpl::start(EncoderOut enc) {
  DecoderState s;
  s.enc = std::move(enc);
  s.layers.resize(decoder_layers->size());
  return s;
}

torch::Tensor TransformerImpl::step(const torch::Tensor& tokens, DecoderState& state) {
  auto x = embed_tokens(tokens.view({-1, 1}), state.step);  // [B, 1, d]
  size_t i = 0;
  MoeAux aux;  // this step's first choices, for the AC router of the next MoE layer
  for (auto& m : *decoder_layers)
    x = m->as<DecoderLayer>()->forward(x, state.enc.states, state.enc.pad, &state.layers[i++],
                                       torch::Tensor(), &aux, state.enc.lms);
  x = decoder_norm(x).squeeze(1);  // [B, d]
  state.step++;
  return torch::log_softmax(torch::matmul(x, embed->weight.t()), -1);  // [B, V]
}

}  // namespace strata::nmt
