// strata data {prepare, spm, lid, pairs}
#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "data/clean.h"
#include "data/data_config.h"
#include "nmt/util/error.h"
#include "data/langs.h"
#include "data/lid.h"
#include "data/shortlist.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"

namespace po = boost::program_options;
using namespace strata::data;

namespace strata::cli {
namespace {

const char* kDefaultConfig = "configs/data/core8.yaml";

struct Parsed {
  po::variables_map vm;
  bool help = false;
};

Parsed parse(const std::vector<std::string>& args, po::options_description& desc) {
  desc.add_options()("help,h", "show this help");
  Parsed p;
  store_options(args, desc, p.vm);
  po::notify(p.vm);
  p.help = p.vm.count("help") > 0;
  return p;
}

void add_config_options(po::options_description& desc) {
  desc.add_options()("config,c", po::value<std::string>()->default_value(kDefaultConfig),
                     "data config (YAML)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a config field, e.g. --set split.test_size=500 (repeatable)");
}

DataConfig config_from(const po::variables_map& vm) {
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  return load_data_config(vm["config"].as<std::string>(), sets);
}

int prepare_cmd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata data prepare: download Debian's localisation packages (cached), extract, clean,\n"
      "align by English and split leak-free into train/valid/test/ood_test TSV files");
  add_config_options(desc);
  auto p = parse(args, desc);
  if (p.help) {
    std::cout << desc << "\n";
    return 0;
  }
  prepare(config_from(p.vm));
  return 0;
}

int spm_cmd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata data spm: train the shared SentencePiece model on train.tsv with temperature\n"
      "sampling over languages; language tags >>xx<< are user-defined symbols");
  add_config_options(desc);
  auto p = parse(args, desc);
  if (p.help) {
    std::cout << desc << "\n";
    return 0;
  }
  train_spm(config_from(p.vm));
  return 0;
}

int lid_cmd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata data lid: train the character n-gram language identifier on train.tsv (both sides\n"
      "of every row) and print its accuracy on valid.tsv and test.tsv");
  add_config_options(desc);
  LidOptions def;
  desc.add_options()("output,o", po::value<std::string>(),
                     "model file (default <out_dir>/lid.model)")(
      "max-n", ranged<int>("max-n", 1, 16)->default_value(def.max_n), "longest n-gram (code points)")(
      "top-k", ranged<int>("top-k", 1, 1e8)->default_value(def.top_k), "n-grams kept per language")(
      "alpha", ranged<double>("alpha", 1e-12, 1e6)->default_value(def.alpha), "additive smoothing");
  auto p = parse(args, desc);
  if (p.help) {
    std::cout << desc << "\n";
    return 0;
  }
  LidOptions opt;
  opt.max_n = p.vm["max-n"].as<int>();
  opt.top_k = p.vm["top-k"].as<int>();
  opt.alpha = p.vm["alpha"].as<double>();
  if (opt.max_n < 1 || opt.max_n > 16) throw Error("--max-n: expected 1..16");
  if (opt.top_k < 1) throw Error("--top-k: expected >= 1");
  if (!(opt.alpha > 0)) throw Error("--alpha: expected > 0");
  prepare_lid(config_from(p.vm), p.vm.count("output") ? p.vm["output"].as<std::string>() : "", opt);
  return 0;
}

int shortlist_cmd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata data shortlist: for each language, the SentencePiece pieces its side of train.tsv\n"
      "uses (spm.model's pieces); translate, eval and serve then compute the output layer over\n"
      "the target language's pieces only (--shortlist)");
  add_config_options(desc);
  desc.add_options()("output,o", po::value<std::string>(),
                     "shortlist file (default <out_dir>/shortlist.tsv)")(
      "min-count", ranged<int64_t>("min-count", 1, 1e15)->default_value(1),
      "keep a piece when the language's training text uses it at least this often");
  auto p = parse(args, desc);
  if (p.help) {
    std::cout << desc << "\n";
    return 0;
  }
  ShortlistOptions opt;
  opt.min_count = p.vm["min-count"].as<int64_t>();
  prepare_shortlist(config_from(p.vm),
                    p.vm.count("output") ? p.vm["output"].as<std::string>() : "", opt);
  return 0;
}

int pairs_cmd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata data pairs: print one direction of a split as TSV (source<TAB>target)");
  add_config_options(desc);
  desc.add_options()("split", po::value<std::string>()->default_value("test"),
                     "train | valid | test | ood_test")(
      "src", po::value<std::string>()->required(), "source language")(
      "tgt", po::value<std::string>()->required(), "target language")(
      "min-words", ranged<int>("min-words", 0, 1e6)->default_value(0),
      "only rows whose English has at least this many words");
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    desc.add_options()("help,h", "show this help");
    std::cout << desc << "\n";
    return 0;
  }
  auto p = parse(args, desc);
  DataConfig cfg = config_from(p.vm);
  std::string split = p.vm["split"].as<std::string>();
  if (split != "train" && split != "valid" && split != "test" && split != "ood_test")
    throw Error("--split: expected train, valid, test or ood_test, got '" + split + "'");
  std::vector<std::string> langs;
  auto rows = read_split(cfg.out_dir + "/" + split + ".tsv", &langs);
  auto index = [&](const std::string& flag, const std::string& l) {
    auto it = std::find(langs.begin(), langs.end(), l);
    if (it == langs.end()) {
      check_lang(l, flag);  // a code that is not a language at all
      std::string all;
      for (const auto& x : langs) all += (all.empty() ? "" : " ") + x;
      throw Error(flag + ": language '" + l + "' is not in this corpus (languages: " + all + ")");
    }
    return static_cast<size_t>(it - langs.begin());
  };
  size_t s = index("--src", p.vm["src"].as<std::string>());
  size_t t = index("--tgt", p.vm["tgt"].as<std::string>());
  size_t en = index("en", "en");
  int min_words = p.vm["min-words"].as<int>();
  for (const Row& r : rows)
    if (!r.text[s].empty() && !r.text[t].empty() && count_words(r.text[en]) >= min_words)
      std::printf("%s\t%s\n", r.text[s].c_str(), r.text[t].c_str());
  return 0;
}

}  // namespace

int run_data(const std::vector<std::string>& args) {
  const char* usage =
      "usage: strata data <prepare|spm|lid|shortlist|pairs> [options]\n\n"
      "  prepare   download, extract, clean, align and split the benchmark (Core-8 by default)\n"
      "  spm       train the shared SentencePiece model\n"
      "  lid       train the character n-gram language identifier (<out_dir>/lid.model)\n"
      "  shortlist the pieces each language's training text uses (<out_dir>/shortlist.tsv)\n"
      "  pairs     print one direction of a split as TSV\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage, stdout);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "prepare") return prepare_cmd(rest);
  if (args[0] == "spm") return spm_cmd(rest);
  if (args[0] == "lid") return lid_cmd(rest);
  if (args[0] == "shortlist") return shortlist_cmd(rest);
  if (args[0] == "pairs") return pairs_cmd(rest);
  throw Error("unknown data command '" + args[0] + "' (prepare, spm, lid, shortlist, pairs)");
}

}  // namespace strata::cli
