// Compressed experts restored at load time vs on dispatch (issue 20; LoadOptions::expert_memory),
// and the uncompressed model's experts read from its expert file on dispatch (issue 22;
// LoadOptions::expert_file): resident memory after loading and at the peak, and decoding speed,
// per expert-memory budget. Each configuration runs in a child process of its own (fresh RSS), on
// the same input.
//
//   bench_expert_memory -m small.pt -i in.txt --tgt-lang de [--original moe.pt]
//       [--budgets load,0B,25%,50%,100%] [--expert-file moe.experts --file-budgets 0B,25%,100%]
//       [--slim moe.slim.pt]   (the rows that read the expert file load this slim checkpoint of
//        --original, `strata checkpoint experts --slim`, instead of --original itself)
//       [--compute-type float32] [--beam 1] [--batch 32] [--repeat 1] [--ref REFS]
//       [--predictor moe.predictor --pred-budgets 25%,100% --pred-modes pred,sida]   (the expert file
//        read with the predictor prefetching each next batch's experts: "pred" exact, "sida" in SiDA
//        mode, the predictor routing, "restrict" in SiDA mode with --sida=restrict)
//
// Prints a markdown table: process RSS after load and at its peak, the experts' resident bytes
// (restored at load: their dense tensors; on dispatch: the cache's most), cache misses and hit
// rate, target tokens per second (subword tokens of the outputs, timed over translate() only) and
// the median and 99th percentile of the batches' wall time (at --batch 1: sentence latency).
// --repeat R runs every row R times, in rounds over all rows (drift spreads over the rows); the
// table shows the median run's numbers and the range of tokens/s. --ref: a reference per input
// line; the table adds each row's corpus chrF (sacreBLEU's chrF2, nmt/eval), the quality that
// SiDA mode keeps at this batch size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "kernels/linear.h"
#include "nmt/cli/options.h"
#include "nmt/compress/resmoe.h"
#include "nmt/decode/expert_prefetch.h"
#include "nmt/decode/translator.h"
#include "nmt/eval/chrf.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/enum_names.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {

struct Args {
  std::string model, original, input, tgt = "de", budgets = "load,0B,25%,50%,100%";
  std::string expert_file, file_budgets = "0B,25%,100%", slim;
  std::string predictor, pred_budgets = "25%,100%", pred_modes = "pred,sida";
  std::string compute = "float32", ref;
  int beam = 1, batch = 32, repeat = 1;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Bytes of the dense expert weights (w1, b1, w2) that a model holds resident.
int64_t resident_expert_bytes(nmt::TransformerImpl& model) {
  int64_t n = 0;
  for (auto& [name, x] : nmt::compress::experts_modules(model))
    if (!x->has_source())
      for (const auto* t : {&x->w1, &x->b1, &x->w2}) n += static_cast<int64_t>(t->nbytes());
  return n;
}

// One configuration: "load" (restored at load time), "original" (the uncompressed model), a
// budget (restored on dispatch) or "file:" and a budget (the original model's experts read from
// the expert file on dispatch). Prints one JSON line.
int child(const Args& a, const std::string& mode) {
  set_threads(0);
  std::vector<std::string> lines;
  std::ifstream in(a.input);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  nmt::LoadOptions lo;
  const bool pred = mode.rfind("pred:", 0) == 0, restrict = mode.rfind("restrict:", 0) == 0;
  const bool sida = mode.rfind("sida:", 0) == 0 || restrict;
  const bool file = mode.rfind("file:", 0) == 0 || pred || sida;
  if (mode != "load" && mode != "original") {
    const auto m = cli::parse_memory_size(file ? mode.substr(mode.find(':') + 1) : mode, "budgets");
    lo.expert_memory = m.bytes;
    lo.expert_memory_share = m.share;
    if (file) lo.expert_file = a.expert_file;
  }
  const std::string path = mode == "original" ? a.original : !file ? a.model : a.slim.empty() ? a.original : a.slim;
  nmt::Translator tr(nmt::load_checkpoint(path, lo));
  const auto type = enum_value(kernels::names_of(kernels::ComputeType{}), a.compute);
  if (!type) {
    std::fprintf(stderr, "unknown --compute-type %s\n", a.compute.c_str());
    return 2;
  }
  tr.set_compute_type(*type);
  if (pred || sida) {
    auto pf = std::make_shared<nmt::ExpertPrefetcher>(
        *tr.model(), nmt::load_expert_predictor(a.predictor, tr.checkpoint().digest), 2, 0.5);
    pf->set_sida_restrict(restrict);
    tr.set_prefetcher(pf);
    tr.set_sida(sida);
  }
  release_free_memory();
  const int64_t rss_load = resident_bytes();
  auto opt = tr.default_options();
  opt.beam = a.beam;
  opt.nbest = 1;
  // Warm-up on the first batch (oneDNN primitives, allocator), then the timed run.
  std::vector<std::string> warm(lines.begin(), lines.begin() + std::min<size_t>(lines.size(), a.batch));
  tr.translate(warm, a.tgt, opt, a.batch);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = tr.translate(lines, a.tgt, opt, a.batch);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto tok = nmt::checkpoint_tokenizer(tr.checkpoint());
  int64_t tokens = 0;
  for (const auto& o : out)
    if (!o.empty()) tokens += static_cast<int64_t>(tok->encode(o[0].text).size()) + 1;
  nlohmann::json j;
  j["mode"] = mode;
  j["rss_load_mb"] = rss_load / 1e6;
  j["rss_peak_mb"] = peak_resident_bytes() / 1e6;
  j["seconds"] = s;
  j["tokens"] = tokens;
  j["tok_s"] = tokens / s;
  if (!a.ref.empty()) {
    std::vector<std::string> refs, hyps;
    std::ifstream rf(a.ref);
    for (std::string l; std::getline(rf, l);) refs.push_back(l);
    if (refs.size() != out.size()) {
      std::fprintf(stderr, "%s: %zu lines for %zu inputs\n", a.ref.c_str(), refs.size(), out.size());
      return 2;
    }
    for (const auto& o : out) hyps.push_back(o.empty() ? "" : o[0].text);
    j["chrf"] = eval::corpus_chrf(hyps, refs).score;
  }
  j["batch_p50_ms"] = 1e3 * percentile(tr.batch_seconds(), 0.5);
  j["batch_p99_ms"] = 1e3 * percentile(tr.batch_seconds(), 0.99);
  if (const auto& c = tr.checkpoint().expert_cache) {
    const auto st = c->stats();
    j["budget_mb"] = c->budget() / 1e6;
    j["experts_mb"] = st.peak_bytes / 1e6;
    j["misses"] = st.misses;
    j["hits"] = st.hits;
    j["restore_s"] = st.load_seconds;
    j["prefetched"] = st.prefetched;
  } else {
    j["experts_mb"] = resident_expert_bytes(*tr.model()) / 1e6;
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  configure_runtime(argv);
  Args a;
  std::string child_mode;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "-m") a.model = next();
    else if (k == "--original") a.original = next();
    else if (k == "-i") a.input = next();
    else if (k == "--tgt-lang") a.tgt = next();
    else if (k == "--budgets") a.budgets = next();
    else if (k == "--expert-file") a.expert_file = next();
    else if (k == "--slim") a.slim = next();
    else if (k == "--file-budgets") a.file_budgets = next();
    else if (k == "--predictor") a.predictor = next();
    else if (k == "--pred-budgets") a.pred_budgets = next();
    else if (k == "--pred-modes") a.pred_modes = next();
    else if (k == "--compute-type") a.compute = next();
    else if (k == "--beam") a.beam = std::stoi(next());
    else if (k == "--batch") a.batch = std::stoi(next());
    else if (k == "--ref") a.ref = next();
    else if (k == "--repeat") a.repeat = std::max(1, std::stoi(next()));
    else if (k == "--child") child_mode = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_expert_memory -m COMPRESSED.pt -i INPUT --tgt-lang L [--original MOE.pt] "
                   "[--budgets load,0B,25%%,50%%,100%%] [--expert-file MOE.experts --file-budgets 0B,25%%,100%%] [--slim MOE.slim.pt] "
                   "[--compute-type float32] [--beam 1] [--batch 32] [--repeat 1] [--ref REFS] [--predictor P --pred-budgets 25%%,100%% --pred-modes pred,sida,restrict]\n");
      return 2;
    }
  }
  if (a.model.empty() || a.input.empty()) {
    std::fprintf(stderr, "bench_expert_memory: -m and -i are required\n");
    return 2;
  }
  if (!child_mode.empty()) return child(a, child_mode);

  std::vector<std::string> modes;
  if (!a.original.empty()) modes.push_back("original");
  if (!a.budgets.empty())
    for (const auto& b : split_csv(a.budgets)) modes.push_back(b);
  if (!a.expert_file.empty()) {
    if (a.original.empty()) {
      std::fprintf(stderr, "bench_expert_memory: --expert-file needs --original (its checkpoint)\n");
      return 2;
    }
    if (!a.file_budgets.empty())
      for (const auto& b : split_csv(a.file_budgets)) modes.push_back("file:" + b);
    if (!a.predictor.empty())
      for (const auto& kind : split_csv(a.pred_modes))
        for (const auto& b : split_csv(a.pred_budgets)) modes.push_back(kind + ":" + b);
  }
  std::printf("expert memory: %s, %s, beam %d, batch %d, %d run(s) per row, %s -> %s\n\n", a.model.c_str(),
              a.compute.c_str(), a.beam, a.batch, a.repeat, a.input.c_str(), a.tgt.c_str());
  const std::string self = bench::self_exe();
  std::vector<std::vector<nlohmann::json>> runs(modes.size());
  for (int r = 0; r < a.repeat; ++r)
    for (size_t i = 0; i < modes.size(); ++i) {
      std::string cmd = self + " -m " + a.model + " -i " + a.input + " --tgt-lang " + a.tgt + " --compute-type " +
                        a.compute + " --beam " + std::to_string(a.beam) + " --batch " + std::to_string(a.batch) +
                        " --child '" + modes[i] + "'";
      if (!a.original.empty()) cmd += " --original " + a.original;
      if (!a.expert_file.empty()) cmd += " --expert-file " + a.expert_file;
      if (!a.slim.empty()) cmd += " --slim " + a.slim;
      if (!a.predictor.empty()) cmd += " --predictor " + a.predictor;
      if (!a.ref.empty()) cmd += " --ref " + a.ref;
      std::fprintf(stderr, "[bench] run %d/%d: %s\n", r + 1, a.repeat, modes[i].c_str());
      const auto j = bench::run_json(cmd);
      if (j.is_null()) std::fprintf(stderr, "bench_expert_memory: failed: %s\n", cmd.c_str());
      else {
        std::fprintf(stderr, "[bench]   %s\n", j.dump().c_str());
        runs[i].push_back(j);
      }
    }
  const bool chrf = !a.ref.empty();
  std::printf("| experts | budget MB | experts resident MB | misses | hit rate | restore s | prefetched | RSS after load MB | peak RSS MB | target tok/s | range | batch p50 ms | batch p99 ms |%s\n",
              chrf ? " chrF |" : "");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|%s\n", chrf ? "---:|" : "");
  for (size_t i = 0; i < modes.size(); ++i) {
    const std::string& m = modes[i];
    if (runs[i].empty()) {
      std::printf("| %s | (failed) |\n", m.c_str());
      continue;
    }
    auto& rs = runs[i];  // the median run by tokens/s stands for the row
    std::sort(rs.begin(), rs.end(), [](const nlohmann::json& x, const nlohmann::json& y) {
      return x["tok_s"].get<double>() < y["tok_s"].get<double>();
    });
    const auto& j = rs[rs.size() / 2];
    const bool dispatch = j.contains("budget_mb");
    const std::string what = m == "original" ? "original (uncompressed)"
                             : m == "load"   ? "restored at load"
                             : m.rfind("file:", 0) == 0 ? (a.slim.empty() ? "original, expert file, " : "slim, expert file, ") + m.substr(5)
                             : m.rfind("pred:", 0) == 0 ? "expert file + predictor prefetch, " + m.substr(5)
                             : m.rfind("sida:", 0) == 0 ? "expert file, SiDA mode, " + m.substr(5)
                             : m.rfind("restrict:", 0) == 0 ? "expert file, SiDA restrict, " + m.substr(9)
                                             : "on dispatch, " + m;
    char budget[32] = "", misses[32] = "", hit_rate[32] = "", restore[32] = "", prefetched[32] = "";
    if (dispatch) {
      const auto miss = j["misses"].get<int64_t>(), hits = j["hits"].get<int64_t>();
      std::snprintf(budget, sizeof budget, "%.1f", j["budget_mb"].get<double>());
      std::snprintf(misses, sizeof misses, "%lld", static_cast<long long>(miss));
      if (hits + miss > 0) std::snprintf(hit_rate, sizeof hit_rate, "%.3f", static_cast<double>(hits) / (hits + miss));
      std::snprintf(restore, sizeof restore, "%.2f", j["restore_s"].get<double>());
      if (m.find(':') != std::string::npos && m.rfind("file:", 0) != 0)
        std::snprintf(prefetched, sizeof prefetched, "%lld", static_cast<long long>(j["prefetched"].get<int64_t>()));
    }
    char range[64];
    std::snprintf(range, sizeof range, "%.0f–%.0f", rs.front()["tok_s"].get<double>(), rs.back()["tok_s"].get<double>());
    char score[32] = "";
    if (chrf) std::snprintf(score, sizeof score, " %.2f |", j["chrf"].get<double>());
    std::printf("| %s | %s | %.1f | %s | %s | %s | %s | %.1f | %.1f | %.0f | %s | %.1f | %.1f |%s\n", what.c_str(),
                budget, j["experts_mb"].get<double>(), misses, hit_rate, restore, prefetched,
                j["rss_load_mb"].get<double>(), j["rss_peak_mb"].get<double>(), j["tok_s"].get<double>(), range,
                j["batch_p50_ms"].get<double>(), j["batch_p99_ms"].get<double>(), score);
  }
  std::fflush(stdout);
  return 0;
}
