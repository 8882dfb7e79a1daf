#include "core/text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/utf8.h"

namespace moat {
namespace {

using Parts = std::vector<std::string_view>;

TEST(SplitTest, EveryPartEmptyOnesToo) {
  EXPECT_EQ(Split("", ','), Parts{""});
  EXPECT_EQ(Split("a", ','), Parts{"a"});
  EXPECT_EQ(Split("a,,b", ','), (Parts{"a", "", "b"}));
  EXPECT_EQ(Split("a,b,", ','), (Parts{"a", "b", ""}));
  EXPECT_EQ(Split(",", ','), (Parts{"", ""}));
  // An /etc/group entry without members still has four fields.
  EXPECT_EQ(Split("docker:x:999:", ':'), (Parts{"docker", "x", "999", ""}));
}

TEST(SplitTerminatedTest, TerminatorAtTheEndOpensNoPart) {
  EXPECT_EQ(SplitTerminated("", '\0'), Parts{});
  EXPECT_EQ(SplitTerminated(std::string_view("\0", 1), '\0'), Parts{""});
  EXPECT_EQ(SplitTerminated("a", '\0'), Parts{"a"});
  // /proc/PID/cmdline: NUL-terminated arguments, an empty one kept.
  EXPECT_EQ(SplitTerminated(std::string_view("dockerd\0-H\0\0", 12), '\0'),
            (Parts{"dockerd", "-H", ""}));
  EXPECT_EQ(SplitTerminated(std::string_view("a\0\0b", 4), '\0'), (Parts{"a", "", "b"}));
}

TEST(SplitTest, PartsAreViewsIntoTheText) {
  const std::string text = "x:y";
  Parts parts = Split(text, ':');
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].data(), text.data() + 2);
}

TEST(SplitLinesTest, CrlfAndFinalNewline) {
  EXPECT_EQ(SplitLines(""), Parts{});
  EXPECT_EQ(SplitLines("\n"), Parts{""});
  EXPECT_EQ(SplitLines("a\r\nb\r\n"), (Parts{"a", "b"}));
  EXPECT_EQ(SplitLines("a\n\nb"), (Parts{"a", "", "b"}));
  EXPECT_EQ(SplitLines("a\r\r\nb\r"), (Parts{"a\r", "b"}));  // one CR per line
}

// The lines of real files on this machine against Python's binary line iteration.
TEST(SplitLinesTest, MatchesPythonOnRealFiles) {
  for (const char* path : {"/etc/passwd", "/etc/group", "/etc/os-release", "/etc/services"}) {
    SCOPED_TRACE(path);
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    std::string command = std::string("/usr/bin/python3 -c \"for l in open('") + path +
                          "', 'rb'): print(len(l.removesuffix(b'\\n').removesuffix(b'\\r')))\"";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::vector<size_t> expected;
    unsigned long length = 0;
    while (std::fscanf(pipe, "%lu", &length) == 1) expected.push_back(length);
    ASSERT_EQ(pclose(pipe), 0);
    std::vector<size_t> lengths;
    for (std::string_view line : SplitLines(content)) lengths.push_back(line.size());
    EXPECT_GT(lengths.size(), 3u);
    EXPECT_EQ(lengths, expected);
  }
}

TEST(SplitWordsTest, RunsOfBlanks) {
  EXPECT_EQ(SplitWords(""), Parts{});
  EXPECT_EQ(SplitWords(" \t "), Parts{});
  EXPECT_EQ(SplitWords("-w /usr/bin/dockerd -k docker"),
            (Parts{"-w", "/usr/bin/dockerd", "-k", "docker"}));
  EXPECT_EQ(SplitWords("  0: 00000000:0959\t 00000000:0000 0A "),
            (Parts{"0:", "00000000:0959", "00000000:0000", "0A"}));
}

TEST(TrimSpaceTest, BothEnds) {
  EXPECT_EQ(TrimSpace(""), "");
  EXPECT_EQ(TrimSpace(" \t\r\n"), "");
  EXPECT_EQ(TrimSpace(" 5.4 \r\n"), "5.4");
  EXPECT_EQ(TrimSpace("a b"), "a b");
}

TEST(GlobMatchTest, StarAndQuestionMarkOverTheWholeText) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("pss-*", "pss-baseline-privileged"));
  EXPECT_TRUE(GlobMatch("*-privileged", "pss-baseline-privileged"));
  EXPECT_TRUE(GlobMatch("2.*", "2.13.1"));  // dots are not special
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-b-c"));
  EXPECT_TRUE(GlobMatch("wl-?pu-limits", "wl-cpu-limits"));
  EXPECT_TRUE(GlobMatch("**a", "a"));
  EXPECT_FALSE(GlobMatch("pss-*", "rbac-wildcard"));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_FALSE(GlobMatch("a*b", "a-b-c"));  // the whole text, not a prefix
  EXPECT_FALSE(GlobMatch("abc", "ab"));
  EXPECT_FALSE(GlobMatch("ab", "abc"));
}

TEST(AsciiLowerTest, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Content-Type: ÄBC xyz 09"), "content-type: Äbc xyz 09");
  EXPECT_EQ(AsciiLower(""), "");
  EXPECT_EQ(AsciiLower(std::string_view("A\0Z", 3)), std::string("a\0z", 3));
}

TEST(HexDigitValueTest, EveryByte) {
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    int expected = -1;
    if (byte >= '0' && byte <= '9') expected = byte - '0';
    if (byte >= 'a' && byte <= 'f') expected = byte - 'a' + 10;
    if (byte >= 'A' && byte <= 'F') expected = byte - 'A' + 10;
    EXPECT_EQ(HexDigitValue(c), expected) << "byte " << byte;
  }
}

TEST(Utf8Test, EncodesAndDecodesEachLength) {
  std::string text;
  for (uint32_t cp : {0x24u, 0xA2u, 0x20ACu, 0x10348u}) AppendUtf8(text, cp);
  EXPECT_EQ(text, "$\xC2\xA2\xE2\x82\xAC\xF0\x90\x8D\x88");
  EXPECT_TRUE(ValidUtf8(text));
  EXPECT_EQ(DecodeUtf8(text), (std::vector<uint32_t>{0x24, 0xA2, 0x20AC, 0x10348}));
  EXPECT_EQ(CodePointCount(text), 4u);
  EXPECT_FALSE(ValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(ValidUtf8("\xE2\x82"));          // cut short
}

}  // namespace
}  // namespace moat
