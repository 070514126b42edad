#pragma once
// The typed configuration of the language-specific low-rank modules (LMS, issue 6), `model.lms`
// in YAML: read once by nmt/config.cpp (enums from their name tables), turned into the model's
// LmsOptions by lms_options() (nmt/model/checkpoint.h), which adds the number of languages.
#include "nmt/util/enum_names.h"

namespace strata::nmt {

enum class LmsMode { kNone, kPair, kLang };
const EnumNames<LmsMode>& names_of(LmsMode);  // none | pair | lang

enum class LmsPlacement { kFfn, kFfnAttn };
const EnumNames<LmsPlacement>& names_of(LmsPlacement);  // ffn | ffn_attn

// Dense FFN fc1/fc2 (and with placement ffn_attn the attention projections) get
// W = W_s + V[·]·F[·] per sentence.
struct LmsConfig {
  LmsMode mode = LmsMode::kNone;    // none | pair (V[src]·F[tgt]) | lang (V[src]·F[src])
  int rank = 4;                     // r of V [(N+1), d_out, r] and F [(N+1), r, d_in]
  LmsPlacement placement = LmsPlacement::kFfn;  // ffn (fc1, fc2) | ffn_attn (also attention)
  int every_k_layers = 1;           // layer i has LMS when (i + 1) % k == 0
  bool enabled() const { return mode != LmsMode::kNone; }
};

}  // namespace strata::nmt
