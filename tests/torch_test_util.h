#pragma once
// Helpers shared by the LibTorch test files: token rows, padding, finite differences, and the tiny
// 3-language corpus (with a SentencePiece model) that the CLI-level tests train on.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/model/transformer.h"
#include "tests/test_util.h"

namespace strata::test {

// n random token ids in [4, vocab) (0-3 are pad, bos, eos, unk).
inline std::vector<int64_t> random_tokens(int n, int64_t vocab, std::mt19937& rng) {
  std::vector<int64_t> v(n);
  for (auto& x : v) x = 4 + static_cast<int64_t>(rng() % (vocab - 4));
  return v;
}

// Rows of token ids as one [B, T] tensor, right-padded with 0.
inline torch::Tensor pad_rows(const std::vector<std::vector<int64_t>>& rows) {
  size_t T = 0;
  for (const auto& r : rows) T = std::max(T, r.size());
  auto t = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(T)}, torch::kLong);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[i][j] = rows[i][j];
  return t;
}

// The autograd gradient of the scalar f at the 2-D float64 input x against central differences
// (step 1e-6), on every row and every third column.
inline void expect_input_grad_matches_fd(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                         const torch::Tensor& x, double tol = 1e-6) {
  auto xg = x.detach().clone().requires_grad_(true);
  auto g = torch::autograd::grad({f(xg)}, {xg})[0];
  const double h = 1e-6;
  for (int64_t i = 0; i < x.size(0); ++i)
    for (int64_t j = 0; j < x.size(1); j += 3) {
      auto xp = x.detach().clone(), xm = x.detach().clone();
      xp[i][j] += h;
      xm[i][j] -= h;
      double fd = (f(xp).item<double>() - f(xm).item<double>()) / (2 * h);
      EXPECT_NEAR(g[i][j].item<double>(), fd, tol) << i << "," << j;
    }
}

// Incremental decoding (start, then one step per target position) gives the teacher-forced
// log-probabilities of every position of prev [B, T]; with moe_layers >= 0 the teacher-forced
// pass runs that many MoE layers.
inline void expect_incremental_equals_full(nmt::Transformer& m, const torch::Tensor& src,
                                           const torch::Tensor& prev, const std::string& what = "",
                                           int64_t moe_layers = -1) {
  torch::NoGradGuard ng;
  nmt::MoeAux aux;
  auto full = torch::log_softmax(m->forward(src, prev, &aux), -1);
  if (moe_layers >= 0) EXPECT_EQ(aux.layers, moe_layers) << what;
  auto state = m->start(m->encode(src));
  for (int64_t t = 0; t < prev.size(1); ++t)
    EXPECT_TRUE(torch::allclose(m->step(prev.select(1, t), state), full.select(1, t), 1e-4, 1e-5))
        << what << " step " << t;
}

// A tiny 3-language corpus (20 multi-way rows: 5 verbs x 4 objects) with train/valid/test splits
// and a SentencePiece model under d/data; returns the path of its data.yaml.
inline std::string make_tiny_corpus(const TempDir& d) {
  data::DataConfig cfg;
  cfg.langs = {"en", "de", "fr"};
  cfg.out_dir = d / "data";
  cfg.spm.vocab_size = 320;
  cfg.spm.sample_sentences = 2000;
  const char* en[] = {"open", "close", "save", "print", "copy"};
  const char* de[] = {"öffnen", "schließen", "speichern", "drucken", "kopieren"};
  const char* fr[] = {"ouvrir", "fermer", "enregistrer", "imprimer", "copier"};
  const char* obj_en[] = {"the file", "the window", "the table", "the page"};
  const char* obj_de[] = {"die Datei", "das Fenster", "die Tabelle", "die Seite"};
  const char* obj_fr[] = {"le fichier", "la fenêtre", "le tableau", "la page"};
  std::vector<data::Row> rows;
  for (int v = 0; v < 5; ++v)
    for (int o = 0; o < 4; ++o)
      rows.push_back({"lo-ui", {std::string(en[v]) + " " + obj_en[o],
                                std::string(obj_de[o]) + " " + de[v],
                                std::string(fr[v]) + " " + obj_fr[o]}});
  std::filesystem::create_directories(cfg.out_dir);
  data::write_split(cfg.out_dir + "/train.tsv", cfg.langs, rows);
  data::write_split(cfg.out_dir + "/valid.tsv", cfg.langs,
                    std::vector<data::Row>(rows.begin(), rows.begin() + 4));
  data::write_split(cfg.out_dir + "/test.tsv", cfg.langs,
                    std::vector<data::Row>(rows.begin() + 4, rows.begin() + 8));
  data::train_spm(cfg);
  std::string yaml = d / "data.yaml";
  write_file(yaml, "langs: [en, de, fr]\nout_dir: " + cfg.out_dir + "\n");
  return yaml;
}

}  // namespace strata::test
