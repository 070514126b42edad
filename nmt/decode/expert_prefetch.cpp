// Prefetching experts ahead of decoding (issue 22): the predictor on a background thread.
#include "nmt/decode/expert_prefetch.h"

#include <dlfcn.h>

#include <chrono>

#include "nmt/util/error.h"

namespace strata::nmt {

namespace {

// Gives the calling thread's OpenMP parallel regions one thread, so that the prefetch thread does
// not take cores from the decoding thread: omp_set_num_threads of the OpenMP runtime LibTorch
// loaded (libgomp here), found at run time rather than compiling strata_nmt with -fopenmp for one
// call; a no-op where there is none.
void one_openmp_thread() {
  using SetThreads = void (*)(int);
  static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  at::get_num_threads();  // LibTorch's per-thread set-up first (it would reset the count)
  if (set) set(1);        // this thread's regions only
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The Experts modules inside one layer's sparse FFN.
std::vector<moe::ExpertsImpl*> experts_in(const std::shared_ptr<moe::SparseFfnBase>& sparse) {
  std::vector<moe::ExpertsImpl*> found;
  for (const auto& m : sparse->modules(/*include_self=*/false))
    if (auto* x = m->as<moe::ExpertsImpl>()) found.push_back(x);
  return found;
}

}  // namespace

std::vector<moe::ExpertsImpl*> moe_experts(TransformerImpl& model) {
  std::vector<moe::ExpertsImpl*> out;
  const auto add = [&](const std::shared_ptr<moe::SparseFfnBase>& sparse, const std::string& name) {
    if (!sparse) return;
    const auto x = experts_in(sparse);
    if (x.size() != 1)
      throw Error("expert prefetch: MoE layer " + name + " has " + std::to_string(x.size()) +
                  " groups of experts; prefetching needs one per layer");
    out.push_back(x[0]);
  };
  for (size_t i = 0; i < model.encoder_layers->size(); ++i)
    add(model.encoder_layers[i]->as<EncoderLayerImpl>()->sparse, "enc" + std::to_string(i));
  for (size_t i = 0; i < model.decoder_layers->size(); ++i)
    add(model.decoder_layers[i]->as<DecoderLayerImpl>()->sparse, "dec" + std::to_string(i));
  return out;
}

ExpertPrefetcher::ExpertPrefetcher(TransformerImpl& model, ExpertPredictor predictor, int64_t top_k,
                                   double threshold)
    : layers_(moe_experts(model)), predictor_(std::move(predictor)), top_k_(top_k), threshold_(threshold) {
  const auto& o = predictor_->options;
  const size_t n = o.encoder_layers.size() + o.decoder_layers.size();
  if (n != layers_.size())
    throw Error("expert prefetch: the predictor knows " + std::to_string(n) + " MoE layers, the model has " +
                std::to_string(layers_.size()));
  for (auto* x : layers_)
    if (x->num_experts() != o.experts)
      throw Error("expert prefetch: the predictor predicts " + std::to_string(o.experts) +
                  " experts per layer, the model has " + std::to_string(x->num_experts()));
  predictor_->eval();
}

ExpertPrefetcher::~ExpertPrefetcher() {
  try {
    wait();
  } catch (...) {  // a destructor must not throw; the error was the prefetch's, not the output's
  }
}

std::vector<std::vector<int64_t>> ExpertPrefetcher::predict(const torch::Tensor& src) {
  torch::NoGradGuard ng;
  const auto s = src.to(torch::kCPU);
  return predicted_experts(predictor_->options, predictor_->forward(s), s, top_k_, threshold_);
}

void ExpertPrefetcher::run(torch::Tensor src, kernels::ComputeType ct) {
  one_openmp_thread();
  kernels::ComputeTypeGuard compute(ct);
  torch::NoGradGuard ng;
  const double t0 = now_s();
  const auto sets = predict(src);
  const double t1 = now_s();
  ++stats_.batches;
  for (size_t l = 0; l < sets.size(); ++l)
    for (int64_t e : sets[l]) {
      ++stats_.requested;
      stats_.resident += layers_[l]->prefetch(e);
    }
  stats_.predict_seconds += t1 - t0;
  stats_.load_seconds += now_s() - t1;
}

void ExpertPrefetcher::start(const torch::Tensor& src, kernels::ComputeType ct) {
  wait();
  inflight_ = std::async(std::launch::async, [this, s = src.clone(), ct] { run(s, ct); });
}

void ExpertPrefetcher::wait() {
  if (inflight_.valid()) inflight_.get();
}

}  // namespace strata::nmt
