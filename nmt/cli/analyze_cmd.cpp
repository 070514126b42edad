// strata analyze routing -m MODEL --split valid [--out DIR]: how an MoE model routes a benchmark
// split, teacher-forced on its references: per MoE layer the first-choice expert load, the
// agreement with the previous MoE layer of the same stack (fraction of tokens with the same first
// choice, and the normalised mutual information of the two layers' choices), and expert usage by
// language (encoder layers: source language; decoder layers: target language). Prints markdown
// tables and writes DIR/routing.json and DIR/routing.png (a heat map). The analysis itself is
// nmt/analysis/routing.h; this file parses the options and prints.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

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

int analyze_routing(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  const std::string model_path = vm["model"].as<std::string>();
  nmt::RoutingOptions opt;
  opt.split = vm["split"].as<std::string>();
  if (vm.count("data")) opt.data_config = vm["data"].as<std::string>();
  opt.max_sentences = vm["max-sentences"].as<int>();
  opt.compute_type = read_compute_type(vm, "analyze");
  const nmt::RoutingReport report = nmt::analyze_routing(model_path, opt);
  std::printf("%s", nmt::routing_tables(report).c_str());
  const std::string out_dir = vm.count("out")
                                  ? vm["out"].as<std::string>()
                                  : (fs::path(model_path).parent_path() / "routing").string();
  fs::create_directories(out_dir.empty() ? "." : out_dir);
  const std::string png = (fs::path(out_dir) / "routing.png").string();
  nmt::write_routing_heatmap(report, png);
  const std::string json_path = (fs::path(out_dir) / "routing.json").string();
  write_file_atomically(json_path, nmt::routing_json(report, png).dump(2) + "\n");
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
      "max-sentences", ranged<int>("max-sentences", 0, 1e9)->default_value(200), "per direction (0 = all)")(
      "out", po::value<std::string>(), "output folder (default: MODEL's folder/routing)")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_compute_type_option(desc);
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
