// Expert parallelism on Gloo (loopback): the test binary re-executes itself as W worker processes
// (`strata_ep_tests --ep-worker <layers> <rank> <world> <rendezvous> <out>`); each holds E/W experts,
// runs a training step of each MoE layer on its own batch and saves its outputs, loss and gradients.
// The reference is one process holding all experts (the plain layer, no communicator) running every
// rank's batch as its own routing group, with the loss averaged over ranks. All in float64, so any
// mismatch in routing, exchange order or gradient bookkeeping shows far above rounding
// (tolerance: |a - b| <= 1e-9 + 1e-9·|b|).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "nmt/util/torch_compat.h"
#include "data/data_config.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "moe/comm.h"
#include "moe/expert_parallel.h"
#include "moe/moe_layer.h"
#include "moe/smoe_layer.h"
#include "nmt/model/checkpoint.h"
#include "tests/test_util.h"
#include "tests/torch_test_util.h"

extern char** environ;

using namespace strata::moe;

namespace {

constexpr int64_t kD = 12, kFfn = 10, kT = 5;
constexpr double kTol = 1e-9;

// ---- The layer and the per-rank batches (identical in the reference and in every worker) ----

struct Layer {
  MoeLayer moe{nullptr};
  SmoeLayer smoe{nullptr};
  torch::nn::Module& module() { return moe ? static_cast<torch::nn::Module&>(*moe) : *smoe; }
};

// `kind`: switch (top-1, capacity 1.0: tokens dropped), gshard (top-2, capacity 1.0), smoe
// (strata {4, 2, 2}, capacity 1.0). Router weights are scaled up so that routing is skewed.
Layer make_layer(const std::string& kind, std::shared_ptr<Communicator> comm) {
  Layer l;
  if (kind == "smoe") {
    l.smoe = SmoeLayer(SmoeLayerOptions(kD, kFfn, {4, 2, 2})
                           .capacity_factor(1.0)
                           .second_policy(SecondExpertPolicy::kAll)
                           .comm(comm));
  } else {
    l.moe = MoeLayer(MoeLayerOptions(kD, kFfn, 8)
                         .top_k(kind == "switch" ? 1 : 2)
                         .capacity_factor(1.0)
                         .second_policy(SecondExpertPolicy::kAll)
                         .comm(comm));
  }
  return l;
}

Layer make_reference(const std::string& kind) {
  torch::manual_seed(0);
  Layer l = make_layer(kind, nullptr);
  torch::NoGradGuard ng;
  for (auto& kv : l.module().named_parameters(true)) {
    if (kv.key().find("router") != std::string::npos || kv.key().find("wg") != std::string::npos)
      kv.value().normal_(0, 0.7);
    else if (kv.key().find("b1") != std::string::npos || kv.key().find("b2") != std::string::npos)
      kv.value().normal_(0, 0.1);
  }
  return l;
}

// This rank's slice of the reference's parameters.
Layer make_sharded(const std::string& kind, const std::shared_ptr<Communicator>& comm) {
  Layer ref = make_reference(kind);
  Layer l = make_layer(kind, comm);
  auto first = local_experts(8, comm->rank(), comm->world()).first;
  auto refp = ref.module().named_parameters(true);
  torch::NoGradGuard ng;
  for (auto& kv : l.module().named_parameters(true)) {
    auto src = refp[kv.key()];
    if (is_expert_parameter(kv.key())) src = src.slice(0, first, first + kv.value().size(0));
    kv.value().copy_(src);
  }
  return l;
}

constexpr double kLr = 0.5;

void save_state(const torch::OrderedDict<std::string, torch::Tensor>& state, const std::string& path) {
  torch::serialize::OutputArchive a;
  for (auto& kv : state) a.write(kv.key(), kv.value());
  a.save_to(path);
}

torch::OrderedDict<std::string, torch::Tensor> load_state(const std::string& path) {
  torch::serialize::InputArchive a;
  a.load_from(path);
  torch::OrderedDict<std::string, torch::Tensor> state;
  for (const auto& key : a.keys()) {
    torch::Tensor t;
    a.read(key, t);
    state.insert(key, t);
  }
  return state;
}

struct Batch {
  torch::Tensor x, pad, target;
};

// Rank r's batch: 2 + r sequences of kT positions (uneven over ranks), some padding.
Batch make_batch(int rank) {
  torch::manual_seed(1000 + rank);
  Batch b;
  const int64_t B = 2 + rank;
  b.x = torch::randn({B, kT, kD}, torch::kDouble);
  b.pad = torch::zeros({B, kT}, torch::kBool);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t t = kT - i % 3; t < kT; ++t) b.pad[i][t] = true;
  b.target = torch::randn({B * kT, kD}, torch::kDouble);
  b.x.requires_grad_(true);
  return b;
}

struct StepOut {
  torch::Tensor output, loss;
};

// One layer application and its loss (a non-linear function of the output, plus router losses).
StepOut step(Layer& l, const Batch& b) {
  StepOut s;
  torch::Tensor aux, z;
  if (l.moe) {
    auto o = l.moe(b.x, b.pad);
    s.output = o.output.reshape({-1, kD});
    aux = o.aux_loss;
    z = o.z_loss;
  } else {
    auto h = b.x.reshape({-1, kD});
    auto u0 = torch::layer_norm(h, {kD});
    auto o = l.smoe(h, u0, b.pad.reshape({-1}));
    s.output = o.output;
    aux = o.aux_loss;
    z = torch::zeros({}, torch::kDouble);
  }
  s.loss = (s.output.tanh() * b.target).sum() / s.output.size(0) + 0.1 * aux + 0.01 * z;
  return s;
}

// ---- Worker processes ----

int worker(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: --ep-worker case rank world rendezvous out\n");
    return 2;
  }
  const std::string kind = argv[2], rdv = argv[5], out = argv[6];
  torch::set_num_threads(1);
  torch::set_default_dtype(caffe2::TypeMeta::Make<double>());
  CommOptions o;
  o.rank = std::atoi(argv[3]);
  o.world_size = std::atoi(argv[4]);
  o.timeout = std::chrono::milliseconds(kind == "dead" ? 3000 : kind == "alone" ? 1000 : 20000);
  if (rdv.rfind("tcp:", 0) == 0) o.master_port = std::atoi(rdv.c_str() + 4);
  else o.file_store = rdv;
  try {
    auto comm = make_communicator(o);
    if (kind == "dead") {
      // Every rank finishes the rendezvous first (a rank leaving while another is still connecting
      // would fail that rank's rendezvous instead); then the last one dies before the exchange.
      comm->barrier();
      if (o.rank == o.world_size - 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the barrier's last sends land
        std::_Exit(3);
      }
    }
    // `kind` is a comma-separated list of layers, run one after the other on one process group.
    std::stringstream kinds(kind == "dead" ? "switch" : kind);
    const std::string full_path =
        (std::filesystem::path(out).parent_path() / "full.pt").string();
    for (std::string k; std::getline(kinds, k, ',');) {
      if (k == "elastic-load") {
        // A state saved at another world size: this rank's slice, then an eval forward.
        Layer l = make_layer("switch", comm);
        load_full_state(l.module(), load_state(full_path), o.rank, o.world_size);
        l.module().eval();
        torch::NoGradGuard ng;
        torch::save(std::vector<torch::Tensor>{step(l, make_batch(o.rank)).output},
                    out + "." + k + ".pt");
        continue;
      }
      Layer l = make_sharded(k == "elastic-save" ? "switch" : k, comm);
      l.module().train();
      Batch b = make_batch(o.rank);
      auto s = step(l, b);
      s.loss.backward();
      average_gradients(l.module(), *comm);
      std::vector<torch::Tensor> saved = {s.output.detach(), s.loss.detach(), b.x.grad()};
      for (auto& kv : l.module().named_parameters(true)) saved.push_back(kv.value().grad());
      torch::save(saved, out + "." + k + ".pt");
      if (k == "elastic-save") {
        // An SGD step on the shards, then the whole state (every rank gets it; rank 0 saves it).
        {
          torch::NoGradGuard ng;
          for (auto& p : l.module().parameters()) p.sub_(kLr * p.grad());
        }
        auto full = gather_full_state(l.module(), *comm);
        if (o.rank == 0) save_state(full, full_path);
        comm->barrier();  // saved before anyone reloads it
      }
    }
    comm->barrier();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::fflush(stderr);
    std::_Exit(1);  // no destructors: a broken process group must not block the exit
  }
  return 0;
}

// ---- Launching ----

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Launch {
  std::vector<int> codes;  // exit status per rank (-1: killed at the deadline)
  std::vector<std::string> err;
  double seconds = 0;
};

// Starts `ranks` of a world of `world` workers and waits at most `deadline_s` for all of them.
Launch launch(const std::string& kind, int world, const std::vector<int>& ranks,
              const strata::test::TempDir& dir, const std::string& rdv, double deadline_s) {
  const std::string exe = self_exe();
  std::vector<pid_t> pids;
  Launch l;
  auto t0 = std::chrono::steady_clock::now();
  for (int r : ranks) {
    std::vector<std::string> args = {exe, "--ep-worker", kind, std::to_string(r),
                                     std::to_string(world), rdv,
                                     dir / ("rank" + std::to_string(r))};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string err = dir / ("rank" + std::to_string(r) + ".err");
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    pids.push_back(pid);
  }
  l.codes.assign(pids.size(), -2);
  size_t left = pids.size();
  while (left > 0) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (l.codes[i] != -2) continue;
      int st = 0;
      if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        l.codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        --left;
      }
    }
    l.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (left > 0 && l.seconds > deadline_s) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (l.codes[i] == -2) {
          kill(pids[i], SIGKILL);
          waitpid(pids[i], nullptr, 0);
          l.codes[i] = -1;
        }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int r : ranks) l.err.push_back(strata::test::read_file(dir / ("rank" + std::to_string(r) + ".err")));
  return l;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << ": no value";
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err = (got - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  EXPECT_LE(err, kTol + kTol * scale) << what << " (max |want| " << scale << ")";
}

// Compares the workers' results for `kind` with one process holding all experts.
void check_against_single_process(const std::string& kind, int world,
                                  const strata::test::TempDir& dir) {

  // The reference: all experts, each rank's batch a separate group, loss = mean over ranks.
  torch::set_default_dtype(caffe2::TypeMeta::Make<double>());
  Layer ref = make_reference(kind);
  ref.module().train();
  std::vector<Batch> batches;
  std::vector<StepOut> outs;
  torch::Tensor total = torch::zeros({}, torch::kDouble);
  for (int r = 0; r < world; ++r) {
    batches.push_back(make_batch(r));
    outs.push_back(step(ref, batches.back()));
    total = total + outs.back().loss / world;
  }
  total.backward();
  torch::set_default_dtype(caffe2::TypeMeta::Make<float>());
  auto refp = ref.module().named_parameters(true);
  int64_t dropped = 0;  // non-padding rows whose every choice was dropped
  for (int r = 0; r < world; ++r) {
    std::vector<torch::Tensor> got;
    torch::load(got, dir / ("rank" + std::to_string(r) + "." + kind + ".pt"));
    const std::string at = kind + " world " + std::to_string(world) + " rank " + std::to_string(r);
    expect_close(got[0], outs[r].output, at + ": output");
    expect_close(got[1], outs[r].loss, at + ": loss");
    expect_close(got[2] / world, batches[r].x.grad(), at + ": input gradient");
    Layer shape = make_layer(kind, make_local_communicator());  // only for the parameter names
    size_t i = 3;
    const auto first = local_experts(8, r, world).first;
    for (auto& kv : shape.module().named_parameters(true)) {
      auto want = refp[kv.key()].grad();
      if (!want.defined()) want = torch::zeros_like(refp[kv.key()]);  // unused by every rank
      if (is_expert_parameter(kv.key())) want = want.slice(0, first, first + 8 / world);
      expect_close(got[i++], want, at + ": gradient of " + kv.key());
    }
    auto zero = outs[r].output.eq(0).all(1).logical_and(batches[r].pad.reshape({-1}).logical_not());
    dropped += zero.sum().item<int64_t>();
  }
  // The Switch case exercises capacity: some tokens were dropped.
  if (kind == "switch") EXPECT_GT(dropped, 0);
}

// Switch, GShard and SMoE steps on `world` ranks (one launch), each against one process.
void check_layers(int world, bool tcp) {
  strata::test::TempDir dir;
  std::vector<int> ranks(world);
  for (int r = 0; r < world; ++r) ranks[r] = r;
  const std::string rdv = tcp ? "tcp:" + std::to_string(free_port()) : dir / "store";
  auto run = launch("switch,gshard,smoe", world, ranks, dir, rdv, 30);
  for (int r = 0; r < world; ++r) ASSERT_EQ(run.codes[r], 0) << "rank " << r << ": " << run.err[r];
  for (const char* kind : {"switch", "gshard", "smoe"}) check_against_single_process(kind, world, dir);
}

}  // namespace

TEST(ExpertParallelTest, TwoRanksOverTcpStoreEqualOneProcess) { check_layers(2, true); }
TEST(ExpertParallelTest, FourRanksOverFileStoreEqualOneProcess) { check_layers(4, false); }

TEST(ExpertParallelTest, ElasticStateSavedAtFourRanksReloadsAtOneTwoAndFour) {
  // Save: a training step and an SGD update on 4 ranks, gathered into the whole state.
  strata::test::TempDir dir;
  // (The same processes then reload it at world 4.)
  auto run = launch("elastic-save,elastic-load", 4, {0, 1, 2, 3}, dir, dir / "store", 30);
  for (int r = 0; r < 4; ++r) ASSERT_EQ(run.codes[r], 0) << "rank " << r << ": " << run.err[r];
  torch::set_default_dtype(caffe2::TypeMeta::Make<double>());
  // The reference takes the same step with all experts: the saved state must equal it.
  Layer ref = make_reference("switch");
  ref.module().train();
  torch::Tensor total = torch::zeros({}, torch::kDouble);
  for (int r = 0; r < 4; ++r) total = total + step(ref, make_batch(r)).loss / 4;
  total.backward();
  {
    torch::NoGradGuard ng;
    for (auto& p : ref.module().parameters()) p.sub_(kLr * p.grad());
  }
  auto full = load_state(dir / "full.pt");
  for (auto& kv : ref.module().named_parameters(true)) {
    ASSERT_NE(full.find(kv.key()), nullptr) << kv.key();
    expect_close(full[kv.key()], kv.value(), "saved " + kv.key());
  }
  // Reload at world 1 (one process holding all experts) and at worlds 2 and 4: equal logits.
  Layer one = make_layer("switch", nullptr);
  load_full_state(one.module(), full, 0, 1);
  one.module().eval();
  torch::NoGradGuard ng;
  strata::test::TempDir d2;
  std::filesystem::copy_file(dir / "full.pt", d2 / "full.pt");
  auto run2 = launch("elastic-load", 2, {0, 1}, d2, d2 / "store", 30);
  for (int world : {2, 4}) {
    const auto& rl = world == 2 ? run2 : run;
    const auto& at = world == 2 ? d2 : dir;
    for (int r = 0; r < world; ++r) {
      ASSERT_EQ(rl.codes[r], 0) << "world " << world << " rank " << r << ": " << rl.err[r];
      std::vector<torch::Tensor> got;
      torch::load(got, at / ("rank" + std::to_string(r) + ".elastic-load.pt"));
      expect_close(got[0], step(one, make_batch(r)).output,
                   "reload at world " + std::to_string(world) + " rank " + std::to_string(r));
    }
  }
  // A state for 8 experts cannot be loaded into a layer of another shape.
  Layer small(make_layer("switch", nullptr));
  auto bad = full;
  bad["router.wg.weight"] = torch::zeros({3, kD}, torch::kDouble);
  EXPECT_THROW(load_full_state(small.module(), bad, 0, 1), c10::Error);
  torch::set_default_dtype(caffe2::TypeMeta::Make<float>());
}

TEST(ExpertParallelTest, DeadRankFailsEveryOtherRankWithinTimeout) {
  strata::test::TempDir dir;
  auto run = launch("dead", 4, {0, 1, 2, 3}, dir, dir / "store", 15);
  EXPECT_EQ(run.codes[3], 3);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(run.codes[r], 1) << "rank " << r << " (-1: still running at the deadline)";
    EXPECT_NE(run.err[r].find("error: comm(gloo): all_to_all failed on rank " + std::to_string(r) +
                              " of 4"),
              std::string::npos)
        << run.err[r];
  }
  EXPECT_LT(run.seconds, 10.0);
}

TEST(ExpertParallelTest, RankThatNeverJoinsFailsRendezvousWithinTimeout) {
  strata::test::TempDir dir;
  auto run = launch("alone", 2, {0}, dir, "tcp:" + std::to_string(free_port()), 15);
  EXPECT_EQ(run.codes[0], 1);
  EXPECT_NE(run.err[0].find("error: comm(gloo): rendezvous failed on rank 0 of 2"), std::string::npos)
      << run.err[0];
  EXPECT_LT(run.seconds, 10.0);
}

TEST(ExpertParallelTest, AllToAllMovesRowsAndTransposesGradients) {
  // World 1 through the autograd exchange is the identity; its gradient too.
  auto comm = make_local_communicator();
  auto x = torch::randn({5, 3}, torch::requires_grad());
  auto y = all_to_all(x, {5}, {5}, comm);
  EXPECT_TRUE(torch::equal(y, x));
  (y * y).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), 2 * x));
  EXPECT_THROW(comm->all_to_all(x, {4}, {5}), c10::Error);
}

// ---- `strata train --nproc N`, `strata checkpoint split/merge`: the CLI end to end ----
//
// The tiny corpus of nmt_test.cpp and a tiny Switch model (4 experts in every layer, dropout 0 so
// that no random numbers enter training). World W with update_freq 1 takes batches r, r+W, ... of
// the one batch stream on rank r and normalises by the global token count, so it equals world 1
// with update_freq W, routing groups included (each batch is its own group in both). What differs
// is float32 summation order (the gradient all-reduce, the global clipping norm), which Adam can
// magnify where a gradient is near zero (|g| ~ eps): there an element can move up to lr apart per
// update. That happens only in the attention key biases, whose true gradient is exactly zero (see
// max_param_diff); they are held to the bound 2·Σlr. Everything else: max |Δparameter| <=
// kTrainTol after 3 and 5 updates (measured: < 1e-6); the parameters themselves move by
// > 100·kTrainTol between updates 3 and 5. In float32 (train.precision fp32): with bf16 products
// (auto on a CPU with AVX512_BF16) the other summation order moves bf16 roundings, which Adam
// turns into differences of ~lr.

namespace {

namespace nmt = strata::nmt;
const std::string kStrata = STRATA_BIN;
constexpr double kTrainTol = 1e-5;
// Σ lr over updates 1..5 (warm-up from 0 to 0.003 over 10 updates): 0.0045.
constexpr double kKeyBiasBound = 2 * 0.0045;

using strata::test::make_tiny_corpus;

// A tiny Switch model (4 experts in every layer, no dropout), 3 updates, writing to d/<out>.
std::string moe_train_config(const strata::test::TempDir& d, const std::string& data_yaml,
                             const std::string& out) {
  std::string p = d / (out + ".yaml");
  strata::test::write_file(
      p, "model: {d_model: 32, heads: 4, ffn: 64, encoder_layers: 1, decoder_layers: 1, "
         "dropout: 0.0, max_positions: 64,\n"
         "        moe: {type: switch, num_experts: 4, every_k_layers: 1, expert_ffn: 32}}\n"
         "train: {data: " + data_yaml + ", out_dir: " + (d / out) +
         ", max_tokens: 120, lr: 0.003, warmup: 10, max_updates: 3, valid_every: 3, "
         "valid_sentences: 2, log_every: 1, max_len: 30, keep_last: 1, threads: 1, precision: fp32}\n"
         "decode: {beam: 1, batch_size: 8}\n");
  return p;
}

strata::test::RunResult strata_cli(const std::string& args, const strata::test::TempDir& d) {
  return strata::test::run_command(kStrata + " " + args, d.str());
}

// max |a - b| over the parameters of two whole checkpoints (same names and shapes), apart from
// the attention key biases (self-attention in_proj.bias rows [d, 2d), cross-attention
// kv_proj.bias rows [0, d)): softmax is shift-invariant, so their true gradient is zero and what
// Adam sees there is float rounding noise, normalised to steps of up to lr -- different noise in
// every summation order. Their largest difference goes to `*key_bias`.
double max_param_diff(const std::string& a, const std::string& b, double* key_bias = nullptr) {
  auto ca = nmt::load_checkpoint(a), cb = nmt::load_checkpoint(b);
  auto pb = cb.model->named_parameters();
  const int64_t d = ca.config.model.d_model;
  double m = 0, kb = 0;
  for (const auto& p : ca.model->named_parameters()) {
    EXPECT_EQ(p.value().sizes(), pb[p.key()].sizes()) << p.key();
    auto diff = (p.value() - pb[p.key()]).abs();
    auto ends = [&](const std::string& tail) {
      return p.key().size() >= tail.size() &&
             p.key().compare(p.key().size() - tail.size(), tail.size(), tail) == 0;
    };
    torch::Tensor keys;
    if (ends("self_attn.in_proj.bias")) keys = diff.slice(0, d, 2 * d);
    if (ends("cross_attn.kv_proj.bias")) keys = diff.slice(0, 0, d);
    if (keys.defined()) {
      kb = std::max(kb, keys.max().item<double>());
      keys.zero_();
    }
    m = std::max(m, diff.max().item<double>());
  }
  if (key_bias) *key_bias = kb;
  return m;
}

// The "nll" of every valid event of a train.jsonl, in order.
std::vector<double> valid_nll(const std::string& log) {
  std::vector<double> v;
  std::stringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"event\":\"valid\"") == std::string::npos) continue;
    auto at = line.find("\"nll\":");
    if (at != std::string::npos) v.push_back(std::stod(line.substr(at + 6)));
  }
  return v;
}

// Adam's first and second moments of every parameter of a training checkpoint, by name.
std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> adam_moments(const std::string& path) {
  auto ck = nmt::load_checkpoint(path);
  torch::optim::Adam opt(ck.model->parameters(), torch::optim::AdamOptions(1e-3));
  nmt::load_optimizer_state(path, opt);
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& p : ck.model->named_parameters()) {
    auto it = opt.state().find(strata::compat::optimizer_state_key(p.value()));
    if (it == opt.state().end()) continue;
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    out[p.key()] = {s.exp_avg(), s.exp_avg_sq()};
  }
  return out;
}

}  // namespace

TEST(ExpertParallelTrainTest, TwoRanksEqualOneProcessResumeAtEitherWorldSizeSplitAndMerge) {
  strata::test::TempDir d;
  const std::string data = make_tiny_corpus(d);
  // Bad world sizes are one-line errors before anything starts.
  auto r = strata_cli("train --config " + moe_train_config(d, data, "x") + " --nproc 3", d);
  strata::test::expect_one_line_error(r, "model.moe.num_experts=4 is not divisible by --nproc 3");
  r = strata_cli("train --config " + moe_train_config(d, data, "x") + " --nproc 2 --rank 0", d);
  strata::test::expect_one_line_error(r, "--nproc launches its own ranks");

  // 3 updates: one process with update_freq 2 (c), two ranks with update_freq 1 (b).
  r = strata_cli("train --config " + moe_train_config(d, data, "c") + " --set train.update_freq=2",
                 d);
  ASSERT_EQ(r.status, 0) << r.err;
  r = strata_cli("train --config " + moe_train_config(d, data, "b") + " --nproc 2", d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("[rank 1]"), std::string::npos) << r.err;  // rank 0 alone reports
  EXPECT_NE(r.err.find("[train] update 3 |"), std::string::npos) << r.err;
  {
    auto cb = nmt::load_checkpoint(d / "b/last.pt"), cc = nmt::load_checkpoint(d / "c/last.pt");
    ASSERT_TRUE(cb.trainer && cc.trainer);
    EXPECT_EQ(cb.trainer->updates, 3);
    EXPECT_EQ(cb.trainer->batch, cc.trainer->batch);  // both consumed the same 6 batches
    EXPECT_EQ(cb.trainer->pool, cc.trainer->pool);
    ASSERT_TRUE(cb.trainer->rank_rng_states.defined());
    EXPECT_EQ(cb.trainer->rank_rng_states.size(0), 2);
  }
  double key_bias = 0;
  EXPECT_LE(max_param_diff(d / "b/last.pt", d / "c/last.pt", &key_bias), kTrainTol);
  EXPECT_LE(key_bias, kKeyBiasBound);
  std::string log = strata::test::read_file(d / "b/train.jsonl");
  EXPECT_NE(log.find("\"event\":\"replicas\""), std::string::npos) << log;
  // The world-2 checkpoint is whole: a single process translates with it.
  strata::test::write_file(d / "in.txt", "open the file\nsave the page\n");
  r = strata_cli("translate -m " + (d / "b/best.pt") + " --tgt-lang de < " + (d / "in.txt"), d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);

  // Elastic resume to 5 updates, all with the same global batch: b (saved at world 2) at world 1,
  // e (a copy of c, saved at world 1) at world 2, and c at world 1.
  std::filesystem::copy(d / "c", d / "e", std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(d / "c/last.pt", d / "c3.pt");
  r = strata_cli("train --config " + moe_train_config(d, data, "b") +
                     " --set train.update_freq=2 --set train.max_updates=5", d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from"), std::string::npos) << r.err;
  r = strata_cli("train --config " + moe_train_config(d, data, "e") +
                     " --set train.max_updates=5 --nproc 2", d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from"), std::string::npos) << r.err;
  r = strata_cli("train --config " + moe_train_config(d, data, "c") +
                     " --set train.update_freq=2 --set train.max_updates=5", d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LE(max_param_diff(d / "b/last.pt", d / "c/last.pt", &key_bias), kTrainTol);
  EXPECT_LE(key_bias, kKeyBiasBound);
  EXPECT_LE(max_param_diff(d / "e/last.pt", d / "c/last.pt", &key_bias), kTrainTol);
  EXPECT_LE(key_bias, kKeyBiasBound);
  EXPECT_GT(max_param_diff(d / "c/last.pt", d / "c3.pt"), 100 * kTrainTol);  // it did train
  auto nll = valid_nll(strata::test::read_file(d / "b/train.jsonl"));
  ASSERT_EQ(nll.size(), 2u);
  EXPECT_LT(nll[1], nll[0]);  // validation loss at update 5 below update 3's

  // Split into 4 shards, merge them back (given in another order): the same checkpoint.
  r = strata_cli("checkpoint split --in " + (d / "e/last.pt") + " --world-size 4 --out-prefix " +
                     (d / "sh"), d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4);
  std::string shards;
  for (int k : {2, 0, 3, 1}) shards += " " + d / ("sh.rank" + std::to_string(k) + "-of-4.pt");
  r = strata_cli("checkpoint merge --out " + (d / "merged.pt") + shards, d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(max_param_diff(d / "merged.pt", d / "e/last.pt"), 0.0);
  {
    auto shard = nmt::load_shard(d / "sh.rank1-of-4.pt", nullptr);
    EXPECT_EQ(shard.model->named_parameters()["encoder_layers.0.moe.experts.w1"].size(0), 1);
    auto a = adam_moments(d / "merged.pt"), b = adam_moments(d / "e/last.pt");
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    for (const auto& [name, m] : b) {
      EXPECT_TRUE(torch::equal(a[name].first, m.first)) << name;
      EXPECT_TRUE(torch::equal(a[name].second, m.second)) << name;
    }
  }
  // A shard is not a whole checkpoint; an incomplete or mixed set does not merge.
  r = strata_cli("translate -m " + (d / "sh.rank0-of-4.pt") + " --tgt-lang de < " + (d / "in.txt"),
                 d);
  strata::test::expect_one_line_error(r, "a shard (rank 0 of 4) of a split checkpoint; run "
                                         "'strata checkpoint merge' first");
  r = strata_cli("checkpoint merge --out " + (d / "bad.pt") + " " + (d / "sh.rank0-of-4.pt") + " " +
                     (d / "sh.rank2-of-4.pt") + " " + (d / "sh.rank3-of-4.pt"), d);
  strata::test::expect_one_line_error(r, "checkpoint merge: rank 1 of 4 is missing");
  r = strata_cli("checkpoint split --in " + (d / "e/last.pt") + " --world-size 2 --out-prefix " +
                     (d / "two"), d);
  ASSERT_EQ(r.status, 0) << r.err;
  r = strata_cli("checkpoint merge --out " + (d / "bad.pt") + shards + " " +
                     (d / "two.rank0-of-2.pt"), d);
  strata::test::expect_one_line_error(r, "two.rank0-of-2.pt: a shard of world size 2");
  r = strata_cli("checkpoint split --in " + (d / "e/last.pt") + " --world-size 3", d);
  strata::test::expect_one_line_error(r, "--world-size 3 does not divide");
  EXPECT_FALSE(std::filesystem::exists(d / "bad.pt"));
}

namespace {
// The parent pid and the command line (NUL-separated) of process `pid`, or ppid -1.
std::pair<pid_t, std::string> proc_info(pid_t pid) {
  std::string stat = strata::test::read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {-1, ""};
  std::stringstream in(stat.substr(close + 2));
  std::string state;
  pid_t ppid = -1;
  in >> state >> ppid;
  return {ppid, strata::test::read_file("/proc/" + std::to_string(pid) + "/cmdline")};
}
}  // namespace

TEST(ExpertParallelTrainTest, KilledRankStopsTheLauncherWithThatRanksError) {
  strata::test::TempDir d;
  const std::string data = make_tiny_corpus(d);
  const std::string cmd = kStrata + " train --config " + moe_train_config(d, data, "k") +
                          " --nproc 2 --set train.max_updates=100000 --set train.valid_every=100000";
  std::vector<std::string> args = {"/bin/sh", "-c", "exec " + cmd + " 2>" + (d / "k.err")};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t launcher = -1;
  ASSERT_EQ(posix_spawn(&launcher, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
  // Wait until the ranks train (rank 0 logs every update), then kill rank 1.
  auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  int st = 0;
  while (strata::test::read_file(d / "k/train.jsonl").find("\"event\":\"train\"") ==
         std::string::npos) {
    ASSERT_EQ(waitpid(launcher, &st, WNOHANG), 0) << strata::test::read_file(d / "k.err");
    ASSERT_LT(seconds(), 60) << "no training after 60 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid_t rank0 = -1, rank1 = -1;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto [ppid, cmdline] = proc_info(std::stoi(name));
    if (ppid != launcher) continue;
    if (cmdline.find(std::string("--rank\0" "1\0", 9)) != std::string::npos) rank1 = std::stoi(name);
    if (cmdline.find(std::string("--rank\0" "0\0", 9)) != std::string::npos) rank0 = std::stoi(name);
  }
  ASSERT_GT(rank1, 0);
  ASSERT_GT(rank0, 0);
  ASSERT_EQ(kill(rank1, SIGKILL), 0);
  t0 = std::chrono::steady_clock::now();
  while (waitpid(launcher, &st, WNOHANG) == 0) {
    if (seconds() > 30) {
      kill(launcher, SIGKILL);
      waitpid(launcher, &st, 0);
      FAIL() << "the launcher still ran 30 s after rank 1 was killed";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LT(seconds(), 10.0);
  ASSERT_TRUE(WIFEXITED(st));
  strata::test::RunResult res;
  res.status = WEXITSTATUS(st);
  res.err = strata::test::read_file(d / "k.err");
  strata::test::expect_one_line_error(res, "rank 1 of 2 was killed by signal 9");
  EXPECT_NE(kill(rank0, 0), 0);  // rank 0 is gone too (stopped and reaped by the launcher)
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--ep-worker") return worker(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
