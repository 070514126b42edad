#include "data/prepare.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "data/archive.h"
#include "data/dtd.h"
#include "data/fluent.h"
#include "data/gettext_mo.h"
#include "data/help_html.h"
#include "data/langs.h"
#include "data/properties.h"
#include "nmt/util/error.h"
#include "nmt/util/utf8.h"

namespace fs = std::filesystem;

namespace strata::data {

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string md5_hex(const std::string& s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), digest, &n, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v), out;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out += ',';
    out += *it;
    ++n;
  }
  return {out.rbegin(), out.rend()};
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}
bool starts_with(const std::string& s, const std::string& pre) { return s.rfind(pre, 0) == 0; }

// Runs a shell command; returns its exit status.
int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// ---------------------------------------------------------------------------------------------
// Downloads: apt-get download into cache_dir/partial, validated, then renamed to cache_dir/PKG.deb.
// Re-runs reuse cached files; an interrupted run leaves only partial/ behind.

class DebCache {
 public:
  explicit DebCache(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

  std::string path(const std::string& pkg) const { return dir_ + "/" + pkg + ".deb"; }
  bool has(const std::string& pkg) const { return fs::exists(path(pkg)); }

  // Downloads what is missing; returns packages that apt does not know.
  std::vector<std::string> fetch(const std::vector<std::string>& pkgs) {
    std::vector<std::string> missing, unknown;
    for (const auto& p : pkgs)
      if (!has(p)) missing.push_back(p);
    if (missing.empty()) return unknown;
    std::cerr << "[data] downloading " << missing.size() << " packages into " << dir_ << "\n";
    std::string partial = dir_ + "/partial";
    fs::create_directories(partial);
    std::string all;
    for (const auto& p : missing) all += " " + shell_quote(p);
    std::string cmd = "cd " + shell_quote(partial) + " && apt-get download -q" + all +
                      " >apt.log 2>&1";
    if (run(cmd) != 0) {
      // One unknown package fails the whole call: retry one by one to find out which.
      for (const auto& p : missing) {
        if (adopt(p)) continue;
        std::string one = "cd " + shell_quote(partial) + " && apt-get download -q " +
                          shell_quote(p) + " >apt.log 2>&1";
        if (run(one) != 0) {
          std::ifstream log(partial + "/apt.log");
          std::string text((std::istreambuf_iterator<char>(log)), {});
          if (text.find("Unable to locate") != std::string::npos ||
              text.find("has no installation candidate") != std::string::npos) {
            unknown.push_back(p);
            continue;
          }
          throw Error("apt-get download " + p + " failed (see " + partial +
                      "/apt.log; is the network up and 'apt-get update' done?)");
        }
      }
    }
    for (const auto& p : missing)
      if (std::find(unknown.begin(), unknown.end(), p) == unknown.end() && !adopt(p))
        throw Error("apt-get download " + p + ": no .deb appeared in " + partial);
    return unknown;
  }

 private:
  // Moves partial/PKG_*.deb to PKG.deb after checking that it opens as a .deb.
  bool adopt(const std::string& pkg) {
    if (has(pkg)) return true;
    for (const auto& e : fs::directory_iterator(dir_ + "/partial")) {
      std::string name = e.path().filename().string();
      if (starts_with(name, pkg + "_") && ends_with(name, ".deb")) {
        // Validate: libarchive must find the data member.
        try {
          for_each_deb_member(e.path().string(), [](const std::string&) { return false; },
                              [](const std::string&, std::string&&) {});
        } catch (const Error&) {
          fs::remove(e.path());
          return false;
        }
        fs::rename(e.path(), path(pkg));
        return true;
      }
    }
    return false;
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// Extraction per source. Each produces units keyed by a source-specific id.

using UnitMap = std::unordered_map<std::string, Unit>;

struct Progress {
  int done = 0, total = 0;
  void step(const std::string& what, int64_t strings, double t0) {
    ++done;
    std::fprintf(stderr, "[data] [%2d/%2d] %-34s %9s strings  %5.1fs\n", done, total, what.c_str(),
                 with_commas(strings).c_str(), now_s() - t0);
  }
};

// Mozilla resources: normalises a member path so the langpack's and omni.ja's names meet:
// the part after "localization/" or "/locale/", without path segments equal to the locale.
std::string mozilla_key(const std::string& path, const std::string& locale) {
  size_t pos = path.rfind("localization/");
  size_t skip = 13;
  if (pos == std::string::npos) {
    pos = path.rfind("locale/");
    skip = 7;
  }
  std::string rest = pos == std::string::npos ? path : path.substr(pos + skip);
  std::string out, seg;
  std::stringstream ss(rest);
  while (std::getline(ss, seg, '/')) {
    if (seg == locale) continue;
    out += (out.empty() ? "" : "/") + seg;
  }
  return out;
}

bool mozilla_dropped_key(const std::string& key) {
  static const char* kSuffixes[] = {".accesskey", ".key",    ".commandkey", ".style", ".width",
                                    ".height",    "accesskey", ".keycode",  ".modifiers"};
  for (const char* s : kSuffixes)
    if (ends_with(key, s)) return true;
  return false;
}

struct MozMessages {
  std::map<std::string, FtlTerm> terms;
  std::vector<std::pair<std::string, Message>> messages;  // (file key + '#' + id, message)
};

void read_mozilla_member(const std::string& path, std::string&& bytes, const std::string& locale,
                         const std::string& name, MozMessages* out) {
  std::string file = mozilla_key(path, locale);
  std::vector<Message> msgs;
  if (ends_with(path, ".ftl")) {
    FtlResource r = parse_ftl(bytes, name + ":" + path);
    for (auto& t : r.terms) out->terms.emplace(t.first, t.second);
    msgs = std::move(r.messages);
  } else if (ends_with(path, ".properties")) {
    msgs = parse_properties(bytes, name + ":" + path);
  } else {
    msgs = parse_dtd(bytes, name + ":" + path);
  }
  for (auto& m : msgs) {
    if (mozilla_dropped_key(m.key)) continue;
    std::string id = file + "#" + m.key;
    out->messages.emplace_back(std::move(id), std::move(m));
  }
}

bool mozilla_resource(const std::string& p) {
  return (ends_with(p, ".ftl") || ends_with(p, ".properties") || ends_with(p, ".dtd")) &&
         (p.find("localization/") != std::string::npos || p.find("locale/") != std::string::npos);
}

// Reads one Mozilla application (firefox or thunderbird): en-US from the app's omni.ja files,
// each language from its langpack .xpi.
void extract_mozilla(const DataConfig& cfg, const std::string& app, DebCache& cache,
                     const std::set<std::string>& unknown, Progress& prog, UnitMap* units) {
  const std::string app_pkg = app == "firefox" ? "firefox-esr" : "thunderbird";
  auto collect = [&](const std::string& pkg, const std::string& locale, MozMessages* mm) {
    for_each_deb_member(
        cache.path(pkg),
        [&](const std::string& p) { return ends_with(p, ".xpi") || ends_with(p, "omni.ja"); },
        [&](const std::string& p, std::string&& zip) {
          std::string name = pkg + ".deb:" + p;
          for_each_zip_member(zip, name, mozilla_resource,
                              [&](const std::string& m, std::string&& bytes) {
                                read_mozilla_member(m, std::move(bytes), locale, name, mm);
                              });
        });
  };
  double t0 = now_s();
  MozMessages en;
  collect(app_pkg, "en-US", &en);
  for (auto& [id, m] : en.messages) {
    Unit& u = (*units)[id];
    u.en = expand_ftl_terms(m.text, en.terms);
    u.plural = m.plural;
  }
  prog.step(app_pkg + " (en-US)", static_cast<int64_t>(en.messages.size()), t0);
  for (const auto& lang : cfg.langs) {
    if (lang == "en") continue;
    std::string pkg = app_pkg + "-l10n-" + package_suffix(lang);
    t0 = now_s();
    if (unknown.count(pkg)) {
      prog.step(pkg + " (not in Debian)", 0, t0);
      continue;
    }
    MozMessages mm;
    collect(pkg, lang, &mm);
    int64_t n = 0;
    for (auto& [id, m] : mm.messages) {
      auto it = units->find(id);
      if (it == units->end()) continue;
      it->second.tr[lang] = expand_ftl_terms(m.text, mm.terms);
      it->second.plural = it->second.plural || m.plural;
      ++n;
    }
    prog.step(pkg, n, t0);
  }
}

// gettext catalogues: the English is the msgid. Unit id: domain, context and msgid.
void add_mo(const std::string& bytes, const std::string& domain, const std::string& lang,
            Accel accel, const std::string& name, UnitMap* units, int64_t* n) {
  for (auto& e : parse_mo(bytes, name)) {
    if (e.msgstr.empty()) continue;
    std::string id = domain + '\x04' + e.context + '\x04' + e.msgid;
    Unit& u = (*units)[id];
    if (u.en.empty()) u.en = e.msgid;
    u.accel = accel;
    u.plural = u.plural || e.plural;
    u.tr[lang] = e.msgstr;
    ++*n;
  }
}

std::string basename_no_ext(const std::string& p) {
  std::string b = p.substr(p.rfind('/') + 1);
  return b.substr(0, b.rfind('.'));
}

void extract_lo_ui(const DataConfig& cfg, DebCache& cache, const std::set<std::string>& unknown,
                   Progress& prog, UnitMap* units) {
  for (const auto& lang : cfg.langs) {
    if (lang == "en") continue;
    std::string pkg = "libreoffice-l10n-" + package_suffix(lang);
    double t0 = now_s();
    int64_t n = 0;
    if (!unknown.count(pkg))
      for_each_deb_member(
          cache.path(pkg),
          [](const std::string& p) {
            return p.find("program/resource/") != std::string::npos && ends_with(p, ".mo");
          },
          [&](const std::string& p, std::string&& bytes) {
            add_mo(bytes, basename_no_ext(p), lang, Accel::kTilde, pkg + ".deb:" + p, units, &n);
          });
    prog.step(pkg + (unknown.count(pkg) ? " (not in Debian)" : ""), n, t0);
  }
}

void extract_gettext(const DataConfig& cfg, DebCache& cache, const std::set<std::string>& unknown,
                     Progress& prog, UnitMap* units) {
  std::map<std::string, std::string> by_locale;  // "zh_CN" -> "zh-CN"
  for (const auto& lang : cfg.langs)
    if (lang != "en") by_locale[gettext_locale(lang)] = lang;
  for (const auto& pkg : cfg.gettext_packages) {
    double t0 = now_s();
    int64_t n = 0;
    if (!unknown.count(pkg))
      for_each_deb_member(
          cache.path(pkg),
          [&](const std::string& p) {
            // usr/share/locale/<loc>/LC_MESSAGES/<domain>.mo
            const std::string pre = "usr/share/locale/";
            if (!starts_with(p, pre) || !ends_with(p, ".mo")) return false;
            std::string loc = p.substr(pre.size(), p.find('/', pre.size()) - pre.size());
            return by_locale.count(loc) > 0;
          },
          [&](const std::string& p, std::string&& bytes) {
            const std::string pre = "usr/share/locale/";
            std::string loc = p.substr(pre.size(), p.find('/', pre.size()) - pre.size());
            // VLC is a Qt program ('&' accelerators); the GNOME ones use GTK's '_'.
            Accel accel = pkg.rfind("vlc", 0) == 0 ? Accel::kAmpersand : Accel::kUnderscore;
            add_mo(bytes, pkg + "/" + basename_no_ext(p), by_locale[loc], accel, pkg + ".deb:" + p,
                   units, &n);
          });
    prog.step(pkg + (unknown.count(pkg) ? " (not in Debian)" : ""), n, t0);
  }
}

void extract_lo_help(const DataConfig& cfg, DebCache& cache, const std::set<std::string>& unknown,
                     Progress& prog, UnitMap* units) {
  auto read = [&](const std::string& pkg, const std::string& lang, bool english, int64_t* n) {
    for_each_deb_member(
        cache.path(pkg),
        [](const std::string& p) {
          return starts_with(p, "usr/share/libreoffice/help/") && ends_with(p, ".html") &&
                 p.find("/text/") != std::string::npos;
        },
        [&](const std::string& p, std::string&& bytes) {
          std::string rel = p.substr(p.find("/text/") + 1);  // text/swriter/guide/x.html
          for (auto& m : parse_help_html(bytes, pkg + ".deb:" + p)) {
            std::string id = rel + "#" + m.key;
            if (english) {
              (*units)[id].en = std::move(m.text);
              ++*n;
            } else {
              auto it = units->find(id);
              if (it == units->end()) continue;
              it->second.tr[lang] = std::move(m.text);
              ++*n;
            }
          }
        });
  };
  double t0 = now_s();
  int64_t n = 0;
  read("libreoffice-help-en-us", "en", true, &n);
  prog.step("libreoffice-help-en-us", n, t0);
  for (const auto& lang : cfg.langs) {
    if (lang == "en") continue;
    std::string pkg = "libreoffice-help-" + package_suffix(lang);
    t0 = now_s();
    n = 0;
    if (!unknown.count(pkg)) read(pkg, lang, false, &n);
    prog.step(pkg + (unknown.count(pkg) ? " (not in Debian)" : ""), n, t0);
  }
}

std::vector<std::string> packages_for(const DataConfig& cfg, const std::string& source) {
  std::vector<std::string> pkgs;
  auto per_lang = [&](const std::string& prefix) {
    for (const auto& l : cfg.langs)
      if (l != "en") pkgs.push_back(prefix + package_suffix(l));
  };
  if (source == "lo-ui") per_lang("libreoffice-l10n-");
  if (source == "lo-help") {
    pkgs.push_back("libreoffice-help-en-us");
    per_lang("libreoffice-help-");
  }
  if (source == "firefox") {
    pkgs.push_back("firefox-esr");
    per_lang("firefox-esr-l10n-");
  }
  if (source == "thunderbird") {
    pkgs.push_back("thunderbird");
    per_lang("thunderbird-l10n-");
  }
  if (source == "gettext") pkgs = cfg.gettext_packages;
  return pkgs;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Alignment

std::map<std::string, std::vector<Row>> align_sources(
    const DataConfig& cfg, const std::map<std::string, std::vector<Unit>>& units,
    AlignStats* stats) {
  std::vector<std::string> order = cfg.sources;
  if (!cfg.ood_source.empty()) order.push_back(cfg.ood_source);
  const size_t L = cfg.langs.size();
  size_t en_idx = std::find(cfg.langs.begin(), cfg.langs.end(), "en") - cfg.langs.begin();
  std::map<std::string, size_t> lang_idx;
  for (size_t i = 0; i < L; ++i) lang_idx[cfg.langs[i]] = i;

  std::map<std::string, std::vector<Row>> out;
  for (const auto& source : order) {
    auto it = units.find(source);
    if (it == units.end()) continue;
    // Cleaned English -> translation votes per language, in first-seen order of English.
    std::unordered_map<std::string, size_t> index;
    std::vector<std::string> english;
    std::vector<std::vector<std::map<std::string, int>>> votes;
    for (const Unit& u : it->second) {
      if (u.plural && !cfg.keep_plurals) {
        stats->drops[source + ":plural"]++;
        continue;
      }
      std::string en = clean(u.en, u.accel);
      std::string why = reject_english(en, cfg.clean);
      if (!why.empty()) {
        stats->drops[source + ":en:" + why]++;
        continue;
      }
      std::vector<std::pair<size_t, std::string>> kept;
      for (const auto& [lang, raw] : u.tr) {
        auto li = lang_idx.find(lang);
        if (li == lang_idx.end()) continue;
        std::string tr = clean(raw, u.accel);
        std::string r = reject_translation(en, tr, lang, cfg.clean);
        if (!r.empty()) {
          stats->drops[source + ":" + lang + ":" + r]++;
          continue;
        }
        kept.emplace_back(li->second, std::move(tr));
      }
      if (kept.empty()) continue;
      auto [pos, fresh] = index.emplace(en, english.size());
      if (fresh) {
        english.push_back(en);
        votes.emplace_back(L);
      }
      for (auto& [li, tr] : kept) votes[pos->second][li][tr]++;
    }
    std::vector<Row>& rows = out[source];
    rows.reserve(english.size());
    for (size_t i = 0; i < english.size(); ++i) {
      Row r;
      r.source = source;
      r.text.assign(L, "");
      r.text[en_idx] = english[i];
      for (size_t l = 0; l < L; ++l) {
        int best = 0;
        for (const auto& [tr, n] : votes[i][l])  // std::map: ties go to the smallest string
          if (n > best) {
            best = n;
            r.text[l] = tr;
          }
      }
      rows.push_back(std::move(r));
    }
  }
  // Optionally, a cleaned English string that occurs in two in-domain sources keeps only the first
  // source's row (default off, as corpus.md counts: rows are keyed by English within a source).
  if (cfg.dedup_across_sources) {
    std::set<std::string> taken;
    for (const auto& source : cfg.sources) {
      auto& rows = out[source];
      std::vector<Row> kept;
      for (auto& r : rows)
        if (taken.insert(r.text[en_idx]).second) kept.push_back(std::move(r));
        else stats->drops[source + ":duplicate-of-earlier-source"]++;
      rows = std::move(kept);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Splits

Splits split_rows(const DataConfig& cfg, const std::map<std::string, std::vector<Row>>& rows) {
  const auto& langs = cfg.langs;
  size_t en_idx = std::find(langs.begin(), langs.end(), "en") - langs.begin();
  std::vector<size_t> split_idx;
  for (const auto& l : cfg.split.split_langs)
    split_idx.push_back(std::find(langs.begin(), langs.end(), l) - langs.begin());

  // Candidate keys: complete in split_langs, enough English words.
  std::set<std::string> candidates;
  for (const auto& source : cfg.sources) {
    auto it = rows.find(source);
    if (it == rows.end()) continue;
    for (const Row& r : it->second) {
      bool complete = true;
      for (size_t i : split_idx) complete = complete && !r.text[i].empty();
      if (complete && count_words(r.text[en_idx]) >= cfg.split.eval_min_words)
        candidates.insert(normalise_key(r.text[en_idx]));
    }
  }
  std::vector<std::pair<std::string, std::string>> ordered;  // (md5, key)
  for (const auto& k : candidates) ordered.emplace_back(md5_hex(cfg.split.seed + "|" + k), k);
  std::sort(ordered.begin(), ordered.end());
  std::unordered_map<std::string, int> which;  // key -> 1 test, 2 valid
  for (size_t i = 0; i < ordered.size(); ++i) {
    if (i < static_cast<size_t>(cfg.split.test_size)) which[ordered[i].second] = 1;
    else if (i < static_cast<size_t>(cfg.split.test_size + cfg.split.valid_size))
      which[ordered[i].second] = 2;
    else break;
  }
  Splits s;
  std::unordered_map<std::string, int> in_domain_keys;
  // Valid/test keep one row per key: the first complete one in source order. Other rows with the
  // key ("Save As…" next to "save as") are dropped, neither evaluated twice nor trained on.
  std::unordered_map<std::string, const Row*> eval_row;
  for (const auto& source : cfg.sources) {
    auto it = rows.find(source);
    if (it == rows.end()) continue;
    for (const Row& r : it->second) {
      std::string key = normalise_key(r.text[en_idx]);
      in_domain_keys[key] = 1;
      auto w = which.find(key);
      if (w == which.end()) {
        s.train.push_back(r);
        continue;
      }
      bool complete = true;
      for (size_t i : split_idx) complete = complete && !r.text[i].empty();
      auto& slot = eval_row[key];
      if (!slot && complete && count_words(r.text[en_idx]) >= cfg.split.eval_min_words) slot = &r;
    }
  }
  for (const auto& [hash, key] : ordered) {  // md5 order
    auto w = which.find(key);
    if (w == which.end()) break;
    const Row* r = eval_row[key];
    if (r) (w->second == 1 ? s.test : s.valid).push_back(*r);
  }
  if (!cfg.ood_source.empty()) {
    auto it = rows.find(cfg.ood_source);
    if (it != rows.end())
      for (const Row& r : it->second)
        if (!in_domain_keys.count(normalise_key(r.text[en_idx]))) s.ood_test.push_back(r);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// TSV I/O

void write_split(const std::string& path, const std::vector<std::string>& langs,
                 const std::vector<Row>& rows) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(path + ": cannot write");
    out << "source";
    for (const auto& l : langs) out << '\t' << l;
    out << '\n';
    for (const Row& r : rows) {
      out << r.source;
      for (const auto& t : r.text) out << '\t' << t;
      out << '\n';
    }
    out.close();  // the last buffered bytes are written here: check after it
    if (!out) {
      fs::remove(tmp);
      throw Error(path + ": write failed (disk full?)");
    }
  }
  fs::rename(tmp, path);
}

std::vector<Row> read_split(const std::string& path, std::vector<std::string>* langs) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (run 'strata data prepare' first?)");
  std::string line;
  auto split_tabs = [](const std::string& s) {
    std::vector<std::string> f;
    size_t b = 0;
    for (;;) {
      size_t e = s.find('\t', b);
      f.push_back(s.substr(b, e == std::string::npos ? e : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    return f;
  };
  if (!std::getline(in, line)) throw Error(path + ":1: empty file, expected a header");
  auto header = split_tabs(line);
  if (header.size() < 3 || header[0] != "source")
    throw Error(path + ":1: expected header 'source<TAB>lang...'");
  langs->assign(header.begin() + 1, header.end());
  std::vector<Row> rows;
  int64_t n = 1;
  while (std::getline(in, line)) {
    ++n;
    size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos)
      throw Error(path + ":" + std::to_string(n) + ": invalid UTF-8 at byte " +
                  std::to_string(bad + 1));
    auto f = split_tabs(line);
    if (f.size() != header.size())
      throw Error(path + ":" + std::to_string(n) + ": expected " + std::to_string(header.size()) +
                  " fields, got " + std::to_string(f.size()));
    Row r;
    r.source = f[0];
    r.text.assign(f.begin() + 1, f.end());
    rows.push_back(std::move(r));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The pipeline

namespace {

struct SplitSummary {
  int64_t rows = 0, complete = 0, en_words = 0;
  std::map<std::string, int64_t> by_source, by_lang;
};

SplitSummary summarise(const DataConfig& cfg, const std::vector<Row>& rows) {
  SplitSummary s;
  size_t en_idx = std::find(cfg.langs.begin(), cfg.langs.end(), "en") - cfg.langs.begin();
  for (const Row& r : rows) {
    s.rows++;
    s.by_source[r.source]++;
    s.en_words += count_words(r.text[en_idx]);
    bool complete = true;
    for (size_t l = 0; l < r.text.size(); ++l) {
      if (!r.text[l].empty()) s.by_lang[cfg.langs[l]]++;
      else complete = false;
    }
    s.complete += complete;
  }
  return s;
}

}  // namespace

void prepare(const DataConfig& cfg) {
  double t_start = now_s();
  DebCache cache(cfg.cache_dir);
  std::vector<std::string> all_sources = cfg.sources;
  if (!cfg.ood_source.empty()) all_sources.push_back(cfg.ood_source);
  std::vector<std::string> pkgs;
  for (const auto& s : all_sources)
    for (const auto& p : packages_for(cfg, s)) pkgs.push_back(p);
  std::vector<std::string> unknown_v = cache.fetch(pkgs);
  std::set<std::string> unknown(unknown_v.begin(), unknown_v.end());
  for (const auto& p : unknown)
    std::cerr << "[data] warning: package " << p << " is not in Debian; skipped\n";
  for (const auto& s : all_sources) {
    // The English side is required for aligned sources.
    for (const char* en_pkg : {"libreoffice-help-en-us", "firefox-esr", "thunderbird"})
      if (unknown.count(en_pkg) && !packages_for(cfg, s).empty() && packages_for(cfg, s)[0] == en_pkg)
        throw Error("source " + s + ": English package " + en_pkg + " is not available from apt");
  }

  Progress prog;
  prog.total = static_cast<int>(pkgs.size());
  std::map<std::string, std::vector<Unit>> units;
  for (const auto& source : all_sources) {
    UnitMap um;
    if (source == "lo-ui") extract_lo_ui(cfg, cache, unknown, prog, &um);
    if (source == "lo-help") extract_lo_help(cfg, cache, unknown, prog, &um);
    if (source == "firefox" || source == "thunderbird")
      extract_mozilla(cfg, source, cache, unknown, prog, &um);
    if (source == "gettext") extract_gettext(cfg, cache, unknown, prog, &um);
    // Deterministic order: sort by unit id.
    std::vector<std::pair<std::string, Unit>> sorted(std::make_move_iterator(um.begin()),
                                                     std::make_move_iterator(um.end()));
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto& v = units[source];
    for (auto& [id, u] : sorted)
      if (!u.en.empty() && !u.tr.empty()) v.push_back(std::move(u));
  }

  std::cerr << "[data] cleaning and aligning\n";
  AlignStats stats;
  auto rows = align_sources(cfg, units, &stats);
  units.clear();
  Splits s = split_rows(cfg, rows);

  fs::create_directories(cfg.out_dir);
  write_split(cfg.out_dir + "/train.tsv", cfg.langs, s.train);
  write_split(cfg.out_dir + "/valid.tsv", cfg.langs, s.valid);
  write_split(cfg.out_dir + "/test.tsv", cfg.langs, s.test);
  if (!cfg.ood_source.empty()) write_split(cfg.out_dir + "/ood_test.tsv", cfg.langs, s.ood_test);

  // Manifest and table.
  nlohmann::json man;
  man["name"] = cfg.name;
  man["langs"] = cfg.langs;
  man["sources"] = cfg.sources;
  man["ood_source"] = cfg.ood_source;
  man["drops"] = stats.drops;
  // Debian's archive moves on (e.g. Firefox ESR security releases), and with it the counts:
  // record the version of every package read, so a run can be compared with another.
  for (const auto& p : pkgs)
    if (!unknown.count(p)) man["packages"][p] = deb_control_field(cache.path(p), "Version");
  std::printf("\n%s: %zu languages, %zu directions  (%s)\n", cfg.name.c_str(), cfg.langs.size(),
              cfg.langs.size() * (cfg.langs.size() - 1), cfg.out_dir.c_str());
  std::printf("| split | rows | complete %zu-way | avg EN words | by source |\n", cfg.langs.size());
  std::printf("|---|---|---|---|---|\n");
  std::vector<std::pair<std::string, const std::vector<Row>*>> named = {
      {"train", &s.train}, {"valid", &s.valid}, {"test", &s.test}};
  if (!cfg.ood_source.empty()) named.push_back({"ood_test", &s.ood_test});
  for (const auto& [name, v] : named) {
    SplitSummary sum = summarise(cfg, *v);
    std::string by;
    for (const auto& [src, n] : sum.by_source) by += (by.empty() ? "" : "; ") + src + " " + with_commas(n);
    std::printf("| %s | %s | %s | %.1f | %s |\n", name.c_str(), with_commas(sum.rows).c_str(),
                with_commas(sum.complete).c_str(),
                sum.rows ? static_cast<double>(sum.en_words) / sum.rows : 0.0, by.c_str());
    man["splits"][name] = {{"rows", sum.rows},         {"complete", sum.complete},
                           {"by_source", sum.by_source}, {"by_lang", sum.by_lang}};
  }
  std::printf("\n| lang |");
  for (const auto& [name, v] : named) std::printf(" %s |", name.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < named.size(); ++i) std::printf("---|");
  std::printf("\n");
  for (const auto& l : cfg.langs) {
    std::printf("| %s |", l.c_str());
    for (const auto& [name, v] : named)
      std::printf(" %s |", with_commas(man["splits"][name]["by_lang"].value(l, int64_t{0})).c_str());
    std::printf("\n");
  }
  // Training rows per direction.
  std::vector<int64_t> per_dir;
  for (size_t a = 0; a < cfg.langs.size(); ++a)
    for (size_t b = a + 1; b < cfg.langs.size(); ++b) {
      int64_t n = 0;
      for (const Row& r : s.train) n += !r.text[a].empty() && !r.text[b].empty();
      per_dir.push_back(n);
      man["train_pairs"][cfg.langs[a] + "-" + cfg.langs[b]] = n;
    }
  std::sort(per_dir.begin(), per_dir.end());
  if (!per_dir.empty())
    std::printf("\ntraining rows per language pair: min %s, median %s, max %s\n",
                with_commas(per_dir.front()).c_str(), with_commas(per_dir[per_dir.size() / 2]).c_str(),
                with_commas(per_dir.back()).c_str());
  std::string tmp = cfg.out_dir + "/manifest.json.tmp";
  {
    std::ofstream out(tmp);
    out << man.dump(2) << "\n";
    out.close();
    if (!out) throw Error(cfg.out_dir + "/manifest.json: write failed (disk full?)");
  }
  fs::rename(tmp, cfg.out_dir + "/manifest.json");
  std::fprintf(stderr, "[data] done in %.0fs: %s/{train,valid,test%s}.tsv, manifest.json\n",
               now_s() - t_start, cfg.out_dir.c_str(), cfg.ood_source.empty() ? "" : ",ood_test");
}

}  // namespace strata::data
