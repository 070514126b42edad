// strata analyze routing|modularity -m MODEL --split valid [--out DIR].
// routing: how an MoE model routes a benchmark
// split, teacher-forced on its references: per MoE layer the first-choice expert load, the
// agreement with the previous MoE layer of the same stack (fraction of tokens with the same first
// choice, and the normalised mutual information of the two layers' choices), and expert usage by
// language (encoder layers: source language; decoder layers: target language). Prints markdown
// tables and writes DIR/routing.json and DIR/routing.png (a heat map).
// modularity: functional neurons and experts per language (nmt/analysis/modularity.h); prints
// markdown tables and writes DIR/modularity.json and DIR/modularity.png.
// The analyses live in nmt/analysis/; this file parses the options and prints.
#include <boost/algorithm/string.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "nmt/analysis/modularity.h"
#include "nmt/analysis/routing.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace strata::cli {

namespace {

// The output folder: --out, or MODEL's folder/<analysis>.
std::string out_dir(const po::variables_map& vm, const std::string& model_path, const char* analysis) {
  const std::string dir = vm.count("out") ? vm["out"].as<std::string>()
                                          : (fs::path(model_path).parent_path() / analysis).string();
  fs::create_directories(dir.empty() ? "." : dir);
  return dir;
}

int analyze_routing(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  const std::string model_path = vm["model"].as<std::string>();
  nmt::RoutingOptions opt;
  opt.split = vm["split"].as<std::string>();
  if (vm.count("data")) opt.data_config = vm["data"].as<std::string>();
  opt.max_sentences = vm["max-sentences"].as<int>();
  opt.compute_type = read_compute_type(vm, "analyze", true);  // auto: resolved for the model
  const nmt::RoutingReport report = nmt::analyze_routing(model_path, opt);
  std::printf("%s", nmt::routing_tables(report).c_str());
  const std::string dir = out_dir(vm, model_path, "routing");
  const std::string png = (fs::path(dir) / "routing.png").string();
  nmt::write_routing_heatmap(report, png);
  const std::string json_path = (fs::path(dir) / "routing.json").string();
  write_file_atomically(json_path, nmt::routing_json(report, png).dump(2) + "\n");
  std::fprintf(stderr, "[analyze] wrote %s and %s\n", png.c_str(), json_path.c_str());
  return 0;
}

int analyze_modularity(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  const std::string model_path = vm["model"].as<std::string>();
  nmt::ModularityOptions opt;
  opt.split = vm["split"].as<std::string>();
  if (vm.count("data")) opt.data_config = vm["data"].as<std::string>();
  opt.max_sentences = vm.count("max-sentences") && !vm["max-sentences"].defaulted()
                          ? vm["max-sentences"].as<int>() : opt.max_sentences;
  opt.examples = vm["examples"].as<int>();
  opt.experts = vm["experts"].as<int>();
  opt.top = vm["top"].as<double>();
  opt.alpha = vm["alpha"].as<double>();
  opt.seed = static_cast<uint64_t>(vm["seed"].as<int>());
  if (vm.count("checkpoints")) {
    boost::split(opt.checkpoints, vm["checkpoints"].as<std::string>(), boost::is_any_of(","));
    for (const auto& c : opt.checkpoints)
      if (c.empty()) throw Error("analyze modularity: --checkpoints has an empty name");
  }
  if (vm.count("perturb-split")) opt.perturb_split = vm["perturb-split"].as<std::string>();
  opt.perturb_sentences = vm["perturb-sentences"].as<int>();
  if (vm.count("perturb-layers")) {
    boost::split(opt.perturb_layers, vm["perturb-layers"].as<std::string>(), boost::is_any_of(","));
    for (auto& l : opt.perturb_layers) boost::trim(l);
  }
  if (vm.count("perturb-modes")) {
    opt.perturb_modes.clear();
    boost::split(opt.perturb_modes, vm["perturb-modes"].as<std::string>(), boost::is_any_of(","));
    for (auto& m : opt.perturb_modes) boost::trim(m);
  }
  const nmt::ModularityReport report = nmt::analyze_modularity(model_path, opt);
  std::printf("%s", nmt::modularity_tables(report).c_str());
  const std::string dir = out_dir(vm, model_path, "modularity");
  const std::string png = (fs::path(dir) / "modularity.png").string();
  nmt::write_modularity_heatmap(report, png);
  const std::string json_path = (fs::path(dir) / "modularity.json").string();
  write_file_atomically(json_path, nmt::modularity_json(report, png).dump(2) + "\n");
  std::fprintf(stderr, "[analyze] wrote %s and %s\n", png.c_str(), json_path.c_str());
  for (const auto& mode : opt.perturb_modes) {
    bool drawn = false;
    for (const auto& p : report.perturbations)
      drawn = drawn || (p.mode == mode && p.condition == "functional" && !p.chrf.empty());
    if (!drawn) continue;
    const std::string perturbation_png = (fs::path(dir) / ("perturbation_" + mode + ".png")).string();
    nmt::write_perturbation_heatmap(report, mode, perturbation_png);
    std::fprintf(stderr, "[analyze] wrote %s\n", perturbation_png.c_str());
  }
  return 0;
}

}  // namespace

int run_analyze(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata analyze routing: expert load, cross-layer agreement (NMI) and expert-by-language\n"
      "usage of an MoE model on a split (teacher-forced on the references).\n"
      "strata analyze modularity: neurons that predict the source/target language or markup\n"
      "tokens (AP), and the experts where they gather (MoE experts; dense layers split by\n"
      "k-means, co-activation (METIS) and at random), by hypergeometric and binomial tests.\n"
      "  strata analyze routing -m best.pt --split valid [--out DIR]\n"
      "  strata analyze modularity -m best.pt --split valid [--experts 16] [--out DIR]");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "MoE checkpoint")(
      "split", po::value<std::string>()->default_value("valid"), "split of the data config")(
      "data", po::value<std::string>(), "data config (default: the one the model was trained on)")(
      "max-sentences", ranged<int>("max-sentences", 0, 1e9)->default_value(200),
      "per direction (0 = all; modularity's default: 25)")(
      "examples", ranged<int>("examples", 1, 1e9)->default_value(1000),
      "modularity: at most this many positives and as many negatives per sub-function")(
      "experts", ranged<int>("experts", 1, 1e6)->default_value(16),
      "modularity: experts per dense layer (MoEfication; must divide its ffn)")(
      "top", ranged<double>("top", 1e-6, 1)->default_value(0.01, "0.01"),
      "modularity: share of a layer's neurons selected per sub-function")(
      "alpha", ranged<double>("alpha", 1e-12, 0.5)->default_value(0.001, "0.001"),
      "modularity: significance of the functional-expert tests")(
      "seed", ranged<int>("seed", 0, 2147483647)->default_value(1), "modularity: sampling and partition seed")(
      "checkpoints", po::value<std::string>(),
      "modularity: earlier checkpoints of the run (comma-separated), compared with -m (stabilisation)")(
      "perturb-split", po::value<std::string>(),
      "modularity: perturb each language's functional experts (vs random experts, top-AP neurons) and score this split")(
      "perturb-modes", po::value<std::string>(),
      "modularity: zero, permute (x4, the paper's), route (MoE: routing restricted to them); default all three")(
      "perturb-sentences", ranged<int>("perturb-sentences", 1, 1e9)->default_value(20),
      "modularity: sentences per direction of the perturbation's split")(
      "perturb-layers", po::value<std::string>(), "modularity: layers to perturb (e.g. enc2,dec0; default all)")(
      "out", po::value<std::string>(), "output folder (default: MODEL's folder/routing)")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_compute_type_option(desc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << desc << "\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "routing" && args[0] != "modularity")
    throw Error("analyze: unknown analysis '" + args[0] + "' (analyses: routing, modularity)");
  po::variables_map vm;
  if (!parse_or_help(std::vector<std::string>(args.begin() + 1, args.end()), desc, vm)) return 0;
  if (!vm.count("model")) throw Error("analyze " + args[0] + ": give -m MODEL");
  return args[0] == "routing" ? analyze_routing(vm) : analyze_modularity(vm);
}

}  // namespace strata::cli
