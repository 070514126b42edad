#include "nmt/model/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "nmt/util/error.h"
#include "nmt/util/torch_compat.h"

namespace strata::nmt {

LmsOptions lms_options(const LmsConfig& c, int64_t num_langs) {
  LmsOptions l;
  if (!c.enabled()) return l;
  if (num_langs < 1)
    throw Error("model.lms.mode=" + enum_name(names_of(c.mode), c.mode) +
                " needs the model's languages (none were given)");
  l.mode = c.mode;
  l.num_langs = num_langs;
  l.rank = c.rank;
  l.attention = c.placement == LmsPlacement::kFfnAttn;
  l.every_k_layers = c.every_k_layers;
  return l;
}

Transformer build_model(const ModelConfig& c, int64_t vocab_size, int64_t num_langs,
                        std::shared_ptr<moe::Communicator> comm) {
  return Transformer(TransformerOptions(vocab_size)
                         .d_model(c.d_model)
                         .heads(c.heads)
                         .ffn(c.ffn)
                         .encoder_layers(c.encoder_layers)
                         .decoder_layers(c.decoder_layers)
                         .dropout(c.dropout)
                         .attention_dropout(c.attention_dropout)
                         .activation_dropout(c.activation_dropout)
                         .max_positions(c.max_positions)
                         .pad_id(data::kPadId)
                         .moe(c.moe)
                         .lms(lms_options(c.lms, num_langs)),
                     std::move(comm));
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

void write_module(torch::serialize::OutputArchive& ar, torch::nn::Module& m) {
  for (const auto& p : m.named_parameters()) ar.write(p.key(), p.value());
  for (const auto& b : m.named_buffers()) ar.write(b.key(), b.value(), /*is_buffer=*/true);
}

// Reads every parameter and buffer, checking names and shapes (InputArchive would silently
// resize mismatching tensors).
void read_module(torch::serialize::InputArchive& ar, torch::nn::Module& m, const std::string& path) {
  torch::NoGradGuard no_grad;
  auto read_one = [&](const std::string& name, torch::Tensor& dst, bool buffer) {
    torch::Tensor t;
    if (!ar.try_read(name, t, buffer))
      throw Error(path + ": checkpoint has no tensor '" + name + "' (config and weights disagree)");
    if (t.sizes() != dst.sizes()) {
      std::ostringstream os;
      os << path << ": tensor '" << name << "' has shape " << t.sizes() << ", the config gives "
         << dst.sizes();
      throw Error(os.str());
    }
    dst.copy_(t);
  };
  for (auto& p : m.named_parameters()) read_one(p.key(), p.value(), false);
  for (auto& b : m.named_buffers()) read_one(b.key(), b.value(), true);
}

std::string read_string(torch::serialize::InputArchive& ar, const char* key, const std::string& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString())
    throw Error(path + ": not a Strata checkpoint (no '" + std::string(key) + "')");
  return v.toStringRef();
}

int64_t read_int(torch::serialize::InputArchive& ar, const char* key, const std::string& path) {
  torch::Tensor t;
  if (!ar.try_read(key, t) || t.numel() != 1)
    throw Error(path + ": not a Strata checkpoint (no '" + std::string(key) + "')");
  return t.item<int64_t>();
}

}  // namespace

void save_checkpoint(const std::string& path, const Config& config,
                     const std::vector<std::string>& langs, const std::string& spm_model,
                     Transformer& model, torch::optim::Optimizer* optimizer,
                     const TrainerState* trainer, const ShardInfo* shard) {
  torch::serialize::OutputArchive ar;
  ar.write("strata_format", torch::tensor(kCheckpointFormat));
  if (shard) {
    ar.write("shard_rank", torch::tensor(static_cast<int64_t>(shard->rank)));
    ar.write("shard_world", torch::tensor(static_cast<int64_t>(shard->world)));
  }
  ar.write("config", c10::IValue(to_yaml(config)));
  ar.write("langs", c10::IValue(join(langs)));
  ar.write("spm_model", c10::IValue(spm_model));
  torch::serialize::OutputArchive m;
  write_module(m, *model);
  ar.write("model", m);
  if (optimizer) {
    torch::serialize::OutputArchive o;
    optimizer->save(o);
    ar.write("optimizer", o);
  }
  if (trainer) {
    torch::serialize::OutputArchive t;
    t.write("updates", torch::tensor(trainer->updates));
    t.write("pool", torch::tensor(trainer->pool));
    t.write("batch", torch::tensor(trainer->batch));
    t.write("best_valid_loss", torch::tensor(trainer->best_valid_loss, torch::kDouble));
    t.write("bad_validations", torch::tensor(trainer->bad_validations));
    t.write("elapsed_s", torch::tensor(trainer->elapsed_s, torch::kDouble));
    t.write("rng_state", trainer->rng_state);
    if (trainer->rank_rng_states.defined()) t.write("rank_rng_states", trainer->rank_rng_states);
    ar.write("trainer", t);
  }
  std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint (" +
                std::string(compat::error_message(e)).substr(0, 200) + ")");
  }
  std::filesystem::rename(tmp, path);
}

namespace {
void open_archive(torch::serialize::InputArchive& ar, const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such checkpoint");
  try {
    ar.load_from(path);
  } catch (const c10::Error&) {
    throw Error(path + ": corrupt or truncated checkpoint (cannot read the archive)");
  }
}
}  // namespace

void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive ar;
  open_archive(ar, path);
  torch::serialize::InputArchive o;
  try {
    if (!ar.try_read("optimizer", o)) throw Error(path + ": not a training checkpoint (no optimizer)");
    optimizer.load(o);
  } catch (const c10::Error& e) {
    std::string msg = compat::error_message(e);
    throw Error(path + ": corrupt optimizer state (" + msg.substr(0, msg.find('\n')) + ")");
  }
}

namespace {
// load_checkpoint (shard null: a shard file is an error) and load_shard.
Checkpoint load_impl(const std::string& path, ShardInfo* shard) {
  torch::serialize::InputArchive ar;
  open_archive(ar, path);
  Checkpoint c;
  try {
    int64_t format = read_int(ar, "strata_format", path);
    if (format != kCheckpointFormat)
      throw Error(path + ": checkpoint format " + std::to_string(format) + ", this strata reads " +
                  std::to_string(kCheckpointFormat));
    torch::Tensor sr, sw;
    const bool is_shard = ar.try_read("shard_rank", sr) && ar.try_read("shard_world", sw);
    if (!shard && is_shard)
      throw Error(path + ": a shard (rank " + std::to_string(sr.item<int64_t>()) + " of " +
                  std::to_string(sw.item<int64_t>()) +
                  ") of a split checkpoint; run 'strata checkpoint merge' first");
    if (shard && !is_shard) throw Error(path + ": not a shard of a split checkpoint");
    std::shared_ptr<moe::Communicator> place;
    if (shard) {
      shard->rank = static_cast<int>(sr.item<int64_t>());
      shard->world = static_cast<int>(sw.item<int64_t>());
      if (shard->world < 1 || shard->rank < 0 || shard->rank >= shard->world)
        throw Error(path + ": bad shard rank " + std::to_string(shard->rank) + " of " +
                    std::to_string(shard->world));
      place = placement_only_communicator(shard->rank, shard->world);
    }
    c.config = parse_config(read_string(ar, "config", path), path + " (stored config)");
    std::stringstream ls(read_string(ar, "langs", path));
    for (std::string l; ls >> l;) c.langs.push_back(l);
    c.spm_model = read_string(ar, "spm_model", path);
    auto tok = data::Tokenizer::from_serialized(c.spm_model, path);
    if (place && c.config.model.moe.num_experts % shard->world != 0)
      throw Error(path + ": model.moe.num_experts=" + std::to_string(c.config.model.moe.num_experts) +
                  " is not divisible by the shard's world size " + std::to_string(shard->world));
    c.model = build_model(c.config.model, tok->vocab_size(), static_cast<int64_t>(c.langs.size()),
                          place);
    torch::serialize::InputArchive m;
    if (!ar.try_read("model", m)) throw Error(path + ": checkpoint has no model weights");
    read_module(m, *c.model, path);
    torch::serialize::InputArchive t;
    if (ar.try_read("trainer", t)) {
      TrainerState s;
      s.updates = read_int(t, "updates", path);
      s.pool = read_int(t, "pool", path);
      s.batch = read_int(t, "batch", path);
      torch::Tensor x;
      t.read("best_valid_loss", x);
      s.best_valid_loss = x.item<double>();
      s.bad_validations = read_int(t, "bad_validations", path);
      t.read("elapsed_s", x);
      s.elapsed_s = x.item<double>();
      t.read("rng_state", s.rng_state);
      t.try_read("rank_rng_states", s.rank_rng_states);
      c.trainer = s;
    }
  } catch (const c10::Error& e) {
    std::string msg = compat::error_message(e);
    throw Error(path + ": corrupt checkpoint (" + msg.substr(0, msg.find('\n')) + ")");
  }
  return c;
}

// Knows its rank and world (all a MoE layer's constructor asks); refuses every exchange.
class PlacementOnlyCommunicator : public moe::Communicator {
 public:
  PlacementOnlyCommunicator(int rank, int world)
      : Communicator(std::chrono::milliseconds(0)), rank_(rank), world_(world) {}
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "none"; }
  torch::Tensor all_to_all(const torch::Tensor&, const std::vector<int64_t>&,
                           const std::vector<int64_t>&) override {
    refuse("all_to_all");
  }
  void all_reduce(torch::Tensor&, moe::ReduceOp) override { refuse("all_reduce"); }
  void barrier() override { refuse("barrier"); }

 private:
  [[noreturn]] void refuse(const char* op) const {
    throw Error(std::string("a shard's model (rank ") + std::to_string(rank_) + " of " +
                std::to_string(world_) + ") cannot run " + op +
                " outside a distributed run: merge the shards ('strata checkpoint merge')");
  }
  int rank_, world_;
};
}  // namespace

Checkpoint load_checkpoint(const std::string& path) { return load_impl(path, nullptr); }

Checkpoint load_shard(const std::string& path, ShardInfo* info) {
  ShardInfo tmp;
  return load_impl(path, info ? info : &tmp);
}

std::shared_ptr<moe::Communicator> placement_only_communicator(int rank, int world) {
  return std::make_shared<PlacementOnlyCommunicator>(rank, world);
}

Checkpoint condense_lms(const Checkpoint& lms, const std::string& name) {
  if (!lms.config.model.lms.enabled())
    throw Error(name + ": not an LMS model (model.lms.mode is none): nothing to condense");
  Checkpoint out;
  out.config = lms.config;
  out.config.model.lms = LmsConfig();
  out.config.train.fuse_distillation = false;
  out.langs = lms.langs;
  out.spm_model = lms.spm_model;
  const int64_t vocab = lms.model->embed->weight.size(0);
  out.model = build_model(out.config.model, vocab, static_cast<int64_t>(out.langs.size()));
  // Every LMS linear folds its shared slot; everything else is copied by name.
  auto src = lms.model->named_parameters();
  std::map<std::string, torch::Tensor> folded;
  for (const auto& m : lms.model->named_modules()) {
    auto* l = m.value()->as<LmsLinearImpl>();
    if (l && l->has_banks())
      folded[m.key() + ".weight"] = l->merged_weight(l->options.num_langs());
  }
  torch::NoGradGuard no_grad;
  for (auto& p : out.model->named_parameters()) {
    auto it = folded.find(p.key());
    const torch::Tensor* t = it != folded.end() ? &it->second : src.find(p.key());
    if (!t) throw Error(name + ": no tensor '" + p.key() + "' for the condensed model");
    TORCH_INTERNAL_ASSERT(t->sizes() == p.value().sizes(), "condense_lms: shape of ", p.key());
    p.value().copy_(*t);
  }
  auto src_buffers = lms.model->named_buffers();
  for (auto& b : out.model->named_buffers()) {
    const torch::Tensor* t = src_buffers.find(b.key());
    if (t) b.value().copy_(*t);
  }
  return out;
}

std::unique_ptr<data::Tokenizer> checkpoint_tokenizer(const Checkpoint& ckpt) {
  return data::Tokenizer::from_serialized(ckpt.spm_model, "checkpoint");
}

}  // namespace strata::nmt
