#include "nmt/util/yaml_config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "nmt/util/error.h"

namespace strata {

YAML::Node load_yaml(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not a config file");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open config file");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML (" + e.msg + ")");
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw Error(path + ": expected a mapping at the top level");
  for (const auto& ov : overrides) {
    auto eq = ov.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("--set " + ov + ": expected key.path=value");
    std::string key = ov.substr(0, eq);
    YAML::Node value;
    try {
      value = YAML::Load(ov.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw Error("--set " + ov + ": invalid value (" + e.msg + ")");
    }
    // Walk down with fresh handles: yaml-cpp node assignment rebinds, so use reset().
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    YAML::Node cur;
    cur.reset(root);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (cur[parts[i]] && !cur[parts[i]].IsMap())
        throw Error("--set " + ov + ": " + parts[i] + " is not a mapping");
      if (!cur[parts[i]]) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = cur[parts[i]];
      cur.reset(next);
    }
    cur[parts.back()] = value;
  }
  return root;
}

namespace {
// Config text (paths, names, codes): a control character (a stray carriage return, say) is never
// meant, and a config stored in a checkpoint would not read back the same.
void check_text(const std::string& where, const std::string& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      throw Error(where + ": contains a control character (" + code + " at byte " + std::to_string(i) + ")");
    }
  }
}
}  // namespace

YamlMap::YamlMap(YAML::Node node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    throw Error(file_ + ": " + (path_.empty() ? "top level" : path_) + ": expected a mapping");
  // yaml-cpp keeps every pair of a mapping but lookups see only the first: a repeated key would
  // silently lose the later value, so it is an error.
  if (node_ && node_.IsMap()) {
    std::map<std::string, int> first_line;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar())
        throw Error(file_ + ":" + std::to_string(kv.first.Mark().line + 1) + ": " +
                    (path_.empty() ? "top level" : path_) + ": keys must be plain names");
      const std::string k = kv.first.Scalar();
      const int line = kv.first.Mark().line + 1;  // 0 for nodes made by --set
      auto [it, fresh] = first_line.emplace(k, line);
      if (!fresh)
        throw Error(where(k.c_str()) + ": duplicate key" +
                    (it->second > 0 && line > 0 ? " (lines " + std::to_string(it->second) +
                                                      " and " + std::to_string(line) + ")"
                                                : std::string()));
    }
  }
}

std::string YamlMap::where(const char* key) const {
  return file_ + ": " + (path_.empty() ? "" : path_ + ".") + key;
}

bool YamlMap::has(const char* key) const { return node_ && node_.IsMap() && node_[key]; }

namespace {
std::string show(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}
template <class T>
bool read_scalar(const YamlMap& m, const YAML::Node& n, const char* key, const char* what, T& out) {
  if (!n.IsScalar()) throw Error(m.where(key) + ": expected " + what + ", got " + show(n));
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(m.where(key) + ": expected " + what + ", got " + show(n));
  }
  return true;
}
}  // namespace

#define STRATA_READ_SCALAR(T, WHAT)                             \
  void YamlMap::read(const char* key, T& out) {                 \
    seen_.insert(key);                                          \
    if (!has(key)) return;                                      \
    read_scalar(*this, node_[key], key, WHAT, out);             \
  }
STRATA_READ_SCALAR(int, "an integer")
STRATA_READ_SCALAR(int64_t, "an integer")
STRATA_READ_SCALAR(double, "a number")
STRATA_READ_SCALAR(bool, "true or false")
#undef STRATA_READ_SCALAR

void YamlMap::read(const char* key, std::string& out) {
  seen_.insert(key);
  if (!has(key)) return;
  const YAML::Node n = node_[key];
  if (!n.IsScalar()) throw Error(where(key) + ": expected a string, got " + show(n));
  out = n.Scalar();
  check_text(where(key), out);
}

void YamlMap::read(const char* key, std::vector<std::string>& out) {
  seen_.insert(key);
  if (!has(key)) return;
  const YAML::Node n = node_[key];
  if (!n.IsSequence()) throw Error(where(key) + ": expected a list, got " + show(n));
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar())
      throw Error(where(key) + "[" + std::to_string(i) + "]: expected a string, got " + show(n[i]));
    out.push_back(n[i].Scalar());
    check_text(where(key) + "[" + std::to_string(i) + "]", out.back());
  }
}

void YamlMap::read(const char* key, std::vector<int>& out) {
  seen_.insert(key);
  if (!has(key)) return;
  const YAML::Node n = node_[key];
  if (!n.IsSequence()) throw Error(where(key) + ": expected a list, got " + show(n));
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    int v = 0;
    std::string k = std::string(key) + "[" + std::to_string(i) + "]";
    read_scalar(*this, n[i], k.c_str(), "an integer", v);
    out.push_back(v);
  }
}

YamlMap YamlMap::child(const char* key) {
  seen_.insert(key);
  std::string p = path_.empty() ? key : path_ + "." + key;
  if (!has(key)) return YamlMap(YAML::Node(YAML::NodeType::Map), file_, p);
  return YamlMap(node_[key], file_, p);
}

void YamlMap::finish() const {
  if (!node_ || !node_.IsMap()) return;
  std::string known;
  for (const auto& k : seen_) known += (known.empty() ? "" : ", ") + k;
  for (const auto& kv : node_) {
    std::string k = kv.first.as<std::string>();
    if (!seen_.count(k))
      throw Error(where(k.c_str()) + ": unknown key" +
                  (known.empty() ? std::string() : " (known here: " + known + ")"));
  }
}

}  // namespace strata
