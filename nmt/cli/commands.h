#pragma once
// Subcommand entry points: each takes the arguments after its name and returns the exit code.
// Errors are thrown (strata::Error) and reported by main().
#include <string>
#include <vector>

namespace strata::cli {

int run_data(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_translate(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_distill(const std::vector<std::string>& args);
int run_analyze(const std::vector<std::string>& args);
int run_checkpoint(const std::vector<std::string>& args);
int run_compress(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_predictor(const std::vector<std::string>& args);

}  // namespace strata::cli
