// strata compress end to end: every method writes a checkpoint that translates (in float32,
// bfloat16 and int8), nothing removed translates exactly like the original, the table and the JSON
// report the sizes, every MoE kind compresses, and bad options or models are one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli_test_util.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using test::expect_one_line_error;
using test::kStrata;

namespace {

TEST(CompressCliTest, EveryMethodWritesACheckpointThatTranslates) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto moe = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
  auto translate = [&](const std::string& model, const std::string& type) {
    auto r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang de --compute-type " +
                                   type + " < " + (d / "in.txt"),
                               d.str());
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::string original = translate(moe.path, "float32");
  ASSERT_EQ(std::count(original.begin(), original.end(), '\n'), 3);

  // Nothing removed: the same translations.
  auto r = test::run_command(kStrata + " compress -m " + moe.path + " -o " + (d / "same.pt") +
                                 " --method resmoe --sparsity 0",
                             d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(translate(d / "same.pt", "float32"), original);

  for (const std::string method : {"resmoe", "resmoe --residual svd", "prune", "svd", "merge"}) {
    const std::string out = d / "small.pt";
    r = test::run_command(kStrata + " compress -m " + moe.path + " -o " + out + " --method " +
                              method + " --compression 0.5" + (method == "prune" ? " --int8" : "") +
                              " --json " + (d / "report.json"),
                          d.str());
    ASSERT_EQ(r.status, 0) << method << ": " << r.err;
    // The JSON report: its totals are the layers' sums, half the experts' parameters stay, and
    // the file sizes are the files'.
    const auto j = nlohmann::json::parse(test::read_file(d / "report.json"));
    ASSERT_EQ(j["layers"].size(), 4u) << method;
    int64_t stored = 0;
    for (const auto& l : j["layers"]) stored += l["stored_parameters"].get<int64_t>();
    EXPECT_EQ(j["stored_parameters"].get<int64_t>(), stored);
    EXPECT_NEAR(static_cast<double>(stored) / j["parameters"].get<double>(), 0.5, 0.02) << method << r.out;
    EXPECT_EQ(j["output_file_bytes"].get<uintmax_t>(), std::filesystem::file_size(out));
    EXPECT_EQ(j["file_bytes"].get<uintmax_t>(), std::filesystem::file_size(moe.path));
    // One row per MoE layer (4: every layer of 2+2), the totals and the file sizes.
    EXPECT_NE(r.out.find("| 3 | decoder_layers.1.moe.experts |"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("experts: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" MB -> "), std::string::npos) << r.out;
    EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(moe.path)) << method;
    for (const char* type : {"float32", "bfloat16", "int8"}) {
      const std::string t = translate(out, type);
      EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 3) << method << " " << type;
    }
  }
}

// GShard (top-2), SMoE and σ-MoE (many small experts, top-4) checkpoints compress, and the output
// loads in eval and analyze like any checkpoint, in float32 and int8.
TEST(CompressCliTest, EveryMoeKindCompressesAndLoadsInEvalAndAnalyze) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  for (const auto& [name, moe] : std::vector<std::pair<std::string, std::string>>{
           {"gshard", "moe: {type: gshard, num_experts: 4, every_k_layers: 1}"},
           {"smoe", "moe: {type: smoe, num_experts: 4, strata: [2, 2], every_k_layers: 2}"},
           {"sigma", "moe: {type: switch, num_experts: 16, expert_ffn: 8, top_k: 4, "
                     "every_k_layers: 1, router: sigma}"}}) {
    auto ck = test::save_tiny_checkpoint(d, data_yaml, name, moe);
    const std::string out = d / (name + "_small.pt");
    auto r = test::run_command(kStrata + " compress -m " + ck.path + " -o " + out + " --compression 0.5", d.str());
    ASSERT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find("(50."), std::string::npos) << r.out;  // "stored ... (50.x%)"
    for (const char* type : {"float32", "int8"}) {
      r = test::run_command(kStrata + " eval -m " + out + " --split test --max-sentences 2 --beam 1 --no-shuffled" +
                                " --compute-type " + type, d.str());
      EXPECT_EQ(r.status, 0) << name << " " << type << ": " << r.err;
      EXPECT_NE(r.out.find("chrF"), std::string::npos) << r.out;
    }
    // Restored on dispatch within a quarter of the experts: the same translations as restored at load.
    test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
    const std::string tr = kStrata + " translate -m " + out + " --tgt-lang de --beam 2 < " + (d / "in.txt");
    const auto at_load = test::run_command(tr, d.str());
    const auto on_dispatch = test::run_command(tr + " --expert-memory 25%", d.str());
    ASSERT_EQ(at_load.status, 0) << name << ": " << at_load.err;
    ASSERT_EQ(on_dispatch.status, 0) << name << ": " << on_dispatch.err;
    EXPECT_EQ(on_dispatch.out, at_load.out) << name;
    EXPECT_NE(on_dispatch.err.find("experts restored on dispatch"), std::string::npos) << on_dispatch.err;
    // The uncompressed model's experts read from its expert file: the in-memory model's translations.
    const std::string file = d / (name + ".experts");
    r = test::run_command(kStrata + " checkpoint experts --in " + ck.path + " --out " + file, d.str());
    ASSERT_EQ(r.status, 0) << name << ": " << r.err;
    const std::string tr0 = kStrata + " translate -m " + ck.path + " --tgt-lang de --beam 2 < " + (d / "in.txt");
    const auto in_memory = test::run_command(tr0, d.str());
    const auto from_file = test::run_command(tr0 + " --expert-file " + file + " --expert-memory 10%", d.str());
    ASSERT_EQ(from_file.status, 0) << name << ": " << from_file.err;
    EXPECT_EQ(from_file.out, in_memory.out) << name;
    r = test::run_command(kStrata + " analyze routing -m " + out + " --split valid --out " + (d / (name + "_an")),
                          d.str());
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find("| NMI |"), std::string::npos) << r.out;
  }
}

TEST(CompressCliTest, BadOptionsAndModelsAreOneLineErrors) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto moe = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense");
  const std::string out = " -o " + (d / "out.pt");
  auto run = [&](const std::string& args) { return test::run_command(kStrata + " compress " + args, d.str()); };
  expect_one_line_error(run("-m " + dense.path + out + " --compression 0.5"), "no MoE layers");
  expect_one_line_error(run("-m " + moe.path + out + " --sparsity 0.5 --rank 2"), "one of");
  expect_one_line_error(run("-m " + moe.path + out + " --method svd --sparsity 0.5"), "--rank");
  expect_one_line_error(run("-m " + moe.path + out + " --method prune"), "--sparsity");
  expect_one_line_error(run("-m " + moe.path + out + " --method fold --compression 0.5"), "--method");
  expect_one_line_error(run("-m " + moe.path + out + " --compression 0.5 --layers 0,9"), "no MoE layer '9'");
  expect_one_line_error(run("-m " + moe.path + out + " --sparsity 1.5"), "--sparsity");
  expect_one_line_error(run("-m " + moe.path + out + " --compression 0.9"), "barycenter");
  expect_one_line_error(run("-m " + (d / "missing.pt") + out + " --compression 0.5"), "missing.pt");
  expect_one_line_error(run("-m " + moe.path + " -o " + moe.path + " --compression 0.5"), "--output");
  EXPECT_FALSE(std::filesystem::exists(d / "out.pt"));
}

TEST(CompressCliTest, ExpertMemoryRestoresOnDispatchWithTheSameOutput) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto moe = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  const std::string small = d / "small.pt";
  auto r = test::run_command(kStrata + " compress -m " + moe.path + " -o " + small + " --compression 0.5", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
  auto translate = [&](const std::string& model, const std::string& extra) {
    return test::run_command(kStrata + " translate -m " + model + " --tgt-lang de --beam 2 " + extra +
                                 " < " + (d / "in.txt"),
                             d.str());
  };
  auto want = translate(small, "");
  ASSERT_EQ(want.status, 0) << want.err;
  for (const std::string size : {"0B", "20KB", "25%", "1GiB"}) {
    for (const std::string type : {"float32", "int8"}) {
      auto got = translate(small, "--expert-memory " + size + " --compute-type " + type);
      ASSERT_EQ(got.status, 0) << got.err;
      if (type == "float32") EXPECT_EQ(got.out, want.out) << size;
      EXPECT_NE(got.err.find("[translate] experts restored on dispatch: budget "), std::string::npos) << got.err;
    }
  }
  auto scored = test::run_command(kStrata + " eval -m " + small + " --split test --max-sentences 2 --no-shuffled " +
                                      "--expert-memory 10% --json " + (d / "s.json"),
                                  d.str());
  EXPECT_EQ(scored.status, 0) << scored.err;
  EXPECT_NE(scored.err.find("[eval] experts restored on dispatch"), std::string::npos) << scored.err;
  expect_one_line_error(translate(moe.path, "--expert-memory 1MB"), "stored compressed");
  expect_one_line_error(translate(small, "--expert-memory 3"), "--expert-memory");
  expect_one_line_error(translate(small, "--expert-memory 12parsecs"), "unknown unit");
}

TEST(CompressCliTest, ExpertFileIsReadOnDispatchWithTheSameOutput) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto moe = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  const std::string file = d / "moe.experts";
  auto r = test::run_command(kStrata + " checkpoint experts --in " + moe.path + " --out " + file, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("4 MoE layers, 16 experts"), std::string::npos) << r.err;
  test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
  auto translate = [&](const std::string& extra) {
    return test::run_command(kStrata + " translate -m " + moe.path + " --tgt-lang de --beam 2 " + extra + " < " +
                                 (d / "in.txt"),
                             d.str());
  };
  auto want = translate("");
  ASSERT_EQ(want.status, 0) << want.err;
  for (const std::string size : {"0B", "20KB", "25%", "1GiB"}) {
    auto got = translate("--expert-file " + file + " --expert-memory " + size);
    ASSERT_EQ(got.status, 0) << got.err;
    EXPECT_EQ(got.out, want.out) << size;
    EXPECT_NE(got.err.find("[translate] experts restored on dispatch: budget "), std::string::npos) << got.err;
  }
  expect_one_line_error(translate("--expert-file " + file), "--expert-file needs --expert-memory");
  expect_one_line_error(translate("--expert-file " + (d / "none.experts") + " --expert-memory 1MB"), "cannot open");
  // --slim: the checkpoint without its experts, smaller by their bytes, translates the same with
  // the expert file and is refused without it.
  const std::string slim = d / "moe.slim.pt", file2 = d / "moe2.experts";
  r = test::run_command(kStrata + " checkpoint experts --in " + moe.path + " --out " + file2 + " --slim " + slim, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, file2 + "\n" + slim + "\n");
  EXPECT_NE(r.err.find(slim + ": the model without its experts"), std::string::npos) << r.err;
  EXPECT_LT(std::filesystem::file_size(slim) + std::filesystem::file_size(file2) / 2, std::filesystem::file_size(moe.path));
  auto translate_slim = [&](const std::string& extra) {
    return test::run_command(kStrata + " translate -m " + slim + " --tgt-lang de --beam 2 " + extra + " < " + (d / "in.txt"),
                             d.str());
  };
  for (const std::string size : {"0B", "25%", "1GiB"}) {
    auto got = translate_slim("--expert-file " + file2 + " --expert-memory " + size);
    ASSERT_EQ(got.status, 0) << got.err;
    EXPECT_EQ(got.out, want.out) << size;
  }
  expect_one_line_error(translate_slim(""), "a slim checkpoint");
  expect_one_line_error(translate_slim("--expert-file " + file2), "--expert-file needs --expert-memory");
  auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense", "");
  expect_one_line_error(test::run_command(kStrata + " checkpoint experts --in " + dense.path + " --out " + (d / "x"),
                                          d.str()),
                        "no MoE layers");
}

}  // namespace

// strata quantize: an int8 checkpoint of a Switch model that translates in every compute type,
// about a quarter of the weights' bytes, the same translations when quantized again (the stored
// values are kept), its report, and one-line errors.
TEST(QuantizeCliTest, WritesAnInt8CheckpointThatTranslatesInEveryComputeType) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto moe = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
  auto translate = [&](const std::string& model, const std::string& type) {
    auto r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang de --compute-type " + type + " < " +
                                   (d / "in.txt"),
                               d.str());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
    return r.out;
  };
  const std::string int8 = d / "moe.int8.pt";
  auto r = test::run_command(kStrata + " quantize -m " + moe.path + " -o " + int8 + " --json " + (d / "q.json"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("weights in int8"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(test::read_file(d / "q.json"));
  EXPECT_EQ(j["output_file_bytes"].get<uintmax_t>(), std::filesystem::file_size(int8));
  // int8 bytes: one byte per parameter plus a 4-byte scale per row.
  EXPECT_GT(j["int8_bytes"].get<double>(), 0.25 * j["float32_bytes"].get<double>());
  EXPECT_LT(j["int8_bytes"].get<double>(), 0.30 * j["float32_bytes"].get<double>());
  for (const auto& w : j["weights"]) EXPECT_LT(w["relative_error"].get<double>(), 0.02) << w["name"];
  EXPECT_LT(std::filesystem::file_size(int8), std::filesystem::file_size(moe.path));

  const std::string in_int8 = translate(int8, "int8");
  translate(int8, "float32");
  if (test::run_command(kStrata + " translate --help", d.str()).out.find("int8_bfloat16") != std::string::npos)
    translate(int8, "int8_bfloat16");
  // Quantizing the int8 file again keeps its values: the same translations.
  const std::string again = d / "again.int8.pt";
  r = test::run_command(kStrata + " quantize -m " + int8 + " -o " + again, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(translate(again, "int8"), in_int8);
  // eval takes it too.
  r = test::run_command(kStrata + " eval -m " + int8 + " --split test --max-sentences 2 --beam 1 --no-shuffled --compute-type int8",
                        d.str());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("chrF"), std::string::npos) << r.out;

  auto run = [&](const std::string& args) { return test::run_command(kStrata + " quantize " + args, d.str()); };
  expect_one_line_error(run("-o " + (d / "x.pt")), "--model");
  expect_one_line_error(run("-m " + moe.path), "--output");
  expect_one_line_error(run("-m " + moe.path + " -o " + moe.path), "--output");
  expect_one_line_error(run("-m " + (d / "missing.pt") + " -o " + (d / "x.pt")), "missing.pt");
  r = test::run_command(kStrata + " compress -m " + moe.path + " -o " + (d / "small.pt") + " --compression 0.5", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  expect_one_line_error(run("-m " + (d / "small.pt") + " -o " + (d / "x.pt")), "compressed");
  expect_one_line_error(test::run_command(kStrata + " translate -m " + int8 + " --tgt-lang de --expert-memory 50% < " +
                                              (d / "in.txt"),
                                          d.str()),
                        "int8 checkpoint");
  EXPECT_FALSE(std::filesystem::exists(d / "x.pt"));
}
