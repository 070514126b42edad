#include "nmt/model/checkpoint.h"
#include "nmt/model/packable.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "data/archive.h"
#include "nmt/model/expert_file.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/util/system.h"
#include "nmt/util/torch_compat.h"

namespace strata::nmt {

namespace {
Transformer build_model_unchecked(const ModelConfig& c, int64_t vocab_size, int64_t num_langs,
                                  std::shared_ptr<moe::Communicator> comm);
}

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
  try {
    return build_model_unchecked(c, vocab_size, num_langs, std::move(comm));
  } catch (const c10::Error& e) {
    // The sizes are each in range but together too big for this machine's memory.
    const std::string msg = compat::error_message(e);
    if (msg.find("alloc") == std::string::npos) throw;
    throw Error("model: cannot allocate the model (model.d_model=" + std::to_string(c.d_model) +
                ", model.ffn=" + std::to_string(c.ffn) + ", " + std::to_string(c.encoder_layers) +
                "+" + std::to_string(c.decoder_layers) + " layers, model.moe.num_experts=" +
                std::to_string(c.moe.enabled() ? c.moe.num_experts : 0) + ", vocabulary " +
                std::to_string(vocab_size) + "): out of memory");
  } catch (const std::bad_alloc&) {
    throw Error("model: cannot allocate the model (model.d_model=" + std::to_string(c.d_model) +
                ", model.ffn=" + std::to_string(c.ffn) + "): out of memory");
  }
}

namespace {
Transformer build_model_unchecked(const ModelConfig& c, int64_t vocab_size, int64_t num_langs,
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
}  // namespace

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// The first non-empty line of a LibTorch message (TorchScript's parser reports span lines).
std::string first_line(const std::string& msg) {
  size_t b = msg.find_first_not_of("\n \t");
  if (b == std::string::npos) return "unknown error";
  return msg.substr(b, msg.find('\n', b) - b);
}

// A slim file's "external_experts": the Experts modules whose w1, b1 and w2 are in an expert file,
// and the digest of the checkpoint they were taken from (the model's digest).
struct ExternalExperts {
  std::set<std::string> modules;
  std::string experts_of;
};

// What a file stores outside "model": compressed layers ("compressed"), int8 weights ("int8") and
// experts in an expert file ("external_experts").
struct StoredElsewhere {
  const CompressedModel* compressed = nullptr;
  const Int8Weights* int8 = nullptr;
  const ExternalExperts* external = nullptr;
  // True for the tensors of a compressed layer, the int8 weights and external experts' weights.
  bool operator()(const std::string& name) const {
    if (int8 && int8->count(name)) return true;
    if (external) {
      const size_t dot = name.rfind('.');
      if (dot != std::string::npos && external->modules.count(name.substr(0, dot))) {
        const std::string field = name.substr(dot + 1);
        if (field == "w1" || field == "b1" || field == "w2") return true;
      }
    }
    if (!compressed) return false;
    for (const auto& [module, c] : *compressed)
      if (name.size() > module.size() && name.compare(0, module.size(), module) == 0 &&
          name[module.size()] == '.')
        return true;
    return false;
  }
};


// CPU tensors whatever the model's device, so that every checkpoint loads on a CPU-only build.
void write_module(torch::serialize::OutputArchive& ar, torch::nn::Module& m, const StoredElsewhere& skip) {
  auto cpu = [](const torch::Tensor& t) { return t.is_cpu() ? t : t.detach().cpu(); };
  for (const auto& p : m.named_parameters())
    if (!skip(p.key())) ar.write(p.key(), cpu(p.value()));
  for (const auto& b : m.named_buffers())
    if (!skip(b.key())) ar.write(b.key(), cpu(b.value()), /*is_buffer=*/true);
}

// Reads every parameter and buffer, checking names and shapes (InputArchive would silently
// resize mismatching tensors).
void read_module(torch::serialize::InputArchive& ar, torch::nn::Module& m, const std::string& path,
                 const StoredElsewhere& skip) {
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
  for (auto& p : m.named_parameters())
    if (!skip(p.key())) read_one(p.key(), p.value(), false);
  for (auto& b : m.named_buffers())
    if (!skip(b.key())) read_one(b.key(), b.value(), true);
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

// SHA-256 over everything a checkpoint restores except the optimizer state (which the zip CRCs
// cover): the stored config, languages and SentencePiece model, every model tensor (name, dtype,
// shape, bytes) and the trainer state. Stored as "integrity" and recomputed from what was loaded.
class Digest {
 public:
  Digest() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    TORCH_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "sha256 init");
  }
  void bytes(const void* p, size_t n) {
    TORCH_CHECK(EVP_DigestUpdate(ctx_.get(), p, n) == 1, "sha256 update");
  }
  void str(const std::string& s) {
    uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
  void tensor(const std::string& name, const torch::Tensor& t) {
    str(name);
    if (!t.defined()) return str("undefined");
    auto c = t.contiguous().cpu();
    int64_t dtype = static_cast<int64_t>(c.scalar_type());
    bytes(&dtype, sizeof dtype);
    for (int64_t d : c.sizes()) bytes(&d, sizeof d);
    bytes(c.data_ptr(), c.nbytes());
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    TORCH_CHECK(EVP_DigestFinal_ex(ctx_.get(), md, &n) == 1, "sha256 final");
    static const char* digits = "0123456789abcdef";
    std::string h = "sha256:";
    for (unsigned int i = 0; i < n; ++i) h += {digits[md[i] >> 4], digits[md[i] & 15]};
    return h;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string content_digest(const std::string& config_yaml, const std::string& langs,
                           const std::string& spm_model, torch::nn::Module& model,
                           const TrainerState* trainer, const StoredElsewhere& skip) {
  const CompressedModel* compressed = skip.compressed;
  Digest d;
  d.str(config_yaml);
  d.str(langs);
  d.str(spm_model);
  for (const auto& p : model.named_parameters())
    if (!skip(p.key())) d.tensor(p.key(), p.value());
  for (const auto& b : model.named_buffers())
    if (!skip(b.key())) d.tensor(b.key(), b.value());
  // Int8 weights are digested as stored (absent from the digests of other files).
  if (skip.int8)
    for (const auto& [name, w] : *skip.int8) {
      d.tensor(name + ".q", w.q);
      d.tensor(name + ".scale", w.scale);
    }
  // A slim file digests which experts it leaves out and whose they are (absent from other files).
  if (skip.external) {
    d.str("external_experts");
    d.str(skip.external->experts_of);
    for (const auto& m : skip.external->modules) d.str(m);
  }
  // A compressed layer is digested as stored (restoring it is arithmetic that may round
  // differently on another CPU); absent from the digests of other files.
  if (compressed)
    for (const auto& [module, c] : *compressed) {
      d.str(module);
      d.str(c.method);
      for (const auto& [field, t] : c.tensors()) d.tensor(module + "." + field, t);
    }
  if (trainer) {
    for (int64_t v : {trainer->updates, trainer->pool, trainer->batch, trainer->bad_validations})
      d.bytes(&v, sizeof v);
    for (double v : {trainer->best_valid_loss, trainer->elapsed_s}) d.bytes(&v, sizeof v);
    d.tensor("rng_state", trainer->rng_state);
    d.tensor("rank_rng_states", trainer->rank_rng_states);
    // (only when present, so that the digests of CPU checkpoints are what they were)
    if (trainer->device_rng_state.defined())
      d.tensor("device_rng_state", trainer->device_rng_state);
  }
  return d.hex();
}

}  // namespace

Int8Weights collect_int8_weights(torch::nn::Module& model) {
  Int8Weights out;
  for (const auto& [prefix, m] : packable_modules(model))
    for (auto& [name, w] : m->int8_weights())
      out[prefix.empty() ? name : prefix + "." + name] = {w.q.contiguous(), w.scale.contiguous()};
  return out;
}

namespace {
void save_impl(const std::string& path, const Config& config, const std::vector<std::string>& langs,
               const std::string& spm_model, Transformer& model, torch::optim::Optimizer* optimizer,
               const TrainerState* trainer, const ShardInfo* shard, const CompressedModel* compressed,
               bool int8_weights, const ExternalExperts* external) {
  if (compressed && compressed->empty()) compressed = nullptr;
  TORCH_CHECK(!(int8_weights && compressed), "save_checkpoint: int8 weights and compressed layers do not mix");
  TORCH_CHECK(!(external && (int8_weights || compressed || optimizer || trainer || shard)),
              "save_checkpoint: a slim file holds no int8, compressed, trainer or shard state");
  Int8Weights int8;
  if (int8_weights) int8 = collect_int8_weights(*model);
  const StoredElsewhere skip{compressed, int8_weights ? &int8 : nullptr, external};
  for (const auto& p : model->named_parameters())
    if (!skip(p.key()) && kernels::is_released(p.value()))
      throw Error(path + ": cannot save '" + p.key() +
                  "': the model was loaded with int8 weights only (save it as an int8 checkpoint)");
  torch::serialize::OutputArchive ar;
  ar.write("strata_format",
           torch::tensor(external ? int64_t{5} : int8_weights ? int64_t{4} : compressed ? int64_t{3} : int64_t{2}));
  if (shard) {
    ar.write("shard_rank", torch::tensor(static_cast<int64_t>(shard->rank)));
    ar.write("shard_world", torch::tensor(static_cast<int64_t>(shard->world)));
  }
  const std::string config_yaml = to_yaml(config), lang_list = join(langs);
  ar.write("config", c10::IValue(config_yaml));
  ar.write("langs", c10::IValue(lang_list));
  ar.write("spm_model", c10::IValue(spm_model));
  ar.write("integrity", c10::IValue(content_digest(config_yaml, lang_list, spm_model, *model,
                                                   trainer, skip)));
  torch::serialize::OutputArchive m;
  write_module(m, *model, skip);
  ar.write("model", m);
  if (int8_weights) {
    // "index": one parameter name per line; the tensors as "<name>.q" and "<name>.scale".
    torch::serialize::OutputArchive q;
    std::string index;
    for (const auto& [name, w] : int8) {
      index += name + "\n";
      q.write(name + ".q", w.q);
      q.write(name + ".scale", w.scale);
    }
    q.write("index", c10::IValue(index));
    ar.write("int8", q);
  }
  if (external) {
    // "index": one module per line; "experts_of": the model's digest.
    torch::serialize::OutputArchive x;
    std::string index;
    for (const auto& m : external->modules) index += m + "\n";
    x.write("index", c10::IValue(index));
    x.write("experts_of", c10::IValue(external->experts_of));
    ar.write("external_experts", x);
  }
  if (compressed) {
    // "index": one line "<module> <method>" per layer; the tensors as "<module>.<field>".
    torch::serialize::OutputArchive c;
    std::string index;
    for (const auto& [module, layer] : *compressed) {
      index += module + " " + layer.method + "\n";
      for (const auto& [field, t] : layer.tensors()) c.write(module + "." + field, t.contiguous());
    }
    c.write("index", c10::IValue(index));
    ar.write("compressed", c);
  }
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
    if (trainer->device_rng_state.defined())
      t.write("device_rng_state", trainer->device_rng_state.cpu());
    ar.write("trainer", t);
  }
  // LibTorch's zip writer finishes the file in its destructor, where a failed write would abort
  // the process: every write goes through AtomicFile, which keeps the first error and reports it
  // from commit(), after the archive is complete.
  AtomicFile out(path);
  try {
    ar.save_to([&out](const void* data, size_t n) {
      out.write(data, n);
      return n;
    });
  } catch (const c10::Error& e) {
    std::string msg = compat::error_message(e);
    throw Error(path + ": cannot write checkpoint (" + msg.substr(0, msg.find('\n')) + ")");
  }
  out.commit();
}
}  // namespace

void save_checkpoint(const std::string& path, const Config& config,
                     const std::vector<std::string>& langs, const std::string& spm_model,
                     Transformer& model, torch::optim::Optimizer* optimizer,
                     const TrainerState* trainer, const ShardInfo* shard,
                     const CompressedModel* compressed, bool int8_weights) {
  save_impl(path, config, langs, spm_model, model, optimizer, trainer, shard, compressed, int8_weights, nullptr);
}

void save_slim_checkpoint(const std::string& path, const Checkpoint& ck) {
  if (!ck.compressed.empty() || ck.int8)
    throw Error(path + ": a slim checkpoint is written from a float32 checkpoint (not compressed, not int8)");
  if (ck.digest.empty()) throw Error(path + ": a format-1 checkpoint has no digest to bind its experts to");
  ExternalExperts external;
  external.experts_of = ck.digest;
  for (const auto& m : ck.model->named_modules())
    if (auto* x = m.value()->as<moe::ExpertsImpl>()) {
      if (x->has_source()) throw Error(path + ": layer " + m.key() + " takes its experts from elsewhere; load it whole");
      external.modules.insert(m.key());
    }
  if (external.modules.empty()) throw Error(path + ": the model has no MoE layers (nothing to leave out)");
  Transformer model = ck.model;
  save_impl(path, ck.config, ck.langs, ck.spm_model, model, nullptr, nullptr, nullptr, nullptr, false, &external);
}

namespace {
void open_archive(torch::serialize::InputArchive& ar, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such checkpoint");
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": not a checkpoint file");
  // Every member's CRC first: LibTorch's reader checks none, and parses the TorchScript members.
  try {
    data::verify_zip_file(path);
  } catch (const Error& e) {
    std::string why = e.what();
    throw Error(path + ": corrupt or truncated checkpoint (" + why.substr(path.size() + 2) + ")");
  }
  try {
    ar.load_from(path, torch::Device(torch::kCPU));  // (a GPU run's Adam state too)
  } catch (const c10::Error& e) {
    throw Error(path + ": corrupt or truncated checkpoint (" +
                first_line(compat::error_message(e)) + ")");
  } catch (const std::exception& e) {  // TorchScript's ErrorReport is not a c10::Error
    throw Error(path + ": corrupt or truncated checkpoint (" + first_line(e.what()) + ")");
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
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(path + ": corrupt optimizer state (" + first_line(compat::error_message(e)) + ")");
  } catch (const std::exception& e) {
    throw Error(path + ": corrupt optimizer state (" + first_line(e.what()) + ")");
  }
}

namespace {
// The "compressed" member: every listed layer must name an Experts module of the model; its
// tensors are validated against that module (restored after the digest is checked).
void read_compressed(torch::serialize::InputArchive& ar, TransformerImpl& model,
                     const std::string& path, CompressedModel* out) {
  const std::string index = read_string(ar, "index", path);
  auto modules = model.named_modules();
  std::stringstream lines(index);
  for (std::string line; std::getline(lines, line);) {
    std::stringstream ls(line);
    std::string module, method;
    if (!(ls >> module >> method)) throw Error(path + ": compressed layers: bad index line '" + line + "'");
    const std::string where = path + ": compressed layer '" + module + "'";
    const auto* found = modules.find(module);
    const auto* experts = found ? (*found)->as<moe::ExpertsImpl>() : nullptr;
    if (!experts) throw Error(where + ": the model has no MoE experts of that name");
    if (out->count(module)) throw Error(where + ": listed twice");
    CompressedExperts layer;
    layer.method = method;
    for (const char* field : {"shape", "centers", "group", "b2", "bitmap", "values", "value_scale",
                              "a", "a_scale", "b", "b_scale"}) {
      torch::Tensor t;
      if (ar.try_read(module + "." + field, t) && !layer.set(field, t))
        throw Error(where + ": bad '" + field + "'");
    }
    layer.validate(*experts, where);
    (*out)[module] = std::move(layer);
  }
}

// The "int8" member: every listed name must be a parameter of the model, stored once, with its q
// (int8) and scale (f32) tensors (their shapes are checked by the layer that takes them).
Int8Weights read_int8(torch::serialize::InputArchive& ar, TransformerImpl& model, const std::string& path) {
  const std::string index = read_string(ar, "index", path);
  auto params = model.named_parameters();
  Int8Weights out;
  std::stringstream lines(index);
  for (std::string name; std::getline(lines, name);) {
    const std::string where = path + ": int8 weight '" + name + "'";
    if (!params.find(name)) throw Error(where + ": the model has no parameter of that name");
    if (out.count(name)) throw Error(where + ": listed twice");
    kernels::Int8Weight w;
    if (!ar.try_read(name + ".q", w.q) || !ar.try_read(name + ".scale", w.scale))
      throw Error(where + ": missing its q or scale tensor");
    if (w.q.scalar_type() != torch::kChar || w.scale.scalar_type() != torch::kFloat)
      throw Error(where + ": q must be int8 and scale float32");
    out[name] = std::move(w);
  }
  if (out.empty()) throw Error(path + ": int8 weights: empty index");
  return out;
}

// load_checkpoint (shard null: a shard file is an error) and load_shard.
Checkpoint load_impl(const std::string& path, ShardInfo* shard, const LoadOptions& options) {
  torch::serialize::InputArchive ar;
  open_archive(ar, path);
  Checkpoint c;
  try {
    int64_t format = read_int(ar, "strata_format", path);
    if (format < 1 || format > kCheckpointFormat)
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
    const std::string config_yaml = read_string(ar, "config", path);
    const std::string lang_list = read_string(ar, "langs", path);
    c.config = parse_config(config_yaml, path + " (stored config)");
    std::stringstream ls(lang_list);
    for (std::string l; ls >> l;) c.langs.push_back(l);
    c.spm_model = read_string(ar, "spm_model", path);
    auto tok = data::Tokenizer::from_serialized(c.spm_model, path);
    // A slim file: its experts are in an expert file, so the model is built without them.
    torch::serialize::InputArchive xm;
    ExternalExperts external;
    c.slim = format >= 5 && ar.try_read("external_experts", xm);
    if (c.slim) {
      std::stringstream lines(read_string(xm, "index", path));
      for (std::string m; std::getline(lines, m);)
        if (!external.modules.insert(m).second) throw Error(path + ": external experts: '" + m + "' listed twice");
      external.experts_of = read_string(xm, "experts_of", path);
      if (external.modules.empty() || external.experts_of.empty())
        throw Error(path + ": external experts: empty index or digest");
      if (shard) throw Error(path + ": a slim checkpoint cannot be a shard");
      if (options.expert_file.empty())
        throw Error(path + ": a slim checkpoint (its experts are in an expert file, `strata checkpoint experts "
                           "--slim`): give that file with --expert-file and a budget with --expert-memory");
    }
    if (place && c.config.model.moe.num_experts % shard->world != 0)
      throw Error(path + ": model.moe.num_experts=" + std::to_string(c.config.model.moe.num_experts) +
                  " is not divisible by the shard's world size " + std::to_string(shard->world));
    // An int8 file loaded int8-only: its packable weights are built without storage (their int8
    // forms replace them below), so the float32 model is never allocated.
    torch::serialize::InputArchive im;
    const bool has_int8 = format >= 4 && ar.try_read("int8", im);
    const bool int8_deferred = has_int8 && options.int8_only && !c.slim;
    {
      std::optional<kernels::DeferredStorage> deferred;
      if (c.slim) deferred.emplace(kernels::Deferred::kExperts);
      else if (int8_deferred) deferred.emplace(kernels::Deferred::kPackable);
      c.model = build_model(c.config.model, tok->vocab_size(), static_cast<int64_t>(c.langs.size()),
                            place);
    }
    if (c.slim) {
      std::set<std::string> in_model;
      for (const auto& m : c.model->named_modules())
        if (m.value()->as<moe::ExpertsImpl>()) in_model.insert(m.key());
      if (in_model != external.modules)
        throw Error(path + ": external experts: the index does not list the model's MoE layers");
    }
    torch::serialize::InputArchive cm;
    if (format >= 3 && ar.try_read("compressed", cm)) read_compressed(cm, *c.model, path, &c.compressed);
    const CompressedModel* compressed = c.compressed.empty() ? nullptr : &c.compressed;
    Int8Weights int8;
    if (has_int8) int8 = read_int8(im, *c.model, path);
    if (int8_deferred)
      for (const auto& p : c.model->named_parameters())
        if (kernels::is_released(p.value()) && !int8.count(p.key()))
          throw Error(path + ": int8 checkpoint without an int8 form of '" + p.key() +
                      "' (write it again with `strata quantize`)");
    if (c.slim && (compressed || has_int8)) throw Error(path + ": a slim checkpoint with compressed or int8 weights");
    const StoredElsewhere skip{compressed, has_int8 ? &int8 : nullptr, c.slim ? &external : nullptr};
    torch::serialize::InputArchive m;
    if (!ar.try_read("model", m)) throw Error(path + ": checkpoint has no model weights");
    read_module(m, *c.model, path, skip);
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
      t.try_read("device_rng_state", s.device_rng_state);
      c.trainer = s;
    }
    // Format 1 (before the integrity member) is read on the zip CRCs alone.
    if (format >= 2) {
      const std::string stored = read_string(ar, "integrity", path);
      const std::string actual = content_digest(config_yaml, lang_list, c.spm_model, *c.model,
                                                c.trainer ? &*c.trainer : nullptr, skip);
      if (stored != actual)
        throw Error(path + ": corrupt checkpoint (its contents do not match the stored checksum)");
      c.digest = c.slim ? external.experts_of : stored;
    }
    if (has_int8) {
      // The verified int8 weights into their layers (dequantized, or released: int8_only).
      auto modules = packable_modules(*c.model);
      for (const auto& [name, w] : int8) {
        const auto [owner, local] = packable_owner(modules, name);
        if (!owner) throw Error(path + ": int8 weight '" + name + "' belongs to no layer of the model");
        owner->set_int8_weight(local, w, options.int8_only);
      }
      c.int8 = true;
      if (options.int8_only) release_free_memory();
    }
    // Only verified contents are restored (validated above, before any arithmetic).
    const bool on_dispatch = options.expert_memory >= 0 || options.expert_memory_share >= 0;
    auto budget_of = [&](double dense_bytes) {
      return options.expert_memory >= 0 ? options.expert_memory
                                        : static_cast<int64_t>(options.expert_memory_share * dense_bytes);
    };
    if (c.int8 && on_dispatch)
      throw Error(path + ": an int8 checkpoint keeps its experts resident; --expert-memory and --expert-file "
                         "need the float32 checkpoint");
    if (!options.expert_file.empty()) {
      if (!c.compressed.empty())
        throw Error(path + ": its experts are stored compressed; --expert-memory restores them on dispatch "
                           "without an expert file");
      if (!on_dispatch) throw Error(options.expert_file + ": an expert file needs an expert memory budget");
      auto file = std::make_shared<const ExpertFile>(options.expert_file);
      if (c.digest.empty() || file->checkpoint_digest() != c.digest)
        throw Error(options.expert_file + ": written for another checkpoint than " + path +
                    " (write it again with `strata checkpoint experts`)");
      std::map<std::string, size_t> in_file;
      double dense = 0;
      for (size_t l = 0; l < file->layers().size(); ++l) {
        in_file[file->layers()[l].module] = l;
        dense += static_cast<double>(file->expert_bytes(l) * file->layers()[l].experts);
      }
      std::vector<std::pair<moe::ExpertsImpl*, size_t>> layers;
      for (const auto& m : c.model->named_modules()) {
        auto* x = m.value()->as<moe::ExpertsImpl>();
        if (!x) continue;
        auto it = in_file.find(m.key());
        if (it == in_file.end()) throw Error(options.expert_file + ": has no layer " + m.key() + " of " + path);
        const auto& fl = file->layers()[it->second];
        if (fl.experts != x->w1.size(0) || fl.d != x->w1.size(1) || fl.ffn != x->w1.size(2))
          throw Error(options.expert_file + ": layer " + m.key() + " has another shape than in " + path);
        layers.emplace_back(x, it->second);
      }
      if (layers.size() != in_file.size())
        throw Error(options.expert_file + ": holds layers that " + path + " does not have");
      c.expert_cache = std::make_shared<moe::ExpertCache>(budget_of(dense));
      for (const auto& [x, l] : layers) x->set_source(std::make_shared<MappedSource>(file, l), c.expert_cache);
      release_free_memory();  // the experts loaded from the checkpoint go back to the system
    } else if (on_dispatch && !c.compressed.empty()) {
      double dense = 0;
      for (const auto& [module, layer] : c.compressed)
        dense += 4.0 * static_cast<double>(layer.num_experts() * layer.ffn * (2 * layer.d_model() + 1));
      c.expert_cache = std::make_shared<moe::ExpertCache>(budget_of(dense));
      for (const auto& [module, layer] : c.compressed)
        c.model->named_modules()[module]->as<moe::ExpertsImpl>()->set_source(
            std::make_shared<CompressedSource>(layer), c.expert_cache);
      release_free_memory();  // the dense experts' storage goes back to the system
    } else {
      for (const auto& [module, layer] : c.compressed)
        layer.restore_into(*c.model->named_modules()[module]->as<moe::ExpertsImpl>());
    }
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(path + ": corrupt checkpoint (" + first_line(compat::error_message(e)) + ")");
  } catch (const std::exception& e) {
    throw Error(path + ": corrupt checkpoint (" + first_line(e.what()) + ")");
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

Checkpoint load_checkpoint(const std::string& path, const LoadOptions& options) {
  return load_impl(path, nullptr, options);
}

Checkpoint load_shard(const std::string& path, ShardInfo* info) {
  ShardInfo tmp;
  return load_impl(path, info ? info : &tmp, LoadOptions{});
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

PackableModules packable_modules(torch::nn::Module& model) {
  PackableModules out;
  if (auto* p = dynamic_cast<kernels::PackableModule*>(&model)) out.emplace_back("", p);
  for (const auto& m : model.named_modules("", /*include_self=*/false))
    if (auto* p = dynamic_cast<kernels::PackableModule*>(m.value().get())) out.emplace_back(m.key(), p);
  return out;
}

std::pair<kernels::PackableModule*, std::string> packable_owner(const PackableModules& modules,
                                                                const std::string& name) {
  kernels::PackableModule* owner = nullptr;
  std::string local;
  size_t longest = 0;
  for (const auto& [prefix, mod] : modules) {
    const bool fits = prefix.empty() || (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
                                         name[prefix.size()] == '.');
    if (!fits || (owner && prefix.size() <= longest)) continue;
    owner = mod;
    longest = prefix.size();
    local = prefix.empty() ? name : name.substr(prefix.size() + 1);
  }
  return {owner, local};
}

}  // namespace strata::nmt
