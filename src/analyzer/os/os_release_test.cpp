#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/bytes.h"

namespace moat {
namespace {

using ::testing::HasSubstr;

Result<AnalysisResult> Analyze(std::string_view path, std::string_view content) {
  auto analyzer = MakeOsReleaseAnalyzer();
  return analyzer->Analyze(FileMeta{path, 0644, content.size()}, AsBytes(content));
}

struct Expected {
  std::string family, name, version, codename;
  int priority;
};

void ExpectOs(std::string_view path, std::string_view content, const Expected& expected) {
  Result<AnalysisResult> result = Analyze(path, content);
  ASSERT_TRUE(result.ok()) << path << ": " << result.error().message;
  EXPECT_EQ(result->os.family, expected.family) << path;
  EXPECT_EQ(result->os.name, expected.name) << path;
  EXPECT_EQ(result->os.version, expected.version) << path;
  EXPECT_EQ(result->os.codename, expected.codename) << path;
  EXPECT_EQ(result->os_priority, expected.priority) << path;
  EXPECT_TRUE(result->packages.empty());
}

TEST(OsReleaseAnalyzer, Wants) {
  auto analyzer = MakeOsReleaseAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "os-release");
  EXPECT_EQ(analyzer->descriptor().kind, AnalyzerKind::kOs);
  auto wants = [&](std::string_view path, uint64_t size = 300) {
    return analyzer->Wants(FileMeta{path, 0644, size});
  };
  for (std::string_view path : {"etc/os-release", "usr/lib/os-release", "etc/alpine-release",
                                "etc/redhat-release", "etc/centos-release", "etc/rocky-release",
                                "etc/almalinux-release", "etc/debian_version", "etc/lsb-release"}) {
    EXPECT_TRUE(wants(path)) << path;
  }
  EXPECT_FALSE(wants("etc/os-release.d/x"));
  EXPECT_FALSE(wants("usr/etc/os-release"));
  EXPECT_FALSE(wants("etc/issue"));
  EXPECT_FALSE(wants("etc/os-release", 100 << 20));  // not a release file at that size
}

/// Reads a KEY=value file the way a shell would (the real oracle for the quoting rules).
std::string ShellValue(const std::string& file, const std::string& key) {
  std::string command = "sh -c '. \"$0\" && printf %s \"$" + key + "\"' " + file;
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[1024];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(OsReleaseAnalyzer, ThisMachinesOsReleaseAgreesWithTheShell) {
  for (const std::string path : {"/etc/os-release", "/usr/lib/os-release"}) {
    Result<std::string> content = ReadFileToString(path);
    if (!content.ok()) continue;
    Result<AnalysisResult> result = Analyze(path.substr(1), content.value());
    ASSERT_TRUE(result.ok()) << result.error().message;
    std::string id = ShellValue(path, "ID");
    ASSERT_FALSE(id.empty());
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(result->os.family, id);
    EXPECT_EQ(result->os.version, ShellValue(path, "VERSION_ID"));
    std::string pretty = ShellValue(path, "PRETTY_NAME");
    EXPECT_EQ(result->os.name, pretty.empty() ? ShellValue(path, "NAME") : pretty);
    EXPECT_EQ(result->os.codename, ShellValue(path, "VERSION_CODENAME"));
    EXPECT_EQ(result->os_priority, path == "/etc/os-release" ? 100 : 90);
  }
}

TEST(OsReleaseAnalyzer, QuotingAgreesWithTheShell) {
  // Each value is decoded by /bin/sh too; the analyzer must agree with it.
  const std::string content =
      "# comment\n"
      "ID=\"ubuntu\"\n"
      "PRETTY_NAME='It'\\''s \"quoted\" $HOME'\n"
      "VERSION_ID=\"22.04\"\n"
      "NAME=\"A \\\"B\\\" \\\\ \\$C \\x\"\n"
      "VERSION_CODENAME=jam\\ my\n";
  char file_name[] = "/tmp/moat_os_release_XXXXXX";
  int fd = mkstemp(file_name);
  ASSERT_GE(fd, 0);
  FILE* file = fdopen(fd, "w");
  fwrite(content.data(), 1, content.size(), file);
  fclose(file);
  Result<AnalysisResult> result = Analyze("etc/os-release", content);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->os.family, ShellValue(file_name, "ID"));
  EXPECT_EQ(result->os.name, ShellValue(file_name, "PRETTY_NAME"));
  EXPECT_EQ(result->os.version, ShellValue(file_name, "VERSION_ID"));
  EXPECT_EQ(result->os.codename, ShellValue(file_name, "VERSION_CODENAME"));
  // And the literal values, in case the shell is not the one we think.
  EXPECT_EQ(result->os.name, "It's \"quoted\" $HOME");
  EXPECT_EQ(result->os.codename, "jam my");
  unlink(file_name);
}

TEST(OsReleaseAnalyzer, Distributions) {
  ExpectOs("etc/os-release",
           "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"
           "PRETTY_NAME=\"Alpine Linux v3.19\"\nHOME_URL=\"https://alpinelinux.org/\"\n",
           {"alpine", "Alpine Linux v3.19", "3.19.1", "", 100});
  ExpectOs("usr/lib/os-release",
           "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.9 (Ootpa)\"\nID=\"rhel\"\n"
           "ID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\"\nPLATFORM_ID=\"platform:el8\"\n"
           "PRETTY_NAME=\"Red Hat Enterprise Linux 8.9 (Ootpa)\"\n",
           {"rhel", "Red Hat Enterprise Linux 8.9 (Ootpa)", "8.9", "", 90});
  ExpectOs("etc/os-release",
           "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n"
           "VERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\n"
           "ID_LIKE=debian\nUBUNTU_CODENAME=jammy\n",
           {"ubuntu", "Ubuntu 22.04.3 LTS", "22.04", "jammy", 100});
  // Debian sid: no VERSION_ID; the version is left for debian_version to fill.
  ExpectOs("etc/os-release",
           "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\n"
           "VERSION_CODENAME=trixie\nID=debian\n",
           {"debian", "Debian GNU/Linux trixie/sid", "", "trixie", 100});
  // gcr.io/distroless images carry Debian's file.
  ExpectOs("etc/os-release",
           "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\n"
           "VERSION_ID=\"12\"\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\n",
           {"debian", "Distroless", "12", "", 100});
  ExpectOs("etc/os-release",
           "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\n"
           "VERSION_ID=\"15.5\"\n",
           {"opensuse-leap", "openSUSE Leap", "15.5", "", 100});
  ExpectOs("etc/os-release", "ID=Amzn\r\nVERSION_ID=\"2023\"\r\n", {"amzn", "", "2023", "", 100});
}

TEST(OsReleaseAnalyzer, VendorReleaseFiles) {
  ExpectOs("etc/redhat-release", "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
           {"rhel", "Red Hat Enterprise Linux release 8.9 (Ootpa)", "8.9", "Ootpa", 50});
  ExpectOs("etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n",
           {"rhel", "Red Hat Enterprise Linux Server release 7.9 (Maipo)", "7.9", "Maipo", 50});
  // On CentOS, redhat-release is a link to centos-release: the content decides.
  ExpectOs("etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n",
           {"centos", "CentOS Linux release 7.9.2009 (Core)", "7.9.2009", "Core", 50});
  ExpectOs("etc/centos-release", "CentOS Stream release 9\n",
           {"centos", "CentOS Stream release 9", "9", "", 50});
  ExpectOs("etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n",
           {"rocky", "Rocky Linux release 9.3 (Blue Onyx)", "9.3", "Blue Onyx", 50});
  ExpectOs("etc/almalinux-release", "AlmaLinux release 9.3 (Shamrock Pampas Cat)\n",
           {"almalinux", "AlmaLinux release 9.3 (Shamrock Pampas Cat)", "9.3",
            "Shamrock Pampas Cat", 50});
  ExpectOs("etc/system-release", "Amazon Linux release 2 (Karoo)\n",
           {"amzn", "Amazon Linux release 2 (Karoo)", "2", "Karoo", 50});
  // A product we do not know, in a file that names its vendor: the file name decides.
  ExpectOs("etc/rocky-release", "Rocky Enterprise Software release 9.3\n",
           {"rocky", "Rocky Enterprise Software release 9.3", "9.3", "", 50});
  // A well-formed line from an unknown vendor says nothing we can use.
  ExpectOs("etc/redhat-release", "EuroLinux release 8.5 (Tirana)\n", {"", "", "", "", 0});
}

// /etc/apk/repositories as Alpine's images and setup-apkrepos write it.
TEST(OsReleaseAnalyzer, ApkRepositoriesPointingAtEdgeMeanAlpineEdge) {
  ExpectOs("etc/apk/repositories",
           "https://dl-cdn.alpinelinux.org/alpine/edge/main\n"
           "https://dl-cdn.alpinelinux.org/alpine/edge/community\n",
           {"alpine", "", "edge", "", 110});
  ExpectOs("etc/apk/repositories",
           "#/media/cdrom/apks\nhttp://dl-cdn.alpinelinux.org/alpine/v3.20/main\n"
           "@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing\n",
           {"alpine", "", "edge", "", 110});
  // A stable release's repositories say nothing: the release files name the version.
  ExpectOs("etc/apk/repositories",
           "https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n"
           "https://dl-cdn.alpinelinux.org/alpine/v3.20/community\n",
           {"", "", "", "", 0});
  ExpectOs("etc/apk/repositories", "# https://dl-cdn.alpinelinux.org/alpine/edge/main\n",
           {"", "", "", "", 0});
  auto analyzer = MakeOsReleaseAnalyzer();
  EXPECT_TRUE(analyzer->Wants(FileMeta{"etc/apk/repositories", 0644, 120}));
  EXPECT_EQ(analyzer->descriptor().version, 2);
}

TEST(OsReleaseAnalyzer, AlpineDebianAndLsbFiles) {
  ExpectOs("etc/alpine-release", "3.19.1\n", {"alpine", "", "3.19.1", "", 50});
  ExpectOs("etc/alpine-release", "3.21.0_alpha20240807\n",
           {"alpine", "", "3.21.0_alpha20240807", "", 50});
  ExpectOs("etc/debian_version", "12.11\n", {"debian", "", "12.11", "", 10});
  ExpectOs("etc/debian_version", "trixie/sid\n", {"debian", "", "trixie/sid", "", 10});
  ExpectOs("etc/lsb-release",
           "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n"
           "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n",
           {"ubuntu", "Ubuntu 22.04.3 LTS", "22.04", "jammy", 40});

  Result<std::string> debian_version = ReadFileToString("/etc/debian_version");
  if (debian_version.ok()) {
    Result<AnalysisResult> result = Analyze("etc/debian_version", debian_version.value());
    ASSERT_TRUE(result.ok()) << result.error().message;
    std::string first_line = debian_version->substr(0, debian_version->find('\n'));
    EXPECT_EQ(result->os.version, first_line);
  }
}

TEST(OsReleaseAnalyzer, BadInputGivesErrors) {
  struct Case {
    std::string_view path;
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"etc/os-release", "ID=debian\nNAME=\"Debian\n", "/etc/os-release: line 2: unterminated"},
      {"etc/os-release", "ID='debian\n", "/etc/os-release: line 1: unterminated single quote"},
      {"etc/os-release", "ID=debian\\", "/etc/os-release: line 1: backslash at end of line"},
      {"etc/os-release", "ID debian\n", "/etc/os-release: line 1: expected KEY=value"},
      {"etc/os-release", "1D=debian\n", "/etc/os-release: line 1: expected KEY=value"},
      {"etc/os-release", "ID=\"deb ian\"\n", "/etc/os-release: invalid distribution ID"},
      {"etc/os-release",
       "NAME=\"a\x01"
       "b\"\nID=x\n",
       "line 1: control character"},
      {"usr/lib/os-release",
       std::string("\x7f"
                   "ELF\x02\x01\x01\0\0\0=",
                   11),
       "/usr/lib/os-release: line 1"},
      {"etc/alpine-release", "", "/etc/alpine-release: empty release file"},
      {"etc/alpine-release", "\n\n", "/etc/alpine-release: empty release file"},
      {"etc/alpine-release", "edge and more\n", "not an Alpine version"},
      {"etc/alpine-release", std::string("3.1\0", 4), "control character"},
      {"etc/debian_version", "not a version at all\n", "not a Debian version"},
      {"etc/redhat-release", "Red Hat Enterprise Linux\n", "expected \"<product> release"},
      {"etc/redhat-release", "CentOS release (Final)\n", "invalid release version"},
      {"etc/redhat-release", "CentOS release \n", "expected \"<product> release"},
      {"etc/lsb-release", "DISTRIB_ID=\"Ubuntu\n", "/etc/lsb-release: line 1: unterminated"},
  };
  for (const Case& c : cases) {
    Result<AnalysisResult> result = Analyze(c.path, c.text);
    ASSERT_FALSE(result.ok()) << c.path << ": " << c.text;
    EXPECT_THAT(result.error().message, HasSubstr(c.error)) << c.text;
  }
}

TEST(OsReleaseAnalyzer, FilesThatSayNothingGiveAnEmptyResult) {
  for (std::string_view text : {"", "\n", "# only a comment\n", "NAME=Linux\n"}) {
    Result<AnalysisResult> result = Analyze("etc/os-release", text);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->empty());
    EXPECT_EQ(result->os_priority, 0);
  }
}

TEST(OsReleaseAnalyzer, GarbageNeverCrashes) {
  // Deterministic pseudo-random bytes through every format; ASan/UBSan watch for faults.
  uint32_t state = 12345;
  for (std::string_view path : {"etc/os-release", "etc/redhat-release", "etc/alpine-release",
                                "etc/debian_version", "etc/lsb-release"}) {
    for (int round = 0; round < 200; ++round) {
      std::string text;
      size_t length = round % 64;
      for (size_t i = 0; i < length; ++i) {
        state = state * 1103515245 + 12345;
        // Bias towards the characters the parsers care about.
        static constexpr std::string_view kAlphabet = "=\"'\\\n \tID_release().0123abc#\r";
        text += (state >> 16) % 3 == 0 ? static_cast<char>(state >> 8)
                                       : kAlphabet[(state >> 16) % kAlphabet.size()];
      }
      Result<AnalysisResult> result = Analyze(path, text);
      if (!result.ok()) {
        EXPECT_FALSE(result.error().message.empty());
      }
    }
  }
}

}  // namespace
}  // namespace moat
