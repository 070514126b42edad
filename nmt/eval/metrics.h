#pragma once
// Umbrella header of nmt/eval, sacreBLEU-exact corpus BLEU and chrF / chrF++ (plain C++17):
//   bleu.h        corpus_bleu, BleuOptions, BleuScore
//   chrf.h        corpus_chrf, ChrfOptions, ChrfScore
//   tokenizers.h  the BLEU tokenizers (13a, zh, char, none, intl) and their names
//   python_str.h  Python str semantics over code points (unicode_lower, ...)
// plus metric_helpers.h (what BLEU and chrF share) and unicode_tables.h (generated Unicode data).
// Code in this repository includes the header it uses; this one is kept for code that wants the
// whole library.
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/python_str.h"
#include "nmt/eval/tokenizers.h"
