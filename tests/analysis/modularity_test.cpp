// Tests of nmt/analysis/modularity: the markup pieces, the functional tests of a layer with planted
// functional neurons (MoE experts and MoEfied dense layers), and the whole analysis against a
// naive per-sentence computation of the pooled activations (no batching, no padding).
#include "nmt/analysis/modularity.h"

#include <gtest/gtest.h>

#include "data/langs.h"
#include "data/prepare.h"
#include "moe/hidden_hook.h"
#include "moe/moe_layer.h"
#include "moe/router.h"
#include "nmt/train/batcher.h"
#include "nmt/util/error.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;

TEST(ModularityTest, MarkupPieces) {
  for (const char* p : {"%s", "▁{0}", "12", "&amp;", "<b>", "▁$HOME", "]"}) EXPECT_TRUE(markup_piece(p)) << p;
  for (const char* p : {"▁file", "▁Datei", "s", "▁", "é"}) EXPECT_FALSE(markup_piece(p)) << p;
}

TEST(ModularityTest, PlantedFunctionalNeuronsMakeTheirExpertFunctional) {
  // 64 neurons in 4 experts of 16; sub-function 0's best neurons all sit in expert 1,
  // sub-function 1's are spread evenly (4 per expert).
  LayerModularity l;
  l.name = "enc0";
  l.moe = true;
  l.neurons = 64;
  l.ap.assign(2, std::vector<float>(64, 0.5f));
  for (int j = 16; j < 32; ++j) l.ap[0][j] = 0.9f;
  for (int j = 0; j < 64; j += 4) l.ap[1][j] = 0.9f;
  std::vector<SubFunction> fns = {{"src=de", 1}, {"markup", -1}};
  ModularityOptions o;
  o.top = 0.25;  // 16 neurons per sub-function
  test_layer(l, fns, torch::Tensor(), torch::Tensor(), 16, o);
  ASSERT_EQ(l.partitions.size(), 2u);
  const auto& own = l.partitions[0];
  EXPECT_EQ(own.kind, "experts");
  EXPECT_EQ(own.sub[0].counts, (std::vector<int64_t>{0, 16, 0, 0}));
  EXPECT_EQ(own.sub[0].functional, (std::vector<bool>{false, true, false, false}));
  EXPECT_DOUBLE_EQ(own.sub[0].extent, 16 / (16.0 / 4));
  EXPECT_EQ(own.sub[1].counts, (std::vector<int64_t>{4, 4, 4, 4}));
  EXPECT_EQ(own.sub[1].share, 0.0);
  EXPECT_EQ(own.languages.functional, (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(own.markup.share, 0.0);
  // The random partition of the same sizes spreads the planted block.
  const auto& random = l.partitions[1];
  EXPECT_EQ(random.kind, "random");
  EXPECT_LT(*std::max_element(random.sub[0].counts.begin(), random.sub[0].counts.end()), 16);
}

TEST(ModularityTest, MoEfiedDenseLayerFindsTheClusterOfPlantedNeurons) {
  // 32 dense neurons whose input weights form 4 clusters (neuron j in cluster j % 4), and whose
  // co-activations form the same blocks; sub-function 0's best neurons are cluster 2.
  torch::manual_seed(4);
  const int64_t N = 32;
  auto centres = torch::randn({4, 6}) * 4;
  std::vector<int64_t> cluster;
  for (int64_t j = 0; j < N; ++j) cluster.push_back(j % 4);
  auto w = centres.index_select(0, torch::tensor(cluster)) + 0.1 * torch::randn({N, 6});
  auto co = torch::zeros({N, N});
  for (int64_t a = 0; a < N; ++a)
    for (int64_t b = 0; b < N; ++b) co[a][b] = cluster[a] == cluster[b] ? 40 : 1;
  LayerModularity l;
  l.name = "dec1";
  l.encoder = false;
  l.neurons = N;
  l.ap.assign(1, std::vector<float>(N, 0.5f));
  for (int64_t j = 2; j < N; j += 4) l.ap[0][j] = 0.95f;
  ModularityOptions o;
  o.experts = 4;
  o.top = 0.25;  // 8 neurons: exactly cluster 2
  test_layer(l, {{"tgt=fr", 2}}, w, co, 0, o);
  ASSERT_EQ(l.partitions.size(), 3u);
  for (size_t p = 0; p < 2; ++p) {  // kmeans, coactivation
    const auto& t = l.partitions[p];
    const int e = t.expert_of[2];
    EXPECT_EQ(t.sub[0].counts[e], 8) << t.kind;
    EXPECT_TRUE(t.sub[0].functional[e]) << t.kind;
    EXPECT_DOUBLE_EQ(t.sub[0].share, 0.25) << t.kind;
  }
  EXPECT_EQ(l.partitions[0].kind, "kmeans");
  EXPECT_EQ(l.partitions[1].kind, "coactivation");
  o.experts = 5;
  EXPECT_THROW(test_layer(l, {{"tgt=fr", 2}}, w, co, 0, o), Error);
}

namespace {

// AP of every neuron of FFN layer `li` for "source (encoder) / target (decoder) language is
// `lang`", computed naively: one sentence per forward pass (no padding), the layer's input
// captured by a probe, ReLU(fc1 or every expert's W1) maxed over all positions.
std::vector<float> naive_language_ap(const test::TinyCheckpoint& ck, const test::TempDir& d, size_t li,
                                     bool encoder, int lang, std::vector<uint8_t>* labels) {
  struct Capture : FfnProbe {
    std::vector<torch::Tensor> x;
    void ffn_input(const torch::Tensor& t, const LmsKeys&) override { x.push_back(t); }
  };
  Checkpoint m = load_checkpoint(ck.path);
  m.model->eval();
  torch::NoGradGuard ng;
  data::Tokenizer tok(d / "data/spm.model");
  std::vector<std::string> langs;
  auto rows = data::read_split(d / "data/valid.tsv", &langs);
  std::vector<int> tags;
  for (const auto& l : langs) tags.push_back(tok.piece_id(data::lang_tag(l)));
  ParallelData pd(rows, langs, tok, 62);
  std::vector<std::vector<float>> pooled;  // [sentence][neuron]
  labels->clear();
  for (const auto& dir : pd.directions())
    for (uint32_t r : dir.rows) {
      Batch b = make_batch(pd, {{r, dir.src, dir.tgt}}, tags, m.config.model.decoder_lang_tag);
      Capture c;
      {
        FfnProbeGuard g(&c);
        m.model->forward(b.src, b.prev);
      }
      torch::Tensor h;
      const size_t layer = li;
      auto* enc = encoder ? m.model->encoder_layers[layer]->as<EncoderLayerImpl>() : nullptr;
      auto* dec = encoder ? nullptr : m.model->decoder_layers[layer - m.model->encoder_layers->size()]->as<DecoderLayerImpl>();
      auto& ffn = encoder ? enc->ffn : dec->ffn;
      auto& sparse = encoder ? enc->sparse : dec->sparse;
      const auto& x = c.x[li];  // [1, T, d]
      if (!sparse) {
        h = torch::relu(ffn->fc1(x));
      } else {
        std::vector<torch::Tensor> parts;
        for (const auto& mod : sparse->modules(false))
          if (auto* e = mod->as<moe::ExpertsImpl>())
            for (int64_t k = 0; k < e->w1.size(0); ++k) parts.push_back(torch::relu(x.matmul(e->w1[k]) + e->b1[k]));
        h = torch::cat(parts, 2);
      }
      auto mx = std::get<0>(h[0].max(0)).contiguous();
      pooled.emplace_back(mx.data_ptr<float>(), mx.data_ptr<float>() + mx.numel());
      labels->push_back((encoder ? dir.src : dir.tgt) == lang);
    }
  std::vector<float> ap;
  for (size_t j = 0; j < pooled[0].size(); ++j) {
    std::vector<float> s;
    for (const auto& p : pooled) s.push_back(p[j]);
    ap.push_back(static_cast<float>(predictivity(s, *labels)));
  }
  return ap;
}

}  // namespace

TEST(ModularityTest, PredictivityMatchesANaivePerSentenceComputation) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  for (const std::string extra : {std::string(), test::kSwitchEveryLayer}) {
    const auto ck = test::save_tiny_checkpoint(d, data_yaml, extra.empty() ? "dense" : "moe", extra);
    ModularityOptions o;
    o.max_sentences = 0;
    o.experts = 4;
    const ModularityReport rep = analyze_modularity(ck.path, o);
    ASSERT_EQ(rep.layers.size(), 4u);
    EXPECT_EQ(rep.sentences, 6u * 4);
    EXPECT_EQ(rep.layers[0].name, "enc0");
    EXPECT_EQ(rep.layers[3].name, "dec1");
    EXPECT_EQ(rep.layers[0].moe, !extra.empty());
    EXPECT_EQ(rep.layers[0].neurons, extra.empty() ? 64 : 4 * 64);
    EXPECT_EQ(rep.layers[0].partitions.size(), extra.empty() ? 3u : 2u);
    // Source language "de" in enc1, target language "fr" in dec0.
    for (auto [li, name] : {std::pair<size_t, std::string>{1, "src=de"}, {2, "tgt=fr"}}) {
      const auto& fns = li < 2 ? rep.encoder_functions : rep.decoder_functions;
      size_t f = 0;
      while (f < fns.size() && fns[f].name != name) ++f;
      ASSERT_LT(f, fns.size()) << name;
      std::vector<uint8_t> labels;
      const auto naive = naive_language_ap(ck, d, li, li < 2, fns[f].lang, &labels);
      ASSERT_EQ(naive.size(), rep.layers[li].ap[f].size());
      EXPECT_EQ(fns[f].positives, std::count(labels.begin(), labels.end(), 1));
      for (size_t j = 0; j < naive.size(); ++j)
        EXPECT_NEAR(rep.layers[li].ap[f][j], naive[j], 1e-6) << name << " neuron " << j;
    }
    // The tables and the JSON name every layer and partition.
    const std::string tables = modularity_tables(rep);
    EXPECT_NE(tables.find("| dec1 | "), std::string::npos);
    EXPECT_NE(tables.find(extra.empty() ? "| coactivation |" : "| experts |"), std::string::npos);
    const auto j = modularity_json(rep, "m.png");
    EXPECT_EQ(j["layers"].size(), 4u);
    EXPECT_EQ(j["layers"][0]["partitions"].size(), rep.layers[0].partitions.size());
  }
}

TEST(ModularityTest, ExpertsThatDoNotDivideTheLayerAreAnError) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "dense");
  ModularityOptions o;
  o.experts = 5;  // ffn 64
  try {
    analyze_modularity(ck.path, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--experts 5 does not divide the 64 neurons of enc0"), std::string::npos)
        << e.what();
  }
}

TEST(ModularityTest, StabilisationIsOneAgainstItselfAndLowerAgainstAnotherModel) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  // "Earlier": the same weights plus noise, saved with the same vocabulary and languages.
  Checkpoint other = load_checkpoint(ck.path);
  {
    torch::NoGradGuard ng;
    torch::manual_seed(11);
    for (auto& p : other.model->parameters()) p.add_(torch::randn_like(p) * p.std().clamp_min(1e-3));
  }
  save_checkpoint(d / "noisy.pt", other.config, other.langs, other.spm_model, other.model, nullptr, nullptr);
  ModularityOptions o;
  o.checkpoints = {ck.path, d / "noisy.pt"};
  const ModularityReport rep = analyze_modularity(ck.path, o);
  ASSERT_EQ(rep.stability.size(), 2u);
  for (const auto& p : rep.stability) {
    ASSERT_EQ(p.neuron.size(), rep.layers.size());
    for (size_t li = 0; li < rep.layers.size(); ++li) {
      if (p.checkpoint == ck.path) {
        EXPECT_NEAR(p.neuron[li], 1.0, 1e-9) << li;
        EXPECT_NEAR(p.expert[li], 1.0, 1e-9) << li;
        EXPECT_NEAR(p.random[li], 1.0, 1e-9) << li;
      } else {
        EXPECT_LT(p.neuron[li], 0.99) << li;
        EXPECT_GT(p.neuron[li], -1.0) << li;
      }
    }
  }
  EXPECT_NE(modularity_tables(rep).find("stabilisation"), std::string::npos);
  EXPECT_EQ(modularity_json(rep, "m.png")["stability"].size(), 2u);
  // A checkpoint of another run (other languages) is refused.
  save_checkpoint(d / "other_run.pt", other.config, {"en", "de"}, other.spm_model, other.model, nullptr, nullptr);
  o.checkpoints = {d / "other_run.pt"};
  EXPECT_THROW(analyze_modularity(ck.path, o), Error);
}

TEST(ModularityTest, UnitMaskZeroesOnlyTheChosenNeuronsAndRestoresThem) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  for (const std::string extra : {std::string(), test::kSwitchEveryLayer}) {
    const auto ck = test::save_tiny_checkpoint(d, data_yaml, extra.empty() ? "dense" : "moe", extra);
    Checkpoint m = load_checkpoint(ck.path);
    m.model->eval();
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> before;
    for (const auto& p : m.model->parameters()) before.push_back(p.clone());
    auto src = torch::tensor({{5, 9, 12, 3}}), prev = torch::tensor({{2, 14, 7}});
    const auto logits = m.model->forward(src, prev);
    {
      UnitMask none(*m.model, {{}, {}, {}, {}});  // nothing chosen: the identity
      EXPECT_TRUE(torch::equal(m.model->forward(src, prev), logits));
    }
    // Zero neurons 1 and 5 of the first decoder layer (2): its FFN on any input equals the
    // unmasked hidden activations with those two set to 0, pushed through the original output.
    auto* layer = m.model->decoder_layers[0]->as<DecoderLayerImpl>();
    auto x = torch::randn({2, 3, 32});
    torch::Tensor want;
    if (!layer->sparse) {
      auto h = torch::relu(layer->ffn->fc1(x));
      h.select(2, 1).zero_();
      h.select(2, 5).zero_();
      want = layer->ffn->fc2(h);
    } else {
      auto* ex = layer->sparse->modules(false).back()->as<moe::ExpertsImpl>();
      ASSERT_NE(ex, nullptr);
      auto h = torch::relu(x.matmul(ex->w1[0]) + ex->b1[0]);  // expert 0 holds neurons 0..63
      h.select(2, 1).zero_();
      h.select(2, 5).zero_();
      want = h.matmul(ex->w2[0]) + ex->b2[0];
    }
    {
      UnitMask mask(*m.model, {{}, {}, {1, 5}});
      torch::Tensor got;
      if (!layer->sparse) {
        got = layer->ffn->forward(x);
      } else {
        auto* ex = layer->sparse->modules(false).back()->as<moe::ExpertsImpl>();
        got = ex->expert(0, x);
      }
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << (got - want).abs().max();
      if (!layer->sparse) EXPECT_FALSE(torch::equal(m.model->forward(src, prev), logits));  // (MoE: expert 0 may get no token)
      // Only the reading weights' entries of those neurons changed.
      size_t changed = 0;
      const auto params = m.model->parameters();
      for (size_t i = 0; i < params.size(); ++i) changed += (params[i] != before[i]).sum().item<int64_t>();
      EXPECT_LE(changed, 2u * 32);
      EXPECT_GT(changed, 0u);
    }
    const auto params = m.model->parameters();
    for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], before[i])) << i;
    EXPECT_THROW(UnitMask(*m.model, {{}, {}, {1000000}}), Error);
  }
}

// The permute-and-scale perturbation against its definition, through the hook each FFN calls:
// the chosen outputs are a permutation of the originals × 4, every other output is untouched,
// and the FFN's forward pushes exactly those activations through its output weights.
TEST(ModularityTest, UnitPermutationPermutesAndScalesOnlyTheChosenNeurons) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  for (const std::string extra : {std::string(), test::kSwitchEveryLayer}) {
    const auto ck = test::save_tiny_checkpoint(d, data_yaml, extra.empty() ? "dense" : "moe", extra);
    Checkpoint m = load_checkpoint(ck.path);
    m.model->eval();
    torch::NoGradGuard ng;
    auto src = torch::tensor({{5, 9, 12, 3}}), prev = torch::tensor({{2, 14, 7}});
    const auto logits = m.model->forward(src, prev);
    {
      UnitPermutation none(*m.model, {{}, {}, {}, {}}, 3);  // nothing chosen: the identity
      EXPECT_TRUE(torch::equal(m.model->forward(src, prev), logits));
    }
    auto* layer = m.model->decoder_layers[0]->as<DecoderLayerImpl>();
    moe::ExpertsImpl* ex = layer->sparse ? layer->sparse->modules(false).back()->as<moe::ExpertsImpl>() : nullptr;
    const void* site = ex ? static_cast<const void*>(ex) : static_cast<const void*>(layer->ffn.get());
    torch::manual_seed(5);
    auto x = torch::randn({2, 3, 32}) * 3;
    auto h = ex ? torch::relu(x.matmul(ex->w1[0]) + ex->b1[0]) : torch::relu(layer->ffn->fc1(x));  // [2, 3, 64]
    // Neurons 1, 5 and 40 of the first decoder layer (MoE: of expert 0; expert 1's 64 + 2 too).
    const std::vector<int64_t> units = ex ? std::vector<int64_t>{1, 5, 40, 66} : std::vector<int64_t>{1, 5, 40};
    const auto cols = torch::tensor({1, 5, 40});
    torch::Tensor perturbed;
    {
      UnitPermutation perm(*m.model, {{}, {}, units}, 7);
      perturbed = moe::hook_hidden(site, ex ? 0 : -1, h);
      EXPECT_TRUE(torch::equal(moe::hook_hidden(site, ex ? 3 : -1, h).index_select(2, torch::tensor({0, 2, 3})),
                               h.index_select(2, torch::tensor({0, 2, 3}))));
      EXPECT_TRUE(torch::equal(moe::hook_hidden(nullptr, -1, h), h));  // another module: untouched
    }
    EXPECT_EQ(moe::hidden_hook(), nullptr);  // the guard is gone with the perturbation
    auto others = torch::ones({64}, torch::kBool);
    others.index_fill_(0, cols, false);
    EXPECT_TRUE(torch::equal(perturbed.index({"...", others}), h.index({"...", others})));
    auto got = std::get<0>(perturbed.index_select(2, cols).reshape({-1}).sort());
    auto want = std::get<0>((h.index_select(2, cols) * 4).reshape({-1}).sort());
    EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-6));
    EXPECT_GT(h.index_select(2, cols).count_nonzero().item<int64_t>(), 2);
    EXPECT_FALSE(torch::equal(perturbed.index_select(2, cols), h.index_select(2, cols) * 4));  // reordered
    // The FFN's own forward uses the hooked activations (the same seed gives the same permutation).
    {
      UnitPermutation perm(*m.model, {{}, {}, units}, 7);
      const auto y = ex ? ex->expert(0, x) : layer->ffn->forward(x);
      const auto want_y = ex ? perturbed.matmul(ex->w2[0]) + ex->b2[0] : layer->ffn->fc2(perturbed);
      EXPECT_TRUE(torch::allclose(y, want_y, 1e-5, 1e-5)) << (y - want_y).abs().max();
    }
    EXPECT_THROW(UnitPermutation(*m.model, {{}, {}, {1000000}}, 1), Error);
  }
}

// route_topk with an allowed set against hand-worked choices; gates keep the unrestricted softmax.
TEST(ModularityTest, RestrictedRoutingChoosesAmongTheAllowedExpertsOnly) {
  auto logits = torch::tensor({{1.0f, 3.0f, 2.0f}, {5.0f, 0.0f, 4.0f}});
  const auto probs = torch::softmax(logits, -1);
  auto r = moe::route_topk(logits, 1, 0, {}, torch::tensor({true, false, true}));
  EXPECT_EQ(r.expert.select(1, 0)[0].item<int64_t>(), 2);
  EXPECT_EQ(r.expert.select(1, 0)[1].item<int64_t>(), 0);
  EXPECT_FLOAT_EQ(r.gate[0][0].item<float>(), probs[0][2].item<float>());
  EXPECT_FLOAT_EQ(r.gate[1][0].item<float>(), probs[1][0].item<float>());
  r = moe::route_topk(logits, 2, 0, {}, torch::tensor({false, true, true}));
  EXPECT_TRUE(torch::equal(r.expert, torch::tensor({{1, 2}, {2, 1}})));
  EXPECT_THROW(moe::route_topk(logits, 2, 0, {}, torch::tensor({false, true, false})), c10::Error);
  // Unrestricted: the plain choices.
  r = moe::route_topk(logits, 1, 0);
  EXPECT_TRUE(torch::equal(r.expert.select(1, 0), torch::tensor({1, 0})));

  // A Switch model's layer routes every token to the allowed expert while restricted, freely after.
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  Checkpoint m = load_checkpoint(ck.path);
  m.model->eval();
  torch::NoGradGuard ng;
  auto* enc = m.model->encoder_layers[0]->as<EncoderLayerImpl>();
  auto* moe_layer = dynamic_cast<moe::MoeLayerImpl*>(enc->sparse.get());
  ASSERT_NE(moe_layer, nullptr);
  EXPECT_TRUE(routing_restrictable(*m.model, 0));
  torch::manual_seed(2);
  auto x = torch::randn({3, 7, 32});
  const auto free = moe_layer->forward(x);
  EXPECT_GT(std::get<0>(at::_unique(free.top1)).numel(), 1);
  {
    RoutingRestriction only(*m.model, {{3}});
    const auto restricted = moe_layer->forward(x);
    EXPECT_TRUE(torch::equal(restricted.top1, torch::full_like(restricted.top1, 3)));
  }
  EXPECT_TRUE(torch::equal(moe_layer->forward(x).top1, free.top1));
  EXPECT_THROW(RoutingRestriction(*m.model, {{9}}), Error);
  EXPECT_THROW(RoutingRestriction(*m.model, {{}, {}, {}, {}, {0}}), Error);  // no such layer
  // A dense model has nothing to restrict.
  const auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense", "");
  Checkpoint dm = load_checkpoint(dense.path);
  EXPECT_FALSE(routing_restrictable(*dm.model, 0));
  EXPECT_THROW(RoutingRestriction(*dm.model, {{0}}), Error);
}
