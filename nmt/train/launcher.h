#pragma once
// The multi-process launcher behind `strata train --nproc N`: runs N copies of a program (by
// default this one) as ranks 0..N-1 on this machine, forwards their stderr (rank 0's as it is,
// the others' prefixed "[rank r] "), and when a rank fails stops the others and throws one
// strata::Error naming the rank that caused it and its "strata: error: " line.
//   LaunchOptions o;
//   o.args = {"train", "--config", "x.yaml"};
//   o.rank_args = local_rank_args(2, {"--master-port", std::to_string(free_loopback_port())}, 4);
//   launch_ranks(o);
#include <string>
#include <vector>

namespace strata::nmt {

struct LaunchOptions {
  std::string program;                              // executable; empty = this program
  std::vector<std::string> args;                    // arguments every rank gets, after argv[0]
  std::vector<std::vector<std::string>> rank_args;  // [rank] arguments only that rank gets, last
};

// Runs rank_args.size() ranks and waits for all of them. Returns when every rank exited with
// status 0; otherwise, once one fails, sends the others SIGTERM (SIGKILL after 5 s) and throws
// "rank R of N exited with status S: <its error line>" (or "was killed by signal S"). When several
// fail at once, the cause reported is a killed rank before one whose error is not a failed
// exchange ("comm(") before the rest. Ranks die with the launcher (PR_SET_PDEATHSIG).
void launch_ranks(const LaunchOptions& options);

// A free TCP port on 127.0.0.1 (the kernel's choice, released again for rank 0's store to take).
int free_loopback_port();

// `args` without the options `names` (each as "--name VALUE" or "--name=VALUE").
std::vector<std::string> drop_options(const std::vector<std::string>& args,
                                      const std::vector<std::string>& names);

// The arguments of rank r of `nproc` training ranks: "--rank r --world-size nproc", then
// `rendezvous` (e.g. {"--master-port", "29500"}), then "--set train.threads=T" when
// threads_per_rank > 0.
std::vector<std::vector<std::string>> local_rank_args(int nproc,
                                                      const std::vector<std::string>& rendezvous,
                                                      int threads_per_rank);

}  // namespace strata::nmt
