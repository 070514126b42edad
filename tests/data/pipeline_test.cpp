// Tests of the data pipeline (data/prepare.h) around the parsers: alignment, splits, temperature
// sampling, md5, and `strata data` end to end on .debs built in the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/clean.h"
#include "data/data_config.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::data;
using strata::test::TempDir;

// ---------------------------------------------------------------------------------------------

TEST(Md5Test, MatchesRfc1321Vectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(TemperatureTest, ProportionalAtT1) {
  auto p = temperature_probs({100, 1}, 1.0);
  EXPECT_NEAR(p[0], 100.0 / 101, 1e-12);
  EXPECT_NEAR(p[1], 1.0 / 101, 1e-12);
}

TEST(TemperatureTest, HandComputedT5) {
  // (100/101)^0.2 = 0.998011..., (1/101)^0.2 = 0.397164...; normalised: 0.715253, 0.284747.
  auto p = temperature_probs({100, 1}, 5.0);
  EXPECT_NEAR(p[0], 0.7152527510, 1e-9);
  EXPECT_NEAR(p[1], 0.2847472490, 1e-9);
}

TEST(TemperatureTest, QuotaUsesLargestRemainders) {
  // T=2, counts 300,100,0,600: p = .334273, .192993, 0, .472734 -> 334.27, 192.99, 0, 472.73.
  // Floors sum to 998; the two largest remainders (.99, .73) get one more each.
  auto q = temperature_quota({300, 100, 0, 600}, 2.0, 1000);
  EXPECT_EQ(q, (std::vector<int64_t>{334, 193, 0, 473}));
}

TEST(TemperatureTest, LargeTemperatureIsUniform) {
  auto p = temperature_probs({1000, 10, 1}, 1e6);
  for (double v : p) EXPECT_NEAR(v, 1.0 / 3, 1e-4);
}

// ---------------------------------------------------------------------------------------------

namespace {
DataConfig small_config() {
  DataConfig c;
  c.langs = {"en", "de", "fr"};
  c.split.split_langs = c.langs;
  c.sources = {"lo-ui", "gettext"};
  c.ood_source = "thunderbird";
  return c;
}
Unit unit(const std::string& en, std::map<std::string, std::string> tr, bool plural = false) {
  Unit u;
  u.en = en;
  u.tr = std::move(tr);
  u.plural = plural;
  return u;
}
}  // namespace

TEST(AlignTest, KeepsMostFrequentTranslationAndDropsPlurals) {
  DataConfig c = small_config();
  std::map<std::string, std::vector<Unit>> units;
  units["lo-ui"] = {
      unit("Open the file", {{"de", "Datei öffnen"}, {"fr", "Ouvrir le fichier"}}),
      unit("Open the file", {{"de", "Die Datei öffnen"}}),
      unit("Open the file", {{"de", "Datei öffnen"}}),
      unit("%d files", {{"de", "%d Dateien"}}, /*plural=*/true),
      unit("~Save", {{"de", "~Speichern"}}),
  };
  units["lo-ui"][4].accel = Accel::kTilde;
  AlignStats stats;
  auto rows = align_sources(c, units, &stats);
  ASSERT_EQ(rows["lo-ui"].size(), 2u);
  EXPECT_EQ(rows["lo-ui"][0].text, (std::vector<std::string>{"Open the file", "Datei öffnen",
                                                               "Ouvrir le fichier"}));
  EXPECT_EQ(rows["lo-ui"][1].text, (std::vector<std::string>{"Save", "Speichern", ""}));
  EXPECT_EQ(stats.drops["lo-ui:plural"], 1);
}

TEST(AlignTest, SourcesKeepTheirOwnRowsByDefault) {
  DataConfig c = small_config();
  std::map<std::string, std::vector<Unit>> units;
  units["lo-ui"] = {unit("Close the window", {{"de", "Fenster schließen"}})};
  units["gettext"] = {unit("Close the window", {{"fr", "Fermer la fenêtre"}})};
  AlignStats stats;
  auto rows = align_sources(c, units, &stats);
  EXPECT_EQ(rows["lo-ui"].size(), 1u);
  EXPECT_EQ(rows["gettext"].size(), 1u);
}

TEST(AlignTest, EarlierSourceWinsDuplicateEnglishWhenDeduplicatingAcrossSources) {
  DataConfig c = small_config();
  c.dedup_across_sources = true;
  std::map<std::string, std::vector<Unit>> units;
  units["lo-ui"] = {unit("Close the window", {{"de", "Fenster schließen"}})};
  units["gettext"] = {unit("Close the window", {{"fr", "Fermer la fenêtre"}}),
                      unit("Quit the program", {{"fr", "Quitter le programme"}})};
  AlignStats stats;
  auto rows = align_sources(c, units, &stats);
  ASSERT_EQ(rows["lo-ui"].size(), 1u);
  ASSERT_EQ(rows["gettext"].size(), 1u);
  EXPECT_EQ(rows["gettext"][0].text[0], "Quit the program");
}

TEST(SplitTest, IsLeakFreeAcrossSplitsAndOod) {
  DataConfig c = small_config();
  c.split.test_size = 20;
  c.split.valid_size = 10;
  std::map<std::string, std::vector<Row>> rows;
  auto row = [](std::string src, std::string en, std::string de, std::string fr) {
    return Row{std::move(src), {std::move(en), std::move(de), std::move(fr)}};
  };
  for (int i = 0; i < 100; ++i) {
    std::string n = std::to_string(i);
    // Each sentence twice with case/punctuation variants: they share a normalised key.
    rows["lo-ui"].push_back(row("lo-ui", "Save the file number " + n, "de " + n, "fr " + n));
    rows["gettext"].push_back(row("gettext", "save the file number " + n + "…", "de2 " + n, ""));
    rows["gettext"].push_back(row("gettext", "Short " + n, "kurz " + n, "court " + n));  // 2 words
  }
  rows["thunderbird"].push_back(row("thunderbird", "Save the file number 5.", "x", "y"));
  rows["thunderbird"].push_back(row("thunderbird", "A mail only string", "x", "y"));
  Splits s = split_rows(c, rows);
  auto keys = [](const std::vector<Row>& v) {
    std::set<std::string> k;
    for (const auto& r : v) k.insert(normalise_key(r.text[0]));
    return k;
  };
  auto tr = keys(s.train), va = keys(s.valid), te = keys(s.test), oo = keys(s.ood_test);
  EXPECT_EQ(te.size(), 20u);
  EXPECT_EQ(va.size(), 10u);
  EXPECT_EQ(s.test.size(), 20u);  // one row per key: the complete variant
  for (const auto& r : s.test) EXPECT_EQ(r.source, "lo-ui");
  for (const auto& k : te) EXPECT_FALSE(tr.count(k) || va.count(k) || oo.count(k)) << k;
  for (const auto& k : va) EXPECT_FALSE(tr.count(k) || oo.count(k)) << k;
  for (const auto& k : oo) EXPECT_FALSE(tr.count(k)) << k;
  EXPECT_EQ(s.ood_test.size(), 1u);  // the string shared with an in-domain source is removed
  for (const auto& r : s.test) EXPECT_GE(count_words(r.text[0]), 3);
  // The other variant of each eval key is dropped, not trained on.
  EXPECT_EQ(s.train.size() + s.valid.size() + s.test.size(), 300u - 30u);
}

TEST(SplitTest, TsvRoundTripAndBadLine) {
  TempDir d;
  std::vector<Row> rows = {{"lo-ui", {"a b", "c", ""}}, {"firefox", {"x", "", "z"}}};
  write_split(d / "s.tsv", {"en", "de", "fr"}, rows);
  std::vector<std::string> langs;
  auto back = read_split(d / "s.tsv", &langs);
  EXPECT_EQ(langs, (std::vector<std::string>{"en", "de", "fr"}));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].text, rows[1].text);
  test::write_file(d / "bad.tsv", "source\ten\tde\nlo-ui\tonly-one\n");
  try {
    read_split(d / "bad.tsv", &langs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tsv:2: expected 3 fields, got 2"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// `strata data` end to end on .debs made here, and its errors.

namespace {

const std::string kStrata = STRATA_BIN;

// A fake package cache with LibreOffice UI catalogues for de and fr.
void make_lo_ui_cache(const TempDir& d, const std::string& cache, bool truncate_fr = false) {
  auto po = [](const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string s = "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n";
    for (const auto& [id, str] : entries) s += "msgid \"" + id + "\"\nmsgstr \"" + str + "\"\n\n";
    return s;
  };
  std::vector<std::pair<std::string, std::string>> de, fr;
  for (int i = 0; i < 60; ++i) {
    std::string n = std::to_string(i);
    de.push_back({"Insert a new table number " + n, "Neue Tabelle Nummer " + n + " einfügen"});
    fr.push_back({"Insert a new table number " + n, "Insérer le nouveau tableau numéro " + n});
  }
  de.push_back({"~Open", "Ö~ffnen"});
  fr.push_back({"~Open", "~Ouvrir"});
  for (auto [lang, entries] : {std::pair{std::string("de"), de}, std::pair{std::string("fr"), fr}}) {
    std::string root = d / ("root-" + lang);
    std::string mo = root + "/usr/lib/libreoffice/program/resource/" + lang + "/LC_MESSAGES/sw.mo";
    test::msgfmt(po(entries), mo, d.str());
    if (truncate_fr && lang == "fr") {
      std::string b = test::read_file(mo);
      test::write_file(mo, b.substr(0, b.size() / 3));
    }
    test::build_deb(root, "libreoffice-l10n-" + lang, cache + "/libreoffice-l10n-" + lang + ".deb",
                    "1:7.4-" + lang);
  }
}

std::string write_config(const TempDir& d, const std::string& extra = "") {
  std::string p = d / "data.yaml";
  test::write_file(p, "name: tiny\nlangs: [en, de, fr]\nsources: [lo-ui]\nood_source: \"\"\n"
                      "cache_dir: " + (d / "cache") + "\nout_dir: " + (d / "out") + "\n"
                      "split: {test_size: 10, valid_size: 5}\n"
                      "spm: {vocab_size: 400, sample_sentences: 2000}\n" + extra);
  return p;
}

using test::expect_one_line_error;

}  // namespace

TEST(DataCliTest, PrepareSpmAndPairsOnLocalDebs) {
  TempDir d;
  make_lo_ui_cache(d, d / "cache");
  std::string cfg = write_config(d);
  auto r = test::run_command(kStrata + " data prepare --config " + cfg, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("| train | 46 |"), std::string::npos) << r.out;  // 61 - 10 test - 5 valid
  EXPECT_NE(r.out.find("| test | 10 | 10 |"), std::string::npos) << r.out;
  std::vector<std::string> langs;
  auto train = read_split(d / "out/train.tsv", &langs);
  bool saw_open = false;
  for (const auto& row : train)
    if (row.text[0] == "Open") {
      saw_open = true;
      EXPECT_EQ(row.text[1], "Öffnen");
      EXPECT_EQ(row.text[2], "Ouvrir");
    }
  EXPECT_TRUE(saw_open);
  // The manifest records the version of every package read (from each .deb's control file).
  std::string manifest = test::read_file(d / "out/manifest.json");
  EXPECT_NE(manifest.find("\"libreoffice-l10n-de\": \"1:7.4-de\""), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("\"libreoffice-l10n-fr\": \"1:7.4-fr\""), std::string::npos) << manifest;
  r = test::run_command(kStrata + " data pairs --config " + cfg + " --split test --src fr --tgt de",
                        d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 10);
  EXPECT_NE(r.out.find("Insérer le nouveau tableau numéro"), std::string::npos);
  r = test::run_command(kStrata + " data spm --config " + cfg, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  Tokenizer tok(d / "out/spm.model");
  EXPECT_LE(tok.vocab_size(), 400);
  EXPECT_GT(tok.vocab_size(), 300);
  EXPECT_GE(tok.piece_id(">>de<<"), 4);
  // A tag typed into the text never becomes the control piece: it is spelled out and decodes to
  // the same text (the tags are added by id, not by encoding text).
  for (const std::string text : {">>fr<< Neue Tabelle", "x>>de<<y", "Tabelle >>en<<", ">>fr<<>>de<<"}) {
    auto ids = tok.encode(text);
    for (const char* tag : {">>fr<<", ">>de<<", ">>en<<"})
      EXPECT_EQ(std::find(ids.begin(), ids.end(), tok.piece_id(tag)), ids.end()) << text;
    EXPECT_EQ(tok.decode(ids), text);
  }
  EXPECT_EQ(tok.decode(tok.encode("Neue Tabelle Nummer 7 einfügen")), "Neue Tabelle Nummer 7 einfügen");
}

TEST(DataCliTest, UnknownLanguageIsOneLineError) {
  TempDir d;
  auto r = test::run_command(kStrata + " data prepare --config " + write_config(d) +
                                 " --set 'langs=[en, de, klingon]'", d.str());
  expect_one_line_error(r, "langs[2]: unknown language code 'klingon' (valid: ");
}

TEST(DataCliTest, ConfigErrorsAreOneLine) {
  TempDir d;
  auto r = test::run_command(kStrata + " data prepare --config " + write_config(d, "bogus: 1\n"),
                             d.str());
  expect_one_line_error(r, "data.yaml: bogus: unknown key");
  r = test::run_command(kStrata + " data prepare --config " + write_config(d) +
                            " --set split.test_size=lots", d.str());
  expect_one_line_error(r, "split.test_size: expected an integer, got 'lots'");
  r = test::run_command(kStrata + " data prepare --config " + (d / "nope.yaml"), d.str());
  expect_one_line_error(r, "nope.yaml: cannot open config file");
}

TEST(DataCliTest, CorruptDebIsOneLineError) {
  TempDir d;
  make_lo_ui_cache(d, d / "cache");
  test::write_file(d / "cache/libreoffice-l10n-fr.deb", "garbage");
  auto r = test::run_command(kStrata + " data prepare --config " + write_config(d), d.str());
  expect_one_line_error(r, "libreoffice-l10n-fr.deb");
}

TEST(DataCliTest, TruncatedMoIsOneLineErrorNamingTheMember) {
  TempDir d;
  make_lo_ui_cache(d, d / "cache", /*truncate_fr=*/true);
  auto r = test::run_command(kStrata + " data prepare --config " + write_config(d), d.str());
  expect_one_line_error(r, "libreoffice-l10n-fr.deb:usr/lib/libreoffice/program/resource/fr/"
                           "LC_MESSAGES/sw.mo");
}

TEST(DataCliTest, PairsRejectsLanguageNotInCorpus) {
  TempDir d;
  make_lo_ui_cache(d, d / "cache");
  std::string cfg = write_config(d);
  ASSERT_EQ(test::run_command(kStrata + " data prepare --config " + cfg, d.str()).status, 0);
  auto r = test::run_command(kStrata + " data pairs --config " + cfg + " --src de --tgt ja", d.str());
  expect_one_line_error(r, "--tgt: language 'ja' is not in this corpus (languages: en de fr)");
}

TEST(CliTest, UnknownCommandAndVersion) {
  TempDir d;
  auto r = test::run_command(kStrata + " frobnicate", d.str());
  expect_one_line_error(r, "unknown command 'frobnicate'");
  // A stray word is refused in every subcommand (Boost would drop it), before anything loads.
  for (const std::string cmd : {"translate -m none.pt de", "eval --split test de", "data pairs --split test de",
                                "train --config none.yaml de", "checkpoint experts --in a.pt --out b de"}) {
    r = test::run_command(kStrata + " " + cmd, d.str());
    expect_one_line_error(r, "unexpected argument 'de'");
  }
  r = test::run_command(kStrata + " --version", d.str());
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("strata ", 0), 0u) << r.out;
  r = test::run_command(kStrata + " --help", d.str());
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("  data "), std::string::npos);
}

TEST(DataCliTest, InvalidUtf8InASplitAndAConfigThatIsADirectoryAreOneLineErrors) {
  TempDir d;
  test::write_file(d / "out/test.tsv", "source\ten\tde\nlo-ui\tOpen\tÖffnen\nlo-ui\tSave\tSp\xE9ichern\n");
  try {
    std::vector<std::string> langs;
    read_split(d / "out/test.tsv", &langs);
    ADD_FAILURE() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (d / "out/test.tsv") + ":3: invalid UTF-8 at byte 14");
  }
  // `strata data pairs` reads splits through read_split.
  test::write_file(d / "data.yaml", "langs: [en, de]\nsources: [lo-ui]\nout_dir: " + (d / "out") + "\n");
  auto r = test::run_command(kStrata + " data pairs --config " + (d / "data.yaml") +
                                 " --split test --src en --tgt de", d.str());
  expect_one_line_error(r, (d / "out/test.tsv") + ":3: invalid UTF-8 at byte 14");
  r = test::run_command(kStrata + " data pairs --config " + d.str() + " --src en --tgt de", d.str());
  expect_one_line_error(r, d.str() + ": is a directory, not a config file");
  r = test::run_command(kStrata + " train --config " + d.str(), d.str());
  expect_one_line_error(r, d.str() + ": is a directory, not a config file");
}
