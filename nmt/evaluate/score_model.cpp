// Model scoring on a split: the translation loop, group averages, the printed tables and the JSON.
#include "nmt/evaluate/score_model.h"

#include <algorithm>
#include <cstdio>

#include "data/clean.h"
#include "data/prepare.h"
#include "nmt/eval/metrics.h"
#include "nmt/util/format.h"

namespace strata::nmt {

namespace {

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string matrix(const char* title, const SplitScores& s, double DirectionScore::*field,
                   double scale = 1) {
  std::string out = format("\n%s (rows: source, columns: target)\n| src\\tgt |", title);
  for (const auto& l : s.langs) out += format(" %s |", l.c_str());
  out += "\n|---|";
  for (size_t i = 0; i < s.langs.size(); ++i) out += "---:|";
  out += "\n";
  for (const auto& a : s.langs) {
    out += format("| %s |", a.c_str());
    for (const auto& b : s.langs) {
      auto it = s.directions.find({a, b});
      if (it == s.directions.end()) out += " - |";
      else out += format(" %.1f |", it->second.*field * scale);
    }
    out += "\n";
  }
  return out;
}

const char* const kGroups[] = {"en->xx", "xx->en", "non-English", "all"};

// The share of `texts` that `lid` labels with another language than `lang`, of those it labels.
double off_target_rate(const data::LanguageIdentifier& lid, const std::vector<std::string>& texts,
                       const std::string& lang, size_t* identified) {
  size_t n = 0, off = 0;
  for (const auto& t : texts) {
    const data::LidPrediction p = lid.predict(t);
    if (p.lang.empty()) continue;  // empty output or no known n-gram: left out
    ++n;
    off += p.lang != lang;
  }
  if (identified) *identified = n;
  return n ? static_cast<double>(off) / n : 0.0;
}

}  // namespace

uint64_t shuffle_seed(const std::string& src, const std::string& tgt) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : src + "-" + tgt) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<size_t> shuffled_order(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  uint64_t x = seed;
  auto next = [&x] {  // splitmix64
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  // Sattolo: j < i (not <= i, which would be Fisher-Yates) makes one cycle through all n.
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[next() % (i - 1)]);
  return p;
}

SplitScores score_split(Translator& tr, const data::DataConfig& dcfg, const std::string& split,
                        const SearchOptions& search, int batch, int max_sentences,
                        const SourceUseOptions& use, bool nll) {
  SearchOptions opt = search;
  opt.nbest = 1;
  SplitScores s;
  s.split = split;
  s.has_shuffled = use.shuffled;
  s.has_off_target = use.lid != nullptr;
  s.has_nll = nll;
  s.lid_name = use.lid_name;
  std::vector<std::string> langs;
  auto rows = data::read_split(dcfg.out_dir + "/" + split + ".tsv", &langs);
  size_t en = std::find(langs.begin(), langs.end(), "en") - langs.begin();
  for (const auto& l : langs)
    if (has(tr.langs(), l)) s.langs.push_back(l);
  std::fprintf(stderr, "[eval] %s: %zu directions, up to %d sentences each, beam %d\n",
               split.c_str(), s.langs.size() * (s.langs.size() - 1), max_sentences, opt.beam);
  for (size_t a = 0; a < langs.size(); ++a)
    for (size_t b = 0; b < langs.size(); ++b) {
      if (a == b) continue;
      if (!has(s.langs, langs[a]) || !has(s.langs, langs[b])) continue;
      std::vector<std::string> src, ref;
      for (const auto& r : rows) {
        if (r.text[a].empty() || r.text[b].empty()) continue;
        if (data::count_words(r.text[en]) < dcfg.split.eval_min_words) continue;
        src.push_back(r.text[a]);
        ref.push_back(r.text[b]);
        if (max_sentences > 0 && static_cast<int>(src.size()) >= max_sentences) break;
      }
      if (src.empty()) continue;
      auto out = tr.translate(src, langs[b], opt, batch, langs[a]);
      std::vector<std::string> hyp;
      for (auto& o : out) hyp.push_back(o.empty() ? "" : o[0].text);
      DirectionScore d;
      d.n = src.size();
      d.bleu = eval::corpus_bleu(hyp, ref, eval::default_tokenizer_for(langs[b])).score;
      d.chrf = eval::corpus_chrf(hyp, ref).score;
      d.copy_chrf = eval::corpus_chrf(src, ref).score;  // baseline: copy the source
      std::string extra;
      if (use.shuffled) {
        // NOTE: the translation of source perm[i] is hyp[perm[i]]: a sentence's translation does
        // not depend on the other sentences of its batch (decoding is batch-invariant, tested in
        // tests/evaluate), so the shuffled sources need no second decoding pass.
        const std::vector<size_t> perm =
            shuffled_order(hyp.size(), shuffle_seed(langs[a], langs[b]));
        std::vector<std::string> shuffled(hyp.size());
        for (size_t i = 0; i < hyp.size(); ++i) shuffled[i] = hyp[perm[i]];
        d.shuffled_bleu =
            eval::corpus_bleu(shuffled, ref, eval::default_tokenizer_for(langs[b])).score;
        d.shuffled_chrf = eval::corpus_chrf(shuffled, ref).score;
        extra += format(", shuffled-source chrF %.2f", d.shuffled_chrf);
      }
      if (use.lid) {
        d.off_target = off_target_rate(*use.lid, hyp, langs[b], &d.identified);
        d.ref_off_target = off_target_rate(*use.lid, ref, langs[b], nullptr);
        extra += format(", off-target %.1f%% of %zu", 100 * d.off_target, d.identified);
      }
      if (nll) {
        std::vector<std::vector<int>> src_ids, ref_ids;
        for (size_t i = 0; i < src.size(); ++i) {
          src_ids.push_back(tr.tokenizer().encode(src[i]));
          ref_ids.push_back(tr.tokenizer().encode(ref[i]));
        }
        const Translator::Nll n = tr.score_nll(src_ids, ref_ids, langs[b], batch, langs[a]);
        d.nll_sum = n.sum;
        d.nll_tokens = n.tokens;
        extra += format(", nll %.3f", n.tokens > 0 ? n.sum / n.tokens : 0.0);
      }
      s.directions[{langs[a], langs[b]}] = d;
      std::fprintf(
          stderr, "[eval] %s %s-%s: BLEU %.2f chrF %.2f (copy-source chrF %.2f%s), %zu sentences\n",
          split.c_str(), langs[a].c_str(), langs[b].c_str(), d.bleu, d.chrf, d.copy_chrf,
          extra.c_str(), d.n);
    }
  return s;
}

std::map<std::string, GroupAverage> group_averages(const SplitScores& s) {
  std::map<std::string, GroupAverage> sums;
  std::map<std::string, std::pair<double, int64_t>> nll;  // group -> (sum, tokens)
  for (const auto& [k, d] : s.directions) {
    std::string g = k.first == "en" ? "en->xx" : k.second == "en" ? "xx->en" : "non-English";
    for (const std::string& key : {g, std::string("all")}) {
      sums[key].bleu += d.bleu;
      sums[key].chrf += d.chrf;
      sums[key].copy_chrf += d.copy_chrf;
      sums[key].shuffled_bleu += d.shuffled_bleu;
      sums[key].shuffled_chrf += d.shuffled_chrf;
      sums[key].off_target += d.off_target;
      sums[key].directions++;
      nll[key].first += d.nll_sum;
      nll[key].second += d.nll_tokens;
    }
  }
  for (auto& [g, a] : sums) {
    a.bleu /= a.directions;
    a.chrf /= a.directions;
    a.copy_chrf /= a.directions;
    a.shuffled_bleu /= a.directions;
    a.shuffled_chrf /= a.directions;
    a.off_target /= a.directions;
    a.nll = nll[g].second > 0 ? nll[g].first / nll[g].second : 0;
  }
  return sums;
}

int beats_copy(const SplitScores& s) {
  int n = 0;
  for (const auto& [k, d] : s.directions) n += d.chrf > d.copy_chrf;
  return n;
}

std::string format_scores(const SplitScores& s, const std::string& model_name, int beam) {
  std::string out = format("\n== %s (%s, beam %d, signature BLEU %s / chrF %s)\n", s.split.c_str(),
                           model_name.c_str(), beam,
                           eval::corpus_bleu({"a"}, {"a"}).signature.c_str(),
                           eval::corpus_chrf({"a"}, {"a"}).signature.c_str());
  out += matrix("BLEU", s, &DirectionScore::bleu);
  out += matrix("chrF", s, &DirectionScore::chrf);
  out += "\n| average | directions | BLEU | chrF | copy-source chrF |\n|---|---:|---:|---:|---:|\n";
  const auto avg = group_averages(s);
  for (const char* g : kGroups) {
    auto it = avg.find(g);
    if (it == avg.end()) continue;
    const GroupAverage& a = it->second;
    out += format("| %s | %d | %.2f | %.2f | %.2f |\n", g, a.directions, a.bleu, a.chrf,
                  a.copy_chrf);
  }
  out += format("chrF above copying the source in %d of %zu directions\n", beats_copy(s),
                s.directions.size());
  if (s.has_nll) {
    out += "teacher-forced nll per reference token:";
    for (const char* g : kGroups)
      if (avg.count(g)) out += format(" %s %.3f", g, avg.at(g).nll);
    out += "\n";
  }
  if (!s.has_shuffled && !s.has_off_target) return out;
  if (s.has_shuffled)
    out += matrix(
        "shuffled-source chrF (each source replaced by another sentence's of its "
        "direction)",
        s, &DirectionScore::shuffled_chrf);
  if (s.has_off_target)
    out += matrix(
        format("off-target %% (outputs identified as another language by %s)", s.lid_name.c_str())
            .c_str(),
        s, &DirectionScore::off_target, 100);
  out += "\n| source use | directions | chrF |";
  if (s.has_shuffled) out += " shuffled chrF | gap |";
  if (s.has_off_target) out += " off-target % |";
  out += "\n|---|---:|---:|";
  if (s.has_shuffled) out += "---:|---:|";
  if (s.has_off_target) out += "---:|";
  out += "\n";
  for (const char* g : kGroups) {
    auto it = avg.find(g);
    if (it == avg.end()) continue;
    const GroupAverage& a = it->second;
    out += format("| %s | %d | %.2f |", g, a.directions, a.chrf);
    if (s.has_shuffled) out += format(" %.2f | %.2f |", a.shuffled_chrf, a.chrf - a.shuffled_chrf);
    if (s.has_off_target) out += format(" %.1f |", 100 * a.off_target);
    out += "\n";
  }
  return out;
}

nlohmann::json scores_json(const SplitScores& s) {
  nlohmann::json j;
  for (const auto& [k, d] : s.directions) {
    nlohmann::json& e = j["directions"][k.first + "-" + k.second];
    e = {{"bleu", d.bleu}, {"chrf", d.chrf}, {"copy_chrf", d.copy_chrf}, {"sentences", d.n}};
    if (s.has_shuffled) {
      e["shuffled_bleu"] = d.shuffled_bleu;
      e["shuffled_chrf"] = d.shuffled_chrf;
      e["chrf_gap"] = d.chrf - d.shuffled_chrf;
    }
    if (s.has_off_target) {
      e["off_target"] = d.off_target;
      e["identified"] = d.identified;
      e["ref_off_target"] = d.ref_off_target;
    }
    if (s.has_nll) {
      e["nll"] = d.nll_tokens > 0 ? d.nll_sum / d.nll_tokens : 0;
      e["nll_tokens"] = d.nll_tokens;
    }
  }
  const auto avg = group_averages(s);
  for (const char* g : kGroups) {
    auto it = avg.find(g);
    if (it == avg.end()) continue;
    const GroupAverage& a = it->second;
    nlohmann::json& e = j["averages"][g];
    e = {{"bleu", a.bleu},
         {"chrf", a.chrf},
         {"copy_chrf", a.copy_chrf},
         {"directions", a.directions}};
    if (s.has_shuffled) {
      e["shuffled_bleu"] = a.shuffled_bleu;
      e["shuffled_chrf"] = a.shuffled_chrf;
      e["chrf_gap"] = a.chrf - a.shuffled_chrf;
    }
    if (s.has_off_target) e["off_target"] = a.off_target;
    if (s.has_nll) e["nll"] = a.nll;
  }
  if (s.has_off_target) j["lid"] = s.lid_name;
  j["beats_copy"] = beats_copy(s);
  j["num_directions"] = s.directions.size();
  return j;
}

}  // namespace strata::nmt
