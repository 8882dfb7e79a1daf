// Upstream test vectors (see ../shared/data/vuln/SOURCES.md, "versions/"): every line must pass.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "version/version.h"

namespace moat::version {
namespace {

const std::string kDir = std::string(MOAT_SHARED_DATA_DIR) + "/vuln/versions/";

std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(kDir + name);
  EXPECT_TRUE(in.good()) << "missing vector file " << kDir + name;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

std::vector<std::string> Fields(const std::string& s) {
  std::vector<std::string> out;
  for (const std::string& f : Split(s, ' ')) {
    for (const std::string& g : Split(f, '\t')) {
      if (!g.empty()) out.push_back(g);
    }
  }
  return out;
}

char OpOf(int cmp) { return cmp < 0 ? '<' : (cmp > 0 ? '>' : '='); }

void Report(const char* file, int passed, int total) {
  std::printf("[vectors] %-32s %d/%d passed\n", file, passed, total);
  EXPECT_EQ(passed, total) << file;
  EXPECT_GT(total, 0) << file;
}

// "A op B" files compared with one scheme.
void CheckCompareFile(const char* file, Scheme scheme) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines(file)) {
    std::vector<std::string> f = Fields(line);
    ASSERT_GE(f.size(), 3u) << line;
    ++total;
    auto r = Compare(scheme, f[0], f[2]);
    if (!r.ok()) {
      ADD_FAILURE() << file << ": " << line << ": " << r.error().message;
      continue;
    }
    auto back = Compare(scheme, f[2], f[0]);
    if (OpOf(*r) == f[1][0] && back.ok() && *back == -*r) {
      ++passed;
    } else {
      ADD_FAILURE() << file << ": " << line << ": got " << OpOf(*r);
    }
  }
  Report(file, passed, total);
}

TEST(VersionVectors, Dpkg) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("dpkg_Dpkg_Version_t.txt")) {
    ++total;
    if (line[0] == '!') {
      std::string v = line.substr(1);
      // Compare() still orders versions that dpkg only warns about, as dpkg --compare-versions.
      if (!Validate(Scheme::kDeb, v).ok()) {
        ++passed;
      } else {
        ADD_FAILURE() << "dpkg accepts invalid " << v;
      }
      continue;
    }
    std::vector<std::string> f = Fields(line);
    ASSERT_EQ(f.size(), 3u) << line;
    auto r = Compare(Scheme::kDeb, f[0], f[2]);
    if (r.ok() && OpOf(*r) == f[1][0]) {
      ++passed;
    } else {
      ADD_FAILURE() << line << ": " << (r.ok() ? std::string(1, OpOf(*r)) : r.error().message);
    }
  }
  Report("dpkg_Dpkg_Version_t.txt", passed, total);
}

TEST(VersionVectors, RpmVercmp) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("rpm_vercmp.txt")) {
    std::vector<std::string> f = Fields(line);
    ASSERT_GE(f.size(), 3u) << line;
    ++total;
    int r = RpmVercmp(f[0], f[2]);
    // The file holds rpmvercmp() cases; full EVR comparison agrees on every one of them except
    // where a '-' splits off a release, and rpm.vercmp() (EVR) is checked by the oracle test.
    auto evr = Compare(Scheme::kRpm, f[0], f[2]);
    bool evr_ok = evr.ok() && (f[0].find('-') != std::string::npos ||
                               f[2].find('-') != std::string::npos || OpOf(*evr) == f[1][0]);
    if (OpOf(r) == f[1][0] && evr_ok) {
      ++passed;
    } else {
      ADD_FAILURE() << line << ": rpmvercmp " << OpOf(r);
    }
  }
  Report("rpm_vercmp.txt", passed, total);
}

TEST(VersionVectors, Apk) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("apk_version.data")) {
    std::vector<std::string> f = Fields(line);
    ++total;
    bool ok = false;
    if (f.size() == 1 && f[0][0] == '!') {
      ok = !Validate(Scheme::kApk, f[0].substr(1)).ok();
    } else if (f.size() == 1) {
      ok = Validate(Scheme::kApk, f[0]).ok();
    } else {
      ASSERT_GE(f.size(), 3u) << line;
      const std::string& op = f[1];
      const std::string& a = f[0];
      const std::string& b = f[2];
      if (op == "<" || op == ">" || op == "=") {
        int raw = ApkCompareRaw(a, b);
        ok = OpOf(raw) == op[0] && ApkCompareRaw(b, a) == -raw;
        // Compare() orders invalid versions as apk-tools does, too.
        auto checked = Compare(Scheme::kApk, a, b);
        ok = ok && checked.ok() && *checked == raw;
      } else {
        int fuzzy = ApkCompareRaw(a, b, /*fuzzy=*/true);
        if (op == "~") ok = fuzzy == 0;
        if (op == "<~") ok = fuzzy <= 0;
        if (op == ">~") ok = fuzzy >= 0;
        if (op == "!~") ok = fuzzy != 0;
      }
    }
    if (ok) {
      ++passed;
    } else {
      ADD_FAILURE() << "apk: " << line;
    }
  }
  Report("apk_version.data", passed, total);
}

TEST(VersionVectors, Pep440Compare) { CheckCompareFile("pep440_compare.txt", Scheme::kPep440); }

TEST(VersionVectors, Pep440Invalid) {
  int passed = 0, total = 0;
  for (std::string line : ReadLines("pep440_invalid.txt")) {
    ++total;
    // Python repr: '...'; none of these use escapes.
    if (line.size() >= 2 && line.front() == '\'' && line.back() == '\'') {
      line = line.substr(1, line.size() - 2);
    }
    if (!Validate(Scheme::kPep440, line).ok() && !NormalizePep440(line).ok()) {
      ++passed;
    } else {
      ADD_FAILURE() << "accepted invalid PEP 440 version " << line;
    }
  }
  Report("pep440_invalid.txt", passed, total);
}

TEST(VersionVectors, NpmCompare) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("semver_npm_compare.txt")) {
    std::vector<std::string> f = Split(line, '\t');
    ASSERT_EQ(f.size(), 4u) << line;
    ++total;
    bool loose = f[3].find("loose") != std::string::npos;
    auto r = CompareNpm(f[0], f[2], loose);
    auto back = CompareNpm(f[2], f[0], loose);
    if (r.ok() && back.ok() && OpOf(*r) == f[1][0] && *back == -*r) {
      ++passed;
    } else {
      ADD_FAILURE() << line << ": " << (r.ok() ? std::string(1, OpOf(*r)) : r.error().message);
    }
  }
  Report("semver_npm_compare.txt", passed, total);
}

TEST(VersionVectors, NpmRanges) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("semver_npm_ranges.txt")) {
    std::vector<std::string> f = Split(line, '\t');
    ASSERT_EQ(f.size(), 4u) << line;
    ++total;
    NpmRangeOptions options;
    options.loose = f[3].find("loose") != std::string::npos;
    options.include_prerelease = f[3].find("includePrerelease") != std::string::npos;
    bool expected = f[2] == "true";
    auto r = SatisfiesNpmRange(f[1], f[0], options);
    // node-semver's satisfies() answers false for an invalid range or version; Moat reports an
    // error instead, which counts as "not satisfied" here.
    bool got = r.ok() && *r;
    if (got == expected) {
      ++passed;
    } else {
      ADD_FAILURE() << "range \"" << f[0] << "\" version \"" << f[1] << "\" options " << f[3]
                    << ": got " << got << (r.ok() ? "" : " (" + r.error().message + ")");
    }
  }
  Report("semver_npm_ranges.txt", passed, total);
}

TEST(VersionVectors, GoSemver) {
  int passed = 0, total = 0;
  std::ifstream in(kDir + "go_semver.txt");
  ASSERT_TRUE(in.good());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#CANON ", 0) == 0) {
      ++total;
      size_t arrow = line.find(" -> ");
      std::string input = line.substr(7, arrow - 7);
      std::string canon = line.substr(arrow + 4);
      if (canon == "(invalid)") canon.clear();
      // The upstream list is of "v" versions; "bad" has none and stays invalid without it too.
      bool valid_as_go = Validate(Scheme::kGo, input).ok();
      if (GoCanonical(input) == canon && valid_as_go == !canon.empty()) {
        ++passed;
      } else {
        ADD_FAILURE() << line << ": got \"" << GoCanonical(input) << "\"";
      }
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = Fields(line);
    ASSERT_EQ(f.size(), 3u) << line;
    ++total;
    int r = GoSemverCompare(f[0], f[2]);
    bool ok = OpOf(r) == f[1][0] && GoSemverCompare(f[2], f[0]) == -r;
    // Compare(kGo) must agree when both are valid and fail otherwise.
    auto checked = Compare(Scheme::kGo, f[0], f[2]);
    bool both_valid = !GoCanonical(f[0]).empty() && !GoCanonical(f[2]).empty();
    ok = ok && (both_valid ? checked.ok() && *checked == r : !checked.ok());
    if (ok) {
      ++passed;
    } else {
      ADD_FAILURE() << line << ": got " << OpOf(r);
    }
  }
  Report("go_semver.txt", passed, total);
}

TEST(VersionVectors, Maven) {
  int passed = 0, total = 0;
  for (const std::string& line : ReadLines("maven_comparableversion.txt")) {
    std::vector<std::string> f = Split(line, '\t');
    if (f.size() < 3 || f[0].empty()) continue;  // blank separator rows
    ++total;
    auto r = Compare(Scheme::kMaven, f[0], f[2]);
    auto back = Compare(Scheme::kMaven, f[2], f[0]);
    if (r.ok() && back.ok() && OpOf(*r) == f[1][0] && *back == -*r) {
      ++passed;
    } else {
      ADD_FAILURE() << line << ": " << (r.ok() ? std::string(1, OpOf(*r)) : r.error().message);
    }
  }
  Report("maven_comparableversion.txt", passed, total);
}

}  // namespace
}  // namespace moat::version
