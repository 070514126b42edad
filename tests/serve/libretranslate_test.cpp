// nmt/serve: LibreTranslate's API against its documented replies (with a stand-in translator that
// upper-cases, so that every reply can be worked out by hand), form decoding, and the translation
// queue's batching: concurrent requests of one direction share a batch, other directions do not,
// each request gets exactly its own lines, a full queue refuses.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/lid.h"
#include "nmt/serve/libretranslate.h"
#include "nmt/serve/metrics.h"
#include "nmt/serve/translation_queue.h"
#include "nmt/util/error.h"

namespace strata::nmt::serve {
namespace {

using nlohmann::json;

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A stand-in translator: line -> [UPPER(line)>>tgt, alternatives "UPPER(line)#k"].
JobResult fake(const Job& j) {
  JobResult r;
  for (const auto& l : j.lines) {
    std::vector<std::string> n = {upper(l) + ">>" + j.tgt};
    for (int k = 1; k < j.nbest; ++k) n.push_back(upper(l) + "#" + std::to_string(k));
    r.push_back(n);
  }
  return r;
}

struct Api {
  data::LanguageIdentifier lid;
  ApiContext cx;
  std::vector<Job> seen;
  Api() {
    // A two-language identifier from counts: "der die das" German, "the and of" English.
    std::vector<std::unordered_map<std::string, int64_t>> counts(2);
    for (const auto& g : data::lid_ngrams("the and of this that with", 4)) counts[0][g] += 1;
    for (const auto& g : data::lid_ngrams("der die das und nicht mit", 4)) counts[1][g] += 1;
    lid = data::LanguageIdentifier::from_counts({"en", "de"}, counts, data::LidOptions{});
    cx.langs = {"en", "de", "zh-CN"};
    cx.lid = &lid;
    cx.char_limit = 40;
    cx.translate = [this](Job j) {
      seen.push_back(j);
      return fake(j);
    };
  }
  HttpReply call(const std::string& method, const std::string& target, const std::string& body,
                 const std::string& type = "application/json") {
    return handle_api(method, target, type, body, cx);
  }
};

TEST(LibreTranslateTest, TranslateRepliesAsLibreTranslateDoes) {
  Api a;
  auto r = a.call("POST", "/translate", R"({"q": "save the file", "source": "en", "target": "de"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json({{"translatedText", "SAVE THE FILE>>de"}}));
  ASSERT_EQ(a.seen.size(), 1u);
  EXPECT_EQ(a.seen[0].src, "en");
  EXPECT_EQ(a.seen[0].nbest, 1);
  // A list gives a list; alternatives: n-best beyond the first; codes resolve ("zh" -> "zh-CN").
  r = a.call("POST", "/translate", R"({"q": ["a", "b"], "source": "EN", "target": "zh", "alternatives": 2})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{"translatedText", {"A>>zh-CN", "B>>zh-CN"}},
                                       {"alternatives", json::array({json::array({"A#1", "A#2"}), json::array({"B#1", "B#2"})})}}));
  // Form data (what curl -d and LibreTranslate's own page send).
  r = a.call("POST", "/translate", "q=die+Datei%21&source=de&target=en", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["translatedText"], "DIE DATEI!>>en");
  // auto: detected per text, reported with a confidence in percent.
  r = a.call("POST", "/translate", R"({"q": "der die das", "source": "auto", "target": "en"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = json::parse(r.body);
  EXPECT_EQ(j["detectedLanguage"]["language"], "de");
  EXPECT_GT(j["detectedLanguage"]["confidence"].get<double>(), 50.0);
  EXPECT_LE(j["detectedLanguage"]["confidence"].get<double>(), 100.0);
  EXPECT_EQ(a.seen.back().src, "de");
}

TEST(LibreTranslateTest, HtmlKeepsTheMarkupAndTranslatesTheTextBetween) {
  Api a;
  a.cx.char_limit = 1000;
  json req = {{"q", {"<p>Save <b>the</b> file</p>", "<ul><li>a &amp; b</li><li>42</li></ul>"}},
              {"source", "en"}, {"target", "de"}, {"format", "html"}, {"alternatives", 1}};
  auto r = a.call("POST", "/translate", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  // The fake upper-cases and appends ">>de" (escaped in HTML); the runs of both texts go in one
  // job, tags as tokens; no alternatives for HTML.
  EXPECT_EQ(json::parse(r.body),
            json({{"translatedText", {"<p>SAVE <b>THE</b> FILE&gt;&gt;de</p>", "<ul><li>A &amp; B&gt;&gt;de</li><li>42</li></ul>"}},
                  {"alternatives", json::array({json::array(), json::array()})}}));
  ASSERT_EQ(a.seen.size(), 1u);
  EXPECT_EQ(a.seen[0].lines, (std::vector<std::string>{"Save %1the%2 file", "a & b"}));
  EXPECT_EQ(a.seen[0].nbest, 1);
  EXPECT_EQ(r.log.at("format"), "html");
  EXPECT_EQ(r.log.count("batch_requests"), 0u);  // the fake reports no batch
}

TEST(LibreTranslateTest, MarianWebSocketMessagesAreLinesInLinesOut) {
  Api a;
  a.cx.char_limit = 100;
  // Lines keep their places (empty ones stay empty); ">>zh<<" sets a line's target; one job per
  // direction.
  auto r = handle_marian_message("/translate?source=en&target=de", "open\r\n\n>>zh<< save\nclose", a.cx);
  EXPECT_EQ(r.body, "OPEN>>de\n\nSAVE>>zh-CN\nCLOSE>>de");
  ASSERT_EQ(a.seen.size(), 2u);
  EXPECT_EQ(a.seen[0].lines, (std::vector<std::string>{"open", "close"}));
  EXPECT_EQ(a.seen[1].tgt, "zh-CN");
  EXPECT_EQ(r.log.at("directions"), "en>de,en>zh-CN");
  // No source: detected per line.
  r = handle_marian_message("/translate?target=en", "der die das", a.cx);
  EXPECT_EQ(r.body, "DER DIE DAS>>en");
  EXPECT_EQ(a.seen.back().src, "de");
  // Errors are one line; nothing is translated.
  const size_t before = a.seen.size();
  EXPECT_EQ(handle_marian_message("/translate?source=en", "save", a.cx).body,
            "error: no target language: add ?target=xx to the URL or start the line with >>xx<<");
  EXPECT_EQ(handle_marian_message("/translate?source=en&target=de", ">>xx<< save", a.cx).body, "error: xx is not supported");
  EXPECT_EQ(handle_marian_message("/translate?source=en&target=de", "bad \xff", a.cx).body,
            "error: the message is not valid UTF-8");
  EXPECT_EQ(handle_marian_message("/translate?source=en&target=de", std::string(101, 'a'), a.cx).body,
            "error: the message (101 characters) exceeds the limit (100)");
  EXPECT_EQ(a.seen.size(), before);
  a.cx.translate = [](Job) -> JobResult { throw Busy{}; };
  EXPECT_EQ(handle_marian_message("/translate?source=en&target=de", "x", a.cx).body, "error: the server is busy, try again");
  // The upgrade: only /translate, known languages, the API key when keys are required.
  EXPECT_FALSE(check_websocket_upgrade("/translate?source=en&target=de", a.cx));
  EXPECT_FALSE(check_websocket_upgrade("/translate", a.cx));  // auto source, target per line
  EXPECT_EQ(check_websocket_upgrade("/other", a.cx)->status, 404);
  EXPECT_EQ(check_websocket_upgrade("/translate?source=qq", a.cx)->status, 400);
  EXPECT_EQ(check_websocket_upgrade("/translate?target=qq", a.cx)->status, 400);
  a.cx.api_keys = {"k1"};
  EXPECT_EQ(check_websocket_upgrade("/translate?source=en", a.cx)->status, 403);
  EXPECT_FALSE(check_websocket_upgrade("/translate?source=en&api_key=k1", a.cx));
  a.cx.lid = nullptr;
  EXPECT_EQ(check_websocket_upgrade("/translate?api_key=k1", a.cx)->status, 400);  // auto needs the identifier
}

TEST(LibreTranslateTest, BadRequestsGetLibreTranslatesErrors) {
  Api a;
  auto err = [&](const HttpReply& r) { return json::parse(r.body).at("error").get<std::string>(); };
  auto r = a.call("POST", "/translate", R"({"source": "en", "target": "de"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(err(r), "Invalid request: missing q parameter");
  r = a.call("POST", "/translate", R"({"q": "", "source": "en", "target": "de"})");
  EXPECT_EQ(err(r), "Invalid request: missing q parameter");
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en"})");
  EXPECT_EQ(err(r), "Invalid request: missing target parameter");
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "xx"})");
  EXPECT_EQ(err(r), "xx is not supported");
  r = a.call("POST", "/translate", R"({"q": "x", "source": "qq", "target": "de"})");
  EXPECT_EQ(err(r), "qq is not supported");
  r = a.call("POST", "/translate", R"({"q": "0123456789012345678901234567890123456789X", "source": "en", "target": "de"})");
  EXPECT_EQ(err(r), "Invalid request: request (41) exceeds text limit (40)");
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "de", "format": "xml"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(err(r), "Invalid request: format must be text or html, got 'xml'");
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "de", "alternatives": 9})");
  EXPECT_EQ(r.status, 400);
  r = a.call("POST", "/translate", R"({"q": 5, "source": "en", "target": "de"})");
  EXPECT_EQ(r.status, 400);
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", )");  // truncated JSON
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(err(r).rfind("Invalid request: invalid JSON body", 0), 0u) << err(r);
  r = a.call("POST", "/translate", "{\"q\": \"\xff\xfe\", \"source\": \"en\", \"target\": \"de\"}");  // bad UTF-8
  EXPECT_EQ(r.status, 400);
  r = a.call("POST", "/translate", "q=%ff&source=en&target=de", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 400);
  r = a.call("POST", "/translate", "q=%4&source=en&target=de", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 400);
  r = a.call("GET", "/translate", "");
  EXPECT_EQ(r.status, 405);
  r = a.call("GET", "/nothing", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(a.seen.empty());  // nothing reached the translator
  // A full queue is 429; no identifier makes auto a 400.
  a.cx.translate = [](Job) -> JobResult { throw Busy{}; };
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "de"})");
  EXPECT_EQ(r.status, 429);
  a.cx.lid = nullptr;
  r = a.call("POST", "/translate", R"({"q": "x", "source": "auto", "target": "de"})");
  EXPECT_EQ(r.status, 400);
}

TEST(LibreTranslateTest, LanguagesDetectSettingsAndHealth) {
  Api a;
  auto r = a.call("GET", "/languages", "");
  ASSERT_EQ(r.status, 200);
  const auto langs = json::parse(r.body);
  ASSERT_EQ(langs.size(), 3u);
  EXPECT_EQ(langs[1], json({{"code", "de"}, {"name", "German"}, {"targets", {"en", "zh-CN"}}}));
  r = a.call("POST", "/detect", R"({"q": "the and of"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = json::parse(r.body);
  ASSERT_GE(d.size(), 1u);
  EXPECT_EQ(d[0]["language"], "en");
  r = a.call("GET", "/frontend/settings", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["charLimit"], 40);
  EXPECT_EQ(json::parse(r.body)["language"]["source"]["code"], "auto");
  r = a.call("GET", "/health", "");
  EXPECT_EQ(json::parse(r.body), json({{"status", "ok"}}));
  // The page: HTML that loads /languages and posts to /translate.
  r = a.call("GET", "/", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("fetch('/languages')"), std::string::npos);
  EXPECT_NE(r.body.find("fetch('/translate'"), std::string::npos);
  // API keys: required for /translate and /detect once set; reported by the settings.
  a.cx.api_keys = {"k1", "k2"};
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "de"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json::parse(r.body), json({{"error", "Invalid API key"}}));
  r = a.call("POST", "/translate", R"({"q": "x", "source": "en", "target": "de", "api_key": "nope"})");
  EXPECT_EQ(r.status, 403);
  r = a.call("POST", "/translate", "q=x&source=en&target=de&api_key=k2", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(a.call("POST", "/detect", R"({"q": "x"})").status, 403);
  EXPECT_EQ(a.call("GET", "/languages", "").status, 200);  // not guarded, as LibreTranslate
  EXPECT_EQ(json::parse(a.call("GET", "/frontend/settings", "").body)["keyRequired"], true);
  EXPECT_EQ(parse_form("a=1&b=x+y%2Bz&&c"), (std::map<std::string, std::string>{{"a", "1"}, {"b", "x y+z"}, {"c", ""}}));
  EXPECT_THROW(parse_form("a=%zz"), Error);
}

TEST(LibreTranslateTest, ApiKeyFilesSkipBlankAndCommentLines) {
  const std::string path = testing::TempDir() + "strata_api_keys.txt";
  {
    std::ofstream(path) << "# keys\n\n  alpha  \nbeta\r\n";
  }
  EXPECT_EQ(load_api_keys(path), (std::set<std::string>{"alpha", "beta"}));
  {
    std::ofstream(path) << "# none\n\n";
  }
  EXPECT_THROW(load_api_keys(path), Error);
  EXPECT_THROW(load_api_keys(path + ".missing"), Error);
}

TEST(TranslationQueueTest, ConcurrentRequestsOfADirectionShareABatchAndGetTheirOwnLines) {
  std::atomic<int> calls{0};
  TranslationQueue q(
      [&](const std::vector<std::string>& lines, const std::string& src, const std::string& tgt, int nbest) {
        ++calls;
        Job j{lines, src, tgt, nbest};
        return fake(j);
      },
      [](const std::string& l) { return static_cast<int64_t>(l.size()); }, QueueOptions{1000, 200, 64}, false);
  // 8 threads, 4 into de and 4 into fr, submitted together: at most one batch per direction
  // after the first (the wait gathers them), and each gets its own lines back.
  std::vector<std::thread> threads;
  std::vector<JobResult> got(8);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      Job j{{"line " + std::to_string(t), "second " + std::to_string(t)}, "en", t % 2 ? "fr" : "de", 1};
      got[t] = q.submit(j)->get();
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 8; ++t) {
    const std::string tgt = t % 2 ? "fr" : "de";
    EXPECT_EQ(got[t], (JobResult{{"LINE " + std::to_string(t) + ">>" + tgt}, {"SECOND " + std::to_string(t) + ">>" + tgt}}));
  }
  int64_t jobs = 0;
  for (const auto& [size, n] : q.batch_sizes()) jobs += size * n;
  EXPECT_EQ(jobs, 8);
  EXPECT_LE(calls.load(), 4);  // batched: far fewer calls than requests
  EXPECT_GE(calls.load(), 2);  // two directions never share a batch
  // The token bound splits batches: each line costs 100, a batch holds 250.
  TranslationQueue small(
      [&](const std::vector<std::string>& lines, const std::string& src, const std::string& tgt, int nbest) {
        return fake(Job{lines, src, tgt, nbest});
      },
      [](const std::string&) { return int64_t{100}; }, QueueOptions{250, 100, 64}, false);
  std::vector<std::future<JobResult>> fs;
  std::vector<std::shared_ptr<BatchInfo>> infos;
  for (int i = 0; i < 5; ++i) {
    infos.push_back(std::make_shared<BatchInfo>());
    fs.push_back(*small.submit(Job{{"x"}, "en", "de", 1, infos.back()}));
  }
  for (auto& f : fs) EXPECT_EQ(f.get(), (JobResult{{"X>>de"}}));
  for (const auto& [size, n] : small.batch_sizes()) EXPECT_LE(size, 2);
  // Each job learns the batch it rode in: the batch sizes of the queue, one entry per job.
  std::map<int, int64_t> from_jobs;
  for (const auto& info : infos) {
    EXPECT_EQ(info->lines, info->requests);  // one line per job here
    from_jobs[info->requests] += 1;
  }
  for (auto& [size, n] : from_jobs) n /= size;
  EXPECT_EQ(from_jobs, small.batch_sizes());
  // A full queue refuses; a stopped one too. A throwing batch passes the exception on.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  TranslationQueue blocked(
      [&](const std::vector<std::string>& lines, const std::string&, const std::string&, int) -> JobResult {
        opened.wait();
        if (lines[0] == "bad") throw Error("model failed");
        return JobResult(lines.size(), std::vector<std::string>{"ok"});
      },
      [](const std::string&) { return int64_t{1}; }, QueueOptions{1, 0, 2}, false);
  auto first = blocked.submit(Job{{"bad"}, "en", "de", 1});
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the worker holds "bad"
  auto second = blocked.submit(Job{{"a"}, "en", "de", 1});
  auto third = blocked.submit(Job{{"b"}, "en", "de", 1});
  auto fourth = blocked.submit(Job{{"c"}, "en", "de", 1});
  EXPECT_TRUE(second && third);
  EXPECT_FALSE(fourth);  // two waiting: full
  gate.set_value();
  EXPECT_THROW(first->get(), Error);
  EXPECT_EQ(second->get(), (JobResult{{"ok"}}));
  blocked.stop();
  EXPECT_FALSE(blocked.submit(Job{{"d"}, "en", "de", 1}));
  EXPECT_EQ(third->get(), (JobResult{{"ok"}}));  // queued work finishes after stop
}

}  // namespace
}  // namespace strata::nmt::serve

namespace strata::nmt::serve {
namespace {

// The Prometheus text by hand: cumulative buckets, +Inf = count, sums.
TEST(ServeMetricsTest, PrometheusTextByHand) {
  Metrics m({0.1, 1}, {1, 4});
  m.record("/translate", 200, 0.05);
  m.record("/translate", 200, 0.5);
  m.record("/translate", 400, 0.001);
  m.record("/health", 200, 3);
  QueueStats q;
  q.queued = 2;
  q.lines = 17;
  const std::string t = m.render(q, {{1, 3}, {3, 1}, {9, 1}});
  for (const std::string line :
       {"strata_requests_total{path=\"/translate\",status=\"200\"} 2", "strata_requests_total{path=\"/translate\",status=\"400\"} 1",
        "strata_requests_total{path=\"/health\",status=\"200\"} 1",
        "strata_request_duration_seconds_bucket{le=\"0.1\"} 2",
        "strata_request_duration_seconds_bucket{le=\"1\"} 3", "strata_request_duration_seconds_bucket{le=\"+Inf\"} 4",
        "strata_request_duration_seconds_sum 3.551", "strata_request_duration_seconds_count 4",
        "strata_batch_requests_bucket{le=\"1\"} 3", "strata_batch_requests_bucket{le=\"4\"} 4",
        "strata_batch_requests_bucket{le=\"+Inf\"} 5", "strata_batch_requests_sum 15", "strata_batch_requests_count 5",
        "strata_queue_length 2", "strata_translated_lines_total 17", "# TYPE strata_request_duration_seconds histogram"})
    EXPECT_NE(t.find(line + "\n"), std::string::npos) << line << "\n" << t;
}

}  // namespace
}  // namespace strata::nmt::serve
