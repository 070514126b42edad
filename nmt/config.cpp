#include "nmt/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>
#include <type_traits>

#include "kernels/device.h"
#include "nmt/util/error.h"
#include "nmt/util/range.h"
#include "nmt/util/yaml_config.h"

namespace strata::nmt {

namespace {

// Every numeric field has its Range (nmt/util/range.h) in the table below; reading checks it with
// a one-line error naming the field ("configs/x.yaml: train.lr: must be in (0, 10], got inf"),
// before anything is built or tokenised.

// One table of fields drives reading and writing, so the two never disagree; every numeric field
// has its range here.
template <class Visitor>
void visit(Config& c, Visitor&& v) {
  v("model", "d_model", c.model.d_model, in(1, 65536));
  v("model", "heads", c.model.heads, in(1, 1024));
  v("model", "ffn", c.model.ffn, in(1, 1 << 20));
  v("model", "encoder_layers", c.model.encoder_layers, in(1, 256));
  v("model", "decoder_layers", c.model.decoder_layers, in(1, 256));
  v("model", "dropout", c.model.dropout, prob());
  v("model", "attention_dropout", c.model.attention_dropout, prob());
  v("model", "activation_dropout", c.model.activation_dropout, prob());
  v("model", "max_positions", c.model.max_positions, in(4, 1 << 20));
  v("model", "decoder_lang_tag", c.model.decoder_lang_tag);
  v("model.moe", "type", c.model.moe.type);
  v("model.moe", "num_experts", c.model.moe.num_experts, in(1, 4096));
  v("model.moe", "expert_ffn", c.model.moe.expert_ffn, in(0, 1 << 20));
  v("model.moe", "top_k", c.model.moe.top_k, in(0, 4096));
  v("model.moe", "every_k_layers", c.model.moe.every_k_layers, in(1, 256));
  v("model.moe", "capacity_factor", c.model.moe.capacity_factor, any_finite());
  v("model.moe", "eval_capacity", c.model.moe.eval_capacity, any_finite());
  v("model.moe", "aux_loss_weight", c.model.moe.aux_loss_weight, at_least(0));
  v("model.moe", "z_loss_weight", c.model.moe.z_loss_weight, at_least(0));
  v("model.moe", "strata", c.model.moe.strata);
  v("model.moe", "stratum_norms", c.model.moe.stratum_norms);
  v("model.moe", "eom", c.model.moe.eom, prob());
  v("model.moe", "expert_ffn_dropout", c.model.moe.expert_ffn_dropout, prob());
  v("model.moe", "router", c.model.moe.router);
  v("model.moe", "shared_router", c.model.moe.shared_router);
  v("model.moe", "expert_dropout", c.model.moe.expert_dropout, prob());
  v("model.moe", "ac_dispersion", c.model.moe.ac_dispersion);
  v("model.moe", "ac_momentum", c.model.moe.ac_momentum, left_open(0, 1));
  v("model.moe", "hash_seed", c.model.moe.hash_seed, any_finite());
  v("model.lms", "mode", c.model.lms.mode);
  v("model.lms", "rank", c.model.lms.rank, in(1, 65536));
  v("model.lms", "placement", c.model.lms.placement);
  v("model.lms", "every_k_layers", c.model.lms.every_k_layers, in(1, 256));
  v("train", "data", c.train.data);
  v("train", "out_dir", c.train.out_dir);
  v("train", "max_tokens", c.train.max_tokens, in(16, 1 << 30));
  v("train", "update_freq", c.train.update_freq, in(1, 1 << 20));
  v("train", "lr", c.train.lr, left_open(0, 10));
  v("train", "warmup", c.train.warmup, at_least(0));
  v("train", "warmup_init_lr", c.train.warmup_init_lr, in(0, 10));
  v("train", "adam_beta1", c.train.adam_beta1, prob());
  v("train", "adam_beta2", c.train.adam_beta2, prob());
  v("train", "adam_eps", c.train.adam_eps, left_open(0, 1));
  v("train", "weight_decay", c.train.weight_decay, at_least(0));
  v("train", "clip_norm", c.train.clip_norm, at_least(0));
  v("train", "label_smoothing", c.train.label_smoothing, prob());
  v("train", "temperature", c.train.temperature, above(0));
  v("train", "max_len", c.train.max_len, in(2, 1 << 20));
  v("train", "max_updates", c.train.max_updates, at_least(0));
  v("train", "max_minutes", c.train.max_minutes, at_least(0));
  v("train", "valid_every", c.train.valid_every, at_least(1));
  v("train", "valid_sentences", c.train.valid_sentences, at_least(1));
  v("train", "patience", c.train.patience, at_least(0));
  v("train", "keep_last", c.train.keep_last, at_least(0));
  v("train", "log_every", c.train.log_every, at_least(1));
  v("train", "seed", c.train.seed, at_least(0));
  v("train", "threads", c.train.threads, in(0, 1024));
  v("train", "device", c.train.device);
  v("train", "precision", c.train.precision);
  v("train", "mask_placeholders", c.train.mask_placeholders);
  v("train", "fuse_distillation", c.train.fuse_distillation);
  v("train", "fd_weight", c.train.fd_weight, at_least(0));
  v("train", "kd_teacher", c.train.kd_teacher);
  v("train", "kd_weight", c.train.kd_weight, in(0, 1));
  v("decode", "beam", c.decode.beam, in(1, 1024));
  v("decode", "lenpen", c.decode.lenpen, any_finite());
  v("decode", "max_len_a", c.decode.max_len_a, at_least(0));
  v("decode", "max_len_b", c.decode.max_len_b, at_least(0));
  v("decode", "batch_size", c.decode.batch_size, in(1, 1 << 20));
  v("decode", "nbest", c.decode.nbest, in(1, 1024));
  v("decode", "no_repeat_ngram_size", c.decode.no_repeat_ngram_size, at_least(0));
  v("decode", "repetition_penalty", c.decode.repetition_penalty, at_least(1));
}

// The rules between fields (each field's own range is checked while reading, in visit's table).
void validate(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw Error(name + ": " + field + ": " + why);
  };
  const auto& m = c.model;
  if (m.d_model % m.heads)
    fail("model.heads", "must divide model.d_model=" + std::to_string(m.d_model) + ", got " +
                            std::to_string(m.heads));
  const auto& moe = m.moe;
  moe::validate_moe_config(moe, [&](const std::string& field, const std::string& why) {
    fail("model.moe." + field, why);
  });
  const auto& lms = m.lms;
  if (lms.enabled() && moe.enabled())
    fail("model.lms.mode", "LMS applies to dense FFN layers and cannot be combined with "
                           "model.moe.type=" + moe.type);
  const auto& t = c.train;
  if (t.fuse_distillation && !lms.enabled())
    fail("train.fuse_distillation", "needs an LMS model (model.lms.mode: pair or lang)");
  if (!t.kd_teacher.empty() && t.fuse_distillation)
    fail("train.kd_teacher", "word-level KD cannot be combined with train.fuse_distillation");
  if (t.max_len + 2 > m.max_positions)
    fail("train.max_len", "must be <= model.max_positions - 2 = " +
                              std::to_string(m.max_positions - 2) + ", got " +
                              std::to_string(t.max_len));
  if (!kernels::valid_device_name(t.device))
    fail("train.device", "must be cpu, cuda or cuda:N, got '" + t.device + "'");
  if (c.decode.nbest > c.decode.beam)
    fail("decode.nbest", "must be in [1, decode.beam=" + std::to_string(c.decode.beam) + "], got " +
                             std::to_string(c.decode.nbest));
}

Config read(const YAML::Node& root, const std::string& name) {
  Config c;
  YamlMap top(root, name, "");
  std::map<std::string, YamlMap> sections;
  for (const char* s : {"model", "train", "decode"}) sections.emplace(s, top.child(s));
  sections.emplace("model.moe", sections.at("model").child("moe"));
  sections.emplace("model.lms", sections.at("model").child("lms"));
  visit(c, [&](const char* section, const char* key, auto& field, Range range = {}) {
    using T = std::decay_t<decltype(field)>;
    YamlMap& map = sections.at(section);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      map.read(key, field);
      if (!range.contains(static_cast<double>(field)))
        throw Error(map.where(key) + ": " + range.violation(field));
    } else if constexpr (std::is_enum_v<T>) {  // parsed here, once, from the enum's name table
      const auto& names = names_of(T{});
      std::string name = enum_name(names, field);
      map.read(key, name);
      auto value = enum_value(names, name);
      if (!value)
        throw Error(map.where(key) + ": must be " + join_alternatives(enum_names(names)) +
                    ", got '" + name + "'");
      field = *value;
    } else {
      map.read(key, field);
    }
  });
  for (auto& [s, m] : sections) m.finish();
  top.finish();
  validate(c, name);
  return c;
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return read(load_yaml(path, overrides), path);
}

Config parse_config(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(name + ": invalid stored config (" + e.msg + ")");
  }
  return read(root, name);
}

std::string to_yaml(const Config& cfg) {
  Config c = cfg;
  YAML::Node root;
  visit(c, [&](const char* section, const char* key, auto& field, Range = {}) {
    using T = std::decay_t<decltype(field)>;
    std::string sec = section;
    auto dot = sec.find('.');
    auto set = [&](const auto& value) {
      if (dot == std::string::npos) root[sec][key] = value;
      else root[sec.substr(0, dot)][sec.substr(dot + 1)][key] = value;
    };
    if constexpr (std::is_enum_v<T>) set(enum_name(names_of(T{}), field));
    else set(field);
  });
  YAML::Emitter out;
  out << root;
  return out.c_str();
}

}  // namespace strata::nmt
