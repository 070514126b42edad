// BLEU and chrF as sacreBLEU 2.x computes them (sacrebleu/metrics/{bleu,chrf,helpers}.py and
// sacrebleu/tokenizers/tokenizer_{13a,re,zh,char,none,intl}.py), reimplemented over Unicode code
// points. Floating-point expressions are evaluated in the order sacreBLEU evaluates them so that
// scores agree to the last bit or so (Python <= 3.11 sums floats left to right; 3.12's compensated
// sum() may differ in the last ulp).
#include "nmt/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace strata::eval {
namespace {

// ------------------------------------------------------------------------------------------------
// Unicode data. The tables below are generated (code points, inclusive ranges) so that every
// predicate agrees with the Python that runs sacreBLEU:
//   kChineseRanges      TokenizerZh._is_chinese_char(). Its table compares one-character strings
//                       with the two-character literals u'\u20000' and u'\u2f800' (Python has no
//                       5-digit \u escape), so it covers U+2001..U+2A6D and U+2F81..U+2FA1 and not
//                       CJK Extension B; the table reproduces that.
//   kCasedRanges        Unicode "Cased" as str.lower() uses it (islower/isupper/istitle).
//   kCaseIgnorableRanges "Case_Ignorable" as str.lower()'s final-sigma rule uses it.
//   kCategory{P,N,S}    \p{P}, \p{N}, \p{S} of the `regex` module (the intl tokenizer).
//   kLowerRuns          str.lower() for single code points: {first, last, stride, delta}; every
//                       stride-th code point from first to last maps to itself + delta. U+0130 is
//                       the only code point that lowers to two ("i" U+0307) and is handled in code.
// Generator: the `//gen` lines below; from the repository root, with the sacreBLEU v2.6.0 sources
// in /tmp/sacrebleu (see tests/metrics_test.cpp) and Debian's python3-regex installed:
//   sed -n 's|^//gen ||p' nmt/eval/metrics.cpp | /usr/bin/python3 - /tmp/sacrebleu
// prints everything from the "Generated with" line to the end of kLowerRuns.
//gen import sys, unicodedata, regex
//gen sys.path.insert(0, sys.argv[1])
//gen from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
//gen def ranges(pred):  # inclusive ranges of code points (surrogates excluded) where pred holds
//gen     out, start = [], None
//gen     for c in range(0x110000):
//gen         p = not (0xD800 <= c <= 0xDFFF) and pred(c)
//gen         if p and start is None: start = c
//gen         if not p and start is not None: out.append((start, c - 1)); start = None
//gen     if start is not None: out.append((start, 0x10FFFF))
//gen     return out
//gen def cased(c):
//gen     s = chr(c); return s.islower() or s.isupper() or s.istitle()
//gen def case_ignorable(c):  # probes CPython's handle_capital_sigma()
//gen     s = chr(c)
//gen     if cased(c): return ('A\u03a3' + s).lower()[1] == '\u03c2'
//gen     return ('A\u03a3' + s + 'A').lower()[1] == '\u03c3'
//gen def emit(decl, items):  # a C++ initializer wrapped at 100 columns
//gen     print(decl + ' = {')
//gen     line = '   '
//gen     for it in items:
//gen         if len(line) + len(it) + 2 > 100: print(line); line = '   '
//gen         line += ' ' + it + ','
//gen     print(line + '\n};')
//gen def emit_ranges(name, rs):
//gen     emit(f'constexpr CodeRange {name}[]', [f'{{0x{a:04X}, 0x{b:04X}}}' for a, b in rs])
//gen low = {c: ord(chr(c).lower()) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF
//gen        and chr(c).lower() != chr(c) and len(chr(c).lower()) == 1}
//gen runs, keys, i = [], sorted(low), 0  # greedy runs; stride 2 only over gaps that are not keys
//gen while i < len(keys):
//gen     s = keys[i]; d = low[s] - s; best = (s, 1)
//gen     for stride in (1, 2):
//gen         e = s
//gen         while (e + stride in low and low[e + stride] - (e + stride) == d
//gen                and (stride == 1 or e + 1 not in low)):
//gen             e += stride
//gen         if e > best[0]: best = (e, stride)
//gen     runs.append((s, best[0], best[1], d))
//gen     while i < len(keys) and keys[i] <= best[0]: i += 1
//gen print(f'// Generated with Python {sys.version.split()[0]} '
//gen       f'(Unicode {unicodedata.unidata_version}) and python3-regex 2022.10.31.')
//gen emit_ranges('kChineseRanges', ranges(lambda c: TokenizerZh._is_chinese_char(chr(c))))
//gen emit_ranges('kCasedRanges', ranges(cased))
//gen emit_ranges('kCaseIgnorableRanges', ranges(case_ignorable))
//gen for p in 'PNS':
//gen     r = regex.compile(r'\p{%s}' % p)
//gen     emit_ranges(f'kCategory{p}Ranges', ranges(lambda c: r.match(chr(c)) is not None))
//gen emit('constexpr LowerRun kLowerRuns[]',
//gen      [f'{{0x{a:04X}, 0x{b:04X}, {st}, {d}}}' for a, b, st, d in runs])
// ------------------------------------------------------------------------------------------------

struct CodeRange {
  char32_t first;
  char32_t last;
};

struct LowerRun {
  char32_t first;
  char32_t last;
  int stride;
  int delta;
};

// Generated with Python 3.11.2 (Unicode 14.0.0) and python3-regex 2022.10.31.
constexpr CodeRange kChineseRanges[] = {
    {0x2001, 0x2A6D}, {0x2E80, 0x2FDF}, {0x2FF0, 0x303F}, {0x3100, 0x312F}, {0x31A0, 0x31EF},
    {0x3200, 0x4DB5}, {0x4E00, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A}, {0xFA70, 0xFAD9},
    {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0xFF00, 0xFFEF},
};
constexpr CodeRange kCasedRanges[] = {
    {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00AA, 0x00AA}, {0x00B5, 0x00B5}, {0x00BA, 0x00BA},
    {0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x00F8, 0x01BA}, {0x01BC, 0x01BF}, {0x01C4, 0x0293},
    {0x0295, 0x02B8}, {0x02C0, 0x02C1}, {0x02E0, 0x02E4}, {0x0345, 0x0345}, {0x0370, 0x0373},
    {0x0376, 0x0377}, {0x037A, 0x037D}, {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A},
    {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F},
    {0x0531, 0x0556}, {0x0560, 0x0588}, {0x10A0, 0x10C5}, {0x10C7, 0x10C7}, {0x10CD, 0x10CD},
    {0x10D0, 0x10FA}, {0x10FD, 0x10FF}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C80, 0x1C88},
    {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1DBF}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C},
    {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D},
    {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134},
    {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2160, 0x217F},
    {0x2183, 0x2184}, {0x24B6, 0x24E9}, {0x2C00, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0x2D00, 0x2D25}, {0x2D27, 0x2D27}, {0x2D2D, 0x2D2D}, {0xA640, 0xA66D}, {0xA680, 0xA69D},
    {0xA722, 0xA787}, {0xA78B, 0xA78E}, {0xA790, 0xA7CA}, {0xA7D0, 0xA7D1}, {0xA7D3, 0xA7D3},
    {0xA7D5, 0xA7D9}, {0xA7F5, 0xA7F6}, {0xA7F8, 0xA7FA}, {0xAB30, 0xAB5A}, {0xAB5C, 0xAB68},
    {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A},
    {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10570, 0x1057A},
    {0x1057C, 0x1058A}, {0x1058C, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105A1},
    {0x105A3, 0x105B1}, {0x105B3, 0x105B9}, {0x105BB, 0x105BC}, {0x10780, 0x10780},
    {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x10C80, 0x10CB2},
    {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x16E40, 0x16E7F}, {0x1D400, 0x1D454},
    {0x1D456, 0x1D49C}, {0x1D49E, 0x1D49F}, {0x1D4A2, 0x1D4A2}, {0x1D4A5, 0x1D4A6},
    {0x1D4A9, 0x1D4AC}, {0x1D4AE, 0x1D4B9}, {0x1D4BB, 0x1D4BB}, {0x1D4BD, 0x1D4C3},
    {0x1D4C5, 0x1D505}, {0x1D507, 0x1D50A}, {0x1D50D, 0x1D514}, {0x1D516, 0x1D51C},
    {0x1D51E, 0x1D539}, {0x1D53B, 0x1D53E}, {0x1D540, 0x1D544}, {0x1D546, 0x1D546},
    {0x1D54A, 0x1D550}, {0x1D552, 0x1D6A5}, {0x1D6A8, 0x1D6C0}, {0x1D6C2, 0x1D6DA},
    {0x1D6DC, 0x1D6FA}, {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734}, {0x1D736, 0x1D74E},
    {0x1D750, 0x1D76E}, {0x1D770, 0x1D788}, {0x1D78A, 0x1D7A8}, {0x1D7AA, 0x1D7C2},
    {0x1D7C4, 0x1D7CB}, {0x1DF00, 0x1DF09}, {0x1DF0B, 0x1DF1E}, {0x1E900, 0x1E943},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};
constexpr CodeRange kCaseIgnorableRanges[] = {
    {0x0027, 0x0027}, {0x002E, 0x002E}, {0x003A, 0x003A}, {0x005E, 0x005E}, {0x0060, 0x0060},
    {0x00A8, 0x00A8}, {0x00AD, 0x00AD}, {0x00AF, 0x00AF}, {0x00B4, 0x00B4}, {0x00B7, 0x00B8},
    {0x02B0, 0x036F}, {0x0374, 0x0375}, {0x037A, 0x037A}, {0x0384, 0x0385}, {0x0387, 0x0387},
    {0x0483, 0x0489}, {0x0559, 0x0559}, {0x055F, 0x055F}, {0x0591, 0x05BD}, {0x05BF, 0x05BF},
    {0x05C1, 0x05C2}, {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x05F4, 0x05F4}, {0x0600, 0x0605},
    {0x0610, 0x061A}, {0x061C, 0x061C}, {0x0640, 0x0640}, {0x064B, 0x065F}, {0x0670, 0x0670},
    {0x06D6, 0x06DD}, {0x06DF, 0x06E8}, {0x06EA, 0x06ED}, {0x070F, 0x070F}, {0x0711, 0x0711},
    {0x0730, 0x074A}, {0x07A6, 0x07B0}, {0x07EB, 0x07F5}, {0x07FA, 0x07FA}, {0x07FD, 0x07FD},
    {0x0816, 0x082D}, {0x0859, 0x085B}, {0x0888, 0x0888}, {0x0890, 0x0891}, {0x0898, 0x089F},
    {0x08C9, 0x0902}, {0x093A, 0x093A}, {0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D},
    {0x0951, 0x0957}, {0x0962, 0x0963}, {0x0971, 0x0971}, {0x0981, 0x0981}, {0x09BC, 0x09BC},
    {0x09C1, 0x09C4}, {0x09CD, 0x09CD}, {0x09E2, 0x09E3}, {0x09FE, 0x09FE}, {0x0A01, 0x0A02},
    {0x0A3C, 0x0A3C}, {0x0A41, 0x0A42}, {0x0A47, 0x0A48}, {0x0A4B, 0x0A4D}, {0x0A51, 0x0A51},
    {0x0A70, 0x0A71}, {0x0A75, 0x0A75}, {0x0A81, 0x0A82}, {0x0ABC, 0x0ABC}, {0x0AC1, 0x0AC5},
    {0x0AC7, 0x0AC8}, {0x0ACD, 0x0ACD}, {0x0AE2, 0x0AE3}, {0x0AFA, 0x0AFF}, {0x0B01, 0x0B01},
    {0x0B3C, 0x0B3C}, {0x0B3F, 0x0B3F}, {0x0B41, 0x0B44}, {0x0B4D, 0x0B4D}, {0x0B55, 0x0B56},
    {0x0B62, 0x0B63}, {0x0B82, 0x0B82}, {0x0BC0, 0x0BC0}, {0x0BCD, 0x0BCD}, {0x0C00, 0x0C00},
    {0x0C04, 0x0C04}, {0x0C3C, 0x0C3C}, {0x0C3E, 0x0C40}, {0x0C46, 0x0C48}, {0x0C4A, 0x0C4D},
    {0x0C55, 0x0C56}, {0x0C62, 0x0C63}, {0x0C81, 0x0C81}, {0x0CBC, 0x0CBC}, {0x0CBF, 0x0CBF},
    {0x0CC6, 0x0CC6}, {0x0CCC, 0x0CCD}, {0x0CE2, 0x0CE3}, {0x0D00, 0x0D01}, {0x0D3B, 0x0D3C},
    {0x0D41, 0x0D44}, {0x0D4D, 0x0D4D}, {0x0D62, 0x0D63}, {0x0D81, 0x0D81}, {0x0DCA, 0x0DCA},
    {0x0DD2, 0x0DD4}, {0x0DD6, 0x0DD6}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E46, 0x0E4E},
    {0x0EB1, 0x0EB1}, {0x0EB4, 0x0EBC}, {0x0EC6, 0x0EC6}, {0x0EC8, 0x0ECD}, {0x0F18, 0x0F19},
    {0x0F35, 0x0F35}, {0x0F37, 0x0F37}, {0x0F39, 0x0F39}, {0x0F71, 0x0F7E}, {0x0F80, 0x0F84},
    {0x0F86, 0x0F87}, {0x0F8D, 0x0F97}, {0x0F99, 0x0FBC}, {0x0FC6, 0x0FC6}, {0x102D, 0x1030},
    {0x1032, 0x1037}, {0x1039, 0x103A}, {0x103D, 0x103E}, {0x1058, 0x1059}, {0x105E, 0x1060},
    {0x1071, 0x1074}, {0x1082, 0x1082}, {0x1085, 0x1086}, {0x108D, 0x108D}, {0x109D, 0x109D},
    {0x10FC, 0x10FC}, {0x135D, 0x135F}, {0x1712, 0x1714}, {0x1732, 0x1733}, {0x1752, 0x1753},
    {0x1772, 0x1773}, {0x17B4, 0x17B5}, {0x17B7, 0x17BD}, {0x17C6, 0x17C6}, {0x17C9, 0x17D3},
    {0x17D7, 0x17D7}, {0x17DD, 0x17DD}, {0x180B, 0x180F}, {0x1843, 0x1843}, {0x1885, 0x1886},
    {0x18A9, 0x18A9}, {0x1920, 0x1922}, {0x1927, 0x1928}, {0x1932, 0x1932}, {0x1939, 0x193B},
    {0x1A17, 0x1A18}, {0x1A1B, 0x1A1B}, {0x1A56, 0x1A56}, {0x1A58, 0x1A5E}, {0x1A60, 0x1A60},
    {0x1A62, 0x1A62}, {0x1A65, 0x1A6C}, {0x1A73, 0x1A7C}, {0x1A7F, 0x1A7F}, {0x1AA7, 0x1AA7},
    {0x1AB0, 0x1ACE}, {0x1B00, 0x1B03}, {0x1B34, 0x1B34}, {0x1B36, 0x1B3A}, {0x1B3C, 0x1B3C},
    {0x1B42, 0x1B42}, {0x1B6B, 0x1B73}, {0x1B80, 0x1B81}, {0x1BA2, 0x1BA5}, {0x1BA8, 0x1BA9},
    {0x1BAB, 0x1BAD}, {0x1BE6, 0x1BE6}, {0x1BE8, 0x1BE9}, {0x1BED, 0x1BED}, {0x1BEF, 0x1BF1},
    {0x1C2C, 0x1C33}, {0x1C36, 0x1C37}, {0x1C78, 0x1C7D}, {0x1CD0, 0x1CD2}, {0x1CD4, 0x1CE0},
    {0x1CE2, 0x1CE8}, {0x1CED, 0x1CED}, {0x1CF4, 0x1CF4}, {0x1CF8, 0x1CF9}, {0x1D2C, 0x1D6A},
    {0x1D78, 0x1D78}, {0x1D9B, 0x1DFF}, {0x1FBD, 0x1FBD}, {0x1FBF, 0x1FC1}, {0x1FCD, 0x1FCF},
    {0x1FDD, 0x1FDF}, {0x1FED, 0x1FEF}, {0x1FFD, 0x1FFE}, {0x200B, 0x200F}, {0x2018, 0x2019},
    {0x2024, 0x2024}, {0x2027, 0x2027}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},
    {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x20D0, 0x20F0}, {0x2C7C, 0x2C7D},
    {0x2CEF, 0x2CF1}, {0x2D6F, 0x2D6F}, {0x2D7F, 0x2D7F}, {0x2DE0, 0x2DFF}, {0x2E2F, 0x2E2F},
    {0x3005, 0x3005}, {0x302A, 0x302D}, {0x3031, 0x3035}, {0x303B, 0x303B}, {0x3099, 0x309E},
    {0x30FC, 0x30FE}, {0xA015, 0xA015}, {0xA4F8, 0xA4FD}, {0xA60C, 0xA60C}, {0xA66F, 0xA672},
    {0xA674, 0xA67D}, {0xA67F, 0xA67F}, {0xA69C, 0xA69F}, {0xA6F0, 0xA6F1}, {0xA700, 0xA721},
    {0xA770, 0xA770}, {0xA788, 0xA78A}, {0xA7F2, 0xA7F4}, {0xA7F8, 0xA7F9}, {0xA802, 0xA802},
    {0xA806, 0xA806}, {0xA80B, 0xA80B}, {0xA825, 0xA826}, {0xA82C, 0xA82C}, {0xA8C4, 0xA8C5},
    {0xA8E0, 0xA8F1}, {0xA8FF, 0xA8FF}, {0xA926, 0xA92D}, {0xA947, 0xA951}, {0xA980, 0xA982},
    {0xA9B3, 0xA9B3}, {0xA9B6, 0xA9B9}, {0xA9BC, 0xA9BD}, {0xA9CF, 0xA9CF}, {0xA9E5, 0xA9E6},
    {0xAA29, 0xAA2E}, {0xAA31, 0xAA32}, {0xAA35, 0xAA36}, {0xAA43, 0xAA43}, {0xAA4C, 0xAA4C},
    {0xAA70, 0xAA70}, {0xAA7C, 0xAA7C}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4}, {0xAAB7, 0xAAB8},
    {0xAABE, 0xAABF}, {0xAAC1, 0xAAC1}, {0xAADD, 0xAADD}, {0xAAEC, 0xAAED}, {0xAAF3, 0xAAF4},
    {0xAAF6, 0xAAF6}, {0xAB5B, 0xAB5F}, {0xAB69, 0xAB6B}, {0xABE5, 0xABE5}, {0xABE8, 0xABE8},
    {0xABED, 0xABED}, {0xFB1E, 0xFB1E}, {0xFBB2, 0xFBC2}, {0xFE00, 0xFE0F}, {0xFE13, 0xFE13},
    {0xFE20, 0xFE2F}, {0xFE52, 0xFE52}, {0xFE55, 0xFE55}, {0xFEFF, 0xFEFF}, {0xFF07, 0xFF07},
    {0xFF0E, 0xFF0E}, {0xFF1A, 0xFF1A}, {0xFF3E, 0xFF3E}, {0xFF40, 0xFF40}, {0xFF70, 0xFF70},
    {0xFF9E, 0xFF9F}, {0xFFE3, 0xFFE3}, {0xFFF9, 0xFFFB}, {0x101FD, 0x101FD}, {0x102E0, 0x102E0},
    {0x10376, 0x1037A}, {0x10780, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x10A01, 0x10A03}, {0x10A05, 0x10A06}, {0x10A0C, 0x10A0F}, {0x10A38, 0x10A3A},
    {0x10A3F, 0x10A3F}, {0x10AE5, 0x10AE6}, {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC},
    {0x10F46, 0x10F50}, {0x10F82, 0x10F85}, {0x11001, 0x11001}, {0x11038, 0x11046},
    {0x11070, 0x11070}, {0x11073, 0x11074}, {0x1107F, 0x11081}, {0x110B3, 0x110B6},
    {0x110B9, 0x110BA}, {0x110BD, 0x110BD}, {0x110C2, 0x110C2}, {0x110CD, 0x110CD},
    {0x11100, 0x11102}, {0x11127, 0x1112B}, {0x1112D, 0x11134}, {0x11173, 0x11173},
    {0x11180, 0x11181}, {0x111B6, 0x111BE}, {0x111C9, 0x111CC}, {0x111CF, 0x111CF},
    {0x1122F, 0x11231}, {0x11234, 0x11234}, {0x11236, 0x11237}, {0x1123E, 0x1123E},
    {0x112DF, 0x112DF}, {0x112E3, 0x112EA}, {0x11300, 0x11301}, {0x1133B, 0x1133C},
    {0x11340, 0x11340}, {0x11366, 0x1136C}, {0x11370, 0x11374}, {0x11438, 0x1143F},
    {0x11442, 0x11444}, {0x11446, 0x11446}, {0x1145E, 0x1145E}, {0x114B3, 0x114B8},
    {0x114BA, 0x114BA}, {0x114BF, 0x114C0}, {0x114C2, 0x114C3}, {0x115B2, 0x115B5},
    {0x115BC, 0x115BD}, {0x115BF, 0x115C0}, {0x115DC, 0x115DD}, {0x11633, 0x1163A},
    {0x1163D, 0x1163D}, {0x1163F, 0x11640}, {0x116AB, 0x116AB}, {0x116AD, 0x116AD},
    {0x116B0, 0x116B5}, {0x116B7, 0x116B7}, {0x1171D, 0x1171F}, {0x11722, 0x11725},
    {0x11727, 0x1172B}, {0x1182F, 0x11837}, {0x11839, 0x1183A}, {0x1193B, 0x1193C},
    {0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119D7}, {0x119DA, 0x119DB},
    {0x119E0, 0x119E0}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A38}, {0x11A3B, 0x11A3E},
    {0x11A47, 0x11A47}, {0x11A51, 0x11A56}, {0x11A59, 0x11A5B}, {0x11A8A, 0x11A96},
    {0x11A98, 0x11A99}, {0x11C30, 0x11C36}, {0x11C38, 0x11C3D}, {0x11C3F, 0x11C3F},
    {0x11C92, 0x11CA7}, {0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3}, {0x11CB5, 0x11CB6},
    {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D}, {0x11D3F, 0x11D45},
    {0x11D47, 0x11D47}, {0x11D90, 0x11D91}, {0x11D95, 0x11D95}, {0x11D97, 0x11D97},
    {0x11EF3, 0x11EF4}, {0x13430, 0x13438}, {0x16AF0, 0x16AF4}, {0x16B30, 0x16B36},
    {0x16B40, 0x16B43}, {0x16F4F, 0x16F4F}, {0x16F8F, 0x16F9F}, {0x16FE0, 0x16FE1},
    {0x16FE3, 0x16FE4}, {0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE},
    {0x1BC9D, 0x1BC9E}, {0x1BCA0, 0x1BCA3}, {0x1CF00, 0x1CF2D}, {0x1CF30, 0x1CF46},
    {0x1D167, 0x1D169}, {0x1D173, 0x1D182}, {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD},
    {0x1D242, 0x1D244}, {0x1DA00, 0x1DA36}, {0x1DA3B, 0x1DA6C}, {0x1DA75, 0x1DA75},
    {0x1DA84, 0x1DA84}, {0x1DA9B, 0x1DA9F}, {0x1DAA1, 0x1DAAF}, {0x1E000, 0x1E006},
    {0x1E008, 0x1E018}, {0x1E01B, 0x1E021}, {0x1E023, 0x1E024}, {0x1E026, 0x1E02A},
    {0x1E130, 0x1E13D}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF}, {0x1E8D0, 0x1E8D6},
    {0x1E944, 0x1E94B}, {0x1F3FB, 0x1F3FF}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
    {0xE0100, 0xE01EF},
};
constexpr CodeRange kCategoryPRanges[] = {
    {0x0021, 0x0023}, {0x0025, 0x002A}, {0x002C, 0x002F}, {0x003A, 0x003B}, {0x003F, 0x0040},
    {0x005B, 0x005D}, {0x005F, 0x005F}, {0x007B, 0x007B}, {0x007D, 0x007D}, {0x00A1, 0x00A1},
    {0x00A7, 0x00A7}, {0x00AB, 0x00AB}, {0x00B6, 0x00B7}, {0x00BB, 0x00BB}, {0x00BF, 0x00BF},
    {0x037E, 0x037E}, {0x0387, 0x0387}, {0x055A, 0x055F}, {0x0589, 0x058A}, {0x05BE, 0x05BE},
    {0x05C0, 0x05C0}, {0x05C3, 0x05C3}, {0x05C6, 0x05C6}, {0x05F3, 0x05F4}, {0x0609, 0x060A},
    {0x060C, 0x060D}, {0x061B, 0x061B}, {0x061D, 0x061F}, {0x066A, 0x066D}, {0x06D4, 0x06D4},
    {0x0700, 0x070D}, {0x07F7, 0x07F9}, {0x0830, 0x083E}, {0x085E, 0x085E}, {0x0964, 0x0965},
    {0x0970, 0x0970}, {0x09FD, 0x09FD}, {0x0A76, 0x0A76}, {0x0AF0, 0x0AF0}, {0x0C77, 0x0C77},
    {0x0C84, 0x0C84}, {0x0DF4, 0x0DF4}, {0x0E4F, 0x0E4F}, {0x0E5A, 0x0E5B}, {0x0F04, 0x0F12},
    {0x0F14, 0x0F14}, {0x0F3A, 0x0F3D}, {0x0F85, 0x0F85}, {0x0FD0, 0x0FD4}, {0x0FD9, 0x0FDA},
    {0x104A, 0x104F}, {0x10FB, 0x10FB}, {0x1360, 0x1368}, {0x1400, 0x1400}, {0x166E, 0x166E},
    {0x169B, 0x169C}, {0x16EB, 0x16ED}, {0x1735, 0x1736}, {0x17D4, 0x17D6}, {0x17D8, 0x17DA},
    {0x1800, 0x180A}, {0x1944, 0x1945}, {0x1A1E, 0x1A1F}, {0x1AA0, 0x1AA6}, {0x1AA8, 0x1AAD},
    {0x1B5A, 0x1B60}, {0x1B7D, 0x1B7E}, {0x1BFC, 0x1BFF}, {0x1C3B, 0x1C3F}, {0x1C7E, 0x1C7F},
    {0x1CC0, 0x1CC7}, {0x1CD3, 0x1CD3}, {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051},
    {0x2053, 0x205E}, {0x207D, 0x207E}, {0x208D, 0x208E}, {0x2308, 0x230B}, {0x2329, 0x232A},
    {0x2768, 0x2775}, {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998}, {0x29D8, 0x29DB},
    {0x29FC, 0x29FD}, {0x2CF9, 0x2CFC}, {0x2CFE, 0x2CFF}, {0x2D70, 0x2D70}, {0x2E00, 0x2E2E},
    {0x2E30, 0x2E4F}, {0x2E52, 0x2E5D}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F},
    {0x3030, 0x3030}, {0x303D, 0x303D}, {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xA4FE, 0xA4FF},
    {0xA60D, 0xA60F}, {0xA673, 0xA673}, {0xA67E, 0xA67E}, {0xA6F2, 0xA6F7}, {0xA874, 0xA877},
    {0xA8CE, 0xA8CF}, {0xA8F8, 0xA8FA}, {0xA8FC, 0xA8FC}, {0xA92E, 0xA92F}, {0xA95F, 0xA95F},
    {0xA9C1, 0xA9CD}, {0xA9DE, 0xA9DF}, {0xAA5C, 0xAA5F}, {0xAADE, 0xAADF}, {0xAAF0, 0xAAF1},
    {0xABEB, 0xABEB}, {0xFD3E, 0xFD3F}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61},
    {0xFE63, 0xFE63}, {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A},
    {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F},
    {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65}, {0x10100, 0x10102}, {0x1039F, 0x1039F},
    {0x103D0, 0x103D0}, {0x1056F, 0x1056F}, {0x10857, 0x10857}, {0x1091F, 0x1091F},
    {0x1093F, 0x1093F}, {0x10A50, 0x10A58}, {0x10A7F, 0x10A7F}, {0x10AF0, 0x10AF6},
    {0x10B39, 0x10B3F}, {0x10B99, 0x10B9C}, {0x10EAD, 0x10EAD}, {0x10F55, 0x10F59},
    {0x10F86, 0x10F89}, {0x11047, 0x1104D}, {0x110BB, 0x110BC}, {0x110BE, 0x110C1},
    {0x11140, 0x11143}, {0x11174, 0x11175}, {0x111C5, 0x111C8}, {0x111CD, 0x111CD},
    {0x111DB, 0x111DB}, {0x111DD, 0x111DF}, {0x11238, 0x1123D}, {0x112A9, 0x112A9},
    {0x1144B, 0x1144F}, {0x1145A, 0x1145B}, {0x1145D, 0x1145D}, {0x114C6, 0x114C6},
    {0x115C1, 0x115D7}, {0x11641, 0x11643}, {0x11660, 0x1166C}, {0x116B9, 0x116B9},
    {0x1173C, 0x1173E}, {0x1183B, 0x1183B}, {0x11944, 0x11946}, {0x119E2, 0x119E2},
    {0x11A3F, 0x11A46}, {0x11A9A, 0x11A9C}, {0x11A9E, 0x11AA2}, {0x11B00, 0x11B09},
    {0x11C41, 0x11C45}, {0x11C70, 0x11C71}, {0x11EF7, 0x11EF8}, {0x11F43, 0x11F4F},
    {0x11FFF, 0x11FFF}, {0x12470, 0x12474}, {0x12FF1, 0x12FF2}, {0x16A6E, 0x16A6F},
    {0x16AF5, 0x16AF5}, {0x16B37, 0x16B3B}, {0x16B44, 0x16B44}, {0x16E97, 0x16E9A},
    {0x16FE2, 0x16FE2}, {0x1BC9F, 0x1BC9F}, {0x1DA87, 0x1DA8B}, {0x1E95E, 0x1E95F},
};
constexpr CodeRange kCategoryNRanges[] = {
    {0x0030, 0x0039}, {0x00B2, 0x00B3}, {0x00B9, 0x00B9}, {0x00BC, 0x00BE}, {0x0660, 0x0669},
    {0x06F0, 0x06F9}, {0x07C0, 0x07C9}, {0x0966, 0x096F}, {0x09E6, 0x09EF}, {0x09F4, 0x09F9},
    {0x0A66, 0x0A6F}, {0x0AE6, 0x0AEF}, {0x0B66, 0x0B6F}, {0x0B72, 0x0B77}, {0x0BE6, 0x0BF2},
    {0x0C66, 0x0C6F}, {0x0C78, 0x0C7E}, {0x0CE6, 0x0CEF}, {0x0D58, 0x0D5E}, {0x0D66, 0x0D78},
    {0x0DE6, 0x0DEF}, {0x0E50, 0x0E59}, {0x0ED0, 0x0ED9}, {0x0F20, 0x0F33}, {0x1040, 0x1049},
    {0x1090, 0x1099}, {0x1369, 0x137C}, {0x16EE, 0x16F0}, {0x17E0, 0x17E9}, {0x17F0, 0x17F9},
    {0x1810, 0x1819}, {0x1946, 0x194F}, {0x19D0, 0x19DA}, {0x1A80, 0x1A89}, {0x1A90, 0x1A99},
    {0x1B50, 0x1B59}, {0x1BB0, 0x1BB9}, {0x1C40, 0x1C49}, {0x1C50, 0x1C59}, {0x2070, 0x2070},
    {0x2074, 0x2079}, {0x2080, 0x2089}, {0x2150, 0x2182}, {0x2185, 0x2189}, {0x2460, 0x249B},
    {0x24EA, 0x24FF}, {0x2776, 0x2793}, {0x2CFD, 0x2CFD}, {0x3007, 0x3007}, {0x3021, 0x3029},
    {0x3038, 0x303A}, {0x3192, 0x3195}, {0x3220, 0x3229}, {0x3248, 0x324F}, {0x3251, 0x325F},
    {0x3280, 0x3289}, {0x32B1, 0x32BF}, {0xA620, 0xA629}, {0xA6E6, 0xA6EF}, {0xA830, 0xA835},
    {0xA8D0, 0xA8D9}, {0xA900, 0xA909}, {0xA9D0, 0xA9D9}, {0xA9F0, 0xA9F9}, {0xAA50, 0xAA59},
    {0xABF0, 0xABF9}, {0xFF10, 0xFF19}, {0x10107, 0x10133}, {0x10140, 0x10178}, {0x1018A, 0x1018B},
    {0x102E1, 0x102FB}, {0x10320, 0x10323}, {0x10341, 0x10341}, {0x1034A, 0x1034A},
    {0x103D1, 0x103D5}, {0x104A0, 0x104A9}, {0x10858, 0x1085F}, {0x10879, 0x1087F},
    {0x108A7, 0x108AF}, {0x108FB, 0x108FF}, {0x10916, 0x1091B}, {0x109BC, 0x109BD},
    {0x109C0, 0x109CF}, {0x109D2, 0x109FF}, {0x10A40, 0x10A48}, {0x10A7D, 0x10A7E},
    {0x10A9D, 0x10A9F}, {0x10AEB, 0x10AEF}, {0x10B58, 0x10B5F}, {0x10B78, 0x10B7F},
    {0x10BA9, 0x10BAF}, {0x10CFA, 0x10CFF}, {0x10D30, 0x10D39}, {0x10E60, 0x10E7E},
    {0x10F1D, 0x10F26}, {0x10F51, 0x10F54}, {0x10FC5, 0x10FCB}, {0x11052, 0x1106F},
    {0x110F0, 0x110F9}, {0x11136, 0x1113F}, {0x111D0, 0x111D9}, {0x111E1, 0x111F4},
    {0x112F0, 0x112F9}, {0x11450, 0x11459}, {0x114D0, 0x114D9}, {0x11650, 0x11659},
    {0x116C0, 0x116C9}, {0x11730, 0x1173B}, {0x118E0, 0x118F2}, {0x11950, 0x11959},
    {0x11C50, 0x11C6C}, {0x11D50, 0x11D59}, {0x11DA0, 0x11DA9}, {0x11F50, 0x11F59},
    {0x11FC0, 0x11FD4}, {0x12400, 0x1246E}, {0x16A60, 0x16A69}, {0x16AC0, 0x16AC9},
    {0x16B50, 0x16B59}, {0x16B5B, 0x16B61}, {0x16E80, 0x16E96}, {0x1D2C0, 0x1D2D3},
    {0x1D2E0, 0x1D2F3}, {0x1D360, 0x1D378}, {0x1D7CE, 0x1D7FF}, {0x1E140, 0x1E149},
    {0x1E2F0, 0x1E2F9}, {0x1E4F0, 0x1E4F9}, {0x1E8C7, 0x1E8CF}, {0x1E950, 0x1E959},
    {0x1EC71, 0x1ECAB}, {0x1ECAD, 0x1ECAF}, {0x1ECB1, 0x1ECB4}, {0x1ED01, 0x1ED2D},
    {0x1ED2F, 0x1ED3D}, {0x1F100, 0x1F10C}, {0x1FBF0, 0x1FBF9},
};
constexpr CodeRange kCategorySRanges[] = {
    {0x0024, 0x0024}, {0x002B, 0x002B}, {0x003C, 0x003E}, {0x005E, 0x005E}, {0x0060, 0x0060},
    {0x007C, 0x007C}, {0x007E, 0x007E}, {0x00A2, 0x00A6}, {0x00A8, 0x00A9}, {0x00AC, 0x00AC},
    {0x00AE, 0x00B1}, {0x00B4, 0x00B4}, {0x00B8, 0x00B8}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7},
    {0x02C2, 0x02C5}, {0x02D2, 0x02DF}, {0x02E5, 0x02EB}, {0x02ED, 0x02ED}, {0x02EF, 0x02FF},
    {0x0375, 0x0375}, {0x0384, 0x0385}, {0x03F6, 0x03F6}, {0x0482, 0x0482}, {0x058D, 0x058F},
    {0x0606, 0x0608}, {0x060B, 0x060B}, {0x060E, 0x060F}, {0x06DE, 0x06DE}, {0x06E9, 0x06E9},
    {0x06FD, 0x06FE}, {0x07F6, 0x07F6}, {0x07FE, 0x07FF}, {0x0888, 0x0888}, {0x09F2, 0x09F3},
    {0x09FA, 0x09FB}, {0x0AF1, 0x0AF1}, {0x0B70, 0x0B70}, {0x0BF3, 0x0BFA}, {0x0C7F, 0x0C7F},
    {0x0D4F, 0x0D4F}, {0x0D79, 0x0D79}, {0x0E3F, 0x0E3F}, {0x0F01, 0x0F03}, {0x0F13, 0x0F13},
    {0x0F15, 0x0F17}, {0x0F1A, 0x0F1F}, {0x0F34, 0x0F34}, {0x0F36, 0x0F36}, {0x0F38, 0x0F38},
    {0x0FBE, 0x0FC5}, {0x0FC7, 0x0FCC}, {0x0FCE, 0x0FCF}, {0x0FD5, 0x0FD8}, {0x109E, 0x109F},
    {0x1390, 0x1399}, {0x166D, 0x166D}, {0x17DB, 0x17DB}, {0x1940, 0x1940}, {0x19DE, 0x19FF},
    {0x1B61, 0x1B6A}, {0x1B74, 0x1B7C}, {0x1FBD, 0x1FBD}, {0x1FBF, 0x1FC1}, {0x1FCD, 0x1FCF},
    {0x1FDD, 0x1FDF}, {0x1FED, 0x1FEF}, {0x1FFD, 0x1FFE}, {0x2044, 0x2044}, {0x2052, 0x2052},
    {0x207A, 0x207C}, {0x208A, 0x208C}, {0x20A0, 0x20C0}, {0x2100, 0x2101}, {0x2103, 0x2106},
    {0x2108, 0x2109}, {0x2114, 0x2114}, {0x2116, 0x2118}, {0x211E, 0x2123}, {0x2125, 0x2125},
    {0x2127, 0x2127}, {0x2129, 0x2129}, {0x212E, 0x212E}, {0x213A, 0x213B}, {0x2140, 0x2144},
    {0x214A, 0x214D}, {0x214F, 0x214F}, {0x218A, 0x218B}, {0x2190, 0x2307}, {0x230C, 0x2328},
    {0x232B, 0x2426}, {0x2440, 0x244A}, {0x249C, 0x24E9}, {0x2500, 0x2767}, {0x2794, 0x27C4},
    {0x27C7, 0x27E5}, {0x27F0, 0x2982}, {0x2999, 0x29D7}, {0x29DC, 0x29FB}, {0x29FE, 0x2B73},
    {0x2B76, 0x2B95}, {0x2B97, 0x2BFF}, {0x2CE5, 0x2CEA}, {0x2E50, 0x2E51}, {0x2E80, 0x2E99},
    {0x2E9B, 0x2EF3}, {0x2F00, 0x2FD5}, {0x2FF0, 0x2FFB}, {0x3004, 0x3004}, {0x3012, 0x3013},
    {0x3020, 0x3020}, {0x3036, 0x3037}, {0x303E, 0x303F}, {0x309B, 0x309C}, {0x3190, 0x3191},
    {0x3196, 0x319F}, {0x31C0, 0x31E3}, {0x3200, 0x321E}, {0x322A, 0x3247}, {0x3250, 0x3250},
    {0x3260, 0x327F}, {0x328A, 0x32B0}, {0x32C0, 0x33FF}, {0x4DC0, 0x4DFF}, {0xA490, 0xA4C6},
    {0xA700, 0xA716}, {0xA720, 0xA721}, {0xA789, 0xA78A}, {0xA828, 0xA82B}, {0xA836, 0xA839},
    {0xAA77, 0xAA79}, {0xAB5B, 0xAB5B}, {0xAB6A, 0xAB6B}, {0xFB29, 0xFB29}, {0xFBB2, 0xFBC2},
    {0xFD40, 0xFD4F}, {0xFDCF, 0xFDCF}, {0xFDFC, 0xFDFF}, {0xFE62, 0xFE62}, {0xFE64, 0xFE66},
    {0xFE69, 0xFE69}, {0xFF04, 0xFF04}, {0xFF0B, 0xFF0B}, {0xFF1C, 0xFF1E}, {0xFF3E, 0xFF3E},
    {0xFF40, 0xFF40}, {0xFF5C, 0xFF5C}, {0xFF5E, 0xFF5E}, {0xFFE0, 0xFFE6}, {0xFFE8, 0xFFEE},
    {0xFFFC, 0xFFFD}, {0x10137, 0x1013F}, {0x10179, 0x10189}, {0x1018C, 0x1018E},
    {0x10190, 0x1019C}, {0x101A0, 0x101A0}, {0x101D0, 0x101FC}, {0x10877, 0x10878},
    {0x10AC8, 0x10AC8}, {0x1173F, 0x1173F}, {0x11FD5, 0x11FF1}, {0x16B3C, 0x16B3F},
    {0x16B45, 0x16B45}, {0x1BC9C, 0x1BC9C}, {0x1CF50, 0x1CFC3}, {0x1D000, 0x1D0F5},
    {0x1D100, 0x1D126}, {0x1D129, 0x1D164}, {0x1D16A, 0x1D16C}, {0x1D183, 0x1D184},
    {0x1D18C, 0x1D1A9}, {0x1D1AE, 0x1D1EA}, {0x1D200, 0x1D241}, {0x1D245, 0x1D245},
    {0x1D300, 0x1D356}, {0x1D6C1, 0x1D6C1}, {0x1D6DB, 0x1D6DB}, {0x1D6FB, 0x1D6FB},
    {0x1D715, 0x1D715}, {0x1D735, 0x1D735}, {0x1D74F, 0x1D74F}, {0x1D76F, 0x1D76F},
    {0x1D789, 0x1D789}, {0x1D7A9, 0x1D7A9}, {0x1D7C3, 0x1D7C3}, {0x1D800, 0x1D9FF},
    {0x1DA37, 0x1DA3A}, {0x1DA6D, 0x1DA74}, {0x1DA76, 0x1DA83}, {0x1DA85, 0x1DA86},
    {0x1E14F, 0x1E14F}, {0x1E2FF, 0x1E2FF}, {0x1ECAC, 0x1ECAC}, {0x1ECB0, 0x1ECB0},
    {0x1ED2E, 0x1ED2E}, {0x1EEF0, 0x1EEF1}, {0x1F000, 0x1F02B}, {0x1F030, 0x1F093},
    {0x1F0A0, 0x1F0AE}, {0x1F0B1, 0x1F0BF}, {0x1F0C1, 0x1F0CF}, {0x1F0D1, 0x1F0F5},
    {0x1F10D, 0x1F1AD}, {0x1F1E6, 0x1F202}, {0x1F210, 0x1F23B}, {0x1F240, 0x1F248},
    {0x1F250, 0x1F251}, {0x1F260, 0x1F265}, {0x1F300, 0x1F6D7}, {0x1F6DC, 0x1F6EC},
    {0x1F6F0, 0x1F6FC}, {0x1F700, 0x1F776}, {0x1F77B, 0x1F7D9}, {0x1F7E0, 0x1F7EB},
    {0x1F7F0, 0x1F7F0}, {0x1F800, 0x1F80B}, {0x1F810, 0x1F847}, {0x1F850, 0x1F859},
    {0x1F860, 0x1F887}, {0x1F890, 0x1F8AD}, {0x1F8B0, 0x1F8B1}, {0x1F900, 0x1FA53},
    {0x1FA60, 0x1FA6D}, {0x1FA70, 0x1FA7C}, {0x1FA80, 0x1FA88}, {0x1FA90, 0x1FABD},
    {0x1FABF, 0x1FAC5}, {0x1FACE, 0x1FADB}, {0x1FAE0, 0x1FAE8}, {0x1FAF0, 0x1FAF8},
    {0x1FB00, 0x1FB92}, {0x1FB94, 0x1FBCA},
};
constexpr LowerRun kLowerRuns[] = {
    {0x0041, 0x005A, 1, 32}, {0x00C0, 0x00D6, 1, 32}, {0x00D8, 0x00DE, 1, 32},
    {0x0100, 0x012E, 2, 1}, {0x0132, 0x0136, 2, 1}, {0x0139, 0x0147, 2, 1}, {0x014A, 0x0176, 2, 1},
    {0x0178, 0x0178, 1, -121}, {0x0179, 0x017D, 2, 1}, {0x0181, 0x0181, 1, 210},
    {0x0182, 0x0184, 2, 1}, {0x0186, 0x0186, 1, 206}, {0x0187, 0x0187, 1, 1},
    {0x0189, 0x018A, 1, 205}, {0x018B, 0x018B, 1, 1}, {0x018E, 0x018E, 1, 79},
    {0x018F, 0x018F, 1, 202}, {0x0190, 0x0190, 1, 203}, {0x0191, 0x0191, 1, 1},
    {0x0193, 0x0193, 1, 205}, {0x0194, 0x0194, 1, 207}, {0x0196, 0x0196, 1, 211},
    {0x0197, 0x0197, 1, 209}, {0x0198, 0x0198, 1, 1}, {0x019C, 0x019C, 1, 211},
    {0x019D, 0x019D, 1, 213}, {0x019F, 0x019F, 1, 214}, {0x01A0, 0x01A4, 2, 1},
    {0x01A6, 0x01A6, 1, 218}, {0x01A7, 0x01A7, 1, 1}, {0x01A9, 0x01A9, 1, 218},
    {0x01AC, 0x01AC, 1, 1}, {0x01AE, 0x01AE, 1, 218}, {0x01AF, 0x01AF, 1, 1},
    {0x01B1, 0x01B2, 1, 217}, {0x01B3, 0x01B5, 2, 1}, {0x01B7, 0x01B7, 1, 219},
    {0x01B8, 0x01B8, 1, 1}, {0x01BC, 0x01BC, 1, 1}, {0x01C4, 0x01C4, 1, 2}, {0x01C5, 0x01C5, 1, 1},
    {0x01C7, 0x01C7, 1, 2}, {0x01C8, 0x01C8, 1, 1}, {0x01CA, 0x01CA, 1, 2}, {0x01CB, 0x01DB, 2, 1},
    {0x01DE, 0x01EE, 2, 1}, {0x01F1, 0x01F1, 1, 2}, {0x01F2, 0x01F4, 2, 1},
    {0x01F6, 0x01F6, 1, -97}, {0x01F7, 0x01F7, 1, -56}, {0x01F8, 0x021E, 2, 1},
    {0x0220, 0x0220, 1, -130}, {0x0222, 0x0232, 2, 1}, {0x023A, 0x023A, 1, 10795},
    {0x023B, 0x023B, 1, 1}, {0x023D, 0x023D, 1, -163}, {0x023E, 0x023E, 1, 10792},
    {0x0241, 0x0241, 1, 1}, {0x0243, 0x0243, 1, -195}, {0x0244, 0x0244, 1, 69},
    {0x0245, 0x0245, 1, 71}, {0x0246, 0x024E, 2, 1}, {0x0370, 0x0372, 2, 1}, {0x0376, 0x0376, 1, 1},
    {0x037F, 0x037F, 1, 116}, {0x0386, 0x0386, 1, 38}, {0x0388, 0x038A, 1, 37},
    {0x038C, 0x038C, 1, 64}, {0x038E, 0x038F, 1, 63}, {0x0391, 0x03A1, 1, 32},
    {0x03A3, 0x03AB, 1, 32}, {0x03CF, 0x03CF, 1, 8}, {0x03D8, 0x03EE, 2, 1},
    {0x03F4, 0x03F4, 1, -60}, {0x03F7, 0x03F7, 1, 1}, {0x03F9, 0x03F9, 1, -7},
    {0x03FA, 0x03FA, 1, 1}, {0x03FD, 0x03FF, 1, -130}, {0x0400, 0x040F, 1, 80},
    {0x0410, 0x042F, 1, 32}, {0x0460, 0x0480, 2, 1}, {0x048A, 0x04BE, 2, 1},
    {0x04C0, 0x04C0, 1, 15}, {0x04C1, 0x04CD, 2, 1}, {0x04D0, 0x052E, 2, 1},
    {0x0531, 0x0556, 1, 48}, {0x10A0, 0x10C5, 1, 7264}, {0x10C7, 0x10C7, 1, 7264},
    {0x10CD, 0x10CD, 1, 7264}, {0x13A0, 0x13EF, 1, 38864}, {0x13F0, 0x13F5, 1, 8},
    {0x1C90, 0x1CBA, 1, -3008}, {0x1CBD, 0x1CBF, 1, -3008}, {0x1E00, 0x1E94, 2, 1},
    {0x1E9E, 0x1E9E, 1, -7615}, {0x1EA0, 0x1EFE, 2, 1}, {0x1F08, 0x1F0F, 1, -8},
    {0x1F18, 0x1F1D, 1, -8}, {0x1F28, 0x1F2F, 1, -8}, {0x1F38, 0x1F3F, 1, -8},
    {0x1F48, 0x1F4D, 1, -8}, {0x1F59, 0x1F5F, 2, -8}, {0x1F68, 0x1F6F, 1, -8},
    {0x1F88, 0x1F8F, 1, -8}, {0x1F98, 0x1F9F, 1, -8}, {0x1FA8, 0x1FAF, 1, -8},
    {0x1FB8, 0x1FB9, 1, -8}, {0x1FBA, 0x1FBB, 1, -74}, {0x1FBC, 0x1FBC, 1, -9},
    {0x1FC8, 0x1FCB, 1, -86}, {0x1FCC, 0x1FCC, 1, -9}, {0x1FD8, 0x1FD9, 1, -8},
    {0x1FDA, 0x1FDB, 1, -100}, {0x1FE8, 0x1FE9, 1, -8}, {0x1FEA, 0x1FEB, 1, -112},
    {0x1FEC, 0x1FEC, 1, -7}, {0x1FF8, 0x1FF9, 1, -128}, {0x1FFA, 0x1FFB, 1, -126},
    {0x1FFC, 0x1FFC, 1, -9}, {0x2126, 0x2126, 1, -7517}, {0x212A, 0x212A, 1, -8383},
    {0x212B, 0x212B, 1, -8262}, {0x2132, 0x2132, 1, 28}, {0x2160, 0x216F, 1, 16},
    {0x2183, 0x2183, 1, 1}, {0x24B6, 0x24CF, 1, 26}, {0x2C00, 0x2C2F, 1, 48},
    {0x2C60, 0x2C60, 1, 1}, {0x2C62, 0x2C62, 1, -10743}, {0x2C63, 0x2C63, 1, -3814},
    {0x2C64, 0x2C64, 1, -10727}, {0x2C67, 0x2C6B, 2, 1}, {0x2C6D, 0x2C6D, 1, -10780},
    {0x2C6E, 0x2C6E, 1, -10749}, {0x2C6F, 0x2C6F, 1, -10783}, {0x2C70, 0x2C70, 1, -10782},
    {0x2C72, 0x2C72, 1, 1}, {0x2C75, 0x2C75, 1, 1}, {0x2C7E, 0x2C7F, 1, -10815},
    {0x2C80, 0x2CE2, 2, 1}, {0x2CEB, 0x2CED, 2, 1}, {0x2CF2, 0x2CF2, 1, 1}, {0xA640, 0xA66C, 2, 1},
    {0xA680, 0xA69A, 2, 1}, {0xA722, 0xA72E, 2, 1}, {0xA732, 0xA76E, 2, 1}, {0xA779, 0xA77B, 2, 1},
    {0xA77D, 0xA77D, 1, -35332}, {0xA77E, 0xA786, 2, 1}, {0xA78B, 0xA78B, 1, 1},
    {0xA78D, 0xA78D, 1, -42280}, {0xA790, 0xA792, 2, 1}, {0xA796, 0xA7A8, 2, 1},
    {0xA7AA, 0xA7AA, 1, -42308}, {0xA7AB, 0xA7AB, 1, -42319}, {0xA7AC, 0xA7AC, 1, -42315},
    {0xA7AD, 0xA7AD, 1, -42305}, {0xA7AE, 0xA7AE, 1, -42308}, {0xA7B0, 0xA7B0, 1, -42258},
    {0xA7B1, 0xA7B1, 1, -42282}, {0xA7B2, 0xA7B2, 1, -42261}, {0xA7B3, 0xA7B3, 1, 928},
    {0xA7B4, 0xA7C2, 2, 1}, {0xA7C4, 0xA7C4, 1, -48}, {0xA7C5, 0xA7C5, 1, -42307},
    {0xA7C6, 0xA7C6, 1, -35384}, {0xA7C7, 0xA7C9, 2, 1}, {0xA7D0, 0xA7D0, 1, 1},
    {0xA7D6, 0xA7D8, 2, 1}, {0xA7F5, 0xA7F5, 1, 1}, {0xFF21, 0xFF3A, 1, 32},
    {0x10400, 0x10427, 1, 40}, {0x104B0, 0x104D3, 1, 40}, {0x10570, 0x1057A, 1, 39},
    {0x1057C, 0x1058A, 1, 39}, {0x1058C, 0x10592, 1, 39}, {0x10594, 0x10595, 1, 39},
    {0x10C80, 0x10CB2, 1, 64}, {0x118A0, 0x118BF, 1, 32}, {0x16E40, 0x16E5F, 1, 32},
    {0x1E900, 0x1E921, 1, 34},
};

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  const CodeRange* end = table + N;
  const CodeRange* it = std::upper_bound(
      table, end, c, [](char32_t value, const CodeRange& r) { return value < r.first; });
  return it != table && c <= (it - 1)->last;
}

// Python's str.isspace(): what str.split(), str.strip() and str.rstrip() treat as whitespace.
bool is_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// ------------------------------------------------------------------------------------------------
// UTF-8 <-> code points. Invalid bytes become U+DC80..U+DCFF (Python's "surrogateescape") and are
// written back as the original bytes.

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  while (i < n) {
    const unsigned b0 = byte(i);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (in(b0, 0xC2, 0xDF)) {
      len = 2;
    } else if (in(b0, 0xE0, 0xEF)) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (in(b0, 0xF0, 0xF4)) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    bool ok = len > 0 && i + len <= n && in(byte(i + 1), lo, hi);
    for (size_t k = 2; ok && k < len; ++k) ok = in(byte(i + k), 0x80, 0xBF);
    if (!ok) {
      out.push_back(0xDC00 + b0);
      ++i;
      continue;
    }
    char32_t c = b0 & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) c = (c << 6) | (byte(i + k) & 0x3F);
    out.push_back(c);
    i += len;
  }
  return out;
}

void append_utf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c >= 0xDC80 && c <= 0xDCFF) {
    out->push_back(static_cast<char>(c - 0xDC00));  // an escaped invalid byte
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(c, &out);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Python str methods over code points.

// str.split() with no argument.
std::vector<std::u32string> split_ws(const std::u32string& s) {
  std::vector<std::u32string> words;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i < n && is_space(s[i])) ++i;
    size_t j = i;
    while (j < n && !is_space(s[j])) ++j;
    if (j > i) words.emplace_back(s, i, j - i);
    i = j;
  }
  return words;
}

// ' '.join(s.split())
std::u32string squeeze_ws(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (const std::u32string& w : split_ws(s)) {
    if (!out.empty()) out.push_back(U' ');
    out += w;
  }
  return out;
}

std::u32string rstrip_ws(std::u32string s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
  return s;
}

std::u32string strip_ws(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// str.replace(from, to) (all non-overlapping occurrences, left to right).
void replace_all(std::u32string* s, const std::u32string& from, const std::u32string& to) {
  size_t pos = s->find(from);
  if (pos == std::u32string::npos) return;
  std::u32string out;
  size_t start = 0;
  while (pos != std::u32string::npos) {
    out.append(*s, start, pos - start);
    out += to;
    start = pos + from.size();
    pos = s->find(from, start);
  }
  out.append(*s, start, std::u32string::npos);
  *s = std::move(out);
}

char32_t lower_code_point(char32_t c) {
  if (c < 0x80) return (c >= U'A' && c <= U'Z') ? c + 32 : c;
  constexpr size_t kRuns = sizeof(kLowerRuns) / sizeof(kLowerRuns[0]);
  const LowerRun* end = kLowerRuns + kRuns;
  const LowerRun* it = std::upper_bound(
      kLowerRuns, end, c, [](char32_t value, const LowerRun& r) { return value < r.first; });
  if (it == kLowerRuns) return c;
  --it;
  if (c > it->last || (c - it->first) % it->stride != 0) return c;
  return static_cast<char32_t>(static_cast<int64_t>(c) + it->delta);
}

bool is_cased(char32_t c) { return in_ranges(kCasedRanges, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorableRanges, c); }

// CPython's handle_capital_sigma(): U+03A3 at s[i] lowers to final U+03C2 when a cased letter
// precedes it and none follows it (case-ignorable characters skipped on both sides).
bool is_final_sigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

// str.lower()
std::u32string lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == 0x130) {
      out += U"i\u0307";
    } else if (c == 0x3A3) {
      out.push_back(is_final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(lower_code_point(c));
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Tokenizers.

// The four substitutions of TokenizerRegexp, each a Python re.sub() with a pattern of one or two
// fixed-width characters: scanning left to right, a match replaces its characters and scanning
// resumes after it.
template <typename Match2, typename Emit2>
std::u32string sub_pairs(const std::u32string& s, Match2 match, Emit2 emit) {
  std::u32string out;
  out.reserve(s.size() + s.size() / 2);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(s[i], s[i + 1], &out);
      i += 2;
    } else {
      out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

// [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII punctuation and symbols except ' , - . and the space range.
bool is_13a_symbol(char32_t c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

bool is_period_or_comma(char32_t c) { return c == U'.' || c == U','; }

// TokenizerRegexp.__call__ (the post-tokenizer of 13a and zh).
std::u32string tokenize_regexp(const std::u32string& line) {
  std::u32string s;
  s.reserve(line.size() * 2);
  for (char32_t c : line) {  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
    if (is_13a_symbol(c)) {
      s.push_back(U' ');
      s.push_back(c);
      s.push_back(U' ');
    } else {
      s.push_back(c);
    }
  }
  // ([^0-9])([\.,]) -> '\1 \2 '
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return !is_ascii_digit(a) && is_period_or_comma(b); },
      [](char32_t a, char32_t b, std::u32string* out) {
        out->push_back(a);
        out->push_back(U' ');
        out->push_back(b);
        out->push_back(U' ');
      });
  // ([\.,])([^0-9]) -> ' \1 \2'
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_period_or_comma(a) && !is_ascii_digit(b); },
      [](char32_t a, char32_t b, std::u32string* out) {
        out->push_back(U' ');
        out->push_back(a);
        out->push_back(U' ');
        out->push_back(b);
      });
  // ([0-9])(-) -> '\1 \2 '
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_ascii_digit(a) && b == U'-'; },
      [](char32_t a, char32_t b, std::u32string* out) {
        out->push_back(a);
        out->push_back(U' ');
        out->push_back(b);
        out->push_back(U' ');
      });
  return squeeze_ws(s);
}

// Tokenizer13a.__call__
std::u32string tokenize_13a(std::u32string line) {
  replace_all(&line, U"<skipped>", U"");
  replace_all(&line, U"-\n", U"");
  replace_all(&line, U"\n", U" ");
  replace_all(&line, U"&quot;", U"\"");
  replace_all(&line, U"&amp;", U"&");
  replace_all(&line, U"&lt;", U"<");
  replace_all(&line, U"&gt;", U">");
  return tokenize_regexp(U" " + line + U" ");
}

// TokenizerZh.__call__
std::u32string tokenize_zh(const std::u32string& line) {
  std::u32string spaced;
  for (char32_t c : strip_ws(line)) {
    if (in_ranges(kChineseRanges, c)) {
      spaced.push_back(U' ');
      spaced.push_back(c);
      spaced.push_back(U' ');
    } else {
      spaced.push_back(c);
    }
  }
  return tokenize_regexp(spaced);
}

// TokenizerChar.__call__: " ".join(line)
std::u32string tokenize_char(const std::u32string& line) {
  std::u32string out;
  out.reserve(line.size() * 2);
  for (char32_t c : line) {
    if (!out.empty()) out.push_back(U' ');
    out.push_back(c);
  }
  return out;
}

bool is_unicode_p(char32_t c) { return in_ranges(kCategoryPRanges, c); }
bool is_unicode_n(char32_t c) { return in_ranges(kCategoryNRanges, c); }
bool is_unicode_s(char32_t c) { return in_ranges(kCategorySRanges, c); }

// TokenizerV14International.__call__
std::u32string tokenize_intl(const std::u32string& line) {
  // (\P{N})(\p{P}) -> '\1 \2 '
  std::u32string s = sub_pairs(
      line, [](char32_t a, char32_t b) { return !is_unicode_n(a) && is_unicode_p(b); },
      [](char32_t a, char32_t b, std::u32string* out) {
        out->push_back(a);
        out->push_back(U' ');
        out->push_back(b);
        out->push_back(U' ');
      });
  // (\p{P})(\P{N}) -> ' \1 \2'
  s = sub_pairs(
      s, [](char32_t a, char32_t b) { return is_unicode_p(a) && !is_unicode_n(b); },
      [](char32_t a, char32_t b, std::u32string* out) {
        out->push_back(U' ');
        out->push_back(a);
        out->push_back(U' ');
        out->push_back(b);
      });
  // (\p{S}) -> ' \1 '
  std::u32string t;
  t.reserve(s.size() + s.size() / 2);
  for (char32_t c : s) {
    if (is_unicode_s(c)) {
      t.push_back(U' ');
      t.push_back(c);
      t.push_back(U' ');
    } else {
      t.push_back(c);
    }
  }
  return squeeze_ws(t);
}

std::u32string run_tokenizer(const std::u32string& line, BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      return tokenize_13a(line);
    case BleuTokenizer::kZh:
      return tokenize_zh(line);
    case BleuTokenizer::kChar:
      return tokenize_char(line);
    case BleuTokenizer::kNone:
      return line;
    case BleuTokenizer::kIntl:
      return tokenize_intl(line);
  }
  throw std::invalid_argument("unknown BLEU tokenizer");
}

// ------------------------------------------------------------------------------------------------
// Shared helpers.

using NgramCounts = std::unordered_map<std::u32string, int64_t>;

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

void check_streams(size_t num_hyps, const std::vector<std::vector<std::string>>& ref_streams) {
  if (ref_streams.empty()) throw std::invalid_argument("no reference stream given");
  for (size_t k = 0; k < ref_streams.size(); ++k) {
    if (ref_streams[k].size() != num_hyps) {
      throw std::invalid_argument(
          "hypotheses and references differ in length: " + std::to_string(num_hyps) +
          " hypotheses, " + std::to_string(ref_streams[k].size()) + " references" +
          (ref_streams.size() > 1 ? " in reference stream " + std::to_string(k) : ""));
    }
  }
}

// ' '.join(words[i:i+n]) counts (helpers.extract_word_ngrams).
void add_word_ngrams(const std::vector<std::u32string>& words, int n, NgramCounts* counts) {
  const size_t order = static_cast<size_t>(n);
  for (size_t i = 0; i + order <= words.size(); ++i) {
    std::u32string key = words[i];
    for (size_t k = 1; k < order; ++k) {
      key.push_back(U' ');
      key += words[i + k];
    }
    ++(*counts)[key];
  }
}

// ------------------------------------------------------------------------------------------------
// BLEU.

constexpr int kBleuOrder = 4;

struct BleuRefInfo {
  NgramCounts ngrams;            // maximum count over the references
  std::vector<int64_t> lengths;  // token count of every reference
};

std::vector<std::u32string> bleu_tokens(const std::string& sent, const BleuOptions& options) {
  std::u32string s = decode_utf8(sent);
  if (options.lowercase) s = lower(s);
  return split_ws(run_tokenizer(rstrip_ws(std::move(s)), options.tokenizer));
}

// helpers.extract_all_word_ngrams(line, 1, 4), one Counter for all orders.
NgramCounts all_word_ngrams(const std::vector<std::u32string>& tokens) {
  NgramCounts counts;
  for (int n = 1; n <= kBleuOrder; ++n) add_word_ngrams(tokens, n, &counts);
  return counts;
}

double smooth_value_or_default(const BleuOptions& options) {
  if (options.smooth_value) return *options.smooth_value;
  return options.smoothing == BleuSmoothing::kAddK ? 1.0 : 0.1;
}

std::string bleu_signature(const BleuOptions& options, size_t num_refs) {
  std::string smooth;
  switch (options.smoothing) {
    case BleuSmoothing::kExp:
      smooth = "exp";
      break;
    case BleuSmoothing::kNone:
      smooth = "none";
      break;
    case BleuSmoothing::kFloor:
      smooth = "floor[" + format_fixed(smooth_value_or_default(options), 2) + "]";
      break;
    case BleuSmoothing::kAddK:
      smooth = "add-k[" + format_fixed(smooth_value_or_default(options), 2) + "]";
      break;
  }
  return "nrefs:" + std::to_string(num_refs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.effective_order ? "yes" : "no") +
         "|tok:" + tokenizer_name(options.tokenizer) + "|smooth:" + smooth +
         "|version:" + kSacreBleuVersion;
}

// BLEU.compute_bleu()
BleuScore compute_bleu(const std::array<int64_t, 4>& correct, const std::array<int64_t, 4>& total,
                       int64_t sys_len, int64_t ref_len, const BleuOptions& options) {
  BleuScore result;
  result.counts = correct;
  result.totals = total;
  result.sys_len = sys_len;
  result.ref_len = ref_len;
  result.ratio = ref_len != 0 ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  result.bp = 1.0;
  if (sys_len < ref_len) {
    result.bp = sys_len > 0
                    ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len))
                    : 0.0;
  }
  if (std::all_of(correct.begin(), correct.end(), [](int64_t c) { return c == 0; })) {
    return result;  // no match at all: 0 (sacreBLEU #141)
  }
  const double smooth_value = smooth_value_or_default(options);
  double smooth_mteval = 1.0;
  int eff_order = kBleuOrder;
  for (int n = 1; n <= kBleuOrder; ++n) {
    double c = static_cast<double>(correct[n - 1]);
    double t = static_cast<double>(total[n - 1]);
    if (options.smoothing == BleuSmoothing::kAddK && n > 1) {
      c += smooth_value;
      t += smooth_value;
    }
    if (t == 0.0) break;
    if (options.effective_order) eff_order = n;
    double& p = result.precisions[n - 1];
    if (c == 0.0) {
      if (options.smoothing == BleuSmoothing::kExp) {
        smooth_mteval *= 2;
        p = 100.0 / (smooth_mteval * t);
      } else if (options.smoothing == BleuSmoothing::kFloor) {
        p = 100.0 * smooth_value / t;
      }
    } else {
      p = 100.0 * c / t;
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) {
    const double p = result.precisions[n];
    log_sum += p == 0.0 ? -9999999999.0 : std::log(p);  // utils.my_log()
  }
  result.score = result.bp * std::exp(log_sum / eff_order);
  return result;
}

// ------------------------------------------------------------------------------------------------
// chrF.

bool is_ascii_punct(char32_t c) {  // string.punctuation
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

// CHRF._remove_punctuation(): splits one leading or trailing ASCII punctuation mark off a word.
std::vector<std::u32string> chrf_words(const std::u32string& sent) {
  std::vector<std::u32string> out;
  for (std::u32string& w : split_ws(sent)) {
    if (w.size() == 1) {
      out.push_back(std::move(w));
    } else if (is_ascii_punct(w.back())) {
      out.emplace_back(w, 0, w.size() - 1);
      out.emplace_back(1, w.back());
    } else if (is_ascii_punct(w.front())) {
      out.emplace_back(1, w.front());
      out.emplace_back(w, 1, std::u32string::npos);
    } else {
      out.push_back(std::move(w));
    }
  }
  return out;
}

// Character n-grams of orders 1..char_order followed by word n-grams of orders 1..word_order
// (CHRF._extract_reference_info / _compute_segment_statistics).
std::vector<NgramCounts> chrf_ngrams(const std::string& sent, const ChrfOptions& options) {
  std::u32string s = decode_utf8(sent);
  if (options.lowercase) s = lower(s);
  std::vector<NgramCounts> counts(options.char_order + options.word_order);
  std::u32string chars = s;
  if (!options.whitespace) {
    chars.clear();
    for (const std::u32string& w : split_ws(s)) chars += w;
  }
  for (int n = 1; n <= options.char_order; ++n) {
    const size_t order = static_cast<size_t>(n);
    for (size_t i = 0; i + order <= chars.size(); ++i) ++counts[n - 1][chars.substr(i, order)];
  }
  if (options.word_order > 0) {
    const std::vector<std::u32string> words = chrf_words(s);
    for (int n = 1; n <= options.word_order; ++n) {
      add_word_ngrams(words, n, &counts[options.char_order + n - 1]);
    }
  }
  return counts;
}

// CHRF._get_match_statistics() for every order: [hyp, ref, match] triplets.
std::vector<int64_t> chrf_stats(const std::vector<NgramCounts>& hyp,
                                const std::vector<NgramCounts>& ref) {
  std::vector<int64_t> stats;
  stats.reserve(3 * hyp.size());
  for (size_t i = 0; i < hyp.size(); ++i) {
    int64_t hyp_count = 0, ref_count = 0, match = 0;
    for (const auto& [ngram, count] : hyp[i]) {
      hyp_count += count;
      auto it = ref[i].find(ngram);
      if (it != ref[i].end()) match += std::min(count, it->second);
    }
    for (const auto& entry : ref[i]) ref_count += entry.second;
    stats.push_back(ref[i].empty() ? 0 : hyp_count);  // no hits without a reference n-gram
    stats.push_back(ref_count);
    stats.push_back(match);
  }
  return stats;
}

// CHRF._compute_f_score()
double chrf_f_score(const std::vector<int64_t>& stats, const ChrfOptions& options) {
  const double eps = 1e-16;
  const int order = options.char_order + options.word_order;
  const int factor = options.beta * options.beta;
  double score = 0.0;
  double avg_prec = 0.0, avg_rec = 0.0;
  int effective_order = 0;
  for (int i = 0; i < order; ++i) {
    const int64_t n_hyp = stats[3 * i], n_ref = stats[3 * i + 1], n_match = stats[3 * i + 2];
    const double prec =
        n_hyp > 0 ? static_cast<double>(n_match) / static_cast<double>(n_hyp) : eps;
    const double rec = n_ref > 0 ? static_cast<double>(n_match) / static_cast<double>(n_ref) : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec != 0.0) {
    score = (1 + factor) * avg_prec * avg_rec;
    score /= (factor * avg_prec) + avg_rec;
    return 100 * score;
  }
  return 0.0;
}

std::string chrf_signature(const ChrfOptions& options, size_t num_refs) {
  return "nrefs:" + std::to_string(num_refs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.eps_smoothing ? "no" : "yes") +
         "|nc:" + std::to_string(options.char_order) +
         "|nw:" + std::to_string(options.word_order) +
         "|space:" + (options.whitespace ? "yes" : "no") + "|version:" + kSacreBleuVersion;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Public API.

std::string BleuScore::format(int width, bool with_signature) const {
  std::string out = "BLEU";
  if (with_signature && !signature.empty()) out += "|" + signature;
  out += " = " + format_fixed(score, width) + " ";
  for (size_t i = 0; i < precisions.size(); ++i) {
    if (i > 0) out += "/";
    out += format_fixed(precisions[i], 1);
  }
  out += " (BP = " + format_fixed(bp, 3) + " ratio = " + format_fixed(ratio, 3) +
         " hyp_len = " + std::to_string(sys_len) + " ref_len = " + std::to_string(ref_len) + ")";
  return out;
}

std::string ChrfScore::format(int width, bool with_signature) const {
  std::string out = name;
  if (with_signature && !signature.empty()) out += "|" + signature;
  return out + " = " + format_fixed(score, width);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      BleuTokenizer tokenizer) {
  BleuOptions options;
  options.tokenizer = tokenizer;
  return corpus_bleu(hyps, refs, options);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const BleuOptions& options) {
  if (hyps.size() != refs.size()) {
    throw std::invalid_argument("hypotheses and references differ in length: " +
                                std::to_string(hyps.size()) + " hypotheses, " +
                                std::to_string(refs.size()) + " references");
  }
  return corpus_bleu(hyps, std::vector<std::vector<std::string>>{refs}, options);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& options) {
  check_streams(hyps.size(), ref_streams);
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
  for (size_t i = 0; i < hyps.size(); ++i) {
    // BLEU._extract_reference_info(): n-gram counts maxed over the references.
    BleuRefInfo ref_info;
    for (const std::vector<std::string>& stream : ref_streams) {
      const std::vector<std::u32string> tokens = bleu_tokens(stream[i], options);
      ref_info.lengths.push_back(static_cast<int64_t>(tokens.size()));
      for (const auto& [ngram, count] : all_word_ngrams(tokens)) {
        int64_t& slot = ref_info.ngrams[ngram];
        slot = std::max(slot, count);
      }
    }
    // BLEU._compute_segment_statistics()
    const std::vector<std::u32string> hyp_tokens = bleu_tokens(hyps[i], options);
    const int64_t hyp_len = static_cast<int64_t>(hyp_tokens.size());
    int64_t closest_diff = -1, closest_len = -1;  // BLEU._get_closest_ref_len()
    for (int64_t len : ref_info.lengths) {
      const int64_t diff = std::llabs(hyp_len - len);
      if (closest_diff == -1 || diff < closest_diff) {
        closest_diff = diff;
        closest_len = len;
      } else if (diff == closest_diff && len < closest_len) {
        closest_len = len;
      }
    }
    for (const auto& [ngram, count] : all_word_ngrams(hyp_tokens)) {
      // The order of an n-gram is one more than its number of separating spaces.
      const auto n = static_cast<size_t>(std::count(ngram.begin(), ngram.end(), U' '));
      total[n] += count;
      auto it = ref_info.ngrams.find(ngram);
      if (it != ref_info.ngrams.end()) correct[n] += std::min(count, it->second);
    }
    sys_len += hyp_len;
    ref_len += closest_len;
  }
  BleuScore result = compute_bleu(correct, total, sys_len, ref_len, options);
  result.signature = bleu_signature(options, ref_streams.size());
  return result;
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      int word_order, int char_order, int beta) {
  ChrfOptions options;
  options.word_order = word_order;
  options.char_order = char_order;
  options.beta = beta;
  return corpus_chrf(hyps, refs, options);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const ChrfOptions& options) {
  if (hyps.size() != refs.size()) {
    throw std::invalid_argument("hypotheses and references differ in length: " +
                                std::to_string(hyps.size()) + " hypotheses, " +
                                std::to_string(refs.size()) + " references");
  }
  return corpus_chrf(hyps, std::vector<std::vector<std::string>>{refs}, options);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const ChrfOptions& options) {
  if (options.char_order < 0 || options.word_order < 0 ||
      options.char_order + options.word_order == 0) {
    throw std::invalid_argument("chrF needs char_order >= 0, word_order >= 0 and one of them > 0");
  }
  check_streams(hyps.size(), ref_streams);
  const size_t num_stats = 3 * static_cast<size_t>(options.char_order + options.word_order);
  std::vector<int64_t> totals(num_stats, 0);
  for (size_t i = 0; i < hyps.size(); ++i) {
    const std::vector<NgramCounts> hyp = chrf_ngrams(hyps[i], options);
    std::vector<int64_t> best;
    double best_f = -1.0;
    for (const std::vector<std::string>& stream : ref_streams) {
      std::vector<int64_t> stats = chrf_stats(hyp, chrf_ngrams(stream[i], options));
      const double f = chrf_f_score(stats, options);
      if (f > best_f) {
        best_f = f;
        best = std::move(stats);
      }
    }
    for (size_t k = 0; k < num_stats; ++k) totals[k] += best[k];
  }
  ChrfScore result;
  result.score = chrf_f_score(totals, options);
  result.name = "chrF" + std::to_string(options.beta) + std::string(options.word_order, '+');
  result.signature = chrf_signature(options, ref_streams.size());
  return result;
}

BleuTokenizer default_tokenizer_for(const std::string& target_lang) {
  std::string primary;
  for (char c : target_lang) {
    if (c == '-' || c == '_') break;
    primary.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  if (primary == "zh" || primary == "zho" || primary == "chi" || primary == "cmn" ||
      primary == "yue") {
    return BleuTokenizer::kZh;
  }
  if (primary == "ja" || primary == "jpn") return BleuTokenizer::kChar;
  return BleuTokenizer::k13a;
}

std::string tokenizer_name(BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      return "13a";
    case BleuTokenizer::kZh:
      return "zh";
    case BleuTokenizer::kChar:
      return "char";
    case BleuTokenizer::kNone:
      return "none";
    case BleuTokenizer::kIntl:
      return "intl";
  }
  throw std::invalid_argument("unknown BLEU tokenizer");
}

BleuTokenizer parse_tokenizer(const std::string& name) {
  for (BleuTokenizer t : {BleuTokenizer::k13a, BleuTokenizer::kZh, BleuTokenizer::kChar,
                          BleuTokenizer::kNone, BleuTokenizer::kIntl}) {
    if (tokenizer_name(t) == name) return t;
  }
  throw std::invalid_argument("unknown BLEU tokenizer '" + name +
                              "' (expected 13a, zh, char, none or intl)");
}

std::string tokenize(std::string_view line, BleuTokenizer tokenizer) {
  return encode_utf8(run_tokenizer(decode_utf8(line), tokenizer));
}

std::string unicode_lower(std::string_view text) { return encode_utf8(lower(decode_utf8(text))); }

}  // namespace strata::eval
