// The modularity analysis: activations through an FfnProbe, predictivity per neuron and
// sub-function, partitions and functional tests, tables, JSON and the heat map. Stages of
// analyze_modularity: load → sample the examples of each sub-function → one teacher-forced pass
// keeping pooled and sampled-token activations → per layer AP, top neurons, partitions, tests.
#include "nmt/analysis/modularity.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string_view>

#include "data/spm.h"
#include "moe/dispatch.h"
#include "moe/hidden_hook.h"
#include "moe/moe_layer.h"
#include "moe/registry.h"
#include "nmt/analysis/heatmap.h"
#include "nmt/analysis/routing.h"
#include "nmt/decode/translator.h"
#include "nmt/evaluate/score_model.h"
#include "data/data_config.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/lms_languages.h"
#include "nmt/util/error.h"
#include "nmt/util/format.h"

namespace strata::nmt {

bool markup_piece(const std::string& piece) {
  for (unsigned char c : piece)
    if ((c >= '0' && c <= '9') || std::string_view("%{}<>&$\\[]").find(static_cast<char>(c)) != std::string_view::npos)
      return true;
  return false;
}

namespace {

// Records each FFN sub-layer's input of one forward pass.
struct InputRecorder : FfnProbe {
  std::vector<torch::Tensor> inputs;
  std::vector<LmsKeys> keys;
  void ffn_input(const torch::Tensor& x, const LmsKeys& lms) override {
    inputs.push_back(x.detach());
    keys.push_back(lms);
  }
};

// A layer's FFN as the analysis sees it: dense (fc1) or the experts of a sparse layer.
struct FfnSite {
  std::string name;
  bool encoder = true;
  FeedForwardImpl* dense = nullptr;
  moe::ExpertsImpl* experts = nullptr;
  moe::MoeLayerImpl* layer = nullptr;  // the sparse layer when it is a MoeLayer (routing restriction)
  int64_t neurons() const {
    return dense ? dense->options.ffn() : experts->w1.size(0) * experts->w1.size(2);
  }
  // x [B, T, d] -> post-ReLU activations [B, T, neurons] (experts: expert-major blocks).
  torch::Tensor activations(const torch::Tensor& x, const LmsKeys& lms) const {
    if (dense) return torch::relu(dense->fc1(x, lms));
    const int64_t E = experts->w1.size(0), d = experts->w1.size(1), n = experts->w1.size(2);
    auto w = experts->w1.detach().permute({1, 0, 2}).reshape({d, E * n});
    return torch::relu(x.matmul(w) + experts->b1.detach().reshape({E * n}));
  }
  // A dense layer's input weights, one row per neuron [neurons, d] (k-means).
  torch::Tensor first_weights() const { return dense->fc1->weight.detach(); }
};

std::vector<FfnSite> ffn_sites(TransformerImpl& model) {
  std::vector<FfnSite> sites;
  auto add = [&](FeedForward ffn,
                 const std::shared_ptr<moe::SparseFfnBase>& sparse, bool enc, size_t i) {
    FfnSite s;
    s.name = (enc ? "enc" : "dec") + std::to_string(i);
    s.encoder = enc;
    if (sparse) {
      for (const auto& m : sparse->modules(/*include_self=*/false))
        if (auto* e = m->as<moe::ExpertsImpl>()) s.experts = e;
      if (!s.experts) throw Error("analyze modularity: the sparse layer " + s.name + " has no experts");
      s.layer = dynamic_cast<moe::MoeLayerImpl*>(sparse.get());
    } else {
      s.dense = ffn.get();
    }
    sites.push_back(s);
  };
  for (size_t i = 0; i < model.encoder_layers->size(); ++i) {
    auto l = model.encoder_layers[i]->as<EncoderLayerImpl>();
    add(l->ffn, l->sparse, true, i);
  }
  for (size_t i = 0; i < model.decoder_layers->size(); ++i) {
    auto l = model.decoder_layers[i]->as<DecoderLayerImpl>();
    add(l->ffn, l->sparse, false, i);
  }
  return sites;
}

// Up to `cap` of `ids`, drawn without replacement (all when there are fewer), in their order.
std::vector<int64_t> sample(std::vector<int64_t> ids, int cap, std::mt19937_64& rng) {
  if (cap > 0 && static_cast<int64_t>(ids.size()) > cap) {
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(cap);
    std::sort(ids.begin(), ids.end());
  }
  return ids;
}

// The examples of one sub-function: rows of the pooled (sentence) or token matrix, and labels.
struct Probe {
  std::vector<int64_t> rows;
  std::vector<uint8_t> label;
};

Probe make_probe(const std::vector<int64_t>& pos, const std::vector<int64_t>& neg) {
  Probe p;
  p.rows = pos;
  p.rows.insert(p.rows.end(), neg.begin(), neg.end());
  p.label.assign(pos.size(), 1);
  p.label.resize(p.rows.size(), 0);
  return p;
}

// AP of every neuron for one probe: acts [rows, neurons].
std::vector<float> neuron_predictivity(const torch::Tensor& acts, const Probe& p) {
  auto m = acts.index_select(0, torch::tensor(p.rows, torch::kLong)).t().contiguous();  // [neurons, rows]
  const int64_t N = m.size(0), R = m.size(1);
  std::vector<float> ap(N);
  const float* data = m.data_ptr<float>();
  at::parallel_for(0, N, 16, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j)
      ap[j] = static_cast<float>(predictivity(std::vector<float>(data + j * R, data + (j + 1) * R), p.label));
  });
  return ap;
}

std::vector<int64_t> top_neurons(const std::vector<float>& ap, double share) {
  const int64_t N = static_cast<int64_t>(ap.size());
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(share * static_cast<double>(N)));
  std::vector<int64_t> order(N);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ap[a] > ap[b]; });
  order.resize(std::min(k, N));
  return order;
}

std::vector<int64_t> counts_of(const std::vector<int64_t>& neurons, const std::vector<int>& of, int64_t E) {
  std::vector<int64_t> c(E, 0);
  for (int64_t j : neurons) ++c[of[j]];
  return c;
}

double quantile(std::vector<float> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::llround(q * static_cast<double>(v.size() - 1)))];
}

double mean_top(const std::vector<float>& ap, const std::vector<int64_t>& top) {
  double s = 0;
  for (int64_t j : top) s += ap[j];
  return top.empty() ? 0 : s / static_cast<double>(top.size());
}

const std::vector<SubFunction>& functions_of(const ModularityReport& r, const LayerModularity& l) {
  return l.encoder ? r.encoder_functions : r.decoder_functions;
}

}  // namespace

void test_layer(LayerModularity& layer, const std::vector<SubFunction>& functions,
                const torch::Tensor& first_weights, const torch::Tensor& coactive,
                int64_t expert_size, const ModularityOptions& o) {
  const int64_t N = layer.neurons;
  layer.top.clear();
  for (const auto& ap : layer.ap) layer.top.push_back(top_neurons(ap, o.top));
  std::vector<std::pair<std::string, std::vector<int>>> parts;
  if (expert_size > 0) {
    std::vector<int> own(N);
    for (int64_t j = 0; j < N; ++j) own[j] = static_cast<int>(j / expert_size);
    parts.emplace_back("experts", own);
    parts.emplace_back("random", random_partition(N, static_cast<int>(N / expert_size), o.seed));
  } else {
    if (o.experts < 1 || N % o.experts != 0)
      throw Error("analyze modularity: --experts " + std::to_string(o.experts) + " does not divide the " +
                  std::to_string(N) + " neurons of " + layer.name);
    auto w = first_weights.to(torch::kFloat);
    w = w / w.norm(2, 1, true).clamp_min(1e-12);
    parts.emplace_back("kmeans", balanced_kmeans(w, o.experts, o.seed));
    parts.emplace_back("coactivation", coactivation_partition(coactive, o.experts, o.seed));
    parts.emplace_back("random", random_partition(N, o.experts, o.seed));
  }
  layer.partitions.clear();
  for (auto& [kind, of] : parts) {
    PartitionTests t;
    t.kind = kind;
    t.num_experts = 1 + *std::max_element(of.begin(), of.end());
    std::vector<int64_t> languages(t.num_experts, 0);
    for (size_t f = 0; f < functions.size(); ++f) {
      auto c = counts_of(layer.top[f], of, t.num_experts);
      t.sub.push_back(functional_experts(c, N, N / t.num_experts, o.alpha));
      if (functions[f].lang >= 0)
        for (int64_t e = 0; e < t.num_experts; ++e) languages[e] += c[e];
      else
        t.markup = functional_experts_binomial(c, o.alpha);
    }
    t.languages = functional_experts_binomial(languages, o.alpha);
    t.expert_of = std::move(of);
    layer.partitions.push_back(std::move(t));
  }
}

namespace {

// What every checkpoint of a run is measured on: the split's batches, every non-pad position of
// each stack, the sampled token positions and the examples of each sub-function.
struct Sampled {
  AnalysisSplit split;
  std::vector<Batch> batches;
  struct Position { int64_t batch, row, t; };
  std::vector<Position> positions[2];  // [stack: 0 encoder (src), 1 decoder (prev)]
  std::vector<int64_t> token_rows[2];  // sampled positions (indices into positions), sorted
  std::vector<Probe> probes[2];        // per sub-function of the stack
  std::vector<SubFunction> functions[2];
  int64_t tokens = 0;                  // non-pad positions of both stacks
};

Sampled sample_examples(const Checkpoint& ck, const data::Tokenizer& tok, const ModularityOptions& o) {
  Sampled sm;
  sm.split = load_analysis_split(ck, tok, o.data_config, o.split, o.max_sentences);
  const auto& ex = sm.split.examples;
  const int64_t S = static_cast<int64_t>(ex.size());
  for (size_t s = 0; s < ex.size(); s += 32)
    sm.batches.push_back(make_batch(*sm.split.data, {ex.begin() + s, ex.begin() + std::min(ex.size(), s + 32)}, *sm.split.tags));
  std::vector<std::string> pieces(tok.vocab_size());
  for (int i = 0; i < tok.vocab_size(); ++i) pieces[i] = tok.piece(i);
  std::vector<int64_t> marked[2], plain[2];
  for (int64_t bi = 0; bi < static_cast<int64_t>(sm.batches.size()); ++bi)
    for (int dec = 0; dec < 2; ++dec) {
      auto ids = (dec ? sm.batches[bi].prev : sm.batches[bi].src).contiguous();
      const int64_t* p = ids.data_ptr<int64_t>();
      for (int64_t r = 0; r < ids.size(0); ++r)
        for (int64_t t = 0; t < ids.size(1); ++t) {
          const int64_t id = p[r * ids.size(1) + t];
          if (id == data::kPadId) continue;
          (markup_piece(pieces.at(id)) ? marked : plain)[dec].push_back(static_cast<int64_t>(sm.positions[dec].size()));
          sm.positions[dec].push_back({bi, r, t});
        }
    }
  sm.tokens = static_cast<int64_t>(sm.positions[0].size() + sm.positions[1].size());
  std::mt19937_64 rng(o.seed);
  const auto& langs = sm.split.langs;
  for (int dec = 0; dec < 2; ++dec) {
    auto& fns = sm.functions[dec];
    for (size_t l = 0; l < langs.size(); ++l) {
      std::vector<int64_t> pos, neg;
      for (int64_t i = 0; i < S; ++i) ((dec ? ex[i].tgt : ex[i].src) == static_cast<int>(l) ? pos : neg).push_back(i);
      if (pos.empty() || neg.empty()) continue;
      pos = sample(pos, o.examples, rng);
      neg = sample(neg, o.examples, rng);
      fns.push_back({(dec ? "tgt=" : "src=") + langs[l], static_cast<int>(l),
                     static_cast<int64_t>(pos.size()), static_cast<int64_t>(neg.size())});
      sm.probes[dec].push_back(make_probe(pos, neg));
    }
    auto pos = sample(marked[dec], o.examples, rng), neg = sample(plain[dec], o.examples, rng);
    auto& rows = sm.token_rows[dec];
    rows = pos;
    rows.insert(rows.end(), neg.begin(), neg.end());
    std::sort(rows.begin(), rows.end());
    if (!pos.empty() && !neg.empty()) {
      std::vector<int64_t> p_rows, n_rows;  // rows of the token matrix (token_rows order)
      for (size_t i = 0; i < rows.size(); ++i)
        (std::binary_search(pos.begin(), pos.end(), rows[i]) ? p_rows : n_rows).push_back(static_cast<int64_t>(i));
      fns.push_back({"markup", -1, static_cast<int64_t>(p_rows.size()), static_cast<int64_t>(n_rows.size())});
      sm.probes[dec].push_back(make_probe(p_rows, n_rows));
    }
  }
  return sm;
}

// One teacher-forced pass of a checkpoint over the sampled batches.
struct Measured {
  std::vector<FfnSite> sites;
  std::vector<torch::Tensor> pooled, tokens;  // per site: [sentences, neurons], [sampled tokens, neurons]
};

Measured measure(Checkpoint& ck, const Sampled& sm) {
  TransformerImpl& model = *ck.model;
  model.eval();
  Measured m;
  m.sites = ffn_sites(model);
  const int64_t S = static_cast<int64_t>(sm.split.examples.size());
  for (const auto& s : m.sites) {
    m.pooled.push_back(torch::zeros({S, s.neurons()}));
    m.tokens.push_back(torch::zeros({static_cast<int64_t>(sm.token_rows[s.encoder ? 0 : 1].size()), s.neurons()}));
  }
  LmsLanguages lms(ck.langs, sm.split.langs, sm.split.path);
  torch::NoGradGuard ng;
  size_t next_token[2] = {0, 0};
  int64_t first = 0;
  for (int64_t bi = 0; bi < static_cast<int64_t>(sm.batches.size()); ++bi) {
    const Batch& b = sm.batches[bi];
    InputRecorder rec;
    {
      FfnProbeGuard guard(&rec);
      model.forward(b.src, b.prev, nullptr, lms.keys(ck.model, b.examples, true, false));
    }
    if (rec.inputs.size() != m.sites.size())
      throw Error("analyze modularity: expected " + std::to_string(m.sites.size()) + " FFN layers, ran " +
                  std::to_string(rec.inputs.size()));
    const int64_t B = b.src.size(0);
    size_t end[2];
    for (int dec = 0; dec < 2; ++dec) {
      end[dec] = next_token[dec];
      while (end[dec] < sm.token_rows[dec].size() && sm.positions[dec][sm.token_rows[dec][end[dec]]].batch == bi) ++end[dec];
    }
    for (size_t li = 0; li < m.sites.size(); ++li) {
      const int dec = m.sites[li].encoder ? 0 : 1;
      auto h = m.sites[li].activations(rec.inputs[li], rec.keys[li]);  // [B, T, n]
      auto keep = ((dec ? b.prev : b.src) != data::kPadId).unsqueeze(2).to(h.dtype());
      m.pooled[li].slice(0, first, first + B).copy_(std::get<0>((h * keep).max(1)));
      for (size_t k = next_token[dec]; k < end[dec]; ++k) {
        const auto& p = sm.positions[dec][sm.token_rows[dec][k]];
        m.tokens[li][static_cast<int64_t>(k)].copy_(h[p.row][p.t]);
      }
    }
    next_token[0] = end[0];
    next_token[1] = end[1];
    first += B;
  }
  return m;
}

// [sub-function][neuron] AP of one layer.
std::vector<std::vector<float>> layer_ap(const Measured& m, size_t li, const Sampled& sm) {
  const int dec = m.sites[li].encoder ? 0 : 1;
  std::vector<std::vector<float>> ap;
  for (size_t f = 0; f < sm.functions[dec].size(); ++f)
    ap.push_back(neuron_predictivity(sm.functions[dec][f].lang >= 0 ? m.pooled[li] : m.tokens[li], sm.probes[dec][f]));
  return ap;
}

// Mean AP of each expert's neurons: [experts].
std::vector<double> expert_means(const std::vector<float>& ap, const std::vector<int>& of, int64_t E) {
  std::vector<double> sum(E, 0), n(E, 0);
  for (size_t j = 0; j < ap.size(); ++j) sum[of[j]] += ap[j], n[of[j]] += 1;
  for (int64_t e = 0; e < E; ++e) sum[e] = n[e] > 0 ? sum[e] / n[e] : 0;
  return sum;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

UnitMask::UnitMask(TransformerImpl& model, const std::vector<std::vector<int64_t>>& units) {
  const auto sites = ffn_sites(model);
  if (units.size() > sites.size())
    throw Error("UnitMask: " + std::to_string(units.size()) + " layers given, the model has " +
                std::to_string(sites.size()));
  torch::NoGradGuard ng;
  auto keep = [&](const torch::Tensor& t) {
    weights_.push_back(t.detach());
    saved_.push_back(t.detach().clone());
  };
  for (size_t li = 0; li < units.size(); ++li) {
    if (units[li].empty()) continue;
    const auto& st = sites[li];
    const int64_t N = st.neurons();
    for (int64_t j : units[li])
      if (j < 0 || j >= N) throw Error("UnitMask: no neuron " + std::to_string(j) + " in " + st.name);
    if (st.dense) {
      auto& fc2 = st.dense->fc2;
      keep(fc2->weight);
      if (fc2->lms_f.defined()) keep(fc2->lms_f);
      for (int64_t j : units[li]) {
        fc2->weight.detach().select(1, j).zero_();
        if (fc2->lms_f.defined()) fc2->lms_f.detach().select(2, j).zero_();
      }
    } else {
      keep(st.experts->w2);
      const int64_t n = st.experts->w2.size(1);
      for (int64_t j : units[li]) st.experts->w2.detach()[j / n][j % n].zero_();
    }
  }
}

UnitMask::~UnitMask() {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < weights_.size(); ++i) weights_[i].copy_(saved_[i]);
}

const std::vector<std::string>& perturbation_modes() {
  static const std::vector<std::string> modes = {"zero", "permute", "route"};
  return modes;
}

struct UnitPermutation::Hook : moe::HiddenHook {
  std::map<std::pair<const void*, int64_t>, torch::Tensor> columns;  // (module, expert) -> i64 units
  std::mt19937_64 rng;
  double scale = 4;
  std::unique_ptr<moe::HiddenHookGuard> guard;  // last: released first

  torch::Tensor hidden(const void* ffn, int64_t expert, const torch::Tensor& h) override {
    auto it = columns.find({ffn, expert});
    if (it == columns.end() || h.numel() == 0) return h;
    const torch::Tensor& idx = it->second;
    auto chosen = h.index_select(-1, idx);  // [..., k]
    std::vector<int64_t> perm(static_cast<size_t>(chosen.numel()));
    std::iota(perm.begin(), perm.end(), int64_t{0});
    std::shuffle(perm.begin(), perm.end(), rng);
    auto order = torch::from_blob(perm.data(), {static_cast<int64_t>(perm.size())}, torch::kLong).clone();
    auto values = torch::relu(chosen.reshape({-1}).index_select(0, order) * scale).view(chosen.sizes());
    return h.index_copy(h.dim() - 1, idx, values);
  }
};

UnitPermutation::UnitPermutation(TransformerImpl& model, const std::vector<std::vector<int64_t>>& units,
                                 uint64_t seed, double scale)
    : hook_(std::make_unique<Hook>()) {
  const auto sites = ffn_sites(model);
  if (units.size() > sites.size())
    throw Error("UnitPermutation: " + std::to_string(units.size()) + " layers given, the model has " +
                std::to_string(sites.size()));
  hook_->rng.seed(seed);
  hook_->scale = scale;
  for (size_t li = 0; li < units.size(); ++li) {
    const auto& st = sites[li];
    const int64_t N = st.neurons();
    std::map<std::pair<const void*, int64_t>, std::vector<int64_t>> cols;
    for (int64_t j : units[li]) {
      if (j < 0 || j >= N) throw Error("UnitPermutation: no neuron " + std::to_string(j) + " in " + st.name);
      if (st.dense) {
        cols[{st.dense, -1}].push_back(j);
      } else {
        const int64_t n = st.experts->w1.size(2);
        cols[{st.experts, j / n}].push_back(j % n);
      }
    }
    for (auto& [key, c] : cols) {
      std::sort(c.begin(), c.end());
      c.erase(std::unique(c.begin(), c.end()), c.end());
      hook_->columns[key] = torch::tensor(c, torch::kLong);
    }
  }
  hook_->guard = std::make_unique<moe::HiddenHookGuard>(hook_.get());
}

UnitPermutation::~UnitPermutation() = default;

namespace {
bool restrictable(const FfnSite& site) {
  const auto* l = site.layer;
  return l && l->router_type->restricts && !l->options.comm();
}
}  // namespace

bool routing_restrictable(TransformerImpl& model, size_t layer) {
  const auto sites = ffn_sites(model);
  return layer < sites.size() && restrictable(sites[layer]);
}

RoutingRestriction::RoutingRestriction(TransformerImpl& model, const std::vector<std::vector<int64_t>>& allowed) {
  const auto sites = ffn_sites(model);
  if (allowed.size() > sites.size())
    throw Error("RoutingRestriction: " + std::to_string(allowed.size()) + " layers given, the model has " +
                std::to_string(sites.size()));
  for (size_t li = 0; li < allowed.size(); ++li) {
    if (allowed[li].empty()) continue;
    const auto& st = sites[li];
    if (!restrictable(st))
      throw Error("RoutingRestriction: " + st.name + " is not an MoE layer whose routing can be restricted");
    const int64_t E = st.layer->options.num_experts();
    auto mask = torch::zeros({E}, torch::kBool);
    for (int64_t e : allowed[li]) {
      if (e < 0 || e >= E) throw Error("RoutingRestriction: no expert " + std::to_string(e) + " in " + st.name);
      mask[e] = true;
    }
    if (mask.sum().item<int64_t>() < st.layer->options.top_k())
      throw Error("RoutingRestriction: " + st.name + " routes to " + std::to_string(st.layer->options.top_k()) +
                  " experts, " + std::to_string(mask.sum().item<int64_t>()) + " allowed");
    st.layer->allowed_experts = mask;
    restricted_.push_back(&st.layer->allowed_experts);
  }
}

RoutingRestriction::~RoutingRestriction() {
  for (auto* t : restricted_) *t = torch::Tensor();
}

namespace {

// The perturbation stage: for each language, mode and condition, a UnitMask, UnitPermutation or
// RoutingRestriction, decode, score.
void perturb(ModularityReport& rep, Checkpoint ck, const ModularityOptions& o) {
  const std::string cfg = o.data_config.empty() ? ck.config.train.data : o.data_config;
  const data::DataConfig dcfg = data::load_data_config(cfg, {});
  Translator tr(std::move(ck));
  SearchOptions search = tr.default_options();
  search.beam = 1;
  search.nbest = 1;
  const auto sites = ffn_sites(*tr.model());
  std::vector<bool> chosen(sites.size(), o.perturb_layers.empty());
  for (const auto& name : o.perturb_layers) {
    size_t i = 0;
    while (i < sites.size() && sites[i].name != name) ++i;
    if (i == sites.size()) {
      std::string all;
      for (const auto& st : sites) all += (all.empty() ? "" : ", ") + st.name;
      throw Error("analyze modularity: --perturb-layers: no layer '" + name + "' (layers: " + all + ")");
    }
    chosen[i] = true;
  }
  auto score = [&](std::map<std::pair<std::string, std::string>, double>* chrf,
                   std::map<std::pair<std::string, std::string>, double>* bleu) {
    SourceUseOptions use;
    use.shuffled = false;
    const SplitScores sc = score_split(tr, dcfg, o.perturb_split, search, 32, o.perturb_sentences, use);
    for (const auto& [dir, d] : sc.directions) {
      (*chrf)[dir] = d.chrf;
      (*bleu)[dir] = d.bleu;
    }
  };
  rep.perturb_split = o.perturb_split;
  std::fprintf(stderr, "[analyze] perturbation: the unperturbed model on %s\n", o.perturb_split.c_str());
  score(&rep.base_chrf, &rep.base_bleu);
  bool routable = false;  // route needs an MoE layer with a top-k router among the chosen
  for (size_t li = 0; li < sites.size(); ++li) routable = routable || (chosen[li] && restrictable(sites[li]));
  std::vector<std::string> modes;
  for (const auto& m : o.perturb_modes) {
    if (m == "route" && !routable) {
      std::fprintf(stderr, "[analyze] perturbation: no route mode (no chosen layer is an MoE layer with a top-k router)\n");
      continue;
    }
    modes.push_back(m);
  }
  std::mt19937_64 rng(o.seed + 1);
  for (size_t l = 0; l < rep.langs.size(); ++l) {
    // Per chosen layer: L's sub-function there, its functional experts and their neurons; for
    // layers whose routing can be restricted, the experts themselves.
    std::vector<std::vector<int64_t>> functional(sites.size()), random(sites.size()), top(sites.size());
    std::vector<std::vector<int64_t>> route_functional(sites.size()), route_random(sites.size());
    int64_t experts = 0, routed = 0;
    for (size_t li = 0; li < sites.size(); ++li) {
      if (!chosen[li]) continue;
      const auto& layer = rep.layers[li];
      const auto& fns = functions_of(rep, layer);
      size_t f = 0;
      while (f < fns.size() && fns[f].lang != static_cast<int>(l)) ++f;
      if (f == fns.size()) continue;
      const auto& part = layer.partitions.front();
      std::vector<int64_t> yes, no;
      for (int64_t e = 0; e < part.num_experts; ++e) (part.sub[f].functional[e] ? yes : no).push_back(e);
      if (yes.empty()) continue;
      experts += static_cast<int64_t>(yes.size());
      if (no.size() < yes.size()) no = yes;  // every expert functional: draw from all of them
      std::shuffle(no.begin(), no.end(), rng);
      no.resize(yes.size());
      for (int64_t j = 0; j < layer.neurons; ++j) {
        const int e = part.expert_of[j];
        if (std::find(yes.begin(), yes.end(), e) != yes.end()) functional[li].push_back(j);
        if (std::find(no.begin(), no.end(), e) != no.end()) random[li].push_back(j);
      }
      auto best = top_neurons(layer.ap[f], 1.0);  // every neuron, best first
      best.resize(functional[li].size());
      top[li] = best;
      if (layer.moe && restrictable(sites[li]) &&
          static_cast<int64_t>(yes.size()) >= sites[li].layer->options.top_k()) {
        route_functional[li] = yes;
        route_random[li] = no;
        routed += static_cast<int64_t>(yes.size());
      }
    }
    for (const auto& mode : modes) {
      using Units = std::vector<std::vector<int64_t>>;
      std::vector<std::pair<const char*, const Units*>> conditions;
      if (mode == "route") conditions = {{"functional", &route_functional}, {"random", &route_random}};
      else conditions = {{"functional", &functional}, {"random", &random}, {"top-AP", &top}};
      for (size_t c = 0; c < conditions.size(); ++c) {
        const auto& [condition, units] = conditions[c];
        Perturbation pt;
        pt.lang = rep.langs[l];
        pt.mode = mode;
        pt.condition = condition;
        const int64_t n = mode == "route" ? routed : experts;
        pt.experts = std::string(condition) == "top-AP" ? 0 : n;
        if (mode != "route")
          for (const auto& u : *units) pt.neurons += static_cast<int64_t>(u.size());
        if (n > 0) {
          std::fprintf(stderr, "[analyze] perturbation: %s, %s %s (%lld %s)\n", pt.lang.c_str(), mode.c_str(),
                       condition, static_cast<long long>(mode == "route" ? pt.experts : pt.neurons),
                       mode == "route" ? "experts allowed" : "neurons");
          if (mode == "zero") {
            UnitMask mask(*tr.model(), *units);
            score(&pt.chrf, &pt.bleu);
          } else if (mode == "permute") {
            UnitPermutation perm(*tr.model(), *units, o.seed * 1000003 + l * 16 + c);
            score(&pt.chrf, &pt.bleu);
          } else {
            RoutingRestriction only(*tr.model(), *units);
            score(&pt.chrf, &pt.bleu);
          }
        }
        rep.perturbations.push_back(std::move(pt));
      }
    }
  }
}

// Mean chrF drop of a perturbation over the directions from L, into L, and the rest.
struct Drops {
  double from = 0, into = 0, other = 0;
};
Drops drops(const ModularityReport& r, const Perturbation& p) {
  double s[3] = {0, 0, 0}, n[3] = {0, 0, 0};
  for (const auto& [dir, c] : p.chrf) {
    const int k = dir.first == p.lang ? 0 : dir.second == p.lang ? 1 : 2;
    s[k] += r.base_chrf.at(dir) - c;
    n[k] += 1;
  }
  return {n[0] ? s[0] / n[0] : 0, n[1] ? s[1] / n[1] : 0, n[2] ? s[2] / n[2] : 0};
}

}  // namespace

ModularityReport analyze_modularity(const std::string& model_path, const ModularityOptions& o) {
  for (const auto& m : o.perturb_modes)
    if (std::find(perturbation_modes().begin(), perturbation_modes().end(), m) == perturbation_modes().end())
      throw Error("analyze modularity: --perturb-modes: no mode '" + m + "' (modes: zero, permute, route)");
  if (!o.perturb_split.empty() && o.perturb_modes.empty())
    throw Error("analyze modularity: --perturb-modes is empty");
  // Load and sample.
  Checkpoint ck = load_checkpoint(model_path);
  auto tok = checkpoint_tokenizer(ck);
  const Sampled sm = sample_examples(ck, *tok, o);
  ModularityReport rep;
  rep.model = model_path;
  rep.split = o.split;
  rep.langs = sm.split.langs;
  rep.sentences = sm.split.examples.size();
  rep.tokens = sm.tokens;
  rep.top = o.top;
  rep.alpha = o.alpha;
  rep.encoder_functions = sm.functions[0];
  rep.decoder_functions = sm.functions[1];
  rep.update = ck.trainer ? ck.trainer->updates : -1;

  // Measure.
  std::fprintf(stderr, "[analyze] %s: %zu sentence pairs, %zu + %zu sampled tokens\n", o.split.c_str(),
               rep.sentences, sm.token_rows[0].size(), sm.token_rows[1].size());
  const Measured m = measure(ck, sm);

  // Per layer: AP, top neurons, partitions and tests.
  for (size_t li = 0; li < m.sites.size(); ++li) {
    const auto& site = m.sites[li];
    LayerModularity lm;
    lm.name = site.name;
    lm.encoder = site.encoder;
    lm.moe = site.experts != nullptr;
    lm.neurons = site.neurons();
    lm.ap = layer_ap(m, li, sm);
    torch::Tensor coactive;
    if (!lm.moe) {
      auto on = (m.tokens[li] > 0).to(torch::kFloat);
      coactive = on.t().matmul(on);
    }
    test_layer(lm, sm.functions[site.encoder ? 0 : 1], lm.moe ? torch::Tensor() : site.first_weights(), coactive,
               lm.moe ? site.experts->w1.size(2) : 0, o);
    std::fprintf(stderr, "[analyze] %s: %lld neurons, %zu sub-functions, %zu partitions\n", lm.name.c_str(),
                 static_cast<long long>(lm.neurons), lm.ap.size(), lm.partitions.size());
    rep.layers.push_back(std::move(lm));
  }

  // Stabilisation: each earlier checkpoint's neuron and expert predictivity against this one's
  // (experts: this checkpoint's first partition, and its random one), Spearman per sub-function.
  for (const auto& path : o.checkpoints) {
    Checkpoint earlier = load_checkpoint(path);
    if (earlier.spm_model != ck.spm_model || earlier.langs != ck.langs)
      throw Error(path + ": not a checkpoint of the same run as " + model_path +
                  " (its SentencePiece model or languages differ)");
    const Measured me = measure(earlier, sm);
    if (me.sites.size() != m.sites.size())
      throw Error(path + ": " + std::to_string(me.sites.size()) + " FFN layers, " + model_path + " has " +
                  std::to_string(m.sites.size()));
    StabilityPoint pt;
    pt.checkpoint = path;
    pt.update = earlier.trainer ? earlier.trainer->updates : -1;
    for (size_t li = 0; li < me.sites.size(); ++li) {
      const auto ap = layer_ap(me, li, sm);
      const auto& final_layer = rep.layers[li];
      if (ap.empty() || ap[0].size() != final_layer.ap[0].size())
        throw Error(path + ": layer " + final_layer.name + " has another width than in " + model_path);
      double neuron = 0, expert = 0, random = 0;
      const auto& own = final_layer.partitions.front();
      const auto& rnd = final_layer.partitions.back();
      for (size_t f = 0; f < ap.size(); ++f) {
        neuron += spearman(as_double(ap[f]), as_double(final_layer.ap[f]));
        expert += spearman(expert_means(ap[f], own.expert_of, own.num_experts),
                           expert_means(final_layer.ap[f], own.expert_of, own.num_experts));
        random += spearman(expert_means(ap[f], rnd.expert_of, rnd.num_experts),
                           expert_means(final_layer.ap[f], rnd.expert_of, rnd.num_experts));
      }
      const double F = static_cast<double>(std::max<size_t>(1, ap.size()));
      pt.neuron.push_back(neuron / F);
      pt.expert.push_back(expert / F);
      pt.random.push_back(random / F);
    }
    std::fprintf(stderr, "[analyze] stabilisation: %s (update %lld)\n", path.c_str(), static_cast<long long>(pt.update));
    rep.stability.push_back(std::move(pt));
  }
  std::sort(rep.stability.begin(), rep.stability.end(),
            [](const StabilityPoint& a, const StabilityPoint& b) { return a.update < b.update; });

  // Perturbation: the model itself goes to a Translator (last use of ck).
  if (!o.perturb_split.empty()) perturb(rep, std::move(ck), o);
  return rep;
}

std::string modularity_tables(const ModularityReport& r) {
  std::string s = format("== modularity of %s on %s (%zu sentence pairs; top %.3g of each layer's neurons "
                         "per sub-function; tests at p <= %g)\n",
                         r.model.c_str(), r.split.c_str(), r.sentences, r.top, r.alpha);
  for (int dec = 0; dec < 2; ++dec) {
    const auto& fns = dec ? r.decoder_functions : r.encoder_functions;
    s += format("\n%s layers: neuron predictivity, best AP / mean AP of the selected neurons\n| layer | neurons |",
                dec ? "decoder" : "encoder");
    for (const auto& f : fns) s += " " + f.name + " |";
    s += "\n|---|---:|";
    for (size_t f = 0; f < fns.size(); ++f) s += "---:|";
    s += "\n";
    for (const auto& l : r.layers) {
      if (l.encoder == static_cast<bool>(dec)) continue;
      s += format("| %s | %lld |", l.name.c_str(), static_cast<long long>(l.neurons));
      for (size_t f = 0; f < fns.size(); ++f)
        s += format(" %.3f / %.3f |", *std::max_element(l.ap[f].begin(), l.ap[f].end()), mean_top(l.ap[f], l.top[f]));
      s += "\n";
    }
  }
  s += "\nfunctional experts: share of the layer's experts (modularisation extent); languages and markup: "
       "binomial test of the functions, per language: mean over the language sub-functions (hypergeometric)\n"
       "| layer | partition | experts | languages | markup | per language |\n|---|---|---:|---|---|---:|\n";
  for (const auto& l : r.layers) {
    const auto& fns = functions_of(r, l);
    for (const auto& p : l.partitions) {
      double share = 0;
      int n = 0;
      for (size_t f = 0; f < fns.size(); ++f)
        if (fns[f].lang >= 0) share += p.sub[f].share, ++n;
      s += format("| %s | %s | %lld | %.2f (%.2f) | %.2f (%.2f) | %.2f |\n", l.name.c_str(), p.kind.c_str(),
                  static_cast<long long>(p.num_experts), p.languages.share, p.languages.extent, p.markup.share,
                  p.markup.extent, n ? share / n : 0.0);
    }
  }
  s += "\nexperts functional for each sub-function (first partition of each layer: MoE its own experts, "
       "dense k-means)\n";
  for (const auto& l : r.layers) {
    const auto& fns = functions_of(r, l);
    const auto& p = l.partitions.front();
    s += format("%s (%s):", l.name.c_str(), p.kind.c_str());
    for (size_t f = 0; f < fns.size(); ++f) {
      std::string ids;
      for (int64_t e = 0; e < p.num_experts; ++e)
        if (p.sub[f].functional[e]) ids += (ids.empty() ? "" : ",") + std::to_string(e);
      s += format(" %s[%s]", fns[f].name.c_str(), ids.empty() ? "-" : ids.c_str());
    }
    s += "\n";
  }
  if (!r.stability.empty()) {
    s += format("\nstabilisation: Spearman correlation with %s (update %lld), mean over the layers' "
                "sub-functions and layers; experts: the partition above, and a random one\n"
                "| checkpoint | update | neurons | experts | random experts |\n|---|---:|---:|---:|---:|\n",
                r.model.c_str(), static_cast<long long>(r.update));
    auto mean = [](const std::vector<double>& v) {
      double x = 0;
      for (double y : v) x += y;
      return v.empty() ? 0.0 : x / static_cast<double>(v.size());
    };
    for (const auto& p : r.stability)
      s += format("| %s | %lld | %.3f | %.3f | %.3f |\n", p.checkpoint.c_str(), static_cast<long long>(p.update),
                  mean(p.neuron), mean(p.expert), mean(p.random));
  }
  if (!r.perturb_split.empty()) {
    double base = 0;
    for (const auto& [dir, c] : r.base_chrf) base += c / static_cast<double>(r.base_chrf.size());
    s += format("\nperturbation on %s (greedy; unperturbed chrF %.2f): mean chrF drop when L's functional "
                "experts, as many random experts, or as many top-AP neurons for L are zeroed (zero), "
                "permuted and scaled x4 (permute), or when routing is restricted to L's functional experts "
                "or as many random other experts (route)\n"
                "| L | mode | condition | experts | neurons | from L | into L | other directions |\n"
                "|---|---|---|---:|---:|---:|---:|---:|\n", r.perturb_split.c_str(), base);
    // Means over the languages per mode and condition, in the order they first appear.
    std::vector<std::pair<std::string, std::string>> kinds;
    std::map<std::pair<std::string, std::string>, std::pair<Drops, int>> sums;
    for (const auto& p : r.perturbations) {
      if (p.chrf.empty()) {
        s += format("| %s | %s | %s | 0 | | no functional experts | | |\n", p.lang.c_str(), p.mode.c_str(),
                    p.condition.c_str());
        continue;
      }
      const Drops d = drops(r, p);
      const std::string neurons = p.mode == "route" ? "" : std::to_string(p.neurons);
      s += format("| %s | %s | %s | %lld | %s | %.2f | %.2f | %.2f |\n", p.lang.c_str(), p.mode.c_str(),
                  p.condition.c_str(), static_cast<long long>(p.experts), neurons.c_str(), d.from, d.into, d.other);
      const std::pair<std::string, std::string> k{p.mode, p.condition};
      if (!sums.count(k)) kinds.push_back(k);
      auto& [sum, n] = sums[k];
      sum.from += d.from;
      sum.into += d.into;
      sum.other += d.other;
      ++n;
    }
    if (!kinds.empty()) {
      s += "\nmean over the languages with functional experts\n"
           "| mode | condition | languages | from L | into L | other directions |\n"
           "|---|---|---:|---:|---:|---:|\n";
      for (const auto& k : kinds) {
        const auto& [sum, n] = sums.at(k);
        s += format("| %s | %s | %d | %.2f | %.2f | %.2f |\n", k.first.c_str(), k.second.c_str(), n, sum.from / n,
                    sum.into / n, sum.other / n);
      }
    }
  }
  return s;
}

void write_modularity_heatmap(const ModularityReport& r, const std::string& png, int cell_px) {
  size_t rows = 0;
  int64_t cols = 0;
  for (const auto& l : r.layers) {
    rows = std::max(rows, l.ap.size());
    cols = std::max(cols, l.partitions.front().num_experts);
  }
  std::vector<std::vector<std::vector<double>>> panels;
  for (const auto& l : r.layers) {
    const auto& p = l.partitions.front();
    std::vector<std::vector<double>> g(rows, std::vector<double>(cols, 0));
    for (size_t f = 0; f < p.sub.size(); ++f) {
      const auto& t = p.sub[f];
      for (int64_t e = 0; e < p.num_experts; ++e)
        if (t.functional[e] && t.selected > 0)
          g[f][e] = static_cast<double>(t.counts[e]) / (static_cast<double>(t.selected) / static_cast<double>(p.num_experts));
    }
    panels.push_back(std::move(g));
  }
  write_png(png, render_heatmap(panels, cell_px));
}

void write_perturbation_heatmap(const ModularityReport& r, const std::string& mode, const std::string& png,
                                int cell_px) {
  std::vector<std::vector<std::vector<double>>> panels;
  const size_t L = r.langs.size();
  for (const auto& p : r.perturbations) {
    if (p.mode != mode || p.condition != "functional" || p.chrf.empty()) continue;
    std::vector<std::vector<double>> g(L, std::vector<double>(L, 0));
    for (const auto& [dir, c] : p.chrf) {
      const auto a = std::find(r.langs.begin(), r.langs.end(), dir.first) - r.langs.begin();
      const auto b = std::find(r.langs.begin(), r.langs.end(), dir.second) - r.langs.begin();
      g[a][b] = std::max(0.0, r.base_chrf.at(dir) - c);
    }
    panels.push_back(std::move(g));
  }
  if (panels.empty()) throw Error("analyze modularity: no " + mode + " perturbation to draw");
  write_png(png, render_heatmap(panels, cell_px));
}

nlohmann::json modularity_json(const ModularityReport& r, const std::string& png) {
  auto functions = [](const std::vector<SubFunction>& fns) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& f : fns) j.push_back({{"name", f.name}, {"positives", f.positives}, {"negatives", f.negatives}});
    return j;
  };
  nlohmann::json j = {{"model", r.model},       {"split", r.split}, {"sentences", r.sentences},
                      {"tokens", r.tokens},     {"langs", r.langs}, {"top", r.top},
                      {"alpha", r.alpha},       {"heatmap", png},
                      {"encoder_functions", functions(r.encoder_functions)},
                      {"decoder_functions", functions(r.decoder_functions)}};
  auto test = [](const FunctionalTest& t) {
    std::vector<int64_t> functional;
    for (size_t e = 0; e < t.functional.size(); ++e)
      if (t.functional[e]) functional.push_back(static_cast<int64_t>(e));
    return nlohmann::json{{"selected", t.selected}, {"threshold", t.threshold}, {"counts", t.counts},
                          {"functional", functional}, {"share", t.share},      {"extent", t.extent}};
  };
  for (const auto& l : r.layers) {
    const auto& fns = functions_of(r, l);
    nlohmann::json lj = {{"name", l.name}, {"encoder", l.encoder}, {"moe", l.moe}, {"neurons", l.neurons}};
    for (size_t f = 0; f < fns.size(); ++f)
      lj["predictivity"][fns[f].name] = {{"max", quantile(l.ap[f], 1)},        {"q99", quantile(l.ap[f], 0.99)},
                                         {"q90", quantile(l.ap[f], 0.9)},      {"median", quantile(l.ap[f], 0.5)},
                                         {"mean_top", mean_top(l.ap[f], l.top[f])}, {"top", l.top[f]}};
    for (const auto& p : l.partitions) {
      nlohmann::json pj = {{"kind", p.kind}, {"experts", p.num_experts},
                           {"languages", test(p.languages)}, {"markup", test(p.markup)}};
      for (size_t f = 0; f < fns.size(); ++f) pj["sub_functions"][fns[f].name] = test(p.sub[f]);
      lj["partitions"].push_back(pj);
    }
    j["layers"].push_back(lj);
  }
  j["update"] = r.update;
  auto scores = [&](const std::map<std::pair<std::string, std::string>, double>& chrf,
                    const std::map<std::pair<std::string, std::string>, double>& bleu) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [dir, c] : chrf)
      a.push_back({{"src", dir.first}, {"tgt", dir.second}, {"chrf", c}, {"bleu", bleu.at(dir)},
                   {"chrf_drop", r.base_chrf.count(dir) ? r.base_chrf.at(dir) - c : 0.0}});
    return a;
  };
  if (!r.perturb_split.empty()) {
    j["perturbation"] = {{"split", r.perturb_split}, {"unperturbed", scores(r.base_chrf, r.base_bleu)}};
    for (const auto& p : r.perturbations) {
      nlohmann::json pj = {{"lang", p.lang}, {"mode", p.mode}, {"condition", p.condition}, {"experts", p.experts},
                           {"neurons", p.neurons}, {"directions", scores(p.chrf, p.bleu)}};
      if (!p.chrf.empty()) {
        const Drops d = drops(r, p);
        pj["drop"] = {{"from", d.from}, {"into", d.into}, {"other", d.other}};
      }
      j["perturbation"]["runs"].push_back(pj);
    }
  }
  j["stability"] = nlohmann::json::array();
  for (const auto& p : r.stability)
    j["stability"].push_back({{"checkpoint", p.checkpoint}, {"update", p.update}, {"neuron", p.neuron},
                              {"expert", p.expert}, {"random", p.random}});
  return j;
}

}  // namespace strata::nmt
