// Hand-written cases: the schemes without an upstream vector file (RubyGems, NuGet), the
// helpers, error messages and hostile input. Expected values are taken from each project's own
// test suite (rubygems test_gem_version.rb, NuGet.Client VersionComparerTests) or its docs.

#include "version/version.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::version {
namespace {

int Cmp(Scheme s, std::string_view a, std::string_view b) {
  auto r = Compare(s, a, b);
  EXPECT_TRUE(r.ok()) << a << " vs " << b << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : 99;
}

TEST(Version, SchemeNames) {
  EXPECT_EQ(ParseScheme("debian"), Scheme::kDeb);
  EXPECT_EQ(ParseScheme("DPKG"), Scheme::kDeb);
  EXPECT_EQ(ParseScheme("alpine"), Scheme::kApk);
  EXPECT_EQ(ParseScheme("python"), Scheme::kPep440);
  EXPECT_EQ(ParseScheme("semver"), Scheme::kSemver);
  EXPECT_EQ(ParseScheme("golang"), Scheme::kGo);
  EXPECT_EQ(ParseScheme("rubygems"), Scheme::kGem);
  EXPECT_EQ(ParseScheme("nuget"), Scheme::kNuget);
  EXPECT_EQ(ParseScheme("cargo"), std::nullopt);
  for (Scheme s : {Scheme::kDeb, Scheme::kRpm, Scheme::kApk, Scheme::kPep440, Scheme::kSemver,
                   Scheme::kGo, Scheme::kMaven, Scheme::kGem, Scheme::kNuget, Scheme::kComposer}) {
    EXPECT_EQ(ParseScheme(SchemeName(s)), s);
  }
}

TEST(Version, ErrorsNameTheVersion) {
  auto r = Compare(Scheme::kGem, "1.0", "+++ ---");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("+++ ---"), std::string::npos) << r.error().message;
  auto d = Validate(Scheme::kDeb, "1.0-");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("revision number is empty"), std::string::npos);
  auto bin = Validate(Scheme::kSemver, std::string("1.\0.\x01", 5));
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.error().message.find("\\x00"), std::string::npos) << bin.error().message;
}

TEST(Version, Deb) {
  EXPECT_LT(Cmp(Scheme::kDeb, "1.2.3-1~deb12u1", "1.2.3-1"), 0);
  EXPECT_GT(Cmp(Scheme::kDeb, "1.2.3-1+deb12u1", "1.2.3-1"), 0);
  EXPECT_GT(Cmp(Scheme::kDeb, "1:0.1", "99"), 0);
  EXPECT_EQ(Cmp(Scheme::kDeb, " 1.0 ", "1.0"), 0);
  // dpkg --compare-versions orders what it only warns about; Validate() rejects it.
  EXPECT_LT(Cmp(Scheme::kDeb, "0:a-0", "0:b-0"), 0);
  EXPECT_FALSE(Validate(Scheme::kDeb, "abc").ok());
  EXPECT_FALSE(Compare(Scheme::kDeb, "", "1").ok());
  EXPECT_FALSE(Compare(Scheme::kDeb, "1:", "1").ok());
}

TEST(Version, Rpm) {
  EXPECT_GT(Cmp(Scheme::kRpm, "1:1.0-1", "2.0-1"), 0);
  EXPECT_EQ(Cmp(Scheme::kRpm, "0:1.0-1", "1.0-1"), 0);
  EXPECT_LT(Cmp(Scheme::kRpm, "1.0", "1.0-1"), 0);  // rpmverCmp: missing release sorts first
  EXPECT_LT(Cmp(Scheme::kRpm, "1.0-1.el9", "1.0-1.el9_1"), 0);
  EXPECT_LT(Cmp(Scheme::kRpm, "1.0~rc1-1", "1.0-1"), 0);
  EXPECT_EQ(RpmVercmp("1.0", "1.00"), 0);
  EXPECT_FALSE(Validate(Scheme::kRpm, "").ok());
}

TEST(Version, Apk) {
  EXPECT_LT(Cmp(Scheme::kApk, "1.2.3_rc1-r0", "1.2.3-r0"), 0);
  EXPECT_GT(Cmp(Scheme::kApk, "1.2.3_p1-r0", "1.2.3-r5"), 0);
  EXPECT_LT(Cmp(Scheme::kApk, "1.2.3-r9", "1.2.3-r10"), 0);
  // apk-tools orders what its grammar rejects: the tokens before the first invalid one decide.
  EXPECT_FALSE(Validate(Scheme::kApk, "1.8.1p1-r1").ok());
  EXPECT_GT(Cmp(Scheme::kApk, "1.8.1p1-r1", "1.8.1-r1"), 0);
  EXPECT_LT(Cmp(Scheme::kApk, "1.8.1p1-r1", "1.8.2-r0"), 0);
  EXPECT_EQ(Cmp(Scheme::kApk, "1.8.1p1-r1", "1.8.1p2-r0"), 0);  // as `apk version -t` says
  EXPECT_GT(Cmp(Scheme::kApk, "1.0bc", "1.0"), 0);
  EXPECT_FALSE(Compare(Scheme::kApk, "", "1.0").ok());
}

// pip before 24.1 (packaging's LegacyVersion): non-PEP 440 strings sort before every PEP 440
// version and among themselves by setuptools' old rules. The oracle test runs pip's own code.
TEST(Version, Pep440Legacy) {
  EXPECT_FALSE(Validate(Scheme::kPep440, "0.9-doduo").ok());
  EXPECT_LT(Cmp(Scheme::kPep440, "0.9-doduo", "0.0.1.dev0"), 0);
  EXPECT_GT(Cmp(Scheme::kPep440, "1.0", "french toast"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "0.9-doduo", "0.10-doduo"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "1.0.dev-r123", "1.0-SNAPSHOT"), 0);  // "dev" is "@"
  EXPECT_EQ(Cmp(Scheme::kPep440, "1.0pre-x", "1.0c-x"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "123456789.x", "99999999.x"), 0);  // zfill(8), then strings
  EXPECT_LT(Cmp(Scheme::kPep440, "1.0-SNAPSHOT", "1.0"), 0);
  EXPECT_FALSE(Compare(Scheme::kPep440, " ", "1.0").ok());
}

TEST(Version, Pep440Normalize) {
  EXPECT_EQ(*NormalizePep440("1.0-Alpha.1"), "1.0a1");
  EXPECT_EQ(*NormalizePep440(" v1!2.0.POST-3.dev "), "1!2.0.post3.dev0");
  EXPECT_EQ(*NormalizePep440("1.0+Ubuntu-1_2"), "1.0+ubuntu.1.2");
  EXPECT_EQ(*NormalizePep440("0001.002rc"), "1.2rc0");
  EXPECT_EQ(Cmp(Scheme::kPep440, "1.0", "1.0.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "1.0+abc", "1.0+1"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "1.0.dev1", "1.0a1"), 0);
  EXPECT_LT(Cmp(Scheme::kPep440, "99999999999999999999999", "100000000000000000000000"), 0);
}

TEST(Version, NpmCompareAndRanges) {
  EXPECT_LT(Cmp(Scheme::kSemver, "1.0.0-alpha.1", "1.0.0-alpha.beta"), 0);
  EXPECT_FALSE(Validate(Scheme::kSemver, "1.2").ok());
  EXPECT_FALSE(Validate(Scheme::kSemver, "01.2.3").ok());
  EXPECT_TRUE(CompareNpm("v01.2.3", "1.2.3", /*loose=*/true).ok());
  EXPECT_TRUE(*SatisfiesNpmRange("1.4.0", ">=1.2.3 <2.0.0 || ^3.1"));
  EXPECT_TRUE(*SatisfiesNpmRange("3.9.9", ">=1.2.3 <2.0.0 || ^3.1"));
  EXPECT_FALSE(*SatisfiesNpmRange("4.0.0", ">=1.2.3 <2.0.0 || ^3.1"));
  EXPECT_FALSE(*SatisfiesNpmRange("2.0.0-rc.1", "<2.0.0"));
  EXPECT_TRUE(*SatisfiesNpmRange("2.0.0-rc.1", "<2.0.0", {.include_prerelease = true}));
  EXPECT_TRUE(*SatisfiesNpmRange("1.2.3-beta.4", ">=1.2.3-beta.2 <1.3.0"));
  EXPECT_FALSE(SatisfiesNpmRange("1.0.0", ">=1.0.0 garbage").ok());
  EXPECT_FALSE(SatisfiesNpmRange("not a version", "*").ok());
}

TEST(Version, Go) {
  EXPECT_EQ(Cmp(Scheme::kGo, "1.2.3", "v1.2.3"), 0);
  EXPECT_EQ(Cmp(Scheme::kGo, "v2.0.0+incompatible", "v2.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kGo, "0", "0.0.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGo, "v0.0.0-20191109021931-daa7c04131f5", "v0.0.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGo, "v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5"), 0);
  EXPECT_LT(Cmp(Scheme::kGo, "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"), 0);
  EXPECT_TRUE(IsGoPseudoVersion("v0.0.0-20191109021931-daa7c04131f5"));
  EXPECT_TRUE(IsGoPseudoVersion("v1.2.4-0.20191109021931-daa7c04131f5"));
  EXPECT_TRUE(IsGoPseudoVersion("v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible"));
  EXPECT_FALSE(IsGoPseudoVersion("v1.2.3-pre"));
  EXPECT_FALSE(IsGoPseudoVersion("v1.2.3-20191109021931-daa7c04131f5"));
  EXPECT_FALSE(Validate(Scheme::kGo, "v1.2.3.4").ok());
  EXPECT_EQ(GoSemverCompare("1.2.3", "v0.0.1"), -1);  // upstream: no "v" is invalid
}

TEST(Version, Maven) {
  EXPECT_LT(Cmp(Scheme::kMaven, "1.0-SNAPSHOT", "1.0"), 0);
  EXPECT_EQ(Cmp(Scheme::kMaven, "1.0.0.Final", "1.0"), 0);
  EXPECT_LT(Cmp(Scheme::kMaven, "2.13.4", "2.13.4.1"), 0);
  EXPECT_LT(Cmp(Scheme::kMaven, "1.0-rc1", "1.0-sp1"), 0);
  EXPECT_FALSE(Validate(Scheme::kMaven, std::string(300, '1')).ok());
  // "ga" is the release and drops out, leaving a sub-list in a sub-list: Maven's own
  // ComparableVersion (Debian's maven-artifact 3.x) parses 1-ga-1 as [1, [[1]]], before 1-1.
  EXPECT_LT(Cmp(Scheme::kMaven, "1-ga-1", "1-1"), 0);
  EXPECT_GT(Cmp(Scheme::kMaven, "1-ga-1", "1"), 0);
  EXPECT_LT(Cmp(Scheme::kMaven, "1-ga-1", "1.1"), 0);
}

// rubygems test/rubygems/test_gem_version.rb test_spaceship and friends.
TEST(Version, Gem) {
  EXPECT_EQ(Cmp(Scheme::kGem, "1.0", "1.0.0"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.0", "1.0.a"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.8.2", "0.0.0"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.8.2", "1.8.2.a"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.8.2.b", "1.8.2.a"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "1.8.2.a", "1.8.2"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.8.2.a10", "1.8.2.a9"), 0);
  EXPECT_EQ(Cmp(Scheme::kGem, "", "0"), 0);
  EXPECT_EQ(Cmp(Scheme::kGem, "0.beta.1", "0.0.beta.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "0.0.beta", "0.0.beta.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "0.0.beta", "0.beta.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "5.a", "5.0.0.rc2"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "5.x", "5.0.0.rc2"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1.9.3", "1.9.2.99"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "1.9.3", "1.9.3.1"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "1.0.0-rc1", "1.0.0"), 0);  // "-" is ".pre."
  EXPECT_EQ(Cmp(Scheme::kGem, "1.0.0-rc1", "1.0.0.pre.rc1"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "1.0.A", "1.0.a"), 0);  // byte order, as Ruby's String#<=>
  EXPECT_EQ(Cmp(Scheme::kGem, "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.0.0.a",
                "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.a"),
            0);
  for (const char* bad : {"junk", "1.0\n2.0", "1..2", "1.2 3.4",
                          "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.", "-1"}) {
    EXPECT_FALSE(Validate(Scheme::kGem, bad).ok()) << bad;
  }
  EXPECT_TRUE(Validate(Scheme::kGem, " 1.0 ").ok());
  // Gem::Version.new refuses "1beta"; its segments (1, "beta") order it as "1.beta".
  EXPECT_FALSE(Validate(Scheme::kGem, "1beta").ok());
  EXPECT_EQ(Cmp(Scheme::kGem, "1beta", "1.beta"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "1beta", "1"), 0);
  EXPECT_GT(Cmp(Scheme::kGem, "1beta", "1.alpha"), 0);
  EXPECT_LT(Cmp(Scheme::kGem, "2.0.0_rc1", "2.0.0"), 0);
  EXPECT_FALSE(Compare(Scheme::kGem, "1.0", "--").ok());
}

// NuGet.Client test/NuGet.Core.Tests/NuGet.Versioning.Test (VersionComparerTests and parsing).
TEST(Version, Nuget) {
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0", "1.0.1"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-alpha", "1.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-alpha", "1.0.0-beta"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "1.0.0-ALPHA", "1.0.0-alpha"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "1.0.0+abc", "1.0.0+def"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "1.0", "1.0.0.0"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "1", "1.0.0"), 0);
  EXPECT_GT(Cmp(Scheme::kNuget, "1.0.0.1", "1.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-alpha.2", "1.0.0-alpha.10"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-alpha.1", "1.0.0-alpha.beta"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-alpha", "1.0.0-alpha.1"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.0.0-1", "1.0.0-a"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "01.002.0003", "1.2.3"), 0);
  for (const char* bad : {"", "1.0.0.0.0", "a.b", "1.0.0-", "1.0.0+", "1.0.0-01", "1.0.0-alpha..1",
                          "1.0.0-al_pha", "-1.0"}) {
    EXPECT_FALSE(Validate(Scheme::kNuget, bad).ok()) << bad;
  }
  // Numbers past Int32 (and past 64 bits) compare as the numbers they are.
  EXPECT_LT(Cmp(Scheme::kNuget, "2147483647.0", "2147483648.0"), 0);
  EXPECT_LT(Cmp(Scheme::kNuget, "1.18446744073709551615", "1.18446744073709551616"), 0);
  EXPECT_GT(Cmp(Scheme::kNuget, "1.0.99999999999999999999999", "1.0.9999999999999999999999"), 0);
  EXPECT_EQ(Cmp(Scheme::kNuget, "1.0.000000000000000000000020", "1.0.20"), 0);
}

// Composer\Semver\VersionParser::normalize, then PHP's version_compare (the oracle test runs
// both on every pair of a larger set).
TEST(Version, Composer) {
  EXPECT_EQ(*NormalizeComposerVersion("v1.2"), "1.2.0.0");
  EXPECT_EQ(*NormalizeComposerVersion("1.0-b2"), "1.0.0.0-beta2");
  EXPECT_EQ(*NormalizeComposerVersion("1.0.x-dev"), "1.0.9999999.9999999-dev");
  EXPECT_EQ(*NormalizeComposerVersion("20230105"), "20230105");
  EXPECT_EQ(Cmp(Scheme::kComposer, "v1.0", "1.0.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kComposer, "1.0.0-RC1", "1.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kComposer, "1.0.0-beta2", "1.0.0-RC1"), 0);
  EXPECT_GT(Cmp(Scheme::kComposer, "1.0.0-patch1", "1.0.0"), 0);
  EXPECT_LT(Cmp(Scheme::kComposer, "1.0.0-dev", "1.0.0-alpha"), 0);
  EXPECT_EQ(PhpVersionCompareRaw("1.0", "1.0.0"), -1);  // without normalization
  auto branch = Compare(Scheme::kComposer, "dev-main", "1.0.0");
  ASSERT_FALSE(branch.ok());
  EXPECT_NE(branch.error().message.find("branch"), std::string::npos) << branch.error().message;
  EXPECT_FALSE(Validate(Scheme::kComposer, "1.2.3.4.5").ok());
}

// Hostile input: every scheme returns, never crashes (ASan/UBSan run this).
TEST(Version, HostileInput) {
  std::string long_digits(100000, '9');
  std::string dashes(5000, '-');
  std::string nested;
  for (int i = 0; i < 120; ++i) nested += "a-1";
  std::string binary("\xff\x00\x80~^:-+.", 10);
  for (Scheme s : {Scheme::kDeb, Scheme::kRpm, Scheme::kApk, Scheme::kPep440, Scheme::kSemver,
                   Scheme::kGo, Scheme::kMaven, Scheme::kGem, Scheme::kNuget, Scheme::kComposer}) {
    for (const std::string& v : {long_digits, dashes, nested, binary, std::string("~"),
                                 std::string(":"), std::string("-")}) {
      (void)Compare(s, v, "1.0");
      (void)Compare(s, v, v);
      (void)Validate(s, v);
    }
  }
  (void)SatisfiesNpmRange("1.0.0", std::string(100000, '|'));
  (void)SatisfiesNpmRange("1.0.0", std::string(100000, ' ') + "x");
  SUCCEED();
}

}  // namespace
}  // namespace moat::version
