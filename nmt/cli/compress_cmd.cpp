// strata compress -m moe.pt -o small.pt --method resmoe|prune|svd|merge
//                 [--sparsity s | --rank r | --groups G | --compression c] [--layers 0,2] [--int8]
// The work is nmt/compress/resmoe.h; the stored form nmt/model/compressed_experts.h.
#include <boost/algorithm/string.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/compress/resmoe.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"

namespace po = boost::program_options;

namespace strata::cli {

int run_compress(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata compress: one-shot, data-free compression of a checkpoint's MoE experts; the output\n"
      "stores them compressed and loads like any checkpoint (translate, eval, analyze).\n"
      "  resmoe  Wasserstein barycenter of each layer's experts + each expert's aligned residual,\n"
      "          pruned by magnitude (--residual prune) or truncated by SVD (--residual svd)\n"
      "  prune   magnitude pruning of each expert (baseline)\n"
      "  svd     truncated SVD of each expert (baseline)\n"
      "  merge   experts averaged after alignment into G groups (baseline)\n"
      "Size it with one of --sparsity, --rank, --groups or --compression (the fraction of the\n"
      "experts' parameters to remove; every method then stores the same number)");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "MoE checkpoint (switch, gshard, smoe, sigma, ...)")(
      "output,o", po::value<std::string>(), "checkpoint to write")(
      "method", po::value<std::string>()->default_value("resmoe"), "resmoe, prune, svd or merge")(
      "residual", po::value<std::string>()->default_value("prune"),
      "resmoe's residuals: prune (sparse) or svd (low rank)")(
      "sparsity", ranged<double>("sparsity", 0, 1), "share of each residual's entries set to zero")(
      "rank", ranged<int64_t>("rank", 0, 1 << 20), "rank of each residual")(
      "groups", ranged<int64_t>("groups", 1, 1 << 20), "merge: number of merged experts per layer")(
      "compression", ranged<double>("compression", 0, 0.999),
      "fraction of the experts' parameters to remove (0.75 = store a quarter)")(
      "int8", po::bool_switch(), "store residual values and factors in int8 (one scale per row)")(
      "layers", po::value<std::string>(),
      "comma-separated MoE layers: indices as printed, or module names (default: all)")(
      "max-iterations", ranged<int>("max-iterations", 1, 100000)->default_value(100),
      "barycenter iterations at most")(
      "json", po::value<std::string>(), "also write the report (layers, totals, file sizes) as JSON here");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  const auto [in, out] = read_model_and_output(vm);
  nmt::compress::CompressOptions o;
  const std::string method = vm["method"].as<std::string>(), residual = vm["residual"].as<std::string>();
  if (method == "resmoe") o.method = nmt::compress::Method::kResMoe;
  else if (method == "prune") o.method = nmt::compress::Method::kPrune;
  else if (method == "svd") o.method = nmt::compress::Method::kSvd;
  else if (method == "merge") o.method = nmt::compress::Method::kMerge;
  else throw Error("--method must be resmoe, prune, svd or merge, got '" + method + "'");
  if (residual == "prune") o.residual = nmt::compress::Residual::kPrune;
  else if (residual == "svd") o.residual = nmt::compress::Residual::kSvd;
  else throw Error("--residual must be prune or svd, got '" + residual + "'");
  int sizes = 0;
  for (const char* k : {"sparsity", "rank", "groups", "compression"}) sizes += static_cast<int>(vm.count(k));
  if (sizes > 1) throw Error("give one of --sparsity, --rank, --groups, --compression");
  if (vm.count("sparsity")) o.sparsity = vm["sparsity"].as<double>();
  if (vm.count("rank")) o.rank = vm["rank"].as<int64_t>();
  if (vm.count("groups")) o.groups = vm["groups"].as<int64_t>();
  if (vm.count("compression")) o.compression = vm["compression"].as<double>();
  // Which size fits which method (resmoe's residual decides between sparsity and rank).
  const bool sparse = o.method == nmt::compress::Method::kPrune ||
                      (o.method == nmt::compress::Method::kResMoe && o.residual == nmt::compress::Residual::kPrune);
  const bool low = o.method == nmt::compress::Method::kSvd ||
                   (o.method == nmt::compress::Method::kResMoe && o.residual == nmt::compress::Residual::kSvd);
  const bool merge = o.method == nmt::compress::Method::kMerge;
  if ((vm.count("sparsity") && !sparse) || (vm.count("rank") && !low) || (vm.count("groups") && !merge))
    throw Error("--method " + method + (o.method == nmt::compress::Method::kResMoe ? " --residual " + residual : "") +
                " is sized by " + (sparse ? "--sparsity" : low ? "--rank" : "--groups") + " or --compression");
  if (sizes == 0 && !merge)
    throw Error("--method " + method + " needs " + (sparse ? "--sparsity" : "--rank") + " or --compression");
  o.int8 = vm["int8"].as<bool>();
  if (o.int8 && merge) throw Error("--int8 quantizes residuals; --method merge stores none");
  o.max_iterations = vm["max-iterations"].as<int>();
  std::vector<std::string> layers;
  if (vm.count("layers")) {
    boost::split(layers, vm["layers"].as<std::string>(), boost::is_any_of(","));
    for (auto& l : layers) boost::trim(l);
  }

  nmt::Checkpoint ckpt = nmt::load_checkpoint(in);
  std::vector<nmt::compress::LayerReport> reports;
  const auto compressed = nmt::compress::compress_model(*ckpt.model, o, layers, ckpt.compressed, &reports);
  nmt::save_checkpoint(out, ckpt.config, ckpt.langs, ckpt.spm_model, ckpt.model, nullptr, nullptr,
                       nullptr, &compressed);

  const auto all = nmt::compress::experts_modules(*ckpt.model);
  std::printf("| # | MoE layer | experts | %s | barycenter iterations | objective start -> end | "
              "residual share | relative error | expert parameters | stored | stored MB |\n",
              merge ? "groups" : sparse ? "sparsity" : "rank");
  std::printf("|---:|---|---:|---|---:|---|---:|---:|---:|---:|---:|\n");
  int64_t params = 0, stored = 0, bytes = 0, stored_bytes = 0;
  nlohmann::json report = {{"model", in}, {"output", out}, {"method", method}, {"int8", o.int8}};
  if (o.method == nmt::compress::Method::kResMoe) report["residual"] = residual;
  for (const auto& r : reports) {
    report["layers"].push_back({{"module", r.module},
                                {"setting", r.setting},
                                {"iterations", r.iterations},
                                {"converged", r.converged},
                                {"objective_first", r.objective_first},
                                {"objective", r.objective},
                                {"relative_error", r.relative_error},
                                {"residual_share", r.residual_share},
                                {"parameters", r.parameters},
                                {"stored_parameters", r.stored_parameters},
                                {"bytes", r.bytes},
                                {"stored_bytes", r.stored_bytes}});
    size_t i = 0;
    while (all[i].first != r.module) ++i;
    std::string iterations = "-", objective = "-", share = "-";
    if (r.iterations) {
      char b[96];
      std::snprintf(b, sizeof b, "%.4f", r.residual_share);
      share = b;
      std::snprintf(b, sizeof b, "%.4g -> %.4g", r.objective_first, r.objective);
      objective = b;
      iterations = std::to_string(r.iterations) + (r.converged ? "" : " (not converged)");
    }
    std::printf("| %zu | %s | %lld | %s | %s | %s | %s | %.4f | %lld | %lld (%.1f%%) | %.2f -> %.2f |\n", i,
                r.module.c_str(), static_cast<long long>(all[i].second->w1.size(0)),
                r.setting.c_str(), iterations.c_str(), objective.c_str(), share.c_str(), r.relative_error,
                static_cast<long long>(r.parameters), static_cast<long long>(r.stored_parameters),
                100.0 * static_cast<double>(r.stored_parameters) / static_cast<double>(r.parameters),
                static_cast<double>(r.bytes) / 1e6, static_cast<double>(r.stored_bytes) / 1e6);
    params += r.parameters;
    stored += r.stored_parameters;
    bytes += r.bytes;
    stored_bytes += r.stored_bytes;
  }
  std::printf("experts: %lld -> %lld parameters (%.1f%% removed), %.2f -> %.2f MB stored%s\n",
              static_cast<long long>(params), static_cast<long long>(stored),
              100.0 * (1 - static_cast<double>(stored) / static_cast<double>(params)),
              static_cast<double>(bytes) / 1e6,
              static_cast<double>(stored_bytes) / 1e6, o.int8 ? " (int8 residuals)" : "");
  std::printf("%s: %.2f MB -> %s: %.2f MB\n", in.c_str(),
              static_cast<double>(std::filesystem::file_size(in)) / 1e6, out.c_str(),
              static_cast<double>(std::filesystem::file_size(out)) / 1e6);
  if (vm.count("json")) {
    report["parameters"] = params;
    report["stored_parameters"] = stored;
    report["bytes"] = bytes;
    report["stored_bytes"] = stored_bytes;
    report["file_bytes"] = std::filesystem::file_size(in);
    report["output_file_bytes"] = std::filesystem::file_size(out);
    write_file_atomically(vm["json"].as<std::string>(), report.dump(2) + "\n");
  }
  return 0;
}

}  // namespace strata::cli
