// Tests of data/data_config.h: loading data configs (defaults, overrides, one-line errors).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::data;
using strata::test::TempDir;

class DataConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) {
    std::string p = dir / "c.yaml";
    test::write_file(p, yaml);
    return p;
  }
  std::string error_of(const std::string& yaml, std::vector<std::string> sets = {}) {
    try {
      load_data_config(write(yaml), sets);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  TempDir dir;
};

TEST_F(DataConfigTest, LoadsDefaultsAndOverrides) {
  auto c = load_data_config(write("langs: [en, de, ja]\nsplit: {test_size: 10}\n"),
                            {"split.valid_size=7", "spm.temperature=2.5"});
  EXPECT_EQ(c.langs, (std::vector<std::string>{"en", "de", "ja"}));
  EXPECT_EQ(c.split.test_size, 10);
  EXPECT_EQ(c.split.valid_size, 7);
  EXPECT_DOUBLE_EQ(c.spm.temperature, 2.5);
  EXPECT_EQ(c.split.split_langs, c.langs);
}

TEST_F(DataConfigTest, RepoCore8ConfigLoads) {
  auto c = load_data_config("configs/data/core8.yaml", {});
  EXPECT_EQ(c.langs.size(), 8u);
  EXPECT_EQ(c.ood_source, "thunderbird");
}

TEST_F(DataConfigTest, RejectsUnknownKeyWithDottedPath) {
  std::string e = error_of("split:\n  tets_size: 5\n");
  EXPECT_NE(e.find("c.yaml: split.tets_size: unknown key"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST_F(DataConfigTest, RejectsWrongType) {
  std::string e = error_of("split:\n  test_size: many\n");
  EXPECT_NE(e.find("split.test_size: expected an integer, got 'many'"), std::string::npos) << e;
  e = error_of("langs: en\n");
  EXPECT_NE(e.find("langs: expected a list"), std::string::npos) << e;
}

TEST_F(DataConfigTest, RejectsUnknownLanguageListingValidOnes) {
  std::string e = error_of("langs: [en, de, xx]\n");
  EXPECT_NE(e.find("langs[2]: unknown language code 'xx' (valid: "), std::string::npos) << e;
  EXPECT_NE(e.find(" zh-CN"), std::string::npos) << e;
}

TEST_F(DataConfigTest, RejectsBadOverride) {
  EXPECT_NE(error_of("", {"spm.vocab=5"}).find("spm.vocab: unknown key"), std::string::npos);
  EXPECT_NE(error_of("", {"novalue"}).find("expected key.path=value"), std::string::npos);
}

TEST_F(DataConfigTest, RejectsInvalidYamlWithLine) {
  std::string e = error_of("langs: [en, de\nname: x\n");
  EXPECT_NE(e.find("c.yaml:"), std::string::npos);
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

// The config reader that both configs share refuses control characters in text (found by fuzzing
// the training config: tests/fuzz/regressions/train_config/).
TEST_F(DataConfigTest, ControlCharactersInTextAreErrors) {
  EXPECT_NE(error_of("name: \"a\\rb\"\n").find("name: contains a control character (0x0d at byte 1)"),
            std::string::npos);
  EXPECT_NE(error_of("langs: [en, \"d\\te\"]\n").find("langs[1]: contains a control character (0x09 at byte 1)"),
            std::string::npos);
}

// Found by fuzzing (tests/fuzz/regressions/data_config/): a key that is not a scalar made the
// strict reader's unknown-key check throw yaml-cpp's own exception (std::terminate in the CLI).
TEST_F(DataConfigTest, NonScalarKeyIsAnErrorNamingTheFileAndLine) {
  const std::string p = (dir / "c.yaml");
  for (const std::string yaml : {"name: x\n[a, b]: 1\n", "name: x\nsplit: {[s]: 1}\n",
                                 "name: x\n? {k: v}\n: 2\n"}) {
    const std::string e = error_of(yaml);
    EXPECT_EQ(e.rfind(p + ":2:", 0), 0u) << yaml << " -> " << e;
    EXPECT_NE(e.find("keys must be plain names"), std::string::npos) << e;
  }
}
