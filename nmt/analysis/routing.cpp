// The routing analysis: counting first choices, the markdown tables, routing.json, the heat map.
#include "nmt/analysis/routing.h"

#include "kernels/linear.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "data/langs.h"
#include "data/prepare.h"
#include "moe/router.h"
#include "nmt/analysis/heatmap.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/format.h"

namespace fs = std::filesystem;

namespace strata::nmt {

namespace {

// What the load table and routing.json say of one layer.
struct LayerSummary {
  double tokens = 0;          // first choices counted
  std::vector<double> share;  // [E] load / tokens
  double max_over_mean = 0;   // largest load over the mean load
  bool has_prev = false;      // a previous MoE layer in the same stack
  double agreement = 0;       // fraction of equal first choices with it
  double nmi = 0;             // normalised mutual information with it
};

LayerSummary summarize(const LayerRouting& ls, int64_t num_experts) {
  LayerSummary s;
  double mx = 0;
  for (double c : ls.load) s.tokens += c, mx = std::max(mx, c);
  for (double c : ls.load) s.share.push_back(s.tokens > 0 ? c / s.tokens : 0);
  s.max_over_mean = s.tokens > 0 ? mx / (s.tokens / num_experts) : 0;
  if (ls.prev >= 0) {
    s.has_prev = true;
    const double n = ls.joint.sum().item<double>();
    s.agreement = n > 0 ? ls.joint.diagonal().sum().item<double>() / n : 0;
    s.nmi = moe::normalized_mutual_information(ls.joint);
  }
  return s;
}

// Shares of a language's tokens per expert; all zero when the language has none.
std::vector<double> usage_shares(const std::vector<double>& counts) {
  double n = 0;
  for (double c : counts) n += c;
  std::vector<double> u;
  for (double c : counts) u.push_back(n > 0 ? c / n : 0);
  return u;
}

double sum(const std::vector<double>& v) {
  double n = 0;
  for (double c : v) n += c;
  return n;
}

}  // namespace

std::vector<LayerRouting> moe_layers(const Transformer& model, int64_t num_langs) {
  const auto& mo = model->options.moe();
  const int64_t E = mo.num_experts;
  std::vector<LayerRouting> layers;
  for (int enc = 1; enc >= 0; --enc) {
    const int64_t n = enc ? model->options.encoder_layers() : model->options.decoder_layers();
    int prev = -1;
    for (int64_t i = 0; i < n; ++i)
      if (mo.is_sparse(i)) {
        LayerRouting s;
        s.name = (enc ? "enc" : "dec") + std::to_string(i);
        s.encoder = enc;
        s.prev = prev;
        s.load.assign(E, 0);
        s.usage.assign(num_langs, std::vector<double>(E, 0));
        s.joint = torch::zeros({E, E}, torch::kDouble);
        prev = static_cast<int>(layers.size());
        layers.push_back(std::move(s));
      }
  }
  return layers;
}

void count_routing(Transformer& model, const ParallelData& data,
                   const std::vector<Example>& examples, const LangTags& tags,
                   std::vector<LayerRouting>& layers) {
  const int64_t E = model->options.moe().num_experts;
  model->eval();
  torch::NoGradGuard ng;
  for (size_t s = 0; s < examples.size(); s += 32) {
    std::vector<Example> part(examples.begin() + s,
                              examples.begin() + std::min(examples.size(), s + 32));
    Batch b = make_batch(data, part, tags);
    MoeAux aux;
    model->forward(b.src, b.prev, &aux);
    if (aux.top1.size() != layers.size())
      throw Error("routing: expected " + std::to_string(layers.size()) + " MoE layers, ran " +
                  std::to_string(aux.top1.size()));
    for (size_t li = 0; li < layers.size(); ++li) {
      auto& ls = layers[li];
      const int64_t T = ls.encoder ? b.src.size(1) : b.prev.size(1);
      auto t1 = aux.top1[li].contiguous();  // [B·T] i64, -1 for padding
      const int64_t* p = t1.data_ptr<int64_t>();
      for (int64_t i = 0; i < t1.numel(); ++i)
        if (p[i] >= 0) {
          const Example& ex = part[i / T];
          ls.load[p[i]] += 1;
          ls.usage[ls.encoder ? ex.src : ex.tgt][p[i]] += 1;
        }
      if (ls.prev >= 0) ls.joint += moe::joint_counts(aux.top1[ls.prev], aux.top1[li], E);
    }
  }
}

AnalysisSplit load_analysis_split(const Checkpoint& ck, const data::Tokenizer& tok,
                                  const std::string& data_config, const std::string& split,
                                  int max_sentences) {
  const std::string cfg = data_config.empty() ? ck.config.train.data : data_config;
  // The model's own data config is a path relative to where it was trained: say so when it is not here.
  if (data_config.empty() && !fs::exists(cfg))
    throw Error(cfg + ": the data config the model was trained on (train.data) is not here; run from the "
                      "directory it was trained in or give --data");
  data::DataConfig dcfg = data::load_data_config(cfg, {});
  AnalysisSplit s;
  s.path = dcfg.out_dir + "/" + split + ".tsv";
  if (!fs::exists(s.path)) throw Error(s.path + ": no such split (--split " + split + ")");
  auto rows = data::read_split(s.path, &s.langs);
  s.tags = std::make_unique<LangTags>(tok, s.langs, ck.config.model.decoder_lang_tag);
  for (size_t l = 0; l < s.langs.size(); ++l)  // the model translates it and has its tag
    s.known.push_back(std::find(ck.langs.begin(), ck.langs.end(), s.langs[l]) != ck.langs.end() &&
                      s.tags->has_tag(l));
  s.data = std::make_unique<ParallelData>(rows, s.langs, tok, ck.config.model.max_positions - 2);
  rows.clear();
  for (const auto& d : s.data->directions()) {
    if (!s.known[d.src] || !s.known[d.tgt]) continue;
    for (size_t i = 0; i < d.rows.size() && (max_sentences <= 0 || static_cast<int>(i) < max_sentences); ++i)
      s.examples.push_back({d.rows[i], d.src, d.tgt});
  }
  if (s.examples.empty()) throw Error(s.path + ": no sentence pair in the model's languages to analyze");
  return s;
}

RoutingReport analyze_routing(const std::string& model_path, const RoutingOptions& options) {
  Checkpoint ck = load_checkpoint(model_path);
  const auto& mc = ck.config.model.moe;
  if (!mc.enabled())
    throw Error(model_path + ": not an MoE model (model.moe.type: none); nothing to analyze");
  // auto: for this model's width (kernels::kLowPrecisionMinWidth), said as translate says it.
  const kernels::ComputeType type = kernels::resolve_compute_type(options.compute_type, ck.config.model.d_model);
  if (options.compute_type == kernels::ComputeType::kAuto)
    std::fprintf(stderr, "[analyze] compute type auto: %s\n",
                 kernels::describe_auto_compute_type(ck.config.model.d_model).c_str());
  kernels::pack_weights(*ck.model, type);
  kernels::ComputeTypeGuard compute(type);
  auto tok = checkpoint_tokenizer(ck);
  AnalysisSplit split = load_analysis_split(ck, *tok, options.data_config, options.split, options.max_sentences);
  RoutingReport rep;
  rep.model = model_path;
  rep.split = options.split;
  rep.num_experts = mc.num_experts;
  rep.router = mc.router;
  rep.shared_router = mc.shared_router;
  rep.langs = split.langs;
  rep.known = split.known;
  rep.sentences = split.examples.size();
  rep.layers = moe_layers(ck.model, static_cast<int64_t>(rep.langs.size()));
  std::fprintf(stderr, "[analyze] %s: %zu sentence pairs, %zu MoE layers\n", rep.split.c_str(),
               rep.sentences, rep.layers.size());
  count_routing(ck.model, *split.data, split.examples, *split.tags, rep.layers);
  return rep;
}

std::string routing_tables(const RoutingReport& r) {
  const int64_t E = r.num_experts;
  std::string s;
  s += format("== routing of %s on %s (%zu sentence pairs; router %s%s; first choices)\n\n",
          r.model.c_str(), r.split.c_str(), r.sentences, r.router.c_str(),
          r.shared_router ? ", shared (Omni)" : "");
  s += "| layer | tokens | load % per expert | max/mean | agreement | NMI |\n";
  s += "|---|---:|---|---:|---:|---:|\n";
  for (const auto& ls : r.layers) {
    const LayerSummary m = summarize(ls, E);
    std::string loads;
    for (double f : m.share) loads += format("%s%.1f", loads.empty() ? "" : " ", 100 * f);
    std::string agree = "-", nmi = "-";
    if (m.has_prev) {
      agree = format("%.3f", m.agreement);
      nmi = format("%.3f", m.nmi);
    }
    s += format("| %s | %.0f | %s | %.2f | %s | %s |\n", ls.name.c_str(), m.tokens, loads.c_str(),
            m.max_over_mean, agree.c_str(), nmi.c_str());
  }
  s += "\nagreement: fraction of tokens whose first choice equals the previous MoE layer's "
       "(same stack); NMI: 2·I/(H+H) of the two layers' first choices\n";
  // Expert-by-language usage: % of a language's tokens whose first choice is each expert.
  for (const auto& ls : r.layers) {
    s += format("\n%s: expert usage by %s language (%% of its tokens)\n| lang |", ls.name.c_str(),
            ls.encoder ? "source" : "target");
    for (int64_t e = 0; e < E; ++e) s += format(" e%lld |", static_cast<long long>(e));
    s += "\n|---|";
    for (int64_t e = 0; e < E; ++e) s += "---:|";
    s += "\n";
    for (size_t l = 0; l < r.langs.size(); ++l) {
      if (!r.known[l] || sum(ls.usage[l]) == 0) continue;
      s += format("| %s |", r.langs[l].c_str());
      for (double u : usage_shares(ls.usage[l])) s += format(" %.1f |", 100 * u);
      s += "\n";
    }
  }
  return s;
}

std::vector<std::string> heatmap_rows(const RoutingReport& r) {
  std::vector<std::string> rows;
  for (size_t l = 0; l < r.langs.size(); ++l)
    if (r.known[l]) rows.push_back(r.langs[l]);
  return rows;
}

void write_routing_heatmap(const RoutingReport& r, const std::string& png_path, int cell_px) {
  std::vector<size_t> used;
  for (size_t l = 0; l < r.langs.size(); ++l)
    if (r.known[l]) used.push_back(l);
  const size_t rows_n = std::max<size_t>(1, used.size());  // an empty row when none is known
  std::vector<std::vector<std::vector<double>>> panels;
  for (const auto& ls : r.layers) {
    std::vector<std::vector<double>> share(rows_n, std::vector<double>(r.num_experts, 0));
    for (size_t i = 0; i < used.size(); ++i) share[i] = usage_shares(ls.usage[used[i]]);
    panels.push_back(std::move(share));
  }
  write_png(png_path, render_heatmap(panels, cell_px));
}

nlohmann::json routing_json(const RoutingReport& r, const std::string& png_path, int cell_px) {
  nlohmann::json report = {{"model", r.model},       {"split", r.split},
                           {"sentences", r.sentences}, {"num_experts", r.num_experts},
                           {"router", r.router},     {"shared_router", r.shared_router}};
  for (const auto& ls : r.layers) {
    const LayerSummary m = summarize(ls, r.num_experts);
    nlohmann::json lj = {{"name", ls.name}, {"tokens", m.tokens}, {"load", m.share},
                         {"max_over_mean", m.max_over_mean}};
    if (m.has_prev) {
      lj["previous"] = r.layers[ls.prev].name;
      lj["agreement"] = m.agreement;
      lj["nmi"] = m.nmi;
    }
    nlohmann::json usage = nlohmann::json::object();
    for (size_t l = 0; l < r.langs.size(); ++l)
      if (sum(ls.usage[l]) > 0) usage[r.langs[l]] = usage_shares(ls.usage[l]);
    lj["usage"] = usage;
    report["layers"].push_back(lj);
  }
  report["heatmap"] = {{"file", png_path}, {"rows", heatmap_rows(r)}, {"cell_px", cell_px}};
  return report;
}

}  // namespace strata::nmt
