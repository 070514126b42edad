// strata quantize -m model.pt -o model.int8.pt [--json report.json]
// An int8 checkpoint: every packable weight (linear layers, MoE experts, the shared embedding and
// output layer) stored as int8 with one scale per output row, as the int8 compute types use it
// (kernels/packed_linear.h); biases, norms, routers and LMS banks stay float32. The file is
// self-contained and verified on load like any checkpoint (nmt/model/checkpoint.h, format 4).
#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"

namespace po = boost::program_options;

namespace strata::cli {

int run_quantize(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata quantize: write an int8 checkpoint. Linear weights, MoE experts and the shared\n"
      "embedding/output layer are stored in int8 with one scale per output row (the scheme of\n"
      "--compute-type int8); the rest stays float32. Under --compute-type int8 (or auto on a CPU\n"
      "with VNNI) translate, eval and serve keep these weights in int8 only; other compute types\n"
      "use them dequantized.");
  desc.add_options()("help,h", "show this help")("model,m", po::value<std::string>(), "checkpoint to quantize")(
      "output,o", po::value<std::string>(), "int8 checkpoint to write")(
      "json", po::value<std::string>(), "also write the report (weights, sizes, errors) as JSON here");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  const auto [in, out] = read_model_and_output(vm);
  nmt::Checkpoint ckpt = nmt::load_checkpoint(in);
  if (!ckpt.compressed.empty())
    throw Error(in + ": its experts are stored compressed ('strata compress'); quantize the checkpoint "
                     "before compressing it");
  torch::NoGradGuard no_grad;
  // What will be stored, and how far each weight moves (relative Frobenius error).
  const nmt::Int8Weights int8 = nmt::collect_int8_weights(*ckpt.model);
  auto params = ckpt.model->named_parameters();
  int64_t n = 0, f32_bytes = 0, int8_bytes = 0;
  double worst = 0;
  std::string worst_name;
  nlohmann::json report = {{"model", in}, {"output", out}};
  for (const auto& [name, w] : int8) {
    const torch::Tensor& p = params[name];
    auto deq = w.q.to(torch::kFloat) * (1.0 / w.scale).unsqueeze(-1);
    if (deq.dim() == 3) deq = deq.transpose(1, 2);  // experts are stored as packed: [E, out, in]
    const double norm = p.norm().item<double>();
    const double err = norm > 0 ? (deq - p).norm().item<double>() / norm : 0.0;
    if (err > worst) worst = err, worst_name = name;
    n += p.numel();
    f32_bytes += p.numel() * 4;
    int8_bytes += w.q.numel() + w.scale.numel() * 4;
    report["weights"].push_back({{"name", name}, {"parameters", p.numel()}, {"relative_error", err}});
  }
  nmt::save_checkpoint(out, ckpt.config, ckpt.langs, ckpt.spm_model, ckpt.model, nullptr, nullptr, nullptr,
                       nullptr, /*int8_weights=*/true);
  const auto in_size = std::filesystem::file_size(in), out_size = std::filesystem::file_size(out);
  std::printf("%zu weights in int8: %lld parameters, %.2f MB float32 -> %.2f MB int8 with scales; "
              "largest relative error %.4f (%s)\n",
              int8.size(), static_cast<long long>(n), static_cast<double>(f32_bytes) / 1e6,
              static_cast<double>(int8_bytes) / 1e6, worst, worst_name.c_str());
  std::printf("%s: %.2f MB -> %s: %.2f MB%s\n", in.c_str(), static_cast<double>(in_size) / 1e6, out.c_str(),
              static_cast<double>(out_size) / 1e6, ckpt.trainer ? " (the training state is not kept)" : "");
  if (vm.count("json")) {
    report["parameters"] = n;
    report["float32_bytes"] = f32_bytes;
    report["int8_bytes"] = int8_bytes;
    report["file_bytes"] = in_size;
    report["output_file_bytes"] = out_size;
    write_file_atomically(vm["json"].as<std::string>(), report.dump(2) + "\n");
  }
  return 0;
}

}  // namespace strata::cli
