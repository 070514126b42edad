// Fuzz target: the request side of `strata serve` without a model (nmt/serve/libretranslate.h):
// LibreTranslate's API (`handle_api`: JSON and form bodies, query strings, every path and
// method), the WebSocket upgrade check and Marian's message protocol, and form decoding. A
// stand-in translator (each line reversed, n-best as asked) and a two-language identifier take the
// model's place.
//
// Input: byte 0 picks the entry point, the Content-Type, whether API keys are required and
// whether an identifier is loaded; byte 1 the character limit; then "METHOD TARGET\n" (or only the
// target) and the body. What must hold:
//   - handle_api returns a reply (nothing escapes) whose status is one of the API's (200, 400, 403,
//     404, 405, 429) — 500 ("Internal error") is a finding — and a JSON reply's body parses;
//   - a refused WebSocket upgrade is an HTTP error reply; an accepted one answers any message
//     with one line per line of the message, or one "error: …" line; nothing escapes;
//   - parse_form throws only strata::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/lid.h"
#include "nmt/serve/libretranslate.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using strata::nmt::serve::ApiContext;
using strata::nmt::serve::HttpReply;
using strata::nmt::serve::Job;
using strata::nmt::serve::JobResult;

const strata::data::LanguageIdentifier& identifier() {
  static const strata::data::LanguageIdentifier lid = [] {
    std::vector<std::unordered_map<std::string, int64_t>> counts(2);
    for (const auto& g : strata::data::lid_ngrams("the and of this that with file", 4)) counts[0][g] += 1;
    for (const auto& g : strata::data::lid_ngrams("der die das und nicht mit Datei", 4)) counts[1][g] += 1;
    return strata::data::LanguageIdentifier::from_counts({"en", "de"}, counts, strata::data::LidOptions{});
  }();
  return lid;
}

JobResult stand_in(const Job& job) {
  if (job.lines.empty() || job.nbest < 1) std::abort();  // the API never sends an empty job
  JobResult r;
  for (const auto& l : job.lines) {
    std::vector<std::string> n;
    for (int k = 0; k < job.nbest; ++k) n.push_back(std::string(l.rbegin(), l.rend()) + std::to_string(k));
    r.push_back(std::move(n));
  }
  if (job.batch) {
    job.batch->requests = 1;
    job.batch->lines = static_cast<int64_t>(job.lines.size());
  }
  return r;
}

void check_reply(const HttpReply& r) {
  switch (r.status) {
    case 200: case 400: case 403: case 404: case 405: case 429: break;
    default: std::abort();  // 500 or anything the API does not answer
  }
  if (r.content_type == "application/json" && !nlohmann::json::accept(r.body)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0], limit = data[1];
  std::string_view rest = strata::fuzz::as_view(data + 2, size - 2);
  ApiContext cx;
  cx.langs = {"en", "de", "zh-CN", "pt-BR"};
  cx.translate = stand_in;
  cx.lid = (mode & 0x10) ? &identifier() : nullptr;
  cx.char_limit = limit == 255 ? -1 : limit;
  cx.max_alternatives = 3;
  if (mode & 0x08) cx.api_keys = {"k1", "secret"};
  static const char* const kTypes[] = {"application/json", "application/x-www-form-urlencoded",
                                       "", "multipart/form-data; boundary=x"};
  const std::string type = kTypes[(mode >> 2) & 3];
  // "METHOD TARGET\nbody" (entry points 0, 1) or "TARGET\nbody" (2).
  const size_t nl = rest.find('\n');
  const std::string head(rest.substr(0, nl));
  const std::string body(nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1));
  switch (mode & 3) {
    case 0:  // POST /translate with the body as it comes
      check_reply(strata::nmt::serve::handle_api("POST", "/translate", type, std::string(rest), cx));
      break;
    case 1: {  // any method and target
      const size_t sp = head.find(' ');
      const std::string method = head.substr(0, sp);
      const std::string target = sp == std::string::npos ? "/" : head.substr(sp + 1);
      check_reply(strata::nmt::serve::handle_api(method, target, type, body, cx));
      break;
    }
    case 2: {  // WebSocket: the upgrade, then one message
      const auto refused = strata::nmt::serve::check_websocket_upgrade(head, cx);
      if (refused) {
        check_reply(*refused);
        if (refused->status == 200) std::abort();
        break;
      }
      const HttpReply r = strata::nmt::serve::handle_marian_message(head, body, cx);
      if (r.log.count("error")) {
        if (r.body.rfind("error: ", 0) != 0) std::abort();
        if (r.body.find('\n') != std::string::npos) std::abort();
      } else {
        size_t lines = 1, out_lines = 1;
        for (char c : body) lines += c == '\n';
        for (char c : r.body) out_lines += c == '\n';
        // One line out per line in (a translation never holds '\n': the stand-in reverses a line).
        if (lines != out_lines) std::abort();
      }
      break;
    }
    default:
      try {
        strata::nmt::serve::parse_form(std::string(rest));
      } catch (const strata::Error&) {
      }
  }
  return 0;
}
