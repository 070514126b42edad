#include "nmt/model/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/error.h"
#include "nmt/util/torch_compat.h"

namespace strata::nmt {

MoeOptions moe_options(const MoeConfig& c) {
  MoeOptions m;
  if (c.type == "none") return m;
  m.num_experts = c.num_experts;
  m.expert_ffn = c.expert_ffn;
  m.top_k = c.resolved_top_k();
  m.every_k_layers = c.every_k_layers;
  m.capacity_factor = c.capacity_factor;
  m.eval_capacity_factor = c.eval_capacity;
  if (c.type == "smoe") m.strata.assign(c.strata.begin(), c.strata.end());
  return m;
}

Transformer build_model(const ModelConfig& c, int64_t vocab_size) {
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
                         .moe(moe_options(c.moe)));
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
                     const TrainerState* trainer) {
  torch::serialize::OutputArchive ar;
  ar.write("strata_format", torch::tensor(kCheckpointFormat));
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

Checkpoint load_checkpoint(const std::string& path) {
  torch::serialize::InputArchive ar;
  open_archive(ar, path);
  Checkpoint c;
  try {
    int64_t format = read_int(ar, "strata_format", path);
    if (format != kCheckpointFormat)
      throw Error(path + ": checkpoint format " + std::to_string(format) + ", this strata reads " +
                  std::to_string(kCheckpointFormat));
    c.config = parse_config(read_string(ar, "config", path), path + " (stored config)");
    std::stringstream ls(read_string(ar, "langs", path));
    for (std::string l; ls >> l;) c.langs.push_back(l);
    c.spm_model = read_string(ar, "spm_model", path);
    auto tok = data::Tokenizer::from_serialized(c.spm_model, path);
    c.model = build_model(c.config.model, tok->vocab_size());
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
      c.trainer = s;
    }
  } catch (const c10::Error& e) {
    std::string msg = compat::error_message(e);
    throw Error(path + ": corrupt checkpoint (" + msg.substr(0, msg.find('\n')) + ")");
  }
  return c;
}

std::unique_ptr<data::Tokenizer> checkpoint_tokenizer(const Checkpoint& ckpt) {
  return data::Tokenizer::from_serialized(ckpt.spm_model, "checkpoint");
}

}  // namespace strata::nmt
