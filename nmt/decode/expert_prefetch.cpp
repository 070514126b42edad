// Prefetching experts ahead of decoding (issue 22): the predictor on a background thread.
#include "nmt/decode/expert_prefetch.h"

#include <dlfcn.h>

#include <chrono>
#include <utility>

#include "moe/registry.h"
#include "nmt/util/error.h"
#include "nmt/util/format.h"

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


// The Experts modules inside one layer's sparse FFN.
std::vector<moe::ExpertsImpl*> experts_in(const std::shared_ptr<moe::SparseFfnBase>& sparse) {
  std::vector<moe::ExpertsImpl*> found;
  for (const auto& m : sparse->modules(/*include_self=*/false))
    if (auto* x = m->as<moe::ExpertsImpl>()) found.push_back(x);
  return found;
}

// The sparse FFN of every MoE layer, encoder layers then decoder layers.
std::vector<std::pair<std::shared_ptr<moe::SparseFfnBase>, std::string>> sparse_layers(TransformerImpl& model) {
  std::vector<std::pair<std::shared_ptr<moe::SparseFfnBase>, std::string>> out;
  for (size_t i = 0; i < model.encoder_layers->size(); ++i)
    if (auto s = model.encoder_layers[i]->as<EncoderLayerImpl>()->sparse) out.emplace_back(s, "enc" + std::to_string(i));
  for (size_t i = 0; i < model.decoder_layers->size(); ++i)
    if (auto s = model.decoder_layers[i]->as<DecoderLayerImpl>()->sparse) out.emplace_back(s, "dec" + std::to_string(i));
  return out;
}

}  // namespace

std::vector<moe::ExpertsImpl*> moe_experts(TransformerImpl& model) {
  std::vector<moe::ExpertsImpl*> out;
  for (const auto& [sparse, name] : sparse_layers(model)) {
    const auto x = experts_in(sparse);
    if (x.size() != 1)
      throw Error("expert prefetch: MoE layer " + name + " has " + std::to_string(x.size()) +
                  " groups of experts; prefetching needs one per layer");
    out.push_back(x[0]);
  }
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
  for (const auto& [sparse, name] : sparse_layers(model)) {
    const auto* m = dynamic_cast<const moe::MoeLayerImpl*>(sparse.get());
    moe_layers_.push_back(m && m->router_type->restricts ? m : nullptr);
  }
  predictor_->eval();
  thread_ = std::thread([this] { worker(); });
}

void ExpertPrefetcher::check_sida() const {
  for (const auto* m : moe_layers_)
    if (!m) throw Error("sida mode routes Switch/GShard layers with the softmax router only");
}

moe::RoutingOverride ExpertPrefetcher::sida_routing(const torch::Tensor& src) {
  check_sida();
  torch::NoGradGuard ng;
  const auto s = src.to(torch::kCPU);
  const ExpertPrediction p = predictor_->forward(s);
  const auto sets = predicted_experts(predictor_->options, p, s, top_k_, threshold_);
  moe::RoutingOverride o;
  const int64_t E = predictor_->options.experts;
  const size_t Le = p.encoder.size();
  for (size_t l = 0; l < sets.size(); ++l) {
    if (l < Le && !sida_restrict_) {
      o.logits[moe_layers_[l]] = p.encoder[l].reshape({-1, E});
      continue;
    }
    auto allowed = torch::zeros({E}, torch::kBool);
    for (int64_t e : sets[l]) allowed[e] = true;
    // A top-k router needs k experts to choose from: the batch's most likely others fill in.
    const auto score = l < Le ? torch::softmax(p.encoder[l].reshape({-1, E}), -1).mean(0)
                              : torch::sigmoid(p.decoder[l - Le]).mean(0);
    const auto order = std::get<1>(score.sort(0, /*descending=*/true));
    for (int64_t i = 0; i < E && allowed.sum().item<int64_t>() < moe_layers_[l]->options.top_k(); ++i)
      allowed[order[i].item<int64_t>()] = true;
    o.allowed[moe_layers_[l]] = allowed;
  }
  return o;
}

ExpertPrefetcher::~ExpertPrefetcher() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !busy_; });
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ExpertPrefetcher::worker() {
  one_openmp_thread();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_.defined(); });
    if (stop_) return;
    const torch::Tensor src = pending_;
    const kernels::ComputeType ct = pending_ct_;
    pending_ = torch::Tensor();
    lock.unlock();
    std::exception_ptr err;
    try {
      run(src, ct);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && !error_) error_ = err;
    busy_ = false;
    cv_.notify_all();
  }
}

std::vector<std::vector<int64_t>> ExpertPrefetcher::predict(const torch::Tensor& src) {
  torch::NoGradGuard ng;
  const auto s = src.to(torch::kCPU);
  return predicted_experts(predictor_->options, predictor_->forward(s), s, top_k_, threshold_);
}

void ExpertPrefetcher::run(const torch::Tensor& src, kernels::ComputeType ct) {
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = src.to(torch::kCPU).clone();
    pending_ct_ = ct;
    busy_ = true;
  }
  cv_.notify_all();
}

void ExpertPrefetcher::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace strata::nmt
