#include "data/shortlist.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/util/format.h"

namespace strata::data {

namespace {
constexpr const char* kMagic = "strata-shortlist";
constexpr int kVersion = 1;

}  // namespace

std::string tokenizer_md5(const Tokenizer& tok) { return md5_hex(tok.serialized()); }

const std::vector<int64_t>* VocabShortlist::ids(const std::string& lang) const {
  for (size_t i = 0; i < langs_.size(); ++i)
    if (langs_[i] == lang) return &ids_[i];
  return nullptr;
}

void VocabShortlist::check_tokenizer(const Tokenizer& tok, const std::string& what) const {
  if (tok.vocab_size() != vocab_ || tokenizer_md5(tok) != spm_md5_)
    throw Error(what + ": the shortlist was built with another SentencePiece model (vocabulary " +
                std::to_string(vocab_) + ", MD5 " + spm_md5_ + "; the model's: " +
                std::to_string(tok.vocab_size()) + ", " + tokenizer_md5(tok) +
                "); rebuild it with 'strata data shortlist' for this model's data");
}

VocabShortlist build_shortlist(const std::vector<Row>& rows, const std::vector<std::string>& langs,
                               const Tokenizer& tok, const ShortlistOptions& opt) {
  if (opt.min_count < 1) throw Error("shortlist: min_count must be >= 1");
  VocabShortlist s;
  s.langs_ = langs;
  s.vocab_ = tok.vocab_size();
  s.min_count_ = opt.min_count;
  s.spm_md5_ = tokenizer_md5(tok);
  for (size_t l = 0; l < langs.size(); ++l) {
    std::vector<int64_t> count(static_cast<size_t>(s.vocab_), 0);
    for (const Row& r : rows)
      if (l < r.text.size() && !r.text[l].empty())
        for (int id : tok.encode(r.text[l])) ++count[static_cast<size_t>(id)];
    std::vector<int64_t> ids;
    for (int64_t id = 0; id < s.vocab_; ++id)
      if (count[static_cast<size_t>(id)] >= opt.min_count || id == kEosId || id == kUnkId)
        ids.push_back(id);
    s.ids_.push_back(std::move(ids));
  }
  return s;
}

void VocabShortlist::save(const std::string& path) const {
  std::ostringstream out;
  out << kMagic << " " << kVersion << "\n"
      << "spm_md5 " << spm_md5_ << "\n"
      << "vocab " << vocab_ << "\n"
      << "min_count " << min_count_ << "\n"
      << "langs " << langs_.size() << "\n";
  for (size_t l = 0; l < langs_.size(); ++l) {
    out << langs_[l] << "\t" << ids_[l].size() << "\t";
    for (size_t i = 0; i < ids_[l].size(); ++i) out << (i ? " " : "") << ids_[l][i];
    out << "\n";
  }
  out << "end\n";
  write_file_atomically(path, out.str());
}

VocabShortlist VocabShortlist::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open vocabulary shortlist (build it with 'strata data shortlist')");
  VocabShortlist s;
  std::string line;
  int64_t ln = 0;
  auto fail = [&](const std::string& what) -> Error {
    return Error(path + ":" + std::to_string(ln) + ": " + what);
  };
  auto next = [&](const std::string& expect) {
    if (!std::getline(in, line))
      throw Error(path + ": truncated vocabulary shortlist (expected " + expect + " after line " +
                  std::to_string(ln) + ")");
    ++ln;
  };
  // "<key> <value>"; returns the value.
  auto field = [&](const std::string& key) {
    next("'" + key + "'");
    if (line.rfind(key + " ", 0) != 0)
      throw fail("expected '" + key + " <value>', got '" + line.substr(0, 80) + "'");
    return line.substr(key.size() + 1);
  };
  auto int_field = [&](const std::string& key, int64_t lo, int64_t hi) {
    bool ok = false;
    const int64_t v = parse_int(field(key), &ok);
    if (!ok || v < lo || v > hi)
      throw fail("'" + key + "' must be an integer in [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "], got '" + line.substr(0, 80) + "'");
    return v;
  };
  next("the header");
  if (line != std::string(kMagic) + " " + std::to_string(kVersion))
    throw fail("not a Strata vocabulary shortlist (expected '" + std::string(kMagic) + " " +
               std::to_string(kVersion) + "', got '" + line.substr(0, 80) + "')");
  s.spm_md5_ = field("spm_md5");
  if (s.spm_md5_.size() != 32 ||
      s.spm_md5_.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw fail("'spm_md5' must be 32 lowercase hex digits");
  s.vocab_ = int_field("vocab", 1, int64_t{1} << 31);
  s.min_count_ = int_field("min_count", 1, int64_t{1} << 62);
  const int64_t k = int_field("langs", 1, 4096);
  for (int64_t l = 0; l < k; ++l) {
    next("language " + std::to_string(l + 1) + " of " + std::to_string(k));
    const size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos) throw fail("expected '<lang>\\t<count>\\t<ids>'");
    std::string lang = line.substr(0, t1);
    if (lang.empty() || std::find(s.langs_.begin(), s.langs_.end(), lang) != s.langs_.end())
      throw fail(lang.empty() ? "empty language" : "language '" + lang + "' listed twice");
    bool ok = false;
    const int64_t n = parse_int(line.substr(t1 + 1, t2 - t1 - 1), &ok);
    if (!ok || n < 1 || n > s.vocab_)
      throw fail("the id count must be in [1, vocab]");
    std::vector<int64_t> ids;
    ids.reserve(static_cast<size_t>(n));
    std::istringstream ss(line.substr(t2 + 1));
    std::string word;
    while (ss >> word) {
      const int64_t id = parse_int(word, &ok);
      if (!ok || id < 0 || id >= s.vocab_)
        throw fail("id '" + word.substr(0, 20) + "' is not in [0, " + std::to_string(s.vocab_) + ")");
      if (!ids.empty() && id <= ids.back()) throw fail("ids must be strictly ascending");
      ids.push_back(id);
    }
    if (static_cast<int64_t>(ids.size()) != n)
      throw fail("'" + lang + "' lists " + std::to_string(ids.size()) + " ids, its count says " +
                 std::to_string(n));
    if (!std::binary_search(ids.begin(), ids.end(), int64_t{kEosId}))
      throw fail("'" + lang + "' lacks </s> (id " + std::to_string(kEosId) + ")");
    s.langs_.push_back(std::move(lang));
    s.ids_.push_back(std::move(ids));
  }
  next("'end'");
  if (line != "end") throw fail("expected 'end', got '" + line.substr(0, 80) + "'");
  return s;
}

void prepare_shortlist(const DataConfig& cfg, const std::string& path, const ShortlistOptions& opt) {
  const std::string out_path = path.empty() ? cfg.out_dir + "/shortlist.tsv" : path;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> langs;
  const std::vector<Row> rows = read_split(cfg.out_dir + "/train.tsv", &langs);
  const Tokenizer tok(cfg.out_dir + "/spm.model");
  std::fprintf(stderr, "[shortlist] %zu rows of %s/train.tsv, pieces seen >= %lld times\n",
               rows.size(), cfg.out_dir.c_str(), static_cast<long long>(opt.min_count));
  const VocabShortlist s = build_shortlist(rows, langs, tok, opt);
  s.save(out_path);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("vocabulary shortlist: %s (vocabulary %lld), built in %.1f s\n\n", out_path.c_str(),
              static_cast<long long>(s.vocab_size()), secs);
  std::printf("| language | pieces | share of the vocabulary |\n|---|---:|---:|\n");
  for (const auto& l : s.langs()) {
    const auto n = static_cast<double>(s.ids(l)->size());
    std::printf("| %s | %zu | %.1f%% |\n", l.c_str(), s.ids(l)->size(), 100.0 * n / s.vocab_size());
  }
}

}  // namespace strata::data
