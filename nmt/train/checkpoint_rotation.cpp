// CheckpointRotation (see checkpoint_rotation.h).
#include "nmt/train/checkpoint_rotation.h"

#include <algorithm>
#include <filesystem>

#include "nmt/util/error.h"

namespace fs = std::filesystem;

namespace strata::nmt {

CheckpointRotation::CheckpointRotation(std::string out_dir, int keep_last)
    : out_dir_(std::move(out_dir)), keep_last_(keep_last) {}

void CheckpointRotation::save(const RunIdentity& run, Transformer& model,
                              torch::optim::Optimizer* optimizer, const TrainerState& state,
                              bool best) const {
  const std::string last = last_path();
  save_checkpoint(last, run.cfg, run.langs, run.spm_model, model, optimizer, &state);
  if (keep_last_ > 0) {
    std::string numbered = out_dir_ + "/checkpoint_" + std::to_string(state.updates) + ".pt";
    try {
      fs::copy_file(last, numbered + ".tmp", fs::copy_options::overwrite_existing);
      fs::rename(numbered + ".tmp", numbered);
    } catch (const fs::filesystem_error& e) {
      std::error_code ignored;
      fs::remove(numbered + ".tmp", ignored);
      throw Error(numbered + ": cannot write (" + e.code().message() + ")");
    }
    std::vector<std::pair<int64_t, fs::path>> old;
    for (const auto& e : fs::directory_iterator(out_dir_)) {
      std::string n = e.path().filename().string();
      if (n.rfind("checkpoint_", 0) == 0 && n.size() > 14 && n.substr(n.size() - 3) == ".pt")
        old.push_back({std::stoll(n.substr(11, n.size() - 14)), e.path()});
    }
    std::sort(old.begin(), old.end());
    for (size_t i = 0; i + keep_last_ < old.size(); ++i) fs::remove(old[i].second);
  }
  // The best model without optimizer state: what translate/eval use.
  if (best)
    save_checkpoint(out_dir_ + "/best.pt", run.cfg, run.langs, run.spm_model, model, nullptr,
                    nullptr);
}

}  // namespace strata::nmt
