#pragma once
// Helpers of the tests of data/'s parsers and cleaning rules: message checks, expecting
// strata::Error, fuzzing with random input, and (key, text, plural) views of parsed messages.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "data/formats.h"
#include "nmt/util/error.h"

namespace strata::test {

inline ::testing::AssertionResult starts_with(const std::string& s, const std::string& prefix) {
  if (s.compare(0, prefix.size(), prefix) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << s << "\" does not start with \"" << prefix << "\"";
}
inline ::testing::AssertionResult contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\" does not contain \"" << part << "\"";
}

// Runs f, expecting strata::Error; returns its message ("" and a failure when none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected strata::Error";
  return "";
}

// Feeds random inputs built from `alphabet` to `parse`; only strata::Error may escape.
template <class F>
void fuzz(const std::string& alphabet, F&& parse, int rounds = 3000) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 80);
  for (int r = 0; r < rounds; ++r) {
    std::string input;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) input += alphabet[pick(rng)];
    try {
      parse(input);
    } catch (const Error&) {
      // bad input is reported, never crashes
    }
  }
}

inline std::vector<std::tuple<std::string, std::string, bool>> key_text_plural(
    const std::vector<data::Message>& messages) {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  for (const data::Message& m : messages) out.emplace_back(m.key, m.text, m.plural);
  return out;
}

}  // namespace strata::test
