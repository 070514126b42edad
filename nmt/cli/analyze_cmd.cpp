// strata analyze routing -m MODEL --split valid [--out DIR]: how an MoE model routes a benchmark
// split, teacher-forced on its references: per MoE layer the first-choice expert load, the
// agreement with the previous MoE layer of the same stack (fraction of tokens with the same first
// choice, and the normalised mutual information of the two layers' choices), and expert usage by
// language (encoder layers: source language; decoder layers: target language). Prints markdown
// tables and writes DIR/routing.json and DIR/routing.png (a heat map).
#include <zlib.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/data_config.h"
#include "data/error.h"
#include "data/langs.h"
#include "data/prepare.h"
#include "moe/router.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace strata::cli {

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_chunk(std::string& png, const char* type, const std::string& data) {
  put_u32(png, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  png += body;
  put_u32(png, static_cast<uint32_t>(
                   crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// An 8-bit RGB PNG of `rgb` (height rows of width·3 bytes).
void write_png(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (width * 3 + 1));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(rgb.data()) + static_cast<size_t>(y) * width * 3, width * 3);
  }
  uLongf len = compressBound(static_cast<uLong>(raw.size()));
  std::string z(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw Error(path + ": zlib compression failed");
  z.resize(len);
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter, no interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", "");
  std::ofstream out(path, std::ios::binary);
  if (!out.write(png.data(), static_cast<std::streamsize>(png.size()))) throw Error(path + ": cannot write");
}

struct LayerStats {
  std::string name;
  bool encoder = true;
  int prev = -1;                           // previous MoE layer of the same stack
  std::vector<double> load;                // [E] first-choice counts
  std::vector<std::vector<double>> usage;  // [language][E] first-choice counts
  torch::Tensor joint;                     // [E, E] counts (prev layer, this layer)
};

int analyze_routing(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  const std::string model_path = vm["model"].as<std::string>();
  nmt::Checkpoint ck = nmt::load_checkpoint(model_path);
  const auto& mc = ck.config.model.moe;
  if (mc.type == "none")
    throw Error(model_path + ": not an MoE model (model.moe.type: none); nothing to analyze");
  auto tok = nmt::checkpoint_tokenizer(ck);
  const std::string data_cfg = vm.count("data") ? vm["data"].as<std::string>() : ck.config.train.data;
  data::DataConfig dcfg = data::load_data_config(data_cfg, {});
  const std::string split = vm["split"].as<std::string>();
  const std::string split_path = dcfg.out_dir + "/" + split + ".tsv";
  if (!fs::exists(split_path)) throw Error(split_path + ": no such split (--split " + split + ")");
  std::vector<std::string> langs;
  auto rows = data::read_split(split_path, &langs);
  const nmt::LangTags tags(*tok, langs, ck.config.model.decoder_lang_tag);
  std::vector<bool> known;
  for (size_t l = 0; l < langs.size(); ++l)
    known.push_back(std::find(ck.langs.begin(), ck.langs.end(), langs[l]) != ck.langs.end() &&
                    tags.has_tag(l));
  nmt::ParallelData pdata(rows, langs, *tok, ck.config.model.max_positions - 2);
  rows.clear();
  const int max_sent = vm["max-sentences"].as<int>();
  std::vector<nmt::Example> all;
  for (const auto& d : pdata.directions()) {
    if (!known[d.src] || !known[d.tgt]) continue;
    for (size_t i = 0; i < d.rows.size() && (max_sent <= 0 || static_cast<int>(i) < max_sent); ++i)
      all.push_back({d.rows[i], d.src, d.tgt});
  }
  if (all.empty())
    throw Error(split_path + ": no sentence pair in the model's languages to analyze");

  nmt::Transformer& model = ck.model;
  model->eval();
  torch::NoGradGuard ng;
  const auto& mo = model->options.moe();
  const int64_t E = mc.num_experts, L = static_cast<int64_t>(langs.size());
  std::vector<LayerStats> layers;
  for (int enc = 1; enc >= 0; --enc) {
    const int64_t n = enc ? model->options.encoder_layers() : model->options.decoder_layers();
    int prev = -1;
    for (int64_t i = 0; i < n; ++i)
      if (mo.is_sparse(i)) {
        LayerStats s;
        s.name = (enc ? "enc" : "dec") + std::to_string(i);
        s.encoder = enc;
        s.prev = prev;
        s.load.assign(E, 0);
        s.usage.assign(L, std::vector<double>(E, 0));
        s.joint = torch::zeros({E, E}, torch::kDouble);
        prev = static_cast<int>(layers.size());
        layers.push_back(std::move(s));
      }
  }
  std::fprintf(stderr, "[analyze] %s: %zu sentence pairs, %zu MoE layers\n", split.c_str(),
               all.size(), layers.size());
  for (size_t s = 0; s < all.size(); s += 32) {
    std::vector<nmt::Example> part(all.begin() + s, all.begin() + std::min(all.size(), s + 32));
    nmt::Batch b = nmt::make_batch(pdata, part, tags);
    nmt::MoeAux aux;
    model->forward(b.src, b.prev, &aux);
    if (aux.top1.size() != layers.size())
      throw Error(model_path + ": expected " + std::to_string(layers.size()) + " MoE layers, ran " +
                  std::to_string(aux.top1.size()));
    for (size_t li = 0; li < layers.size(); ++li) {
      auto& ls = layers[li];
      const int64_t T = ls.encoder ? b.src.size(1) : b.prev.size(1);
      auto t1 = aux.top1[li].contiguous();
      const int64_t* p = t1.data_ptr<int64_t>();
      for (int64_t i = 0; i < t1.numel(); ++i)
        if (p[i] >= 0) {
          const nmt::Example& ex = part[i / T];
          ls.load[p[i]] += 1;
          ls.usage[ls.encoder ? ex.src : ex.tgt][p[i]] += 1;
        }
      if (ls.prev >= 0) ls.joint += moe::joint_counts(aux.top1[ls.prev], aux.top1[li], E);
    }
  }

  nlohmann::json report = {{"model", model_path}, {"split", split},
                           {"sentences", all.size()}, {"num_experts", E},
                           {"router", mc.router}, {"shared_router", mc.shared_router}};
  std::printf("== routing of %s on %s (%zu sentence pairs; router %s%s; first choices)\n\n",
              model_path.c_str(), split.c_str(), all.size(), mc.router.c_str(),
              mc.shared_router ? ", shared (Omni)" : "");
  std::printf("| layer | tokens | load %% per expert | max/mean | agreement | NMI |\n");
  std::printf("|---|---:|---|---:|---:|---:|\n");
  for (auto& ls : layers) {
    double tokens = 0, mx = 0;
    for (double c : ls.load) tokens += c, mx = std::max(mx, c);
    std::string loads;
    std::vector<double> frac;
    for (double c : ls.load) {
      frac.push_back(tokens > 0 ? c / tokens : 0);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%s%.1f", loads.empty() ? "" : " ", 100 * frac.back());
      loads += buf;
    }
    const double ratio = tokens > 0 ? mx / (tokens / E) : 0;
    nlohmann::json lj = {{"name", ls.name}, {"tokens", tokens}, {"load", frac},
                         {"max_over_mean", ratio}};
    std::string agree = "-", nmi = "-";
    if (ls.prev >= 0) {
      const double n = ls.joint.sum().item<double>();
      const double a = n > 0 ? ls.joint.diagonal().sum().item<double>() / n : 0;
      const double m = moe::normalized_mutual_information(ls.joint);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", a);
      agree = buf;
      std::snprintf(buf, sizeof buf, "%.3f", m);
      nmi = buf;
      lj["previous"] = layers[ls.prev].name;
      lj["agreement"] = a;
      lj["nmi"] = m;
    }
    std::printf("| %s | %.0f | %s | %.2f | %s | %s |\n", ls.name.c_str(), tokens, loads.c_str(),
                ratio, agree.c_str(), nmi.c_str());
    nlohmann::json usage = nlohmann::json::object();
    for (int64_t l = 0; l < L; ++l) {
      double n = 0;
      for (double c : ls.usage[l]) n += c;
      if (n == 0) continue;
      std::vector<double> u;
      for (double c : ls.usage[l]) u.push_back(c / n);
      usage[langs[l]] = u;
    }
    lj["usage"] = usage;
    report["layers"].push_back(lj);
  }
  std::printf("\nagreement: fraction of tokens whose first choice equals the previous MoE layer's "
              "(same stack); NMI: 2·I/(H+H) of the two layers' first choices\n");
  // Expert-by-language usage: % of a language's tokens whose first choice is each expert.
  std::vector<int64_t> used_langs;
  for (int64_t l = 0; l < L; ++l)
    if (known[l]) used_langs.push_back(l);
  for (const auto& ls : layers) {
    std::printf("\n%s: expert usage by %s language (%% of its tokens)\n| lang |", ls.name.c_str(),
                ls.encoder ? "source" : "target");
    for (int64_t e = 0; e < E; ++e) std::printf(" e%lld |", static_cast<long long>(e));
    std::printf("\n|---|");
    for (int64_t e = 0; e < E; ++e) std::printf("---:|");
    std::printf("\n");
    for (int64_t l : used_langs) {
      double n = 0;
      for (double c : ls.usage[l]) n += c;
      if (n == 0) continue;
      std::printf("| %s |", langs[l].c_str());
      for (double c : ls.usage[l]) std::printf(" %.1f |", 100 * c / n);
      std::printf("\n");
    }
  }

  // Heat map: one panel per MoE layer, left to right in table order; rows = languages (in the
  // split's order), columns = experts; darker = larger share of the language's tokens (scaled to
  // the panel's maximum). A 1-cell white gap separates panels.
  const std::string out_dir = vm.count("out") ? vm["out"].as<std::string>()
                                              : (fs::path(model_path).parent_path() / "routing").string();
  fs::create_directories(out_dir.empty() ? "." : out_dir);
  const int cell = 12, rows_n = static_cast<int>(std::max<size_t>(1, used_langs.size()));
  const int panels = static_cast<int>(layers.size());
  const int width = cell * (panels * static_cast<int>(E) + std::max(0, panels - 1));
  const int height = cell * rows_n;
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3, 255);
  for (int pi = 0; pi < panels; ++pi) {
    const auto& ls = layers[pi];
    std::vector<std::vector<double>> share(rows_n, std::vector<double>(E, 0));
    double mx = 0;
    for (int r = 0; r < static_cast<int>(used_langs.size()); ++r) {
      double n = 0;
      for (double c : ls.usage[used_langs[r]]) n += c;
      for (int64_t e = 0; e < E; ++e) {
        share[r][e] = n > 0 ? ls.usage[used_langs[r]][e] / n : 0;
        mx = std::max(mx, share[r][e]);
      }
    }
    for (int r = 0; r < rows_n; ++r)
      for (int64_t e = 0; e < E; ++e) {
        const double v = mx > 0 ? share[r][e] / mx : 0;  // 0 white .. 1 dark blue
        const uint8_t R = static_cast<uint8_t>(255 - v * (255 - 8)), G = static_cast<uint8_t>(255 - v * (255 - 48)),
                      B = static_cast<uint8_t>(255 - v * (255 - 107));
        const int x0 = cell * (pi * (static_cast<int>(E) + 1) + static_cast<int>(e)), y0 = cell * r;
        for (int y = y0; y < y0 + cell; ++y)
          for (int x = x0; x < x0 + cell; ++x) {
            uint8_t* px = &rgb[(static_cast<size_t>(y) * width + x) * 3];
            px[0] = R, px[1] = G, px[2] = B;
          }
      }
  }
  const std::string png = (fs::path(out_dir) / "routing.png").string();
  write_png(png, width, height, rgb);
  std::vector<std::string> row_langs;
  for (int64_t l : used_langs) row_langs.push_back(langs[l]);
  report["heatmap"] = {{"file", png}, {"rows", row_langs}, {"cell_px", cell}};
  const std::string json_path = (fs::path(out_dir) / "routing.json").string();
  std::ofstream jo(json_path);
  if (!(jo << report.dump(2) << "\n")) throw Error(json_path + ": cannot write");
  std::fprintf(stderr, "[analyze] wrote %s and %s\n", png.c_str(), json_path.c_str());
  return 0;
}

}  // namespace

int run_analyze(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata analyze routing: expert load, cross-layer agreement (NMI) and expert-by-language\n"
      "usage of an MoE model on a split (teacher-forced on the references).\n"
      "  strata analyze routing -m best.pt --split valid [--out DIR]");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "MoE checkpoint")(
      "split", po::value<std::string>()->default_value("valid"), "split of the data config")(
      "data", po::value<std::string>(), "data config (default: the one the model was trained on)")(
      "max-sentences", po::value<int>()->default_value(200), "per direction (0 = all)")(
      "out", po::value<std::string>(), "output folder (default: MODEL's folder/routing)")(
      "threads", po::value<int>()->default_value(0), "threads (0 = all cores)");
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << desc << "\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "routing")
    throw Error("analyze: unknown analysis '" + args[0] + "' (analyses: routing)");
  po::variables_map vm;
  if (!parse_or_help(std::vector<std::string>(args.begin() + 1, args.end()), desc, vm)) return 0;
  if (!vm.count("model")) throw Error("analyze routing: give -m MODEL");
  return analyze_routing(vm);
}

}  // namespace strata::cli
