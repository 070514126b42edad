// Character n-gram naive Bayes language identification (data/lid.h): features, training with
// top-K pruning, the text model file, scoring, and the accuracy tables of `strata data lid`.
#include "data/lid.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include "data/clean.h"
#include "nmt/eval/python_str.h"
#include "nmt/util/error.h"
#include "nmt/util/format.h"
#include "nmt/util/utf8.h"

namespace strata::data {

namespace {

constexpr const char* kMagic = "strata-lid";
constexpr int kVersion = 1;

// Length buckets (code points) of the accuracy tables.
const int kBucketEnds[] = {4, 9, 19, 49};  // 1-4, 5-9, 10-19, 20-49, 50+
const char* const kBucketNames[] = {"1-4", "5-9", "10-19", "20-49", "50+"};

size_t bucket_of(int chars) {
  size_t b = 0;
  while (b < 4 && chars > kBucketEnds[b]) ++b;
  return b;
}

// Calls f(ngram) for every n-gram lid_ngrams() lists, without building the list.
template <typename F>
void for_each_ngram(std::string_view text, int max_n, F&& f) {
  std::u32string cps = eval::lower(eval::decode_code_points(text));
  // Every run of white space one space, trimmed, one space padded at each end.
  std::u32string norm = U" ";
  for (char32_t c : cps) {
    if (eval::is_space(c)) {
      if (norm.back() != U' ') norm.push_back(U' ');
    } else {
      norm.push_back(c);
    }
  }
  if (norm.size() == 1) return;  // nothing but white space
  if (norm.back() != U' ') norm.push_back(U' ');
  // UTF-8 once, with the byte offset of each code point, so every n-gram is a substring.
  std::string utf8;
  std::vector<size_t> off;
  off.reserve(norm.size() + 1);
  for (char32_t c : norm) {
    off.push_back(utf8.size());
    if (c >= 0xDC80 && c <= 0xDCFF)
      utf8.push_back(static_cast<char>(c - 0xDC00));  // a raw byte
    else
      append_utf8(utf8, c);
  }
  off.push_back(utf8.size());
  const size_t len = norm.size();
  for (int n = 1; n <= max_n; ++n)
    for (size_t i = 0; i + n <= len; ++i) {
      if (n == 1 && norm[i] == U' ') continue;  // the padding space alone says nothing
      f(std::string_view(utf8).substr(off[i], off[i + n] - off[i]));
    }
}

}  // namespace

std::vector<std::string> lid_ngrams(std::string_view text, int max_n) {
  std::vector<std::string> out;
  for_each_ngram(text, max_n, [&](std::string_view g) { out.emplace_back(g); });
  return out;
}

LanguageIdentifier LanguageIdentifier::from_counts(
    const std::vector<std::string>& langs,
    const std::vector<std::unordered_map<std::string, int64_t>>& counts, const LidOptions& opt) {
  if (langs.empty() || counts.size() != langs.size())
    throw Error("language identifier: expected one count table per language");
  if (opt.max_n < 1 || opt.top_k < 1 || !(opt.alpha > 0))
    throw Error("language identifier: expected max_n >= 1, top_k >= 1 and alpha > 0");
  LanguageIdentifier lid;
  lid.opt_ = opt;
  lid.langs_ = langs;
  // Cavnar & Trenkle: each language's most frequent n-grams (ties by n-gram, for determinism).
  std::vector<std::string> vocab;
  for (const auto& c : counts) {
    std::vector<std::pair<int64_t, const std::string*>> v;
    v.reserve(c.size());
    for (const auto& [g, n] : c)
      if (n > 0) v.emplace_back(n, &g);
    const size_t k = std::min(v.size(), static_cast<size_t>(opt.top_k));
    std::partial_sort(v.begin(), v.begin() + k, v.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
    });
    for (size_t i = 0; i < k; ++i) vocab.push_back(*v[i].second);
  }
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  lid.features_ = vocab;
  lid.entries_.resize(vocab.size());
  for (size_t f = 0; f < vocab.size(); ++f)
    for (size_t l = 0; l < langs.size(); ++l) {
      auto it = counts[l].find(vocab[f]);
      if (it != counts[l].end() && it->second > 0)
        lid.entries_[f].push_back({static_cast<uint32_t>(l), it->second});
    }
  lid.finish();
  return lid;
}

void LanguageIdentifier::finish() {
  const size_t L = langs_.size(), V = features_.size();
  index_.clear();
  index_.reserve(V);
  for (size_t f = 0; f < V; ++f) index_.emplace(features_[f], static_cast<uint32_t>(f));
  // Multinomial over the kept features: P(g | l) = (c(g, l) + alpha) / (T_l + alpha V).
  std::vector<double> total(L, 0.0);
  for (const auto& e : entries_)
    for (const Entry& x : e) total[x.lang] += static_cast<double>(x.count);
  std::vector<double> log_den(L);
  for (size_t l = 0; l < L; ++l) log_den[l] = std::log(total[l] + opt_.alpha * V);
  log_prob_.assign(V * L, 0.0);
  for (size_t f = 0; f < V; ++f) {
    for (size_t l = 0; l < L; ++l) log_prob_[f * L + l] = std::log(opt_.alpha) - log_den[l];
    for (const Entry& x : entries_[f])
      log_prob_[f * L + x.lang] =
          std::log(static_cast<double>(x.count) + opt_.alpha) - log_den[x.lang];
  }
}

std::vector<LidScore> LanguageIdentifier::rank(std::string_view text) const {
  return rank_counting(text, nullptr);
}

std::vector<LidScore> LanguageIdentifier::rank_counting(std::string_view text,
                                                        size_t* known) const {
  const size_t L = langs_.size();
  std::vector<double> ll(L, 0.0);
  size_t n = 0;
  for_each_ngram(text, opt_.max_n, [&](std::string_view g) {
    auto it = index_.find(std::string(g));
    if (it == index_.end()) return;
    ++n;
    const double* row = &log_prob_[static_cast<size_t>(it->second) * L];
    for (size_t l = 0; l < L; ++l) ll[l] += row[l];
  });
  if (known) *known = n;
  std::vector<LidScore> out(L);
  double mx = -std::numeric_limits<double>::infinity();
  for (size_t l = 0; l < L; ++l) mx = std::max(mx, ll[l]);
  double z = 0;
  for (size_t l = 0; l < L; ++l) z += std::exp(ll[l] - mx);
  for (size_t l = 0; l < L; ++l) out[l] = {langs_[l], ll[l], std::exp(ll[l] - mx) / z};
  std::stable_sort(out.begin(), out.end(), [](const LidScore& a, const LidScore& b) {
    return a.log_likelihood > b.log_likelihood;
  });
  return out;
}

LidPrediction LanguageIdentifier::predict(std::string_view text) const {
  size_t known = 0;
  const auto r = rank_counting(text, &known);
  if (known == 0 || r.empty()) return {};
  return {r[0].lang, r[0].prob};
}

void LanguageIdentifier::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  out << kMagic << " " << kVersion << "\n";
  out << "max_n " << opt_.max_n << "\n";
  out << "top_k " << opt_.top_k << "\n";
  out << format("alpha %.17g\n", opt_.alpha);
  out << "langs " << langs_.size();
  for (const auto& l : langs_) out << " " << l;
  out << "\nfeatures " << features_.size() << "\n";
  for (size_t f = 0; f < features_.size(); ++f) {
    out << features_[f] << "\t";
    for (size_t i = 0; i < entries_[f].size(); ++i)
      out << (i ? " " : "") << entries_[f][i].lang << ":" << entries_[f][i].count;
    out << "\n";
  }
  out << "end\n";
  out.close();
  if (!out) throw Error(path + ": write failed (disk full?)");
}

LanguageIdentifier LanguageIdentifier::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open language-identifier model (train it with 'strata data lid')");
  LanguageIdentifier lid;
  std::string line;
  int64_t ln = 0;
  auto fail = [&](const std::string& what) -> Error {
    return Error(path + ":" + std::to_string(ln) + ": " + what);
  };
  auto next = [&](const char* expect) {
    if (!std::getline(in, line))
      throw Error(path + ": truncated language-identifier model (expected " + expect +
                  " after line " + std::to_string(ln) + ")");
    ++ln;
  };
  // "<key> <value>" with one integer value.
  auto int_field = [&](const char* key) {
    next(key);
    const std::string prefix = std::string(key) + " ";
    bool ok = line.rfind(prefix, 0) == 0;
    int64_t v = ok ? parse_int(line.substr(prefix.size()), &ok) : 0;
    if (!ok) throw fail(std::string("expected '") + key + " <integer>', got '" + line + "'");
    return v;
  };
  next("the header");
  if (line.rfind(std::string(kMagic) + " ", 0) != 0)
    throw fail("not a Strata language-identifier model (expected 'strata-lid 1')");
  bool ok = false;
  const int64_t version = parse_int(line.substr(std::string(kMagic).size() + 1), &ok);
  if (!ok || version != kVersion)
    throw fail("unsupported language-identifier model version '" + line +
               "' (expected 'strata-lid 1')");
  lid.opt_.max_n = static_cast<int>(int_field("max_n"));
  if (lid.opt_.max_n < 1 || lid.opt_.max_n > 16) throw fail("max_n must be in [1, 16]");
  lid.opt_.top_k = static_cast<int>(int_field("top_k"));
  if (lid.opt_.top_k < 1) throw fail("top_k must be >= 1");
  next("alpha");
  {
    char* end = nullptr;
    const char* s = line.c_str() + std::min<size_t>(line.size(), 6);
    lid.opt_.alpha = line.rfind("alpha ", 0) == 0 ? std::strtod(s, &end) : 0;
    if (end == nullptr || *end != '\0' || end == s || !(lid.opt_.alpha > 0))
      throw fail("expected 'alpha <number > 0>', got '" + line + "'");
  }
  next("langs");
  {
    std::istringstream ss(line);
    std::string key;
    int64_t n = -1;
    ss >> key >> n;
    if (key != "langs" || n < 1)
      throw fail("expected 'langs <count> <code>...', got '" + line + "'");
    for (std::string l; ss >> l;) lid.langs_.push_back(l);
    if (static_cast<int64_t>(lid.langs_.size()) != n)
      throw fail("expected " + std::to_string(n) + " language codes, got " +
                 std::to_string(lid.langs_.size()));
  }
  const int64_t V = int_field("features");
  if (V < 0) throw fail("negative feature count");
  const size_t L = lid.langs_.size();
  lid.features_.reserve(V);
  lid.entries_.reserve(V);
  for (int64_t f = 0; f < V; ++f) {
    next("a feature line");
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0)
      throw fail("expected '<n-gram>\\t<lang>:<count> ...'");
    std::string g = line.substr(0, tab);
    if (!lid.features_.empty() && !(lid.features_.back() < g))
      throw fail("features not sorted or repeated at '" + g + "'");
    std::vector<Entry> e;
    std::istringstream ss(line.substr(tab + 1));
    for (std::string tok; ss >> tok;) {
      const size_t colon = tok.find(':');
      bool ok1 = false, ok2 = false;
      const int64_t l = colon == std::string::npos ? -1 : parse_int(tok.substr(0, colon), &ok1);
      const int64_t c = colon == std::string::npos ? -1 : parse_int(tok.substr(colon + 1), &ok2);
      if (!ok1 || !ok2 || l < 0 || l >= static_cast<int64_t>(L) || c < 1 ||
          (!e.empty() && static_cast<int64_t>(e.back().lang) >= l))
        throw fail("bad count '" + tok + "' (expected <lang index < " + std::to_string(L) +
                   ">:<count >= 1>, indices increasing)");
      e.push_back({static_cast<uint32_t>(l), c});
    }
    if (e.empty()) throw fail("feature '" + g + "' has no counts");
    lid.features_.push_back(std::move(g));
    lid.entries_.push_back(std::move(e));
  }
  next("'end'");
  if (line != "end") throw fail("expected 'end', got '" + line + "'");
  if (std::getline(in, line)) {
    ++ln;
    throw fail("unexpected text after 'end'");
  }
  lid.finish();
  return lid;
}

LanguageIdentifier train_lid(const std::vector<Row>& rows, const std::vector<std::string>& langs,
                             const LidOptions& opt) {
  std::vector<std::unordered_map<std::string, int64_t>> counts(langs.size());
  for (const Row& r : rows)
    for (size_t l = 0; l < langs.size() && l < r.text.size(); ++l) {
      if (r.text[l].empty()) continue;
      for_each_ngram(r.text[l], opt.max_n,
                     [&](std::string_view g) { ++counts[l][std::string(g)]; });
    }
  return LanguageIdentifier::from_counts(langs, counts, opt);
}

LidAccuracy lid_accuracy(const LanguageIdentifier& lid, const std::vector<Row>& rows,
                         const std::vector<std::string>& langs) {
  LidAccuracy a;
  a.langs = langs;
  a.bucket_names.assign(std::begin(kBucketNames), std::end(kBucketNames));
  const size_t L = langs.size(), B = a.bucket_names.size();
  a.by_lang.resize(L);
  a.by_length.resize(B);
  a.by_lang_length.assign(L, std::vector<LidAccuracy::Cell>(B));
  a.confusion.assign(L, std::vector<int64_t>(L + 1, 0));
  for (const Row& r : rows)
    for (size_t l = 0; l < L && l < r.text.size(); ++l) {
      const std::string& t = r.text[l];
      if (t.empty()) continue;
      const LidPrediction p = lid.predict(t);
      const bool right = p.lang == langs[l];
      const size_t b = bucket_of(count_chars(t));
      for (LidAccuracy::Cell* c :
           {&a.overall, &a.by_lang[l], &a.by_length[b], &a.by_lang_length[l][b]}) {
        c->total++;
        c->correct += right;
      }
      const size_t pi = std::find(langs.begin(), langs.end(), p.lang) - langs.begin();
      a.confusion[l][pi]++;
    }
  return a;
}

std::string format_lid_accuracy(const LidAccuracy& a, const std::string& title) {
  auto pct = [](const LidAccuracy::Cell& c) {
    return c.total ? format("%.1f", 100.0 * c.correct / c.total) : std::string("-");
  };
  std::string out =
      format("\n%s: accuracy %% by language and by length (code points)\n", title.c_str());
  out += "| lang | texts | accuracy |";
  for (const auto& b : a.bucket_names) out += " " + b + " |";
  out += "\n|---|---:|---:|";
  for (size_t i = 0; i < a.bucket_names.size(); ++i) out += "---:|";
  out += "\n";
  for (size_t l = 0; l < a.langs.size(); ++l) {
    out += format("| %s | %lld | %s |", a.langs[l].c_str(),
                  static_cast<long long>(a.by_lang[l].total), pct(a.by_lang[l]).c_str());
    for (const auto& c : a.by_lang_length[l]) out += " " + pct(c) + " |";
    out += "\n";
  }
  out += format("| all | %lld | %s |", static_cast<long long>(a.overall.total),
                pct(a.overall).c_str());
  for (const auto& c : a.by_length) out += " " + pct(c) + " |";
  out += "\n| texts | | |";
  for (const auto& c : a.by_length) out += format(" %lld |", static_cast<long long>(c.total));
  out += "\n";
  // The most common confusions.
  std::vector<std::tuple<int64_t, size_t, size_t>> conf;
  for (size_t t = 0; t < a.langs.size(); ++t)
    for (size_t p = 0; p <= a.langs.size(); ++p)
      if (p != t && a.confusion[t][p] > 0) conf.emplace_back(-a.confusion[t][p], t, p);
  std::sort(conf.begin(), conf.end());
  if (!conf.empty()) {
    out += "most common confusions (true -> predicted):";
    for (size_t i = 0; i < conf.size() && i < 6; ++i) {
      const auto& [n, t, p] = conf[i];
      out += format(" %s->%s %lld%s", a.langs[t].c_str(),
                    p < a.langs.size() ? a.langs[p].c_str() : "(none)", static_cast<long long>(-n),
                    i + 1 < conf.size() && i < 5 ? "," : "");
    }
    out += "\n";
  }
  return out;
}

void prepare_lid(const DataConfig& cfg, const std::string& path, const LidOptions& opt) {
  const std::string out_path = path.empty() ? cfg.out_dir + "/lid.model" : path;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> langs;
  const std::vector<Row> rows = read_split(cfg.out_dir + "/train.tsv", &langs);
  std::fprintf(stderr,
               "[lid] training on %zu rows of %s/train.tsv (n-grams 1-%d, top %d per language)\n",
               rows.size(), cfg.out_dir.c_str(), opt.max_n, opt.top_k);
  const LanguageIdentifier lid = train_lid(rows, langs, opt);
  lid.save(out_path);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("language identifier: %s (%zu languages, %zu features, %.1f MB), trained in %.1f s\n",
              out_path.c_str(), langs.size(), lid.num_features(),
              std::filesystem::file_size(out_path) / 1e6, secs);
  for (const char* split : {"valid", "test"}) {
    const std::string p = cfg.out_dir + "/" + split + ".tsv";
    if (!std::filesystem::exists(p)) continue;
    std::vector<std::string> split_langs;
    const auto split_rows = read_split(p, &split_langs);
    std::printf("%s",
                format_lid_accuracy(lid_accuracy(lid, split_rows, split_langs), split).c_str());
  }
}

}  // namespace strata::data
