#pragma once
// Typed, strict reading of YAML config files: every key is checked, unknown keys and wrong
// types are one-line errors naming the file and the dotted path
//   configs/x.yaml: model.moe.top_k: expected an integer, got 'two'
// `--set a.b=c` overrides are applied to the YAML tree before it is read.
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace strata {

// Loads `path` and applies overrides of the form "a.b.c=value" (value parsed as YAML).
YAML::Node load_yaml(const std::string& path, const std::vector<std::string>& overrides);

// A view of one YAML mapping that records which keys were read.
class YamlMap {
 public:
  YamlMap(YAML::Node node, std::string file, std::string path);

  void read(const char* key, int& out);
  void read(const char* key, int64_t& out);
  void read(const char* key, double& out);
  void read(const char* key, bool& out);
  void read(const char* key, std::string& out);
  void read(const char* key, std::vector<std::string>& out);
  void read(const char* key, std::vector<int>& out);

  bool has(const char* key) const;
  // A nested mapping (an empty one when the key is absent).
  YamlMap child(const char* key);
  // Throws for any key of this mapping that was never read.
  void finish() const;

  std::string where(const char* key) const;  // "file: a.b.key"

 private:
  YAML::Node node_;
  std::string file_, path_;
  std::set<std::string> seen_;
};

}  // namespace strata
