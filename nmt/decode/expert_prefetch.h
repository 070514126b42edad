#pragma once
// Prefetching experts ahead of decoding (SiDA's serving loop, issue 22; exact mode): while a batch
// decodes, a background thread runs the expert predictor (nmt/model/expert_predictor.h) on the
// next batch's sources and brings the experts it predicts into the model's expert cache
// (moe::ExpertsImpl::prefetch: evicts only experts neither the current batch nor the next holds),
// so that fewer of them are loaded on the decoding path. The router still decides every dispatch: the output is the model's, token for token,
// whatever the predictor says.
//
//   ExpertPrefetcher pf(*ck.model, load_expert_predictor(path, ck.digest), /*top_k=*/2, 0.5);
//   pf.start(next_batch.src, compute_type);   // returns at once
//   ... decode the current batch ...
//   pf.wait();
#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/precision.h"
#include "moe/dispatch.h"
#include "moe/moe_layer.h"
#include "moe/routing_override.h"
#include "nmt/model/expert_predictor.h"
#include "nmt/model/transformer.h"

namespace strata::nmt {

struct PrefetchStats {
  int64_t batches = 0;     // batches predicted
  int64_t requested = 0;   // (layer, expert) pairs predicted, summed over batches
  int64_t resident = 0;    // of those, resident after the prefetch (brought in or already there)
  double predict_seconds = 0, load_seconds = 0;  // on the prefetch thread
};

class ExpertPrefetcher {
 public:
  // `model`'s MoE layers must be the predictor's, in its order (encoder layers, then decoder
  // layers), with as many experts. Throws strata::Error otherwise. SMoE: the predictor learns the
  // first pass's choices (what its layers report); later strata's experts load on dispatch.
  ExpertPrefetcher(TransformerImpl& model, ExpertPredictor predictor, int64_t top_k, double threshold);
  ~ExpertPrefetcher();  // waits for the prefetch in flight and ends the thread
  ExpertPrefetcher(const ExpertPrefetcher&) = delete;
  ExpertPrefetcher& operator=(const ExpertPrefetcher&) = delete;

  // Predicts the experts of the batch `src` [B, S] (the encoder's input) and brings them in, on a
  // background thread under compute type `ct`; waits for the previous prefetch first.
  void start(const torch::Tensor& src, kernels::ComputeType ct);
  // Waits for the prefetch in flight (rethrows its error).
  void wait();
  PrefetchStats stats() const { return stats_; }
  // The experts predicted for `src`, per MoE layer (what start() brings in).
  std::vector<std::vector<int64_t>> predict(const torch::Tensor& src);
  // SiDA mode (the router bypassed, moe/routing_override.h) for the batch `src`: every encoder MoE
  // layer routes each token by the predictor's logits (its top-k, gates from their softmax), every
  // decoder MoE layer chooses only among the experts predicted for the batch (start()'s sets), so
  // a batch uses only predicted experts. With set_sida_restrict(true) the encoder layers too only
  // restrict their routers to the batch's predicted set (the union of its tokens' top-k): the same
  // experts resident, the router's own choice among them. Switch/GShard layers with the softmax
  // router only (strata::Error otherwise). The output then depends on the predictor (and on the
  // batch).
  moe::RoutingOverride sida_routing(const torch::Tensor& src);
  void set_sida_restrict(bool on) { sida_restrict_ = on; }
  bool sida_restrict() const { return sida_restrict_; }
  // Throws strata::Error unless every MoE layer can be routed so.
  void check_sida() const;

 private:
  void run(const torch::Tensor& src, kernels::ComputeType ct);
  void worker();  // the one prefetch thread: waits for a batch, runs it, signals done
  std::vector<moe::ExpertsImpl*> layers_;  // the predictor's MoE layers, in its order
  std::vector<const moe::MoeLayerImpl*> moe_layers_;  // the same layers (null: not a Switch/GShard layer)
  ExpertPredictor predictor_;
  int64_t top_k_;
  double threshold_;
  bool sida_restrict_ = false;
  PrefetchStats stats_;  // written by the prefetch thread, read after wait()
  // One long-lived thread (LibTorch's per-thread set-up once, not per batch): start() hands it a
  // batch under mu_, wait() waits until it is idle again.
  std::mutex mu_;
  std::condition_variable cv_;
  torch::Tensor pending_;  // the batch to prefetch, or undefined
  kernels::ComputeType pending_ct_ = kernels::ComputeType::kFloat32;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

// The Experts module of every MoE layer of `model`, encoder layers then decoder layers, bottom up
// (the order of MoeAux::top1 and of `strata analyze routing`; SMoE holds all strata's experts in
// one). Throws strata::Error for a layer with several Experts modules.
std::vector<moe::ExpertsImpl*> moe_experts(TransformerImpl& model);

}  // namespace strata::nmt
