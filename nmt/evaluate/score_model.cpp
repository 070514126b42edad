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

std::string matrix(const char* title, const SplitScores& s, double DirectionScore::*field) {
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
      else out += format(" %.1f |", it->second.*field);
    }
    out += "\n";
  }
  return out;
}

const char* const kGroups[] = {"en->xx", "xx->en", "non-English", "all"};

}  // namespace

SplitScores score_split(Translator& tr, const data::DataConfig& dcfg, const std::string& split,
                        const SearchOptions& search, int batch, int max_sentences) {
  SearchOptions opt = search;
  opt.nbest = 1;
  SplitScores s;
  s.split = split;
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
      s.directions[{langs[a], langs[b]}] = d;
      std::fprintf(stderr,
                   "[eval] %s %s-%s: BLEU %.2f chrF %.2f (copy-source chrF %.2f), %zu sentences\n",
                   split.c_str(), langs[a].c_str(), langs[b].c_str(), d.bleu, d.chrf, d.copy_chrf,
                   d.n);
    }
  return s;
}

std::map<std::string, GroupAverage> group_averages(const SplitScores& s) {
  std::map<std::string, GroupAverage> sums;
  for (const auto& [k, d] : s.directions) {
    std::string g = k.first == "en" ? "en->xx" : k.second == "en" ? "xx->en" : "non-English";
    for (const std::string& key : {g, std::string("all")}) {
      sums[key].bleu += d.bleu;
      sums[key].chrf += d.chrf;
      sums[key].copy_chrf += d.copy_chrf;
      sums[key].directions++;
    }
  }
  for (auto& [g, a] : sums) {
    a.bleu /= a.directions;
    a.chrf /= a.directions;
    a.copy_chrf /= a.directions;
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
  return out;
}

nlohmann::json scores_json(const SplitScores& s) {
  nlohmann::json j;
  for (const auto& [k, d] : s.directions)
    j["directions"][k.first + "-" + k.second] = {
        {"bleu", d.bleu}, {"chrf", d.chrf}, {"copy_chrf", d.copy_chrf}, {"sentences", d.n}};
  const auto avg = group_averages(s);
  for (const char* g : kGroups) {
    auto it = avg.find(g);
    if (it == avg.end()) continue;
    const GroupAverage& a = it->second;
    j["averages"][g] = {{"bleu", a.bleu}, {"chrf", a.chrf}, {"copy_chrf", a.copy_chrf},
                        {"directions", a.directions}};
  }
  j["beats_copy"] = beats_copy(s);
  j["num_directions"] = s.directions.size();
  return j;
}

}  // namespace strata::nmt
