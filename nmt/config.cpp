#include "nmt/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>
#include <type_traits>

#include "nmt/util/error.h"
#include "nmt/util/yaml_config.h"

namespace strata::nmt {

namespace {

// One table of fields drives reading and writing, so the two never disagree.
template <class Visitor>
void visit(Config& c, Visitor&& v) {
  v("model", "d_model", c.model.d_model);
  v("model", "heads", c.model.heads);
  v("model", "ffn", c.model.ffn);
  v("model", "encoder_layers", c.model.encoder_layers);
  v("model", "decoder_layers", c.model.decoder_layers);
  v("model", "dropout", c.model.dropout);
  v("model", "attention_dropout", c.model.attention_dropout);
  v("model", "activation_dropout", c.model.activation_dropout);
  v("model", "max_positions", c.model.max_positions);
  v("model", "decoder_lang_tag", c.model.decoder_lang_tag);
  v("model.moe", "type", c.model.moe.type);
  v("model.moe", "num_experts", c.model.moe.num_experts);
  v("model.moe", "expert_ffn", c.model.moe.expert_ffn);
  v("model.moe", "top_k", c.model.moe.top_k);
  v("model.moe", "every_k_layers", c.model.moe.every_k_layers);
  v("model.moe", "capacity_factor", c.model.moe.capacity_factor);
  v("model.moe", "eval_capacity", c.model.moe.eval_capacity);
  v("model.moe", "aux_loss_weight", c.model.moe.aux_loss_weight);
  v("model.moe", "z_loss_weight", c.model.moe.z_loss_weight);
  v("model.moe", "strata", c.model.moe.strata);
  v("model.moe", "eom", c.model.moe.eom);
  v("model.moe", "expert_ffn_dropout", c.model.moe.expert_ffn_dropout);
  v("model.moe", "router", c.model.moe.router);
  v("model.moe", "shared_router", c.model.moe.shared_router);
  v("model.moe", "expert_dropout", c.model.moe.expert_dropout);
  v("model.moe", "ac_dispersion", c.model.moe.ac_dispersion);
  v("model.moe", "ac_momentum", c.model.moe.ac_momentum);
  v("model.moe", "hash_seed", c.model.moe.hash_seed);
  v("model.lms", "mode", c.model.lms.mode);
  v("model.lms", "rank", c.model.lms.rank);
  v("model.lms", "placement", c.model.lms.placement);
  v("model.lms", "every_k_layers", c.model.lms.every_k_layers);
  v("train", "data", c.train.data);
  v("train", "out_dir", c.train.out_dir);
  v("train", "max_tokens", c.train.max_tokens);
  v("train", "update_freq", c.train.update_freq);
  v("train", "lr", c.train.lr);
  v("train", "warmup", c.train.warmup);
  v("train", "warmup_init_lr", c.train.warmup_init_lr);
  v("train", "adam_beta1", c.train.adam_beta1);
  v("train", "adam_beta2", c.train.adam_beta2);
  v("train", "adam_eps", c.train.adam_eps);
  v("train", "weight_decay", c.train.weight_decay);
  v("train", "clip_norm", c.train.clip_norm);
  v("train", "label_smoothing", c.train.label_smoothing);
  v("train", "temperature", c.train.temperature);
  v("train", "max_len", c.train.max_len);
  v("train", "max_updates", c.train.max_updates);
  v("train", "max_minutes", c.train.max_minutes);
  v("train", "valid_every", c.train.valid_every);
  v("train", "valid_sentences", c.train.valid_sentences);
  v("train", "patience", c.train.patience);
  v("train", "keep_last", c.train.keep_last);
  v("train", "log_every", c.train.log_every);
  v("train", "seed", c.train.seed);
  v("train", "threads", c.train.threads);
  v("train", "precision", c.train.precision);
  v("train", "fuse_distillation", c.train.fuse_distillation);
  v("train", "fd_weight", c.train.fd_weight);
  v("train", "kd_teacher", c.train.kd_teacher);
  v("train", "kd_weight", c.train.kd_weight);
  v("decode", "beam", c.decode.beam);
  v("decode", "lenpen", c.decode.lenpen);
  v("decode", "max_len_a", c.decode.max_len_a);
  v("decode", "max_len_b", c.decode.max_len_b);
  v("decode", "batch_size", c.decode.batch_size);
  v("decode", "nbest", c.decode.nbest);
  v("decode", "no_repeat_ngram_size", c.decode.no_repeat_ngram_size);
  v("decode", "repetition_penalty", c.decode.repetition_penalty);
}

void validate(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw Error(name + ": " + field + ": " + why);
  };
  const auto& m = c.model;
  if (m.d_model <= 0) fail("model.d_model", "must be > 0");
  if (m.heads <= 0 || m.d_model % m.heads)
    fail("model.heads", "must divide model.d_model=" + std::to_string(m.d_model) + ", got " +
                            std::to_string(m.heads));
  if (m.ffn <= 0) fail("model.ffn", "must be > 0");
  if (m.encoder_layers < 1) fail("model.encoder_layers", "must be >= 1");
  if (m.decoder_layers < 1) fail("model.decoder_layers", "must be >= 1");
  const auto& moe = m.moe;
  moe::validate_moe_config(moe, [&](const std::string& field, const std::string& why) {
    fail("model.moe." + field, why);
  });
  const auto& lms = m.lms;
  if (lms.enabled()) {
    if (lms.rank < 1) fail("model.lms.rank", "must be >= 1, got " + std::to_string(lms.rank));
    if (lms.every_k_layers < 1) fail("model.lms.every_k_layers", "must be >= 1");
    if (moe.enabled())
      fail("model.lms.mode", "LMS applies to dense FFN layers and cannot be combined with "
                             "model.moe.type=" + moe.type);
  }
  if (c.train.fuse_distillation && !lms.enabled())
    fail("train.fuse_distillation", "needs an LMS model (model.lms.mode: pair or lang)");
  if (c.train.fd_weight < 0) fail("train.fd_weight", "must be >= 0");
  if (c.train.kd_weight < 0 || c.train.kd_weight > 1)
    fail("train.kd_weight", "must be in [0, 1], got " + std::to_string(c.train.kd_weight));
  if (!c.train.kd_teacher.empty() && c.train.fuse_distillation)
    fail("train.kd_teacher", "word-level KD cannot be combined with train.fuse_distillation");
  for (auto [f, p] : {std::pair{"model.dropout", m.dropout},
                      std::pair{"model.attention_dropout", m.attention_dropout},
                      std::pair{"model.activation_dropout", m.activation_dropout},
                      std::pair{"train.label_smoothing", c.train.label_smoothing}})
    if (p < 0 || p >= 1) fail(f, "must be in [0, 1), got " + std::to_string(p));
  const auto& t = c.train;
  if (t.max_tokens < 16) fail("train.max_tokens", "must be >= 16");
  if (t.update_freq < 1) fail("train.update_freq", "must be >= 1");
  if (t.lr <= 0) fail("train.lr", "must be > 0");
  if (t.warmup < 0) fail("train.warmup", "must be >= 0");
  if (t.temperature <= 0) fail("train.temperature", "must be > 0");
  if (t.max_len < 2 || t.max_len + 2 > m.max_positions)
    fail("train.max_len", "must be in [2, model.max_positions - 2]");
  if (t.valid_every < 1) fail("train.valid_every", "must be >= 1");
  if (t.keep_last < 0) fail("train.keep_last", "must be >= 0");
  if (c.decode.beam < 1) fail("decode.beam", "must be >= 1");
  if (c.decode.nbest < 1 || c.decode.nbest > c.decode.beam)
    fail("decode.nbest", "must be in [1, decode.beam=" + std::to_string(c.decode.beam) + "]");
  if (c.decode.batch_size < 1) fail("decode.batch_size", "must be >= 1");
  if (c.decode.no_repeat_ngram_size < 0)
    fail("decode.no_repeat_ngram_size",
         "must be >= 0, got " + std::to_string(c.decode.no_repeat_ngram_size));
  if (!std::isfinite(c.decode.repetition_penalty) || c.decode.repetition_penalty < 1) {
    std::ostringstream got;
    got << c.decode.repetition_penalty;
    fail("decode.repetition_penalty", "must be a finite number >= 1, got " + got.str());
  }
}

Config read(const YAML::Node& root, const std::string& name) {
  Config c;
  YamlMap top(root, name, "");
  std::map<std::string, YamlMap> sections;
  for (const char* s : {"model", "train", "decode"}) sections.emplace(s, top.child(s));
  sections.emplace("model.moe", sections.at("model").child("moe"));
  sections.emplace("model.lms", sections.at("model").child("lms"));
  visit(c, [&](const char* section, const char* key, auto& field) {
    using T = std::decay_t<decltype(field)>;
    YamlMap& map = sections.at(section);
    if constexpr (std::is_enum_v<T>) {  // parsed here, once, from the enum's name table
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
  visit(c, [&](const char* section, const char* key, auto& field) {
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
