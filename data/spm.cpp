#include "data/spm.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "nmt/util/error.h"
#include "data/langs.h"
#include "data/prepare.h"

namespace strata::data {

std::vector<double> temperature_probs(const std::vector<int64_t>& counts, double temperature) {
  if (temperature <= 0) throw Error("temperature must be > 0");
  double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> p(counts.size(), 0.0);
  if (total <= 0) return p;
  double z = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    p[i] = counts[i] > 0 ? std::pow(counts[i] / total, 1.0 / temperature) : 0.0;
    z += p[i];
  }
  for (auto& v : p) v /= z;
  return p;
}

std::vector<int64_t> temperature_quota(const std::vector<int64_t>& counts, double temperature,
                                       int64_t total) {
  auto p = temperature_probs(counts, temperature);
  std::vector<int64_t> q(p.size());
  std::vector<std::pair<double, size_t>> rem;
  int64_t used = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    double exact = p[i] * total;
    q[i] = static_cast<int64_t>(std::floor(exact));
    used += q[i];
    rem.emplace_back(exact - q[i], i);
  }
  std::sort(rem.begin(), rem.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t k = 0; used < total && k < rem.size(); ++k)
    if (p[rem[k].second] > 0) {
      q[rem[k].second]++;
      used++;
    }
  return q;
}

void train_spm(const DataConfig& cfg) {
  std::vector<std::string> langs;
  std::vector<Row> rows = read_split(cfg.out_dir + "/train.tsv", &langs);
  std::vector<std::vector<const std::string*>> per_lang(langs.size());
  for (const Row& r : rows)
    for (size_t l = 0; l < langs.size(); ++l)
      if (!r.text[l].empty()) per_lang[l].push_back(&r.text[l]);
  std::vector<int64_t> counts;
  for (auto& v : per_lang) counts.push_back(static_cast<int64_t>(v.size()));
  auto quota = temperature_quota(counts, cfg.spm.temperature, cfg.spm.sample_sentences);
  auto probs = temperature_probs(counts, cfg.spm.temperature);

  std::string text_path = cfg.out_dir + "/spm_train.txt";
  std::mt19937_64 rng(cfg.spm.seed);
  {
    std::ofstream out(text_path, std::ios::binary);
    if (!out) throw Error(text_path + ": cannot write");
    std::fprintf(stderr, "[spm] T=%g sample of %d sentences:\n", cfg.spm.temperature,
                 cfg.spm.sample_sentences);
    for (size_t l = 0; l < langs.size(); ++l) {
      auto& v = per_lang[l];
      std::shuffle(v.begin(), v.end(), rng);
      // Draw without replacement first, then cycle (up-sampling small languages).
      for (int64_t i = 0; i < quota[l] && !v.empty(); ++i) out << *v[i % v.size()] << '\n';
      std::fprintf(stderr, "[spm]   %-6s %8lld sentences  p=%.3f  drawn %lld\n", langs[l].c_str(),
                   static_cast<long long>(counts[l]), probs[l], static_cast<long long>(quota[l]));
    }
    out.close();
    if (!out) throw Error(text_path + ": write failed (disk full?)");
  }
  std::string symbols;
  for (const auto& l : langs) symbols += (symbols.empty() ? "" : ",") + lang_tag(l);
  std::string prefix = cfg.out_dir + "/spm";
  std::string args = "--input=" + text_path + " --model_prefix=" + prefix +
                     " --vocab_size=" + std::to_string(cfg.spm.vocab_size) +
                     " --character_coverage=" + std::to_string(cfg.spm.character_coverage) +
                     " --model_type=" + cfg.spm.model_type +
                     " --user_defined_symbols=" + symbols +
                     " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --byte_fallback=true" +
                     " --input_sentence_size=" + std::to_string(cfg.spm.sample_sentences) +
                     " --shuffle_input_sentence=true --max_sentence_length=8192 --hard_vocab_limit=false" +
                     " --num_threads=" + std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
                     " --minloglevel=1";
  std::fprintf(stderr, "[spm] training %s model, vocab %d\n", cfg.spm.model_type.c_str(),
               cfg.spm.vocab_size);
  auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) throw Error(prefix + ".model: SentencePiece training failed: " + status.ToString());
  std::filesystem::remove(text_path);
  std::fprintf(stderr, "[spm] wrote %s.model and %s.vocab\n", prefix.c_str(), prefix.c_str());
}

namespace {
std::string format_byte_piece(unsigned char c) {  // SentencePiece's byte-fallback piece: <0x3E>
  static const char* hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[c >> 4] + hex[c & 15] + ">";
}
}  // namespace

Tokenizer::Tokenizer(const std::string& model_path)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  auto status = sp_->Load(model_path);
  if (!status.ok()) throw Error(model_path + ": cannot load SentencePiece model (" + status.ToString() + ")");
  find_tags();
}
Tokenizer::Tokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_serialized(const std::string& proto,
                                                      const std::string& name) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  auto status = t->sp_->LoadFromSerializedProto(proto);
  if (!status.ok()) throw Error(name + ": invalid SentencePiece model (" + status.ToString() + ")");
  t->find_tags();
  return t;
}

void Tokenizer::find_tags() {
  const int n = sp_->GetPieceSize();
  is_tag_.assign(n, false);
  for (int id = 0; id < n; ++id) {
    const std::string& p = sp_->IdToPiece(id);
    is_tag_[id] = p.size() > 4 && p.compare(0, 2, ">>") == 0 && p.compare(p.size() - 2, 2, "<<") == 0;
  }
}

std::string Tokenizer::serialized() const { return sp_->serialized_model_proto(); }

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  sp_->Encode(text, &ids);
  // SentencePiece matches user-defined symbols anywhere, so ">>de<<" typed into a sentence would
  // become the language tag. Text never yields a tag: such a piece is spelled out character by
  // character (byte pieces where a character has none), which decodes to the same text.
  if (std::none_of(ids.begin(), ids.end(), [&](int id) { return is_tag_[id]; })) return ids;
  std::vector<int> out;
  for (int id : ids) {
    if (!is_tag_[id]) {
      out.push_back(id);
      continue;
    }
    for (unsigned char c : sp_->IdToPiece(id)) {
      int cid = piece_id(std::string(1, static_cast<char>(c)));
      if (cid < 0 || is_tag_[cid]) cid = piece_id(format_byte_piece(c));
      out.push_back(cid < 0 ? kUnkId : cid);
    }
  }
  return out;
}
std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  sp_->Decode(ids, &out);
  return out;
}
int Tokenizer::piece_id(const std::string& piece) const {
  int id = sp_->PieceToId(piece);
  return (id == sp_->unk_id() && piece != sp_->IdToPiece(sp_->unk_id())) ? -1 : id;
}
std::string Tokenizer::piece(int id) const { return sp_->IdToPiece(id); }
int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace strata::data
