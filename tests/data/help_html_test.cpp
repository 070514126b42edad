// Tests of data/help_html.h (LibreOffice help HTML); expected values written by hand.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "data/clean.h"
#include "data/help_html.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

// Abridged from LibreOffice's en-US help (text/swriter/guide/anchor_object.html and others).
const char kHelpHtml[] = R"src(<!DOCTYPE html>
<html lang="en-US" dir="ltr">
<head>
<title>Positioning Objects</title>
<script type="text/javascript">var s = '<p id="par_id999">not a paragraph</p>';</script>
</head>
<body>
<!-- <p id="par_id998">commented out</p> -->
<a name="bm_id3147828"></a>
<h1 id="hd_id3147828" dir="auto">
<a name="anchor_object"></a>Positioning Objects</h1>
<p id="par_id181634295881266" class="paragraph" dir="auto">)src"
    R"src(An object, such as an image or frame, is positioned within a document using an anchor.</p>
<p dir="auto">No id here</p>
<table border="1" class="" cellpadding="0" cellspacing="0">
  <tr>
    <td rowspan="" colspan="" dir="auto">
      <p id="par_id3145650" class="tablecontentintable" dir="auto">As character</p>
    </td>
  </tr>
</table>
<p id="par_id3145758" dir="auto">To move the heading, hold down )src"
    R"src(<span id="swlnsys_2" class="switchinline"><span hidden="true" id="MACtext_2" )src"
    R"src(class="MAC">Command</span><span hidden="true" id="defaulttext_2">Ctrl</span></span>)src"
    R"src( while you drag the <span class="emph">Promote Chapter</span> icon <img )src"
    R"src(src="media/sc20174.svg" class="iconimage" alt="Icon promote" )src"
    R"src(style="width:22px;height:22px">.</p>
<div class="notetext"><p id="par_id261527693436801" dir="auto">)src"
    R"src(Some options cannot be reset once edited.</p></div>
<div class="notetext"><p id="par_id261527693436801" dir="auto">)src"
    R"src(Some options cannot be reset once edited.</p></div>
<h id="par_idN10571" dir="auto"><span class="emph">Entrance:</span> )src"
    R"src(Select an entrance effect &amp; more.</h>
<p id="par_id3"/>
</body>
</html>
)src";

TEST(HelpHtmlTest, ExtractsParagraphsAndHeadings) {
  const std::vector<Message> m = parse_help_html(kHelpHtml, "anchor_object.html");
  std::vector<std::string> keys;
  for (const Message& msg : m) keys.push_back(msg.key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"hd_id3147828", "par_id181634295881266", "par_id3145650",
                                      "par_id3145758", "par_id261527693436801",
                                      "par_id261527693436801#2", "par_idN10571", "par_id3"}));
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[0].text, "\n<a name=\"anchor_object\"></a>Positioning Objects");
  EXPECT_EQ(m[2].text, "As character");
  EXPECT_EQ(m[6].text,
            "<span class=\"emph\">Entrance:</span> Select an entrance effect &amp; more.");
  EXPECT_EQ(m[7].text, "");
  for (const Message& msg : m) EXPECT_FALSE(msg.plural);
}

TEST(HelpHtmlTest, KeepsOnlyDefaultCaseOfSwitch) {
  const std::vector<Message> m = parse_help_html(kHelpHtml, "x.html");
  ASSERT_GE(m.size(), 4u);
  EXPECT_EQ(m[3].text,
            "To move the heading, hold down <span id=\"swlnsys_2\" class=\"switchinline\"><span "
            "hidden=\"true\" id=\"defaulttext_2\">Ctrl</span></span> while you drag the <span "
            "class=\"emph\">Promote Chapter</span> icon <img src=\"media/sc20174.svg\" "
            "class=\"iconimage\" alt=\"Icon promote\" style=\"width:22px;height:22px\">.");
  EXPECT_EQ(clean(m[3].text, Accel::kNone),
            "To move the heading, hold down Ctrl while you drag the Promote Chapter icon.");
  EXPECT_EQ(clean(m[0].text, Accel::kNone), "Positioning Objects");
  EXPECT_EQ(clean(m[6].text, Accel::kNone), "Entrance: Select an entrance effect & more.");
}

TEST(HelpHtmlTest, MatchesNestedElementsOfSameName) {
  const std::vector<Message> m = parse_help_html(
      "<div id=\"par_id1\">outer <div class=\"x\">inner <div>deep</div><br/></div> tail</div>"
      "<DIV id='hd_id2'>upper<div/></DIV>",
      "x.html");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(
      key_text_plural(m),
      (Rows{{"par_id1", "outer <div class=\"x\">inner <div>deep</div><br/></div> tail", false},
            {"hd_id2", "upper<div/>", false}}));
}

TEST(HelpHtmlTest, FindsIdsNestedInsideIds) {
  const std::vector<Message> m =
      parse_help_html("<div id=\"par_id1\">a <p id=\"par_id2\">b</p></div>", "x.html");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(m),
            (Rows{{"par_id1", "a <p id=\"par_id2\">b</p>", false}, {"par_id2", "b", false}}));
}

TEST(HelpHtmlTest, UnclosedParagraphNamesLine) {
  EXPECT_EQ(error_of([] {
              parse_help_html("<html>\n<p id=\"par_id1\">text\n<p id=\"par_id2\">more</p>",
                              "x.html");
            }),
            "x.html:2: <p id=\"par_id1\"> is never closed");
}

TEST(HelpHtmlTest, GarbageNeverCrashes) {
  fuzz("<p id=\"par_id1\" hidden class>/ -!x",
       [](const std::string& s) { parse_help_html(s, "fuzz.html"); });
}

}  // namespace
}  // namespace strata::data
