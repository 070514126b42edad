// `strata serve` over real HTTP on loopback, driven by curl: every endpoint and its errors, a
// request's translation equals `strata translate`'s for the same line (also when it shares its
// batch with concurrent requests), malformed HTTP and an oversized body get their status codes, a
// silent connection is dropped, and SIGTERM ends the server with status 0. Also: 10,000 idle
// connections, the npm libretranslate client, the page in headless chromium, and Marian's
// WebSocket protocol with a python3-websockets client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/cli_test_util.h"
#include "tests/tiny_checkpoint.h"

namespace strata {
namespace {

using nlohmann::json;
using test::kStrata;

// The server in a child process; its stderr goes to a file, where it prints its port.
struct Server {
  pid_t pid = -1;
  int port = 0;
  std::string log;
  Server(const std::string& args, const std::string& log_path) : log(log_path) {
    pid = fork();
    if (pid == 0) {
      const std::string cmd = "exec " + kStrata + " serve --port 0 --threads 1 " + args + " 2>" + log_path;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600 && port == 0; ++i) {  // up to 60 s to load the model
      std::smatch m;
      const std::string text = test::read_file(log_path);
      if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // SIGTERM, then the exit status (-1: still running after 20 s).
  int stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }
  ~Server() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

TEST(ServeCliTest, LibreTranslateApiOverHttpEqualsTranslateAndStopsOnSigterm) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  Server s("-m " + tiny.path + " --char-limit 200 --body-limit 2000 --timeout 2", d / "serve.log");
  ASSERT_GT(s.port, 0) << test::read_file(d / "serve.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port);
  auto curl = [&](const std::string& args) {
    return test::run_command("curl -s -S -m 20 -w '\\n%{http_code}' " + args, d.str());
  };
  // body and status of a reply
  auto split = [](const test::RunResult& r) {
    const auto nl = r.out.rfind('\n');
    return std::pair<std::string, int>{r.out.substr(0, nl), std::stoi(r.out.substr(nl + 1))};
  };
  // The same lines through `strata translate` (the model's default beam).
  test::write_file(d / "in.txt", "open the file\nsave\nprint the copy\n");
  const auto offline = test::run_command(kStrata + " translate -m " + tiny.path + " --tgt-lang de < " + (d / "in.txt"), d.str());
  ASSERT_EQ(offline.status, 0) << offline.err;
  std::vector<std::string> want;
  {
    std::stringstream ss(offline.out);
    for (std::string l; std::getline(ss, l);) want.push_back(l);
  }
  ASSERT_EQ(want.size(), 3u);

  auto [body, code] = split(curl(url + "/translate -H 'Content-Type: application/json' -d '{\"q\": \"open the file\", "
                                        "\"source\": \"en\", \"target\": \"de\"}'"));
  EXPECT_EQ(code, 200) << body;
  EXPECT_EQ(json::parse(body)["translatedText"], want[0]);
  // A list, as form data too.
  std::tie(body, code) = split(curl(url + "/translate -H 'Content-Type: application/json' -d '{\"q\": [\"open the file\", "
                                          "\"save\", \"print the copy\"], \"source\": \"en\", \"target\": \"de\"}'"));
  EXPECT_EQ(code, 200) << body;
  EXPECT_EQ(json::parse(body)["translatedText"], json(want));
  std::tie(body, code) = split(curl(url + "/translate --data-urlencode 'q=save' -d source=en -d target=de"));
  EXPECT_EQ(code, 200) << body;
  EXPECT_EQ(json::parse(body)["translatedText"], want[1]);
  // Concurrent requests share batches and still get exactly their own translations.
  {
    std::vector<std::thread> ts;
    std::vector<std::string> got(9);
    for (int i = 0; i < 9; ++i) std::filesystem::create_directories(d / ("c" + std::to_string(i)));
    for (int i = 0; i < 9; ++i)
      ts.emplace_back([&, i] {
        const std::vector<std::string> lines = {"open the file", "save", "print the copy"};
        const auto r = test::run_command("curl -s -m 30 " + url + "/translate -H 'Content-Type: application/json' "
                                         "-d '{\"q\": \"" + lines[i % 3] + "\", \"source\": \"en\", \"target\": \"de\"}'",
                                         (d / ("c" + std::to_string(i))).c_str());
        got[i] = r.out;
      });
    for (auto& t : ts) t.join();
    for (int i = 0; i < 9; ++i) {
      const auto j = json::parse(got[i], nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << got[i];
      EXPECT_EQ(j["translatedText"], want[i % 3]) << i;
    }
  }
  std::tie(body, code) = split(curl(url + "/languages"));
  EXPECT_EQ(code, 200);
  EXPECT_EQ(json::parse(body).size(), 3u);
  std::tie(body, code) = split(curl(url + "/health"));
  EXPECT_EQ(json::parse(body), json({{"status", "ok"}}));
  std::tie(body, code) = split(curl(url + "/"));
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("<title>Strata</title>"), std::string::npos);
  std::tie(body, code) = split(curl(url + "/frontend/settings"));
  EXPECT_EQ(json::parse(body)["charLimit"], 200);
  // Errors: JSON {"error": ...} with LibreTranslate's codes.
  std::tie(body, code) = split(curl(url + "/translate -H 'Content-Type: application/json' -d '{\"q\": \"x\", \"source\": \"en\", \"target\": \"xx\"}'"));
  EXPECT_EQ(code, 400);
  EXPECT_EQ(json::parse(body)["error"], "xx is not supported");
  std::tie(body, code) = split(curl(url + "/translate -H 'Content-Type: application/json' -d '{\"q\": \"x\", '"));
  EXPECT_EQ(code, 400);
  std::tie(body, code) = split(curl(url + "/nowhere"));
  EXPECT_EQ(code, 404);
  std::tie(body, code) = split(curl("-X PUT " + url + "/translate"));
  EXPECT_EQ(code, 405);
  test::write_file(d / "big.json", "{\"q\": \"" + std::string(3000, 'a') + "\", \"source\": \"en\", \"target\": \"de\"}");
  std::tie(body, code) = split(curl(url + "/translate -H 'Content-Type: application/json' --data-binary @" + (d / "big.json")));
  EXPECT_EQ(code, 413) << body;
  std::tie(body, code) = split(curl(url + "/detect -d q=hello"));
  EXPECT_EQ(code, 400);  // no language identifier for this model's data: a clear error
  EXPECT_NE(json::parse(body)["error"].get<std::string>().find("language identifier"), std::string::npos);
  // Malformed HTTP: 400; a client that sends half a request and goes silent is answered 408 at the
  // deadline (2 s here) and dropped; the server is still there afterwards.
  const std::string port = std::to_string(s.port);
  test::write_file(d / "garbage.sh", "exec 3<>/dev/tcp/127.0.0.1/" + port +
                                         "\nprintf 'GARBAGE\\r\\n\\r\\n' >&3\ntimeout 5 cat <&3\n");
  auto raw = test::run_command("bash " + (d / "garbage.sh"), d.str());
  EXPECT_NE(raw.out.find("HTTP/1.1 400 "), std::string::npos) << raw.out << raw.err;
  test::write_file(d / "slow.sh", "exec 3<>/dev/tcp/127.0.0.1/" + port +
                                      "\nprintf 'POST /translate HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 50\\r\\n\\r\\n{' >&3\n"
                                      "timeout 8 cat <&3\n");
  const auto t0 = std::chrono::steady_clock::now();
  raw = test::run_command("bash " + (d / "slow.sh"), d.str());
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(raw.out.find("HTTP/1.1 408 "), std::string::npos) << raw.out << raw.err;
  EXPECT_LT(waited, 6.0);  // dropped at the 2 s deadline, not when the client gives up
  std::tie(body, code) = split(curl(url + "/health"));
  EXPECT_EQ(code, 200);
  // Prometheus metrics: the requests above by path and status, and the batches.
  std::tie(body, code) = split(curl(url + "/metrics"));
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("strata_requests_total{path=\"/translate\",status=\"200\"} 12\n"), std::string::npos) << body;
  EXPECT_NE(body.find("strata_requests_total{path=\"other\",status=\"404\"} 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("strata_translated_lines_total 14\n"), std::string::npos) << body;
  // JSON-lines request log on stderr; SIGTERM: status 0 and a closing line.
  EXPECT_EQ(s.stop(), 0);
  const std::string log = test::read_file(d / "serve.log");
  EXPECT_NE(log.find("{\"batch_lines\":\""), std::string::npos) << log;  // the batch it rode in
  EXPECT_NE(log.find("\"batch_requests\":\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"bytes_in\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"characters\":\"13\",\"event\":\"request\""), std::string::npos) << log;  // "open the file"
  EXPECT_NE(log.find("\"source\":\"en\",\"status\":200,\"target\":\"de\",\"texts\":\"3\""), std::string::npos) << log;
  EXPECT_NE(log.find("[serve] stopped: "), std::string::npos) << log;
  // Bad options: a one-line error, non-zero status.
  test::expect_one_line_error(test::run_command(kStrata + " serve -m " + tiny.path + " --host not-an-ip --port 0", d.str()),
                              "--host not-an-ip is not an IP address");
}

TEST(ServeCliTest, TheNpmLibreTranslateClientWorksUnchanged) {
  // The npm `libretranslate` package (1.0.1), as its users call it, pointed at `strata serve`.
#ifdef STRATA_NODE_MODULES
  const std::string nm = STRATA_NODE_MODULES;
#else
  const std::string nm = "build/npm/node_modules";
#endif
  if (!std::filesystem::exists(nm + "/libretranslate/package.json"))
    GTEST_SKIP() << "the npm libretranslate client is not installed in " << nm << " (scripts/bootstrap.sh installs it)";
  const std::string script = (std::filesystem::current_path() / "tests/cli/lt_client.js").string();
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "dense");
  Server s("-m " + tiny.path, d / "serve.log");
  ASSERT_GT(s.port, 0) << test::read_file(d / "serve.log");
  test::write_file(d / "in.txt", "open the file\nsave\n");
  const auto offline = test::run_command(kStrata + " translate -m " + tiny.path + " --tgt-lang de < " + (d / "in.txt"), d.str());
  ASSERT_EQ(offline.status, 0) << offline.err;
  const std::string first = offline.out.substr(0, offline.out.find('\n'));
  const std::string second = offline.out.substr(first.size() + 1, offline.out.size() - first.size() - 2);
  const auto r = test::run_command("NODE_PATH=" + nm + " node " + script + " http://127.0.0.1:" + std::to_string(s.port), d.str());
  ASSERT_EQ(r.status, 0) << r.err << test::read_file(d / "serve.log");
  const json got = json::parse(r.out);
  EXPECT_EQ(got["text"], first);
  EXPECT_EQ(got["list"], json({first, second}));
  // HTML: the markup comes back as it went in, around translated text.
  const std::string html = got["html"].get<std::string>();
  EXPECT_EQ(html.rfind("<p>", 0), 0u) << html;
  EXPECT_NE(html.find("<b>"), std::string::npos) << html;
  EXPECT_LT(html.find("<b>"), html.find("</b>")) << html;
  EXPECT_EQ(html.substr(html.size() - 4), "</p>") << html;
  // The client checks the target against /languages itself.
  EXPECT_EQ(got["unknown"], "This language was not found/does not exist.");
  EXPECT_EQ(s.stop(), 0);
}

// Resident memory of a process in MB (from /proc), -1 if unknown.
double rss_mb(pid_t pid) {
  const std::string status = test::read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1.0 : std::stod(status.substr(at + 6)) / 1024.0;
}

TEST(ServeCliTest, TenThousandIdleConnectionsDoNotTakeItDown) {
  // 10,000 TCP connections that never send a byte. The server holds --max-connections of them
  // until --timeout and answers the rest "503 Too many connections" at once: it keeps answering,
  // its memory stays bounded, and once they are gone it serves as before.
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "dense");
  Server s("-m " + tiny.path + " --timeout 2 --max-connections 64", d / "serve.log");
  ASSERT_GT(s.port, 0) << test::read_file(d / "serve.log");
  const std::string health = "curl -s -m 30 -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(s.port) + "/health";
  const double rss_before = rss_mb(s.pid);
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(s.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool out_of_fds = false;
  for (int i = 0; i < 10000; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      out_of_fds = true;
      break;
    }
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS: fine
    fds.push_back(fd);
  }
  if (out_of_fds) {
    for (int fd : fds) ::close(fd);
    GTEST_SKIP() << "this process may open only " << fds.size() << " sockets (ulimit -n)";
  }
  // While they are open: an answer (200, or 503 while the slots are full), never a hang.
  const auto t0 = std::chrono::steady_clock::now();
  const auto during = test::run_command(health, d.str());
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(during.out == "200" || during.out == "503") << during.out << " " << during.err;
  EXPECT_LT(waited, 30.0);
  const double rss_during = rss_mb(s.pid);
  EXPECT_LT(rss_during, rss_before + 512) << rss_before << " -> " << rss_during << " MB";
  for (int fd : fds) ::close(fd);
  // Gone: within --timeout and some slack, /health is 200 again.
  std::string after;
  for (int i = 0; i < 60 && after != "200"; ++i) {
    after = test::run_command(health, d.str()).out;
    if (after != "200") std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(after, "200");
  EXPECT_EQ(s.stop(), 0);
  std::printf("[ serve ] 10,000 idle connections: /health answered %s in %.1f s; RSS %.0f -> %.0f MB\n",
              during.out.c_str(), waited, rss_before, rss_during);
}

TEST(ServeCliTest, ThePageTranslatesInAHeadlessBrowser) {
  // Debian's chromium opens the page at / with a request in its URL, runs its script (languages
  // from /languages, then /translate) and dumps the DOM; a screenshot of the same.
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (scripts/bootstrap.sh installs it)";
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "dense");
  Server s("-m " + tiny.path, d / "serve.log");
  ASSERT_GT(s.port, 0) << test::read_file(d / "serve.log");
  test::write_file(d / "in.txt", "open the file\n");
  const auto offline = test::run_command(kStrata + " translate -m " + tiny.path + " --tgt-lang de < " + (d / "in.txt"), d.str());
  ASSERT_EQ(offline.status, 0) << offline.err;
  std::string want;
  for (char c : offline.out.substr(0, offline.out.size() - 1))
    want += c == '&' ? std::string("&amp;") : c == '<' ? std::string("&lt;") : c == '>' ? std::string("&gt;") : std::string(1, c);
  const std::string url = "'http://127.0.0.1:" + std::to_string(s.port) + "/?source=en&target=de&q=open%20the%20file'";
  // --user-data-dir: a fresh profile in the temporary directory; --no-sandbox: tests may run as root.
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                               (d / "profile") + " --virtual-time-budget=15000 --window-size=1000,600 ";
  const auto dom = test::run_command("timeout 120 " + chromium + "--dump-dom " + url + " 2>/dev/null", d.str());
  ASSERT_EQ(dom.status, 0) << dom.err;
  EXPECT_NE(dom.out.find("data-translated=\"yes\""), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find("<div id=\"output\" aria-live=\"polite\">" + want + "</div>"), std::string::npos)
      << want << "\n" << dom.out;
  EXPECT_NE(dom.out.find("<option value=\"de\">German</option>"), std::string::npos);  // from /languages
  const auto shot = test::run_command("timeout 120 " + chromium + "--screenshot=" + (d / "page.png") + " " + url + " 2>/dev/null", d.str());
  ASSERT_EQ(shot.status, 0) << shot.err;
  const std::string png = test::read_file(d / "page.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(s.stop(), 0);
}

TEST(ServeCliTest, MarianWebSocketProtocolOverTheWire) {
  // A client of Debian's python3-websockets (tests/cli/ws_client.py): lines in, lines out, equal
  // to `strata translate`; a per-line >>xx<< target; errors as a message; a refused upgrade; a
  // message that never finishes is dropped after --timeout; an idle connection does not hold
  // the server at SIGTERM.
  const std::string client = (std::filesystem::current_path() / "tests/cli/ws_client.py").string();
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "dense");
  Server s("-m " + tiny.path + " --timeout 2", d / "serve.log");
  ASSERT_GT(s.port, 0) << test::read_file(d / "serve.log");
  auto offline = [&](const std::string& lines, const std::string& tgt) {
    test::write_file(d / "in.txt", lines);
    const auto r = test::run_command(kStrata + " translate -m " + tiny.path + " --tgt-lang " + tgt + " < " + (d / "in.txt"), d.str());
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::string de = offline("open the file\nsave\n", "de"), fr = offline("print the copy\n", "fr");
  const auto r = test::run_command("/usr/bin/python3 " + client + " check 127.0.0.1 " + std::to_string(s.port), d.str());
  ASSERT_EQ(r.status, 0) << r.err << test::read_file(d / "serve.log");
  const json got = json::parse(r.out);
  EXPECT_EQ(got["reply"], de + "\n" + fr.substr(0, fr.size() - 1)) << got.dump();  // the empty line stays
  EXPECT_EQ(got["error"], "error: xx is not supported");
  EXPECT_EQ(got["refused"], 400);
  EXPECT_EQ(got["handshake"], "HTTP/1.1 101 Switching Protocols");
  EXPECT_GE(got["dropped_after_s"].get<double>(), 1.5);
  EXPECT_LE(got["dropped_after_s"].get<double>(), 6.0);
  // An idle connection, then SIGTERM: the server closes it and exits 0.
  const std::string idle_cmd = "/usr/bin/python3 " + client + " idle 127.0.0.1 " + std::to_string(s.port) + " > " + (d / "idle.txt") + " 2>&1 &";
  ASSERT_EQ(std::system(idle_cmd.c_str()), 0);
  for (int i = 0; i < 100 && test::read_file(d / "idle.txt").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(test::read_file(d / "idle.txt"), "HTTP/1.1 101 Switching Protocols\n");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.stop(), 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  const std::string log = test::read_file(d / "serve.log");
  EXPECT_NE(log.find("\"directions\":\"en>de,en>fr\",\"event\":\"websocket_message\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"websocket_close\""), std::string::npos) << log;
}

}  // namespace
}  // namespace strata
