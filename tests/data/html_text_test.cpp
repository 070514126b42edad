// data/html_text: HTML through a text translator. Fake translators make what was sent and how it
// came back visible; hand cases for each kind of markup, the fallbacks and the escaping.
#include "data/html_text.h"

#include <gtest/gtest.h>

#include <cctype>

namespace strata::data {
namespace {

// Upper-cases ASCII letters (tokens "%N" pass unchanged) and records every call.
struct Upper {
  std::vector<std::vector<std::string>> calls;
  TranslateLines fn() {
    return [this](const std::vector<std::string>& lines) {
      calls.push_back(lines);
      std::vector<std::string> out;
      for (std::string s : lines) {
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(s);
      }
      return out;
    };
  }
};

std::string one(const std::string& doc, Upper& u, HtmlStats* st = nullptr) {
  return translate_html({doc}, u.fn(), st).at(0);
}

// The tags, comments and declarations of a document, in order.
std::vector<std::string> markup_of(const std::string& s) {
  std::vector<std::string> out;
  for (size_t p = s.find('<'); p != std::string::npos; p = s.find('<', p + 1)) {
    if (p + 1 >= s.size() || !(std::isalpha(static_cast<unsigned char>(s[p + 1])) || s[p + 1] == '/' || s[p + 1] == '!'))
      continue;
    const size_t e = s.find('>', p);
    if (e == std::string::npos) break;
    out.push_back(s.substr(p, e - p + 1));
  }
  return out;
}

TEST(HtmlTextTest, InlineTagsBecomeTokensAndEntitiesAreUnescapedThenEscapedAgain) {
  Upper u;
  EXPECT_EQ(one("<p>Hello <b>world</b> &amp; more</p>", u), "<p>HELLO <b>WORLD</b> &amp; MORE</p>");
  ASSERT_EQ(u.calls.size(), 1u);
  EXPECT_EQ(u.calls[0], std::vector<std::string>{"Hello %1world%2 & more"});
  // Numeric references and nbsp are decoded for the translator; the output escapes only &, <, >.
  Upper v;
  EXPECT_EQ(one("<li>a &lt; b &#65;&#x42; &quot;q&quot;&nbsp;x</li>", v), "<li>A &lt; B AB \"Q\"\xC2\xA0X</li>");
  EXPECT_EQ(v.calls[0][0], "a < b AB \"q\"\xC2\xA0x");
}

TEST(HtmlTextTest, BlockMarkupSplitsRunsAndIsKeptByteForByte) {
  const std::string doc =
      "<!DOCTYPE html>\n<html><head><title>The title</title><style>p { color: red }</style></head>\n"
      "<body><div class=\"x\" title='a>b'>First <span data-x=\"1\">part</span>.</div><!-- a comment -->"
      "<p>Second<br/>line</p><script>var s = \"<b>not text</b>\";</script>"
      "<pre>keep   this</pre><p translate=\"no\">Keep <b>me</b> too</p><p>Run <code>ls -l</code> now</p>"
      "<table><tr><td>42</td><td>Total</td></tr></table></body></html>";
  Upper u;
  const std::string out = one(doc, u);
  EXPECT_EQ(markup_of(out), markup_of(doc));
  ASSERT_EQ(u.calls.size(), 1u);
  EXPECT_EQ(u.calls[0], (std::vector<std::string>{"The title", "First %1part%2.", "Second", "line",
                                                   "Run %1 now", "Total"}));
  EXPECT_NE(out.find("<style>p { color: red }</style>"), std::string::npos);
  EXPECT_NE(out.find("<script>var s = \"<b>not text</b>\";</script>"), std::string::npos);
  EXPECT_NE(out.find("<pre>keep   this</pre>"), std::string::npos);
  EXPECT_NE(out.find("<p translate=\"no\">Keep <b>me</b> too</p>"), std::string::npos);
  EXPECT_NE(out.find("<p>RUN <code>ls -l</code> NOW</p>"), std::string::npos);
  EXPECT_NE(out.find("<td>42</td><td>TOTAL</td>"), std::string::npos);
}

TEST(HtmlTextTest, WhitespaceAroundARunIsKeptAndInsideItCollapsed) {
  Upper u;
  EXPECT_EQ(one("<li>\n   Open   the\n file </li>", u), "<li>\n   OPEN THE FILE </li>");
  EXPECT_EQ(u.calls[0][0], "Open the file");
  Upper v;  // plain text without markup is one run
  EXPECT_EQ(one("  just text\t", v), "  JUST TEXT\t");
}

TEST(HtmlTextTest, ReorderedTokensAreFineButBrokenNestingFallsBackToPieces) {
  // Moving an element within the sentence keeps the markup valid.
  auto swap = [](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l == "Click %1here%2 now" ? "Now %1click here%2" : l + "!");
    return out;
  };
  EXPECT_EQ(translate_html({"<p>Click <a href=\"/x\">here</a> now</p>"}, swap)[0],
            "<p>Now <a href=\"/x\">click here</a></p>");
  // An end tag before its start tag: the run is translated again in pieces between its tags.
  std::vector<std::vector<std::string>> calls;
  auto bad = [&](const std::vector<std::string>& lines) {
    calls.push_back(lines);
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l == "Click %1here%2 now" ? "%2Now click%1 here" : "<" + l + ">");
    return out;
  };
  HtmlStats st;
  EXPECT_EQ(translate_html({"<p>Click <a href=\"/x\">here</a> now</p>"}, bad, &st)[0],
            "<p>&lt;Click&gt; <a href=\"/x\">&lt;here&gt;</a> &lt;now&gt;</p>");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], (std::vector<std::string>{"Click", "here", "now"}));
  EXPECT_EQ(st.runs, 1u);
  EXPECT_EQ(st.split_runs, 1u);
  EXPECT_EQ(st.kept_pieces, 0u);
}

TEST(HtmlTextTest, AnElementThatHeldTextMustHoldTextAfter) {
  // What a model that never saw tokens did: "Click %1Save%2 to keep" -> "Klicken Sie auf %1 %2...".
  std::vector<std::vector<std::string>> calls;
  auto emptied = [&](const std::vector<std::string>& lines) {
    calls.push_back(lines);
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l == "Click %1Save%2 now" ? "Klicken %1 %2 jetzt" : "[" + l + "]");
    return out;
  };
  EXPECT_EQ(translate_html({"<p>Click <b>Save</b> now</p>"}, emptied)[0], "<p>[Click] <b>[Save]</b> [now]</p>");
  EXPECT_EQ(calls.size(), 2u);
  // An element without text (an empty span, an image) may stay empty.
  auto keep = [](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l == "a %1%2 b %3" ? "x %1%2 y %3" : "?");
    return out;
  };
  EXPECT_EQ(translate_html({"<p>a <span class=\"i\"></span> b <img src=\"x.png\"></p>"}, keep)[0],
            "<p>x <span class=\"i\"></span> y <img src=\"x.png\"></p>");
}

TEST(HtmlTextTest, LostTokensNeverLoseMarkup) {
  // Drops every token: the run is split; its pieces without units translate, a piece whose
  // entity token is lost again is kept as written.
  auto drop = [](const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (auto l : lines) {
      for (size_t p = l.find('%'); p != std::string::npos; p = l.find('%')) l.erase(p, 2);
      out.push_back("T(" + l + ")");
    }
    return out;
  };
  HtmlStats st;
  const auto out = translate_html({"<p>Caf&eacute; <i>au</i> lait</p>", "<p>Plain</p>"}, drop, &st);
  EXPECT_EQ(out[0], "<p>Caf&eacute; <i>T(au)</i> T(lait)</p>");
  EXPECT_EQ(out[1], "<p>T(Plain)</p>");
  EXPECT_EQ(st.split_runs, 1u);
  EXPECT_EQ(st.kept_pieces, 1u);
  // Repeated and unknown tokens are refused the same way.
  for (const std::string bogus : {"%1x%1%2", "%1x%2%3"}) {
    auto rep = [&](const std::vector<std::string>& lines) {
      std::vector<std::string> o;
      for (const auto& l : lines) o.push_back(l.find('%') != std::string::npos ? bogus : "ok");
      return o;
    };
    EXPECT_EQ(translate_html({"<p>a <b>b</b></p>"}, rep)[0], "<p>ok <b>ok</b></p>") << bogus;
  }
}

TEST(HtmlTextTest, UnknownEntitiesAreUnitsAndTextThatLooksLikeATokenIsNotSentWithUnits) {
  Upper u;
  EXPECT_EQ(one("<p>caf&eacute; au lait</p>", u), "<p>CAF&eacute; AU LAIT</p>");
  EXPECT_EQ(u.calls[0][0], "caf%1 au lait");
  // "%1" in the text would read as a token: the run goes straight to pieces.
  Upper v;
  EXPECT_EQ(one("<p>Take 100%1 <b>sure</b></p>", v), "<p>TAKE 100%1 <b>SURE</b></p>");
  ASSERT_EQ(v.calls.size(), 1u);
  EXPECT_EQ(v.calls[0], (std::vector<std::string>{"Take 100%1", "sure"}));
}

TEST(HtmlTextTest, NoLettersNoCallAndOddMarkupIsText) {
  Upper u;
  EXPECT_EQ(one("<td>42</td><td>— 3.5 %</td>", u), "<td>42</td><td>— 3.5 %</td>");
  EXPECT_TRUE(u.calls.empty());
  Upper v;  // '<' that starts no tag, an unterminated tag, an unclosed comment
  EXPECT_EQ(one("a < b", v), "A &lt; B");
  Upper w;
  EXPECT_EQ(one("x <a href='y", w), "X &lt;A HREF='Y");
  Upper c;
  EXPECT_EQ(one("text<!-- never closed", c), "TEXT<!-- never closed");
  Upper e;
  EXPECT_EQ(translate_html({}, e.fn()), std::vector<std::string>{});
  EXPECT_TRUE(e.calls.empty());
}

TEST(HtmlTextTest, HostileDocumentsTakeLinearTime) {
  // Each of these would be quadratic with a naive scan (a megabyte: minutes); here they finish
  // in well under the test timeout, and the text comes back.
  auto same = [](const std::vector<std::string>& lines) { return lines; };
  std::string tags;  // '<a' without a '>' outside quotes, then one quote and a '>' inside it
  for (int i = 0; i < 200000; ++i) tags += "<a ";
  tags += "\"x>";
  EXPECT_EQ(translate_html({tags}, same)[0].size(), tags.size() + 4 * 200000 - 200000 + 3);
  std::string amps(600000, '&');  // '&' without ';'
  EXPECT_EQ(translate_html({amps + " x"}, same)[0], [&] {
    std::string e;
    for (size_t i = 0; i < amps.size(); ++i) e += "&amp;";
    return e + " x";
  }());
  std::string nest;  // deep inline nesting closed by other names
  for (int i = 0; i < 50000; ++i) nest += "<b>";
  nest += "text";
  for (int i = 0; i < 50000; ++i) nest += "</i>";
  EXPECT_EQ(translate_html({nest}, same)[0], nest);
}

TEST(HtmlTextTest, ABatchOfDocumentsIsOneCallAndAWrongCountIsAnError) {
  Upper u;
  const auto out = translate_html({"<p>one</p>", "two", "<b>three</b> four"}, u.fn());
  EXPECT_EQ(out, (std::vector<std::string>{"<p>ONE</p>", "TWO", "<b>THREE</b> FOUR"}));
  EXPECT_EQ(u.calls.size(), 1u);
  auto short_reply = [](const std::vector<std::string>&) { return std::vector<std::string>{}; };
  EXPECT_THROW(translate_html({"<p>x</p>"}, short_reply), std::exception);
}

}  // namespace
}  // namespace strata::data
