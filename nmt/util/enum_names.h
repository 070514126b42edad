#pragma once
// Names of enum values, for the config reader and writer: each enum-like config field has one
// table (name ↔ value), so YAML text is parsed once into the enum and written back from it.
//
//   const EnumNames<LmsMode>& names_of(LmsMode);   // found by the config code through ADL
//   enum_name(names_of(LmsMode{}), LmsMode::kPair) == "pair"
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strata {

template <class E>
using EnumNames = std::vector<std::pair<const char*, E>>;

template <class E>
std::string enum_name(const EnumNames<E>& names, E value) {
  for (const auto& [n, v] : names)
    if (v == value) return n;
  return "?";
}

template <class E>
std::optional<E> enum_value(const EnumNames<E>& names, const std::string& name) {
  for (const auto& [n, v] : names)
    if (name == n) return v;
  return std::nullopt;
}

// "a, b or c": the allowed values in an error message.
inline std::string join_alternatives(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

template <class E>
std::vector<std::string> enum_names(const EnumNames<E>& names) {
  std::vector<std::string> out;
  for (const auto& nv : names) out.push_back(nv.first);
  return out;
}

}  // namespace strata
