// The multi-process launcher: fork/exec of the ranks, stderr forwarding, failure supervision.
#include "nmt/train/launcher.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "nmt/util/error.h"

namespace strata::nmt {

// A free TCP port on loopback (the kernel's choice; released again for rank 0's store to take).
int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--nproc: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  if (!ok) throw Error("--nproc: cannot find a free port on 127.0.0.1 (give --master-port)");
  return ntohs(a.sin_port);
}

std::vector<std::string> drop_options(const std::vector<std::string>& args,
                                      const std::vector<std::string>& names) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    bool drop = false;
    for (const auto& name : names) {
      if (args[i] == name) {
        ++i;  // and its value
        drop = true;
        break;
      }
      if (args[i].rfind(name + "=", 0) == 0) {
        drop = true;
        break;
      }
    }
    if (!drop) rest.push_back(args[i]);
  }
  return rest;
}

std::vector<std::vector<std::string>> local_rank_args(int nproc,
                                                      const std::vector<std::string>& rendezvous,
                                                      int threads_per_rank) {
  std::vector<std::vector<std::string>> extra(nproc);
  for (int r = 0; r < nproc; ++r) {
    extra[r] = {"--rank", std::to_string(r), "--world-size", std::to_string(nproc)};
    extra[r].insert(extra[r].end(), rendezvous.begin(), rendezvous.end());
    if (threads_per_rank > 0)
      extra[r].insert(extra[r].end(),
                      {"--set", "train.threads=" + std::to_string(threads_per_rank)});
  }
  return extra;
}

namespace {

struct Rank {
  pid_t pid = -1;
  int fd = -1;              // read end of its stderr
  std::string pending;      // an incomplete line
  std::string error;        // its "strata: error: " line, without the prefix
  int status = -1;          // waitpid status once exited
  bool exited = false;
};

const char kErrorPrefix[] = "strata: error: ";

// Forwards complete lines: rank 0's as they are, the others' prefixed with their rank; keeps each
// rank's error line for the launcher's own (one) error line.
void forward_lines(Rank& r, int rank, bool flush_all) {
  size_t start = 0, nl;
  while ((nl = r.pending.find('\n', start)) != std::string::npos ||
         (flush_all && start < r.pending.size())) {
    if (nl == std::string::npos) nl = r.pending.size();
    std::string line = r.pending.substr(start, nl - start);
    start = nl + 1;
    if (line.rfind(kErrorPrefix, 0) == 0) {
      r.error = line.substr(sizeof kErrorPrefix - 1);
    } else if (rank == 0) {
      std::fprintf(stderr, "%s\n", line.c_str());
    } else if (!line.empty()) {
      std::fprintf(stderr, "[rank %d] %s\n", rank, line.c_str());
    }
  }
  r.pending.erase(0, std::min(start, r.pending.size()));
}

void drain(Rank& r, int rank) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(r.fd, buf, sizeof buf);
    if (n > 0) {
      r.pending.append(buf, static_cast<size_t>(n));
      forward_lines(r, rank, false);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // EOF
      forward_lines(r, rank, true);
      close(r.fd);
      r.fd = -1;
    }
    return;  // EOF or EAGAIN
  }
}

std::string describe(const Rank& r, int rank, int world) {
  std::string s = "rank " + std::to_string(rank) + " of " + std::to_string(world);
  if (WIFSIGNALED(r.status)) s += " was killed by signal " + std::to_string(WTERMSIG(r.status));
  else s += " exited with status " + std::to_string(WEXITSTATUS(r.status));
  if (!r.error.empty()) s += ": " + r.error;
  return s;
}

}  // namespace

void launch_ranks(const LaunchOptions& options) {
  std::string exe = options.program;
  if (exe.empty()) {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) throw Error("--nproc: cannot find this program (/proc/self/exe)");
    self[len] = 0;
    exe = self;
  }
  const int n = static_cast<int>(options.rank_args.size());
  std::vector<Rank> ranks(n);
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> a = {exe};
    a.insert(a.end(), options.args.begin(), options.args.end());
    a.insert(a.end(), options.rank_args[r].begin(), options.rank_args[r].end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw Error("--nproc: cannot create a pipe");
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw Error("--nproc: cannot start rank " + std::to_string(r));
    if (pid == 0) {  // the child: only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // the launcher gone: so are its ranks
      if (getppid() != parent) _exit(125);
      dup2(p[1], 2);
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    ranks[r].pid = pid;
    ranks[r].fd = p[0];
  }
  int failed = -1;  // the rank reported as the cause
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<int> who;
    for (int r = 0; r < n; ++r)
      if (ranks[r].fd >= 0) {
        fds.push_back({ranks[r].fd, POLLIN, 0});
        who.push_back(r);
      }
    if (!fds.empty()) poll(fds.data(), fds.size(), 100);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) drain(ranks[who[i]], who[i]);
    std::vector<int> newly_failed;
    int running = 0;
    for (int r = 0; r < n; ++r) {
      if (ranks[r].exited) continue;
      int st = 0;
      if (waitpid(ranks[r].pid, &st, WNOHANG) == ranks[r].pid) {
        ranks[r].exited = true;
        ranks[r].status = st;
        if (ranks[r].fd >= 0) drain(ranks[r], r);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) newly_failed.push_back(r);
      } else {
        ++running;
      }
    }
    if (failed < 0 && !newly_failed.empty()) {
      // Several at once: the cause is likelier a rank that was killed, or one whose error is not
      // a failed exchange (its peers' errors then name the exchange it left).
      auto score = [&](int r) {
        if (WIFSIGNALED(ranks[r].status)) return 0;
        return ranks[r].error.find("comm(") == std::string::npos ? 1 : 2;
      };
      failed = newly_failed[0];
      for (int r : newly_failed)
        if (score(r) < score(failed)) failed = r;
      for (int r = 0; r < n; ++r)
        if (!ranks[r].exited) kill(ranks[r].pid, SIGTERM);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    if (running == 0) break;
    if (std::chrono::steady_clock::now() > deadline)
      for (int r = 0; r < n; ++r)
        if (!ranks[r].exited) kill(ranks[r].pid, SIGKILL);
  }
  for (int r = 0; r < n; ++r)
    if (ranks[r].fd >= 0) {
      fcntl(ranks[r].fd, F_SETFL, fcntl(ranks[r].fd, F_GETFL) & ~O_NONBLOCK);
      drain(ranks[r], r);
    }
  if (failed >= 0) throw Error(describe(ranks[failed], failed, n));
}


}  // namespace strata::nmt
