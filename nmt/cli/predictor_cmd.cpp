// strata predictor train -m moe.pt [-o moe.predictor] [--split train --valid-split valid]
// strata predictor eval -m moe.pt -p moe.predictor [--split test]
// The expert predictor of data-aware offloading (SiDA; nmt/model/expert_predictor.h): trained
// offline from an MoE model's own routing, it predicts from the source sentence which experts each
// MoE layer will use. train: routing targets, training with progress and a JSON-lines log, the
// accuracy per layer on the valid split (printed, and kept in the file's header). eval: the
// accuracy on any split.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/model/checkpoint.h"
#include "nmt/model/expert_predictor.h"
#include "nmt/train/predictor_training.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {

// The model, loaded whole in fp32 (the routing the predictor learns is the fp32 model's).
nmt::Checkpoint load_moe(const std::string& path) {
  nmt::Checkpoint ck = nmt::load_checkpoint(path);
  if (!ck.config.model.moe.enabled()) throw Error(path + ": not an MoE model (model.moe.type: none)");
  if (ck.digest.empty()) throw Error(path + ": a format-1 checkpoint has no digest to bind a predictor to");
  return ck;
}

void add_common(po::options_description& desc) {
  desc.add_options()("help,h", "show this help")("model,m", po::value<std::string>(), "MoE checkpoint")(
      "data", po::value<std::string>(), "data config (default: the one the model was trained on)")(
      "top-k", ranged<int>("top-k", 1, 1e6)->default_value(2),
      "encoder layers: a token's expert counts as predicted when among its k most likely")(
      "threshold", ranged<double>("threshold", 0, 1)->default_value(0.5, "0.5"),
      "decoder layers: experts predicted with probability >= this (and each sentence's most likely)")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
}

int run_train_predictor(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata predictor train: learn which experts an MoE model uses from the source sentence\n"
      "alone (SiDA's offline predictor), from the model's own routing on a split\n"
      "  strata predictor train -m moe/best.pt [-o moe/best.predictor]");
  add_common(desc);
  desc.add_options()("out,o", po::value<std::string>(), "the predictor file (default: MODEL without .pt + .predictor)")(
      "split", po::value<std::string>()->default_value("train"), "split to learn from")(
      "valid-split", po::value<std::string>()->default_value("valid"), "split the accuracy is measured on")(
      "max-sentences", ranged<int>("max-sentences", 0, 1e9)->default_value(300),
      "sentence pairs per direction of --split (0 = all)")(
      "valid-sentences", ranged<int>("valid-sentences", 0, 1e9)->default_value(50),
      "sentence pairs per direction of --valid-split (0 = all)")(
      "dim", ranged<int>("dim", 1, 4096)->default_value(64), "width of the predictor")(
      "freeze-embedding", po::bool_switch(), "keep the embedding a fixed projection of the model's")(
      "updates", ranged<int>("updates", 0, 1e9)->default_value(1500), "training updates")(
      "batch", ranged<int>("batch", 1, 1e6)->default_value(64), "sentences per update")(
      "lr", ranged<double>("lr", 1e-9, 10)->default_value(3e-3, "0.003"), "Adam learning rate")(
      "seed", ranged<int>("seed", 0, 2147483647)->default_value(1), "initialisation and sampling seed")(
      "loss", po::value<std::string>()->default_value("ce"),
      "ce: cross-entropy on the router's first choices; sida: SiDA's 0.005 CE + L1 between the\n"
      "softmaxes over the router's top experts (encoder layers)")(
      "ce-weight", ranged<double>("ce-weight", 0, 1e6)->default_value(0.005, "0.005"),
      "--loss sida: the weight of the cross-entropy term")(
      "log", po::value<std::string>(), "JSON-lines log (default: the predictor file + .jsonl)");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("predictor train: give -m MODEL");
  set_threads(vm["threads"].as<int>());
  const std::string model = vm["model"].as<std::string>();
  std::string out = vm.count("out") ? vm["out"].as<std::string>() : model;
  if (!vm.count("out")) {
    if (out.size() > 3 && out.substr(out.size() - 3) == ".pt") out.resize(out.size() - 3);
    out += ".predictor";
  }
  nmt::PredictorTrainOptions o;
  if (vm.count("data")) o.data_config = vm["data"].as<std::string>();
  o.split = vm["split"].as<std::string>();
  o.loss = vm["loss"].as<std::string>();
  o.ce_weight = vm["ce-weight"].as<double>();
  if (o.loss != "ce" && o.loss != "sida") throw Error("--loss: '" + o.loss + "' is not one of ce, sida");
  o.valid_split = vm["valid-split"].as<std::string>();
  o.max_sentences = vm["max-sentences"].as<int>();
  o.valid_sentences = vm["valid-sentences"].as<int>();
  o.dim = vm["dim"].as<int>();
  o.freeze_embedding = vm["freeze-embedding"].as<bool>();
  o.updates = vm["updates"].as<int>();
  o.batch_sentences = vm["batch"].as<int>();
  o.lr = vm["lr"].as<double>();
  o.seed = static_cast<uint64_t>(vm["seed"].as<int>());
  o.top_k = vm["top-k"].as<int>();
  o.threshold = vm["threshold"].as<double>();
  o.log_path = vm.count("log") ? vm["log"].as<std::string>() : out + ".jsonl";
  nmt::Checkpoint ck = load_moe(model);
  nmt::PredictorTraining r = nmt::train_expert_predictor(ck, o, stderr);
  nmt::save_expert_predictor(out, *r.predictor, ck.digest,
                             {{"train", nmt::predictor_json(r.train)}, {"valid", nmt::predictor_json(r.valid)},
                              {"split", o.split}, {"valid_split", o.valid_split}, {"updates", o.updates}});
  std::printf("== expert predictor %s: accuracy on %s (%s)\n\n%s", out.c_str(), o.valid_split.c_str(),
              model.c_str(), nmt::predictor_table(r.valid).c_str());
  std::printf("\n(on %s: ", o.split.c_str());
  for (const auto& a : r.train.layers)
    if (a.encoder) std::printf("%s top-1 %.3f; ", a.name.c_str(), a.top1);
    else std::printf("%s recall %.3f; ", a.name.c_str(), a.recall);
  std::printf(")\n");
  std::fprintf(stderr, "[predictor] wrote %s and %s\n", out.c_str(), o.log_path.c_str());
  check_stdout();
  return 0;
}

int run_eval_predictor(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata predictor eval: a predictor's accuracy per MoE layer on a split\n"
      "  strata predictor eval -m moe/best.pt -p moe/best.predictor --split test");
  add_common(desc);
  desc.add_options()("predictor,p", po::value<std::string>(), "the predictor file")(
      "split", po::value<std::string>()->default_value("test"), "split of the data config")(
      "max-sentences", ranged<int>("max-sentences", 0, 1e9)->default_value(50), "per direction (0 = all)")(
      "json", po::value<std::string>(), "also write the numbers to this JSON file");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("predictor eval: give -m MODEL");
  if (!vm.count("predictor")) throw Error("predictor eval: give -p PREDICTOR");
  set_threads(vm["threads"].as<int>());
  const std::string model = vm["model"].as<std::string>(), path = vm["predictor"].as<std::string>();
  nmt::Checkpoint ck = load_moe(model);
  nmt::ExpertPredictor p = nmt::load_expert_predictor(path, ck.digest);
  const std::string split = vm["split"].as<std::string>();
  const nmt::RoutingTargets t = nmt::checkpoint_routing_targets(
      ck, vm.count("data") ? vm["data"].as<std::string>() : "", split, vm["max-sentences"].as<int>());
  const nmt::PredictorReport r = nmt::evaluate_predictor(*p, t, vm["top-k"].as<int>(), vm["threshold"].as<double>());
  std::printf("== expert predictor %s: accuracy on %s (%s)\n\n%s", path.c_str(), split.c_str(), model.c_str(),
              nmt::predictor_table(r).c_str());
  if (vm.count("json")) write_file_atomically(vm["json"].as<std::string>(), nmt::predictor_json(r).dump(1) + "\n");
  check_stdout();
  return 0;
}

}  // namespace

int run_predictor(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf(
        "usage: strata predictor <train|eval> [<args>]\n"
        "  train  learn an MoE model's expert choices from the source sentence (SiDA's predictor)\n"
        "  eval   a predictor's accuracy per MoE layer on a split\n");
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "train") return run_train_predictor(rest);
  if (args[0] == "eval") return run_eval_predictor(rest);
  throw Error("predictor: unknown subcommand '" + args[0] + "' (train or eval)");
}

}  // namespace strata::cli
