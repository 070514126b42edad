// Training and measuring the expert predictor (issue 22): routing targets, the loop, accuracy.
#include "nmt/train/predictor_training.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_map>

#include "moe/moe_layer.h"
#include "moe/routing_override.h"
#include "nmt/analysis/routing.h"
#include "nmt/util/error.h"
#include "nmt/util/format.h"

namespace strata::nmt {

namespace {


// A training batch of sentences `ids`: src [B, S] (pad 0), encoder targets [L_enc, B, S] (-1 at
// padding and unrouted tokens), decoder targets [L_dec, B, E] (1 = used).
// With probabilities: enc_probs [L_enc, B, S, K] f32 and enc_experts [L_enc, B, S, K] i64 (0 at padding).
struct PredictorBatch {
  torch::Tensor src, encoder, decoder, enc_probs, enc_experts;
};

PredictorBatch make_predictor_batch(const RoutingTargets& t, const std::vector<size_t>& ids) {
  const int64_t B = static_cast<int64_t>(ids.size());
  int64_t S = 1;
  for (size_t i : ids) S = std::max(S, t.src[i].size(0));
  const int64_t Le = static_cast<int64_t>(t.encoder_layers.size());
  const int64_t Ld = static_cast<int64_t>(t.decoder_layers.size());
  PredictorBatch b;
  b.src = torch::zeros({B, S}, torch::kLong);
  b.encoder = torch::full({Le, B, S}, -1, torch::kLong);
  b.decoder = torch::zeros({Ld, B, t.experts});
  const bool probs = !t.encoder_probs.empty() && Le > 0;
  if (probs) {
    const int64_t K = t.encoder_probs[ids[0]].size(2);
    b.enc_probs = torch::zeros({Le, B, S, K});
    b.enc_experts = torch::zeros({Le, B, S, K}, torch::kLong);
  }
  for (int64_t r = 0; r < B; ++r) {
    const size_t i = ids[r];
    const int64_t n = t.src[i].size(0);
    b.src[r].narrow(0, 0, n).copy_(t.src[i]);
    if (Le > 0) b.encoder.select(1, r).narrow(1, 0, n).copy_(t.encoder[i]);
    if (probs) {
      b.enc_probs.select(1, r).narrow(1, 0, n).copy_(t.encoder_probs[i]);
      b.enc_experts.select(1, r).narrow(1, 0, n).copy_(t.encoder_prob_experts[i]);
    }
    if (Ld > 0) b.decoder.select(1, r).copy_(t.decoder[i].gt(0).to(torch::kFloat));
  }
  return b;
}

// sida: SiDA's ce_weight · CE + L1 over the router's top experts (b.enc_probs must be set).
torch::Tensor predictor_loss(const ExpertPrediction& p, const PredictorBatch& b, int64_t E, bool sida,
                             double ce_weight, double* enc_part, double* dec_part) {
  auto loss = torch::zeros({});
  double enc = 0, dec = 0;
  for (size_t l = 0; l < p.encoder.size(); ++l) {
    const auto target = b.encoder[l].reshape(-1);
    const auto routed = target.ge(0);
    if (!routed.any().item<bool>()) continue;
    const auto logits = p.encoder[l].reshape({-1, E});
    auto ce = torch::nn::functional::cross_entropy(
        logits, target, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-1));
    if (sida) {
      const int64_t K = b.enc_probs.size(-1);
      const auto q = torch::softmax(logits, -1).gather(1, b.enc_experts[l].reshape({-1, K}));  // [N, K]
      const auto l1 = (q - b.enc_probs[l].reshape({-1, K})).abs().sum(1);                      // [N]
      ce = ce_weight * ce + l1.masked_select(routed).mean();
    }
    enc += ce.item<double>();
    loss = loss + ce;
  }
  for (size_t l = 0; l < p.decoder.size(); ++l) {
    const auto bce = torch::nn::functional::binary_cross_entropy_with_logits(p.decoder[l], b.decoder[l]);
    dec += bce.item<double>();
    loss = loss + bce;
  }
  if (enc_part) *enc_part = enc;
  if (dec_part) *dec_part = dec;
  return loss;
}

}  // namespace

RoutingTargets collect_routing_targets(Transformer& model, const ParallelData& data,
                                       const std::vector<Example>& examples, const LangTags& tags,
                                       int64_t prob_top) {
  if (!model->options.moe().enabled()) throw Error("expert predictor: the model has no MoE layers");
  const std::vector<LayerRouting> layers = moe_layers(model, 0);
  RoutingTargets t;
  t.experts = model->options.moe().num_experts;
  std::vector<size_t> enc_idx, dec_idx;  // positions in MoeAux::top1
  for (size_t i = 0; i < layers.size(); ++i) {
    (layers[i].encoder ? t.encoder_layers : t.decoder_layers).push_back(layers[i].name);
    (layers[i].encoder ? enc_idx : dec_idx).push_back(i);
  }
  const int64_t E = t.experts;
  // The encoder MoE layers by identity, in MoeAux order (for their router probabilities).
  std::vector<const void*> enc_layers;
  for (size_t i = 0; i < model->encoder_layers->size(); ++i)
    if (auto s = model->encoder_layers[i]->as<EncoderLayerImpl>()->sparse)
      enc_layers.push_back(dynamic_cast<const moe::MoeLayerImpl*>(s.get()));
  const int64_t K = std::min(prob_top, E);
  std::map<const void*, torch::Tensor> probs;
  moe::RoutingOverride record;
  record.probs = &probs;
  std::optional<moe::RoutingOverrideGuard> guard;
  if (K > 0) {
    if (enc_layers.size() != enc_idx.size())
      throw Error("expert predictor: the encoder's MoE layers are not all routed MoE layers");
    guard.emplace(&record);
  }
  model->eval();
  torch::NoGradGuard ng;
  for (size_t s = 0; s < examples.size(); s += 32) {
    const std::vector<Example> part(examples.begin() + s, examples.begin() + std::min(examples.size(), s + 32));
    const Batch b = make_batch(data, part, tags);
    MoeAux aux;
    probs.clear();
    model->forward(b.src, b.prev, &aux);
    std::vector<std::tuple<torch::Tensor, torch::Tensor>> top;  // per encoder MoE layer: [B, S, K] values, experts
    for (size_t l = 0; K > 0 && l < enc_layers.size(); ++l) {
      const auto it = probs.find(enc_layers[l]);
      if (!enc_layers[l] || it == probs.end())
        throw Error("expert predictor: the SiDA loss needs router probabilities, and the router of encoder "
                    "MoE layer " + std::to_string(l) + " gives none");
      top.push_back(it->second.to(torch::kFloat).reshape({b.src.size(0), b.src.size(1), E}).topk(K, -1));
    }
    if (aux.top1.size() != layers.size())
      throw Error("expert predictor: expected " + std::to_string(layers.size()) + " MoE layers, ran " +
                  std::to_string(aux.top1.size()));
    const int64_t B = b.src.size(0), S = b.src.size(1), T = b.prev.size(1);
    const auto src_len = b.src.ne(0).sum(1);
    const auto tgt_pad = b.target.eq(0);  // [B, T]: the decoder positions that are padding
    for (int64_t r = 0; r < B; ++r) {
      const int64_t n = src_len[r].item<int64_t>();
      t.src.push_back(b.src[r].narrow(0, 0, n).clone());
      auto enc = torch::empty({static_cast<int64_t>(enc_idx.size()), n}, torch::kLong);
      for (size_t l = 0; l < enc_idx.size(); ++l)
        enc[l].copy_(aux.top1[enc_idx[l]].reshape({B, S})[r].narrow(0, 0, n));
      t.encoder.push_back(enc);
      if (K > 0) {
        auto pv = torch::empty({static_cast<int64_t>(enc_idx.size()), n, K});
        auto pe = torch::empty({static_cast<int64_t>(enc_idx.size()), n, K}, torch::kShort);
        for (size_t l = 0; l < top.size(); ++l) {
          pv[l].copy_(std::get<0>(top[l])[r].narrow(0, 0, n));
          pe[l].copy_(std::get<1>(top[l])[r].narrow(0, 0, n));
        }
        t.encoder_probs.push_back(pv);
        t.encoder_prob_experts.push_back(pe);
      }
      auto dec = torch::zeros({static_cast<int64_t>(dec_idx.size()), E});
      for (size_t l = 0; l < dec_idx.size(); ++l) {
        auto c = aux.top1[dec_idx[l]].reshape({B, T})[r].masked_fill(tgt_pad[r], -1);
        c = c.index({c.ge(0)});
        dec[l].index_add_(0, c, torch::ones({c.numel()}));
      }
      t.decoder.push_back(dec);
    }
  }
  return t;
}

PredictorReport evaluate_predictor(ExpertPredictorImpl& predictor, const RoutingTargets& t,
                                   int64_t top_k, double threshold) {
  PredictorReport rep;
  rep.sentences = t.src.size();
  rep.experts = t.experts;
  rep.top_k = top_k;
  rep.threshold = threshold;
  const int64_t E = t.experts, k = std::max<int64_t>(1, std::min(top_k, E));
  for (const auto& n : t.encoder_layers) rep.layers.push_back({n, true});
  for (const auto& n : t.decoder_layers) rep.layers.push_back({n, false});
  const size_t Le = t.encoder_layers.size();
  std::vector<double> hit1(rep.layers.size(), 0), hitk(rep.layers.size(), 0), inter(rep.layers.size(), 0),
      used(rep.layers.size(), 0), pred(rep.layers.size(), 0), covered(rep.layers.size(), 0),
      dec_tokens(rep.layers.size(), 0);
  const bool was_training = predictor.is_training();
  predictor.eval();
  torch::NoGradGuard ng;
  for (size_t s = 0; s < t.src.size(); s += 64) {
    std::vector<size_t> ids;
    for (size_t i = s; i < std::min(t.src.size(), s + 64); ++i) ids.push_back(i);
    const PredictorBatch b = make_predictor_batch(t, ids);
    const ExpertPrediction p = predictor.forward(b.src);
    for (size_t l = 0; l < p.encoder.size(); ++l) {
      const auto target = b.encoder[l].reshape(-1);
      const auto routed = target.ge(0);
      const auto logits = p.encoder[l].reshape({-1, E}).index({routed});
      const auto tg = target.index({routed});
      const auto top = std::get<1>(logits.topk(k, -1));
      rep.layers[l].count += tg.numel();
      hit1[l] += top.select(1, 0).eq(tg).sum().item<double>();
      hitk[l] += top.eq(tg.unsqueeze(1)).any(1).sum().item<double>();
    }
    for (size_t l = 0; l < p.decoder.size(); ++l) {
      const size_t li = Le + l;
      const auto prob = torch::sigmoid(p.decoder[l]);  // [B, E]
      auto set = prob.ge(threshold);
      set.scatter_(1, prob.argmax(1, true), true);  // as predicted_experts(): the most likely at least
      std::vector<torch::Tensor> rows;
      for (size_t i : ids) rows.push_back(t.decoder[i][l]);
      const auto tok_counts = torch::stack(rows);  // [B, E] first-choice counts of the target tokens
      const auto use = tok_counts.gt(0);
      rep.layers[li].count += static_cast<int64_t>(ids.size());
      inter[li] += (use & set).sum().item<double>();
      used[li] += use.sum().item<double>();
      pred[li] += set.sum().item<double>();
      covered[li] += (tok_counts * set.to(torch::kFloat)).sum().item<double>();
      dec_tokens[li] += tok_counts.sum().item<double>();
    }
  }
  for (size_t l = 0; l < rep.layers.size(); ++l) {
    auto& a = rep.layers[l];
    const double n = std::max<double>(1, static_cast<double>(a.count));
    if (a.encoder) {
      a.top1 = hit1[l] / n;
      a.topk = hitk[l] / n;
    } else {
      a.recall = used[l] > 0 ? inter[l] / used[l] : 0;
      a.precision = pred[l] > 0 ? inter[l] / pred[l] : 0;
      a.coverage = dec_tokens[l] > 0 ? covered[l] / dec_tokens[l] : 0;
      a.predicted = pred[l] / n;
      a.used = used[l] / n;
    }
  }
  predictor.train(was_training);
  return rep;
}

void token_table_accuracy(const RoutingTargets& train, const RoutingTargets& test, PredictorReport& report) {
  const int64_t E = train.experts;
  for (size_t l = 0; l < train.encoder_layers.size(); ++l) {
    std::unordered_map<int64_t, std::vector<int64_t>> counts;  // token id -> first-choice counts
    std::vector<int64_t> overall(E, 0);
    for (size_t i = 0; i < train.src.size(); ++i) {
      const auto ids = train.src[i].contiguous();
      const auto ch = train.encoder[i][l].contiguous();
      for (int64_t k = 0; k < ids.numel(); ++k) {
        const int64_t e = ch.data_ptr<int64_t>()[k];
        if (e < 0) continue;
        auto& c = counts[ids.data_ptr<int64_t>()[k]];
        if (c.empty()) c.assign(E, 0);
        ++c[e], ++overall[e];
      }
    }
    const auto argmax = [](const std::vector<int64_t>& c) {
      return static_cast<int64_t>(std::max_element(c.begin(), c.end()) - c.begin());
    };
    const int64_t fallback = argmax(overall);
    double hit = 0, n = 0;
    for (size_t i = 0; i < test.src.size(); ++i) {
      const auto ids = test.src[i].contiguous();
      const auto ch = test.encoder[i][l].contiguous();
      for (int64_t k = 0; k < ids.numel(); ++k) {
        const int64_t e = ch.data_ptr<int64_t>()[k];
        if (e < 0) continue;
        const auto it = counts.find(ids.data_ptr<int64_t>()[k]);
        hit += (it == counts.end() ? fallback : argmax(it->second)) == e;
        ++n;
      }
    }
    for (auto& a : report.layers)
      if (a.encoder && a.name == train.encoder_layers[l]) a.table_top1 = n > 0 ? hit / n : 0;
  }
}

std::string predictor_table(const PredictorReport& r) {
  std::string s = format("%zu sentences, %lld experts per MoE layer\n\n", r.sentences,
                         static_cast<long long>(r.experts));
  bool table = false;
  for (const auto& a : r.layers) table |= a.encoder && a.table_top1 >= 0;
  s += format("| layer | routed tokens | top-1 acc | top-%lld acc |%s\n|---|---:|---:|---:|%s\n",
              static_cast<long long>(r.top_k), table ? " token-table top-1 |" : "", table ? "---:|" : "");
  for (const auto& a : r.layers)
    if (a.encoder)
      s += format("| %s | %lld | %.3f | %.3f |%s\n", a.name.c_str(), static_cast<long long>(a.count), a.top1,
                  a.topk, table ? format(" %.3f |", a.table_top1).c_str() : "");
  bool dec = false;
  for (const auto& a : r.layers) dec |= !a.encoder;
  if (dec) {
    s += format("\n| layer | sentences | experts used | predicted (p >= %.2f) | recall | precision | token coverage |\n"
                "|---|---:|---:|---:|---:|---:|---:|\n", r.threshold);
    for (const auto& a : r.layers)
      if (!a.encoder)
        s += format("| %s | %lld | %.2f | %.2f | %.3f | %.3f | %.3f |\n", a.name.c_str(),
                    static_cast<long long>(a.count), a.used, a.predicted, a.recall, a.precision, a.coverage);
  }
  return s;
}

nlohmann::json predictor_json(const PredictorReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& a : r.layers) {
    if (a.encoder)
      layers.push_back({{"layer", a.name}, {"encoder", true}, {"routed_tokens", a.count}, {"top1", a.top1},
                        {"topk", a.topk}, {"token_table_top1", a.table_top1}});
    else
      layers.push_back({{"layer", a.name}, {"encoder", false}, {"sentences", a.count}, {"used", a.used},
                        {"predicted", a.predicted}, {"recall", a.recall}, {"precision", a.precision},
                        {"coverage", a.coverage}});
  }
  return {{"sentences", r.sentences}, {"experts", r.experts}, {"top_k", r.top_k},
          {"threshold", r.threshold}, {"layers", layers}};
}

ExpertPredictor train_predictor_on(const RoutingTargets& t, const torch::Tensor& model_embedding,
                                   const PredictorTrainOptions& o, std::FILE* progress) {
  if (t.src.empty()) throw Error("expert predictor: no sentences to learn from");
  if (o.updates < 0 || o.batch_sentences < 1 || o.log_every < 1 || !(o.lr > 0))
    throw Error("expert predictor: updates >= 0, batch_sentences >= 1, log_every >= 1 and lr > 0 required");
  const bool sida = o.loss == "sida";
  if (sida && t.encoder_probs.size() != t.src.size())
    throw Error("expert predictor: the SiDA loss needs the router's probabilities in the targets");
  torch::manual_seed(o.seed);
  ExpertPredictorOptions po;
  po.vocab = model_embedding.size(0);
  po.dim = o.dim;
  po.experts = t.experts;
  po.encoder_layers = t.encoder_layers;
  po.decoder_layers = t.decoder_layers;
  ExpertPredictor p(po);
  p->init_embedding(model_embedding, o.seed);
  p->train();
  if (o.freeze_embedding) p->embed->weight.set_requires_grad(false);
  std::vector<torch::Tensor> trained;
  for (const auto& w : p->parameters())
    if (w.requires_grad()) trained.push_back(w);
  torch::optim::Adam adam(trained, torch::optim::AdamOptions(o.lr));
  std::ofstream log;
  if (!o.log_path.empty()) {
    log.open(o.log_path, std::ios::app);
    if (!log) throw Error(o.log_path + ": cannot open the log for writing");
  }
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> pick(0, t.src.size() - 1);
  const double t0 = now_s();
  double loss_sum = 0, enc_sum = 0, dec_sum = 0;
  int64_t since = 0, tokens = 0;
  for (int64_t u = 1; u <= o.updates; ++u) {
    std::vector<size_t> ids(static_cast<size_t>(o.batch_sentences));
    for (auto& i : ids) i = pick(rng);
    const PredictorBatch b = make_predictor_batch(t, ids);
    double enc = 0, dec = 0;
    const auto loss = predictor_loss(p->forward(b.src), b, t.experts, sida, o.ce_weight, &enc, &dec);
    adam.zero_grad();
    loss.backward();
    adam.step();
    loss_sum += loss.item<double>(), enc_sum += enc, dec_sum += dec, ++since;
    tokens += b.src.ne(0).sum().item<int64_t>();
    if (u % o.log_every == 0 || u == o.updates) {
      const double el = now_s() - t0;
      const double eta = el / static_cast<double>(u) * static_cast<double>(o.updates - u);
      if (progress)
        std::fprintf(progress, "[predictor] update %lld/%lld | loss %.4f (encoder %.4f, decoder %.4f) | %.0f tok/s | %s | ETA %s\n",
                     static_cast<long long>(u), static_cast<long long>(o.updates), loss_sum / since,
                     enc_sum / since, dec_sum / since, tokens / std::max(el, 1e-9),
                     hms(el).c_str(), hms(eta).c_str());
      if (log.is_open()) {
        log << nlohmann::json({{"event", "train"}, {"update", u}, {"loss", loss_sum / since},
                               {"encoder_loss", enc_sum / since}, {"decoder_loss", dec_sum / since},
                               {"tokens_per_s", tokens / std::max(el, 1e-9)}, {"elapsed_s", el}})
                   .dump()
            << std::endl;
        if (!log) throw Error(o.log_path + ": write failed");
      }
      loss_sum = enc_sum = dec_sum = 0;
      since = 0;
    }
  }
  p->eval();
  return p;
}

RoutingTargets checkpoint_routing_targets(Checkpoint& ck, const std::string& data_config,
                                          const std::string& split, int max_sentences, int64_t prob_top) {
  auto tok = checkpoint_tokenizer(ck);
  const AnalysisSplit s = load_analysis_split(ck, *tok, data_config, split, max_sentences);
  return collect_routing_targets(ck.model, *s.data, s.examples, *s.tags, prob_top);
}

PredictorTraining train_expert_predictor(Checkpoint& ck, const PredictorTrainOptions& o, std::FILE* progress) {
  if (!ck.config.model.moe.enabled()) throw Error("expert predictor: not an MoE model (model.moe.type: none)");
  const double t0 = now_s();
  if (o.loss != "ce" && o.loss != "sida") throw Error("predictor: loss '" + o.loss + "' is not one of ce, sida");
  const RoutingTargets train = checkpoint_routing_targets(ck, o.data_config, o.split, o.max_sentences,
                                                          o.loss == "sida" ? kSidaTop : 0);
  const RoutingTargets valid = checkpoint_routing_targets(ck, o.data_config, o.valid_split, o.valid_sentences);
  if (progress)
    std::fprintf(progress, "[predictor] routing of %zu %s and %zu %s sentence pairs in %s; %zu encoder and %zu decoder MoE layers, %lld experts each\n",
                 train.src.size(), o.split.c_str(), valid.src.size(), o.valid_split.c_str(),
                 hms(now_s() - t0).c_str(), train.encoder_layers.size(),
                 train.decoder_layers.size(), static_cast<long long>(train.experts));
  PredictorTraining r;
  r.predictor = train_predictor_on(train, ck.model->embed->weight, o, progress);
  r.train = evaluate_predictor(*r.predictor, train, o.top_k, o.threshold);
  r.valid = evaluate_predictor(*r.predictor, valid, o.top_k, o.threshold);
  token_table_accuracy(train, train, r.train);
  token_table_accuracy(train, valid, r.valid);
  if (!o.log_path.empty()) {
    std::ofstream log(o.log_path, std::ios::app);
    log << nlohmann::json({{"event", "accuracy"}, {"split", o.split}, {"report", predictor_json(r.train)}}).dump()
        << "\n"
        << nlohmann::json({{"event", "accuracy"}, {"split", o.valid_split}, {"report", predictor_json(r.valid)}}).dump()
        << std::endl;
    if (!log) throw Error(o.log_path + ": write failed");
  }
  return r;
}

}  // namespace strata::nmt
