// Sequence-level KD data generation: row order, resumable chunks, the teacher's translations.
#include "nmt/distill/kd_data.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"

namespace fs = std::filesystem;

namespace strata::nmt {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string generate_kd_data(const Config& cfg, const KdDataOptions& s) {
  if (s.beam < 1 || s.batch < 1 || s.chunk_rows < 1)
    throw Error("kd data: beam, batch and chunk_rows must be >= 1");
  data::DataConfig dcfg = data::load_data_config(cfg.train.data, {});
  const std::string train_tsv = dcfg.out_dir + "/train.tsv", spm_path = dcfg.out_dir + "/spm.model";
  data::Tokenizer tok(spm_path);
  Checkpoint teacher = load_checkpoint(s.teacher);
  if (teacher.spm_model != tok.serialized())
    throw Error(s.teacher + ": the teacher's SentencePiece model differs from " + spm_path +
                " (teacher and student must share the vocabulary)");
  std::vector<std::string> langs;
  auto rows = data::read_split(train_tsv, &langs);
  for (const auto& l : langs)
    if (std::find(teacher.langs.begin(), teacher.langs.end(), l) == teacher.langs.end())
      throw Error(s.teacher + ": the teacher has no language '" + l + "' of " + train_tsv);
  const size_t n = s.max_rows > 0 ? std::min(rows.size(), s.max_rows) : rows.size();
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(s.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const std::string kd_dir = fs::absolute(cfg.train.out_dir + "/kd_data").string();
  fs::create_directories(kd_dir + "/chunks");
  // Chunks are only reused with the settings that made them.
  // (float32 writes no line, so that data made before compute types existed is still reused.)
  const std::string compute_line =
      s.compute_type == kernels::ComputeType::kFloat32
          ? ""
          : "compute type: " + enum_name(kernels::names_of(s.compute_type), s.compute_type) + "\n";
  const std::string settings = "teacher: " + fs::absolute(s.teacher).string() + " (" +
                               std::to_string(fs::file_size(s.teacher)) + " bytes)\ndata: " +
                               fs::absolute(train_tsv).string() + "\nbeam: " +
                               std::to_string(s.beam) + "\nchunk_rows: " +
                               std::to_string(s.chunk_rows) + "\nrow order: shuffled, seed " +
                               std::to_string(s.seed) + "\n" + compute_line;
  const std::string settings_path = kd_dir + "/settings.txt";
  if (fs::exists(settings_path) && slurp(settings_path) != settings)
    throw Error(kd_dir + ": made with other settings (see settings.txt); remove it or use another "
                "train.out_dir");
  write_file_atomically(settings_path, settings);

  Translator tr(std::move(teacher));
  tr.set_compute_type(s.compute_type);
  SearchOptions opt = tr.default_options();
  opt.beam = s.beam;
  opt.nbest = 1;
  const size_t chunks = (n + s.chunk_rows - 1) / s.chunk_rows;
  auto chunk_path = [&](size_t k) {
    char name[48];
    std::snprintf(name, sizeof name, "/chunks/%06zu.tsv", k);
    return kd_dir + name;
  };
  size_t done = 0;
  for (size_t k = 0; k < chunks; ++k) done += fs::exists(chunk_path(k));
  std::fprintf(stderr, "[kd] %zu training rows in %zu chunks, beam %d%s\n", n, chunks, s.beam,
               done ? (", resuming: " + std::to_string(done) + " chunks done").c_str() : "");
  const double t0 = now_s();
  size_t made = 0;
  int64_t sentences = 0;
  for (size_t k = 0; k < chunks; ++k) {
    const std::string path = chunk_path(k);
    if (fs::exists(path)) continue;
    const size_t begin = k * s.chunk_rows, end = std::min(n, begin + s.chunk_rows);
    std::vector<data::Row> out;
    std::map<std::pair<size_t, size_t>, std::vector<size_t>> groups;  // (src, tgt) -> out rows
    for (size_t j = begin; j < end; ++j) {
      const size_t i = order[j];
      out.push_back(rows[i]);
      std::vector<size_t> present;
      for (size_t l = 0; l < langs.size(); ++l)
        if (!rows[i].text[l].empty()) present.push_back(l);
      if (present.size() < 2) continue;
      const size_t src = present[i % present.size()];
      for (size_t l : present)
        if (l != src) groups[{src, l}].push_back(j - begin);
    }
    for (const auto& [dir, idx] : groups) {
      std::vector<std::string> lines;
      for (size_t k : idx) lines.push_back(out[k].text[dir.first]);
      auto hyps = tr.translate(lines, langs[dir.second], opt, s.batch, langs[dir.first]);
      for (size_t j = 0; j < idx.size(); ++j)
        out[idx[j]].text[dir.second] = hyps[j].empty() ? "" : hyps[j][0].text;
      sentences += static_cast<int64_t>(idx.size());
    }
    data::write_split(path + ".tmp", langs, out);
    fs::rename(path + ".tmp", path);
    ++made;
    const double dt = now_s() - t0;
    const size_t left = chunks - done - made;
    std::fprintf(stderr,
                 "[kd] chunk %zu/%zu: %lld sentences translated, %.1f sent/s, ETA %.0f min\n",
                 done + made, chunks, static_cast<long long>(sentences), sentences / dt,
                 dt / made * left / 60);
  }
  std::vector<data::Row> all;
  for (size_t k = 0; k < chunks; ++k) {
    std::vector<std::string> chunk_langs;
    auto part = data::read_split(chunk_path(k), &chunk_langs);
    if (chunk_langs != langs) throw Error(chunk_path(k) + ": languages differ from " + train_tsv);
    all.insert(all.end(), part.begin(), part.end());
  }
  data::write_split(kd_dir + "/train.tsv.tmp", langs, all);
  fs::rename(kd_dir + "/train.tsv.tmp", kd_dir + "/train.tsv");
  for (const char* f : {"valid.tsv", "spm.model"})
    fs::copy_file(dcfg.out_dir + "/" + f, kd_dir + "/" + f, fs::copy_options::overwrite_existing);
  std::string yaml = "# sequence-level KD data made by `strata distill kd` from " +
                     cfg.train.data + "\nlangs: [";
  for (size_t l = 0; l < langs.size(); ++l) yaml += (l ? ", " : "") + langs[l];
  yaml += "]\nout_dir: " + kd_dir + "\n";
  write_file_atomically(kd_dir + "/data.yaml", yaml);
  std::fprintf(stderr, "[kd] wrote %s/train.tsv (%zu rows)\n", kd_dir.c_str(), all.size());
  return kd_dir + "/data.yaml";
}


}  // namespace strata::nmt
