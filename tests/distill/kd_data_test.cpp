// Tests of nmt/distill/kd_data: the rows keep one original text each and get the teacher's
// translations, a larger sample resumes and extends the same order, other settings are an error.
#include "nmt/distill/kd_data.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"
#include "data/prepare.h"
#include "nmt/decode/translator.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;

TEST(KdDataTest, TeacherTranslationsOfOneKeptSourcePerRowResumable) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto student = test::save_tiny_checkpoint(d, data_yaml, "student");  // its config
  const auto teacher = test::save_tiny_checkpoint(d, data_yaml, "teacher", test::kSwitchEveryLayer);
  KdDataOptions o;
  o.teacher = teacher.path;
  o.beam = 2;
  o.batch = 8;
  o.max_rows = 4;
  o.chunk_rows = 2;
  const std::string out = generate_kd_data(student.config, o);
  EXPECT_EQ(out, std::filesystem::absolute(d / "student/kd_data").string() + "/data.yaml");
  EXPECT_NE(test::read_file(out).find("langs: [en, de, fr]"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(d / "student/kd_data/valid.tsv"));
  std::vector<std::string> langs, kd_langs;
  const auto orig = data::read_split(d / "data/train.tsv", &langs);
  const auto rows = data::read_split(d / "student/kd_data/train.tsv", &kd_langs);
  ASSERT_EQ(kd_langs, langs);
  ASSERT_EQ(rows.size(), 4u);
  Translator tr(load_checkpoint(teacher.path));
  SearchOptions so = tr.default_options();
  so.beam = 2;
  so.nbest = 1;
  std::vector<size_t> from;
  for (const auto& row : rows) {
    // Training row i keeps its (i mod 3)-th language; the other two are the teacher's.
    size_t found = orig.size();
    for (size_t i = 0; i < orig.size(); ++i)
      if (row.text[i % 3] == orig[i].text[i % 3]) found = i;
    ASSERT_LT(found, orig.size()) << row.text[0];
    from.push_back(found);
    const size_t kept = found % 3;
    for (size_t t = 0; t < 3; ++t) {
      if (t == kept) continue;
      const auto hyp = tr.translate({row.text[kept]}, langs[t], so, 8, langs[kept]);
      EXPECT_EQ(row.text[t], hyp[0].empty() ? "" : hyp[0][0].text);
    }
  }
  EXPECT_GT(*std::max_element(from.begin(), from.end()), 3u);  // a sample, not the first rows

  // A larger sample keeps the chunks made and extends the same order.
  const std::string chunk0 = test::read_file(d / "student/kd_data/chunks/000000.tsv");
  o.max_rows = 6;
  generate_kd_data(student.config, o);
  const auto six = data::read_split(d / "student/kd_data/train.tsv", &kd_langs);
  ASSERT_EQ(six.size(), 6u);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(six[j].text, rows[j].text);
  EXPECT_EQ(test::read_file(d / "student/kd_data/chunks/000000.tsv"), chunk0);
  o.chunk_rows = 3;
  EXPECT_THROW(generate_kd_data(student.config, o), Error);
  o.chunk_rows = 0;
  EXPECT_THROW(generate_kd_data(student.config, o), Error);
}
