// strata train --config configs/X.yaml [--set a.b=c ...] [--restart]
#include <boost/program_options.hpp>
#include <iostream>

#include "data/error.h"
#include "nmt/cli/commands.h"
#include "nmt/config.h"
#include "nmt/train/trainer.h"

namespace po = boost::program_options;

namespace strata::cli {

int run_train(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata train: train a many-to-many model from a YAML config; resumes from\n"
      "<train.out_dir>/last.pt when it exists");
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>(), "training config (YAML), e.g. configs/quickstart.yaml")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a config field, e.g. --set train.max_updates=100 (repeatable)")(
      "restart", po::bool_switch(), "ignore an existing checkpoint in train.out_dir");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (!vm.count("config")) throw Error("--config is required (e.g. configs/quickstart.yaml)");
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  nmt::Config cfg = nmt::load_config(vm["config"].as<std::string>(), sets);
  nmt::TrainOptions opt;
  opt.restart = vm["restart"].as<bool>();
  nmt::train(cfg, opt);
  return 0;
}

}  // namespace strata::cli
