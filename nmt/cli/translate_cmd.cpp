// strata translate -m MODEL --tgt-lang ja < in > out
// strata translate -m MODEL --tgt-lang de -i app.pot -o de.po   (catalogues: data/catalog.h)
#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "data/catalog.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/util/utf8.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {
namespace {

// --format auto: from the input file's extension.
data::CatalogFormat read_format(const std::string& value, const std::string& input) {
  if (value != "auto") return data::parse_catalog_format(value, "--format");
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return input.size() > e.size() && input.compare(input.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".po") || ends(".pot")) return data::CatalogFormat::kPo;
  if (ends(".ftl")) return data::CatalogFormat::kFtl;
  if (ends(".properties")) return data::CatalogFormat::kProperties;
  return data::CatalogFormat::kText;
}

// The whole input (stdin when `path` is empty), every read checked.
std::string read_all(const std::string& path) {
  const std::string name = path.empty() ? "<stdin>" : path;
  std::error_code ec;
  if (!path.empty() && std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not a file");
  std::FILE* in = path.empty() ? stdin : std::fopen(path.c_str(), "rb");
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) text.append(buf, n);
  const bool failed = std::ferror(in);
  const int err = errno;
  if (in != stdin) std::fclose(in);
  if (failed) throw Error(name + ": cannot read (" + std::strerror(err) + ")");
  return text;
}

}  // namespace

int run_translate(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata translate: translate stdin line by line into --tgt-lang (output in input order)");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "checkpoint (e.g. work/models/quickstart/best.pt)")(
      "tgt-lang,t", po::value<std::string>(), "target language code")(
      "src-lang,s", po::value<std::string>(),
      "source language code (required by LMS models, ignored by others)")(
      "lms-shared", po::bool_switch(),
      "LMS models: use the fused shared slot instead of the language-specific banks")(
      "input,i", po::value<std::string>(), "read this file instead of stdin")(
      "output,o", po::value<std::string>(), "write this file (atomically) instead of stdout")(
      "format", po::value<std::string>()->default_value("auto"),
      "text (one sentence per line), po (.po/.pot), ftl, properties; auto: from the --input "
      "file's extension, else text")(
      "translate", po::value<std::string>()->default_value("untranslated"),
      "po: which entries get a machine translation: untranslated, fuzzy (also replace fuzzy "
      "ones), all")(
      "no-fuzzy", po::bool_switch(), "po: do not mark machine translations fuzzy")(
      "no-protect", po::bool_switch(),
      "catalogues: give placeholders and markup to the model as they are (the output is still "
      "checked)")(
      "accelerator", po::value<std::string>(),
      "catalogues: accelerator marker: auto (po default), none (ftl/properties default), _, &, ~")(
      "flagged", po::value<std::string>()->default_value("comment"),
      "catalogues: an entry whose placeholders cannot be restored is left untranslated; comment: "
      "with the refused output in a '# strata:' comment, omit: without")(
      "beam", ranged<int>("beam", 1, 1024), "beam size (1 = greedy); default from the model's decode config")(
      "lenpen", ranged<double>("lenpen", -kAnyFinite, kAnyFinite), "length penalty")(
      "nbest", ranged<int>("nbest", 1, 1024), "print the n best: 'line<TAB>score<TAB>text'")(
      "batch-size", ranged<int>("batch-size", 1, 1 << 20), "sentences per batch")(
      "max-len-a", ranged<double>("max-len-a", 0, 1e6), "output limit a·source_len + b")(
      "max-len-b", ranged<int>("max-len-b", 0, 1 << 20), "output limit a·source_len + b")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_repetition_options(desc);
  add_compute_type_option(desc);
  add_shortlist_option(desc);
  add_expert_memory_option(desc);
  add_device_option(desc);
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("--model is required");
  if (!vm.count("tgt-lang")) throw Error("--tgt-lang is required");
  set_threads(vm["threads"].as<int>());
  const kernels::ComputeType compute = read_compute_type(vm, "translate", true);
  const c10::Device device = read_device(vm);
  spin_threads_for(compute, device);
  const std::string model = vm["model"].as<std::string>();
  nmt::Translator tr(nmt::load_checkpoint(model, read_load_options(vm, device, compute)));
  check_expert_memory(vm, tr.checkpoint(), model);
  tr.to(device);
  tr.set_compute_type(compute);
  spin_threads_for(tr.compute_type(), device);
  report_compute_type(compute, tr, "translate");
  set_up_expert_prefetch(vm, tr);
  set_up_shortlist(vm, tr, "translate", false);
  tr.use_lms_shared(vm["lms-shared"].as<bool>());
  const std::string src_lang = vm.count("src-lang") ? vm["src-lang"].as<std::string>() : "";
  nmt::SearchOptions opt = tr.default_options();
  int batch = tr.config().decode.batch_size;
  if (vm.count("beam")) opt.beam = vm["beam"].as<int>();
  if (vm.count("lenpen")) opt.lenpen = vm["lenpen"].as<double>();
  if (vm.count("nbest")) opt.nbest = vm["nbest"].as<int>();
  if (vm.count("batch-size")) batch = vm["batch-size"].as<int>();
  if (vm.count("max-len-a")) opt.max_len_a = vm["max-len-a"].as<double>();
  if (vm.count("max-len-b")) opt.max_len_b = vm["max-len-b"].as<int>();
  read_repetition_options(vm, opt.no_repeat_ngram_size, opt.repetition_penalty);
  if (opt.beam < 1) throw Error("--beam must be >= 1");
  if (opt.nbest < 1 || opt.nbest > opt.beam) throw Error("--nbest must be in [1, beam]");
  if (batch < 1) throw Error("--batch-size must be >= 1");
  const std::string tgt = vm["tgt-lang"].as<std::string>();
  if (std::find(tr.langs().begin(), tr.langs().end(), tgt) == tr.langs().end()) {
    std::string all;
    for (const auto& l : tr.langs()) all += (all.empty() ? "" : " ") + l;
    throw Error("--tgt-lang: the model does not translate into '" + tgt + "' (its languages: " +
                all + ")");
  }
  const std::string input = vm.count("input") ? vm["input"].as<std::string>() : "";
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  const data::CatalogFormat format = read_format(vm["format"].as<std::string>(), input);
  if (format != data::CatalogFormat::kText) {
    if (opt.nbest != 1) throw Error("--nbest: catalogues get one translation per string");
    data::CatalogOptions copt;
    copt.format = format;
    copt.tgt_lang = tgt;
    copt.scope = data::parse_catalog_scope(vm["translate"].as<std::string>(), "--translate");
    copt.mark_fuzzy = !vm["no-fuzzy"].as<bool>();
    copt.protect = !vm["no-protect"].as<bool>();
    if (vm.count("accelerator")) {
      copt.accel_set = true;
      copt.accel = data::parse_accel_mode(vm["accelerator"].as<std::string>(), "--accelerator");
    }
    const std::string flagged = vm["flagged"].as<std::string>();
    if (flagged != "comment" && flagged != "omit") throw Error("--flagged: expected comment or omit, not '" + flagged + "'");
    copt.comment_flagged = flagged == "comment";
    // Catalogue sources are English templates unless told otherwise (LMS models need a side).
    const std::string src = src_lang.empty() ? "en" : src_lang;
    const std::string name = input.empty() ? "<stdin>" : input;
    const std::string text = read_all(input);
    data::CatalogStats st;
    auto translate = [&](const std::vector<std::string>& pieces) {
      std::fprintf(stderr, "strata: translating %zu distinct strings of %s into %s\n", pieces.size(),
                   name.c_str(), tgt.c_str());
      auto hyps = tr.translate(pieces, tgt, opt, batch, src);
      std::vector<std::string> out;
      out.reserve(hyps.size());
      for (auto& h : hyps) out.push_back(h.empty() ? "" : std::move(h[0].text));
      return out;
    };
    const std::string result = data::translate_catalog(text, name, copt, translate, &st);
    if (output.empty()) {
      std::fwrite(result.data(), 1, result.size(), stdout);
    } else {
      write_file_atomically(output, result);
    }
    const size_t shown = std::min<size_t>(st.problems.size(), 20);
    for (size_t i = 0; i < shown; ++i) std::fprintf(stderr, "strata: not translated: %s\n", st.problems[i].c_str());
    if (st.problems.size() > shown) std::fprintf(stderr, "strata: ... and %zu more\n", st.problems.size() - shown);
    std::fprintf(stderr,
                 "strata: %s: %d entries: %d translated%s, %d kept, %d copied (nothing to "
                 "translate), %d not translated (placeholders could not be restored)\n",
                 name.c_str(), st.entries, st.translated,
                 format == data::CatalogFormat::kPo && copt.mark_fuzzy ? " (marked fuzzy)" : "",
                 st.kept, st.copied, st.flagged);
    report_expert_cache(tr, "translate");
    return 0;
  }
  std::FILE* in = stdin;
  std::string name = "<stdin>";
  if (vm.count("input")) {
    name = vm["input"].as<std::string>();
    std::error_code ec;
    if (std::filesystem::is_directory(name, ec)) throw Error(name + ": is a directory, not a text file");
    in = std::fopen(name.c_str(), "rb");
    if (!in) throw Error(name + ": cannot open (" + std::strerror(errno) + ")");
  }
  std::vector<std::string> lines;
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&buf, &cap, in)) >= 0) {
    std::string line(buf, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos) {
      std::free(buf);
      throw Error(name + ":" + std::to_string(lines.size() + 1) + ": invalid UTF-8 at byte " +
                  std::to_string(bad + 1));
    }
    lines.push_back(std::move(line));
  }
  std::free(buf);
  const bool read_failed = std::ferror(in);
  const int read_errno = errno;
  if (in != stdin) std::fclose(in);
  if (read_failed) throw Error(name + ": cannot read (" + std::strerror(read_errno) + ")");
  auto out = tr.translate(lines, tgt, opt, batch, src_lang);
  std::string result;
  for (size_t i = 0; i < out.size(); ++i) {
    if (opt.nbest == 1) {
      result += (out[i].empty() ? "" : out[i][0].text) + "\n";
    } else {
      char score[32];
      for (const auto& t : out[i]) {
        std::snprintf(score, sizeof score, "%.4f", t.score);
        result += std::to_string(i) + "\t" + score + "\t" + t.text + "\n";
      }
    }
  }
  if (output.empty()) {
    std::fwrite(result.data(), 1, result.size(), stdout);
  } else {
    write_file_atomically(output, result);
  }
  report_expert_cache(tr, "translate");
  if (tr.truncated() > 0)
    std::fprintf(stderr, "strata: warning: %lld input lines were longer than the model's %d "
                 "positions and were truncated\n", static_cast<long long>(tr.truncated()),
                 tr.config().model.max_positions - 2);
  return 0;
}

}  // namespace strata::cli
