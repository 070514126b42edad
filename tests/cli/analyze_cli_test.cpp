// strata analyze routing end to end: tables, heat map (read back with libpng), bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/langs.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"
#include "nmt/util/error.h"
#include "tests/cli_test_util.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;
using test::expect_one_line_error;
using test::kStrata;
using test::make_tiny_corpus;
using test::tiny_train_config;

#include <png.h>

#include <cstring>

namespace {

// A PNG decoded with libpng, a bad CRC in any chunk being an error.
struct DecodedPng {
  png_uint_32 width = 0, height = 0;  // pixels
  int bit_depth = 0, color_type = 0;  // IHDR fields
  size_t rowbytes = 0;                // bytes per decoded row (without the filter byte)
  std::vector<unsigned char> pixels;  // [height][rowbytes]
  std::vector<png_bytep> rows;        // row pointers into pixels
  const std::string* bytes = nullptr;
  size_t at = 0;                      // read position in *bytes
};

void read_from_memory(png_structp p, png_bytep out, png_size_t n) {
  auto* d = static_cast<DecodedPng*>(png_get_io_ptr(p));
  if (d->at + n > d->bytes->size()) png_error(p, "truncated");
  std::memcpy(out, d->bytes->data() + d->at, n);
  d->at += n;
}

// False when libpng rejects `bytes` (bad signature, bad CRC, short or corrupt image data).
bool decode_png(const std::string& bytes, DecodedPng* d) {
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(p);
  d->bytes = &bytes;
  d->at = 0;
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  png_set_read_fn(p, d, read_from_memory);
  png_set_crc_action(p, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_read_info(p, info);
  d->width = png_get_image_width(p, info);
  d->height = png_get_image_height(p, info);
  d->bit_depth = png_get_bit_depth(p, info);
  d->color_type = png_get_color_type(p, info);
  d->rowbytes = png_get_rowbytes(p, info);
  d->pixels.assign(d->height * d->rowbytes, 0);
  d->rows.clear();
  for (png_uint_32 y = 0; y < d->height; ++y) d->rows.push_back(&d->pixels[y * d->rowbytes]);
  png_read_image(p, d->rows.data());
  png_read_end(p, nullptr);
  png_destroy_read_struct(&p, &info, nullptr);
  return true;
}

}  // namespace

TEST(AnalyzeCliTest, RoutingTablesHeatMapAgreementLogAndBadInput) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  // An Omni-router AC model with two MoE layers per stack trains and logs the agreement.
  auto r = test::run_command(
      kStrata + " train --config " + tiny_train_config(d, data_yaml, "ac", 5, 5) +
          " --set model.moe.type=switch --set model.moe.router=ac --set model.moe.shared_router=true"
          " --set model.moe.num_experts=4 --set model.moe.every_k_layers=1"
          " --set model.encoder_layers=2 --set model.decoder_layers=2",
      d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string log = test::read_file(d / "ac/train.jsonl");
  EXPECT_NE(log.find("\"agreement\":"), std::string::npos) << log;
  Checkpoint ck = load_checkpoint(d / "ac/best.pt");
  EXPECT_EQ(ck.config.model.moe.router, "ac");
  EXPECT_TRUE(ck.model->shared_router);
  r = test::run_command(kStrata + " analyze routing -m " + (d / "ac/best.pt") +
                            " --split valid --out " + (d / "an"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* row : {"| enc0 |", "| enc1 |", "| dec0 |", "| dec1 |", "| NMI |", "| de |"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  std::string json = test::read_file(d / "an/routing.json");
  EXPECT_NE(json.find("\"nmi\""), std::string::npos) << json;
  // --compute-type auto resolves for the model: this one is narrower than d 256, so float32,
  // the same tables as above.
  auto a = test::run_command(kStrata + " analyze routing -m " + (d / "ac/best.pt") +
                                 " --split valid --compute-type auto --out " + (d / "an_auto"), d.str());
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.err.find("[analyze] compute type auto: float32"), std::string::npos) << a.err;
  EXPECT_EQ(a.out, r.out);
  // The PNG: signature, IHDR (4 layers × 4 experts + 3 gaps, 12 px cells; 3 language rows),
  // chunk CRCs (libpng checks every one as it reads), and IDAT inflating to height rows of
  // 1 + 3·width bytes (a filter byte and 8-bit RGB).
  std::string png = test::read_file(d / "an/routing.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto u32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  const uint32_t width = u32(16), height = u32(20);
  EXPECT_EQ(width, 12u * (4 * 4 + 3));
  EXPECT_EQ(height, 12u * 3);
  DecodedPng img;
  ASSERT_TRUE(decode_png(png, &img));
  EXPECT_EQ(img.width, width);
  EXPECT_EQ(img.height, height);
  EXPECT_EQ(img.bit_depth, 8);
  EXPECT_EQ(img.color_type, PNG_COLOR_TYPE_RGB);
  EXPECT_EQ(img.rowbytes, 3u * width);
  std::string bad_crc = png;
  bad_crc.back() ^= 1;  // IEND's CRC
  EXPECT_FALSE(decode_png(bad_crc, &img));

  // Bad input: a dense model, an unknown analysis, a missing split.
  Config dense = load_config(tiny_train_config(d, data_yaml, "dense", 1, 1), {});
  data::Tokenizer tok(d / "data/spm.model");
  Transformer m = build_model(dense.model, tok.vocab_size());
  save_checkpoint(d / "dense.pt", dense, {"en", "de", "fr"}, tok.serialized(), m, nullptr, nullptr);
  r = test::run_command(kStrata + " analyze routing -m " + (d / "dense.pt") + " --split valid", d.str());
  expect_one_line_error(r, "not an MoE model");
  r = test::run_command(kStrata + " analyze experts -m " + (d / "ac/best.pt"), d.str());
  expect_one_line_error(r, "unknown analysis 'experts'");
  r = test::run_command(kStrata + " analyze routing -m " + (d / "ac/best.pt") + " --split nope", d.str());
  expect_one_line_error(r, "no such split");
}

TEST(AnalyzeCliTest, ModularityTablesJsonHeatMapAndBadInput) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  Config dense = load_config(tiny_train_config(d, data_yaml, "dense", 1, 1), {});
  data::Tokenizer tok(d / "data/spm.model");
  torch::manual_seed(3);
  Transformer m = build_model(dense.model, tok.vocab_size());
  save_checkpoint(d / "dense.pt", dense, {"en", "de", "fr"}, tok.serialized(), m, nullptr, nullptr);
  const int64_t ffn = dense.model.ffn;
  auto r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") +
                                 " --split valid --experts 4 --out " + (d / "mod"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& row : std::vector<std::string>{"| enc0 | " + std::to_string(ffn) + " |", "| dec0 | kmeans | 4 |",
                                "| dec0 | coactivation | 4 |", "| enc0 | random | 4 |", "src=de", "tgt=fr"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  const auto j = nlohmann::json::parse(test::read_file(d / "mod/modularity.json"));
  EXPECT_EQ(j["layers"].size(), static_cast<size_t>(dense.model.encoder_layers + dense.model.decoder_layers));
  EXPECT_EQ(j["layers"][0]["partitions"][0]["kind"], "kmeans");
  EXPECT_TRUE(j["layers"][0]["predictivity"].contains("src=en"));
  DecodedPng img;
  ASSERT_TRUE(decode_png(test::read_file(d / "mod/modularity.png"), &img));
  EXPECT_EQ(img.width % 12, 0u);
  // Perturbation: loose tests (so that the untrained model has functional experts), 2 sentences.
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") +
                            " --experts 4 --top 0.3 --alpha 0.4 --perturb-split valid --perturb-sentences 2 --out " +
                            (d / "pert"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("| L | mode | condition | experts | neurons | from L | into L | other directions |"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("| mode | condition | languages | from L | into L | other directions |"), std::string::npos)
      << r.out;
  const auto pj = nlohmann::json::parse(test::read_file(d / "pert/modularity.json"));
  ASSERT_TRUE(pj.contains("perturbation"));
  EXPECT_EQ(pj["perturbation"]["unperturbed"].size(), 6u);  // 3 languages: 6 directions
  int64_t scored = 0;
  std::set<std::string> modes;
  for (const auto& run : pj["perturbation"]["runs"]) {
    modes.insert(run["mode"].get<std::string>());
    EXPECT_NE(run["mode"], "route");  // a dense model: nothing to route
    if (run["directions"].empty()) continue;
    ++scored;
    EXPECT_EQ(run["directions"].size(), 6u);
    // Each functional expert of a dense layer here is 64 / 4 = 16 neurons; random: as many.
    if (run["condition"] != "top-AP") EXPECT_EQ(run["neurons"].get<int64_t>(), 16 * run["experts"].get<int64_t>());
  }
  EXPECT_GT(scored, 0);
  EXPECT_EQ(modes, (std::set<std::string>{"zero", "permute"}));
  EXPECT_TRUE(std::filesystem::exists(d / "pert/perturbation_zero.png"));
  EXPECT_TRUE(std::filesystem::exists(d / "pert/perturbation_permute.png"));
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") +
                            " --experts 4 --perturb-split valid --perturb-modes zero,shuffle", d.str());
  expect_one_line_error(r, "--perturb-modes: no mode 'shuffle' (modes: zero, permute, route)");
  // A Switch model: routing restricted to each language's functional experts vs random others.
  auto sw = test::save_tiny_checkpoint(d, data_yaml, "switch", test::kSwitchEveryLayer);
  r = test::run_command(kStrata + " analyze modularity -m " + sw.path +
                            " --top 0.3 --alpha 0.4 --perturb-split valid --perturb-sentences 2 --perturb-modes route"
                            " --out " + (d / "route"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rj = nlohmann::json::parse(test::read_file(d / "route/modularity.json"));
  int64_t routed = 0;
  for (const auto& run : rj["perturbation"]["runs"]) {
    EXPECT_EQ(run["mode"], "route");
    EXPECT_TRUE(run["condition"] == "functional" || run["condition"] == "random") << run["condition"];
    EXPECT_EQ(run["neurons"].get<int64_t>(), 0);
    if (!run["directions"].empty()) ++routed;
  }
  EXPECT_GT(routed, 0) << r.out;
  EXPECT_TRUE(std::filesystem::exists(d / "route/perturbation_route.png"));
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") +
                            " --experts 4 --perturb-split valid --perturb-layers enc9", d.str());
  expect_one_line_error(r, "--perturb-layers: no layer 'enc9' (layers: enc0, dec0)");
  // Bad input: experts that do not divide the layer, a missing split, a bad share.
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") + " --experts 7", d.str());
  expect_one_line_error(r, "--experts 7 does not divide");
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") + " --split nope", d.str());
  expect_one_line_error(r, "no such split");
  r = test::run_command(kStrata + " analyze modularity -m " + (d / "dense.pt") + " --top 2", d.str());
  expect_one_line_error(r, "top");
}
