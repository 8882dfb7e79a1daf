// The distribution feeds: Red Hat CSAF (VEX and advisories), OVAL (SUSE, Azure Linux, Oracle),
// Alpine secdb YAML. Each sample gives exactly the records listed: the SUSE, Azure Linux and
// Oracle expectations are vunnel's snapshots for the same files (anchore/vunnel
// tests/unit/providers/{sles,mariner,oracle}/test-fixtures/snapshots).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "vulndb/build.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

const fs::path kSamples = fs::path(MOAT_SHARED_DATA_DIR) / "vuln/feeds/vunnel-fixtures";
const fs::path kTestdata = fs::path(MOAT_SOURCE_DIR) / "src/vulndb/testdata";

std::string Read(const fs::path& path) {
  auto text = ReadFileToString(path.string(), 64u << 20);
  EXPECT_TRUE(text.ok()) << path << ": missing (the shared reference data ../shared/data)";
  return text.ok() ? *text : "";
}

// "id ns package status <fixed|<=last_affected> severity source", one line per record.
std::vector<std::string> Lines(const IngestResult& result) {
  std::vector<std::string> lines;
  for (const auto& r : result.affected) {
    std::string version;
    for (const auto& range : r.ranges) {
      version += range.fixed.empty() ? "<=" + range.last_affected : range.fixed;
    }
    lines.push_back(r.vuln_id + " " + r.ns + " " + r.package + " " +
                    std::string(StatusName(r.status)) + " " + (version.empty() ? "-" : version) +
                    " " + (r.severity.empty() ? "-" : r.severity) + " " + r.source);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(RedHatCsaf, NamespacesAndModules) {
  EXPECT_EQ(RedHatNamespace("cpe:/o:redhat:enterprise_linux:8::baseos"), "rhel:8");
  EXPECT_EQ(RedHatNamespace("cpe:/a:redhat:enterprise_linux:9::appstream"), "rhel:9");
  EXPECT_EQ(RedHatNamespace("cpe:/o:redhat:enterprise_linux:7::server"), "rhel:7");
  EXPECT_EQ(RedHatNamespace("cpe:/o:redhat:enterprise_linux:6"), "rhel:6");
  EXPECT_EQ(RedHatNamespace("cpe:/a:redhat:rhel_eus:8.6::appstream"), std::nullopt);
  EXPECT_EQ(RedHatNamespace("cpe:/o:redhat:rhel_aus:7.4::server"), std::nullopt);
  EXPECT_EQ(RedHatNamespace("cpe:/a:redhat:openshift:4.15::el9"), std::nullopt);
  EXPECT_EQ(RedHatNamespace("not a cpe"), std::nullopt);
  EXPECT_EQ(ModuleStream("nodejs:18:8100020240807145403:ad008a3a"), "nodejs:18");
  EXPECT_EQ(ModuleStream("nodejs:18"), "nodejs:18");
  EXPECT_EQ(ModuleStream(""), "");
  EXPECT_EQ(RpmModuleKey("nodejs:18", "npm"), "nodejs:18::npm");
}

// Every product status and remediation of Red Hat's VEX format guide.
TEST(RedHatCsaf, VexStatusesAndRemediations) {
  IngestResult out;
  auto parsed = ParseCsafJson(Read(kTestdata / "csaf/cve-2023-20593-excerpt.json"), "vex", out);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(out.records, 1u);
  EXPECT_EQ(out.date, "2024-09-13T20:58:30+00:00");
  // The 7.4 AUS build is not what a RHEL 7 image gets; the kernel's binary rpms are its source
  // rpm's fix again.
  EXPECT_THAT(Lines(out),
              ElementsAre("CVE-2023-20593 rhel:6 kernel not_affected - medium redhat-csaf",
                          "CVE-2023-20593 rhel:6 microcode_ctl not_affected - medium redhat-csaf",
                          "CVE-2023-20593 rhel:7 kernel fixed 3.10.0-1160.95.1.el7 medium "
                          "redhat-csaf",
                          "CVE-2023-20593 rhel:7 microcode_ctl fixed 2:2.1-73.16.el7_9 medium "
                          "redhat-csaf",
                          "CVE-2023-20593 rhel:8 kernel affected - medium redhat-csaf",
                          "CVE-2023-20593 rhel:8 kernel-rt fix_deferred - medium redhat-csaf",
                          "CVE-2023-20593 rhel:8 linux-firmware will_not_fix - medium redhat-csaf",
                          "CVE-2023-20593 rhel:9 kernel undetermined - medium redhat-csaf"));
  ASSERT_EQ(out.vulnerabilities.size(), 1u);
  const Vulnerability& v = out.vulnerabilities[0];
  EXPECT_EQ(v.title, "hw: amd: Cross-Process Information Leak");
  EXPECT_THAT(v.description, HasSubstr("Zen 2"));
  EXPECT_EQ(v.cwes, std::vector<std::string>{"CWE-1239"});
  ASSERT_EQ(v.cvss.size(), 1u);
  EXPECT_EQ(v.cvss[0].vector, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N");
  EXPECT_DOUBLE_EQ(v.cvss[0].score, 6.5);
  EXPECT_EQ(v.severity, "medium");
}

// The advisory sample (RHSA-2024:6163): one CVE fixed in python3.9 for three RHEL 9 repositories.
TEST(RedHatCsaf, AdvisorySample) {
  IngestResult out;
  auto parsed =
      ParseCsafJson(Read(kSamples / "rhel__csaf_advisories_2024_rhsa-2024_6163.json"), "rhsa", out);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_THAT(Lines(out), ElementsAre("CVE-2024-8088 rhel:9 python3.9 fixed 3.9.18-3.el9_4.5 "
                                      "medium redhat-csaf"));
  ASSERT_EQ(out.vulnerabilities.size(), 1u);
  EXPECT_EQ(out.vulnerabilities[0].cwes, std::vector<std::string>{"CWE-835"});
}

TEST(RedHatCsaf, ModuleStreamPurlsAndEpochs) {
  const std::string text = R"json({
    "document": {"category": "csaf_vex", "tracking": {"current_release_date": "2024-08-20"}},
    "product_tree": {"branches": [{"category": "vendor", "name": "Red Hat", "branches": [
      {"category": "product_name", "product": {"name": "Red Hat Enterprise Linux AppStream (v. 8)",
        "product_id": "AppStream-8.10.0.Z.MAIN",
        "product_identification_helper": {"cpe": "cpe:/a:redhat:enterprise_linux:8::appstream"}}},
      {"category": "product_version", "product": {
        "name": "nodejs-1:18.20.4-1.module+el8.10.0+22202+761b9a65.src",
        "product_id": "nodejs-1:18.20.4-1.module+el8.10.0+22202+761b9a65.src",
        "product_identification_helper": {"purl":
          "pkg:rpm/redhat/nodejs@18.20.4-1.module%2Bel8.10.0%2B22202%2B761b9a65?arch=src&epoch=1&rpmmod=nodejs:18:8100020240807161023:ad008a3a"}}},
      {"category": "product_version", "product": {"name": "pcs-0:0.10.18-2.el8_10.2.src",
        "product_id": "pcs-0:0.10.18-2.el8_10.2.src"}}]}],
      "relationships": [
        {"full_product_name": {"product_id": "AppStream-8.10.0.Z.MAIN:nodejs:18:8100020240807161023:ad008a3a:nodejs-1:18.20.4-1.module+el8.10.0+22202+761b9a65.src"},
         "product_reference": "nodejs-1:18.20.4-1.module+el8.10.0+22202+761b9a65.src",
         "relates_to_product_reference": "AppStream-8.10.0.Z.MAIN"},
        {"full_product_name": {"product_id": "AppStream-8.10.0.Z.MAIN:pcs-0:0.10.18-2.el8_10.2.src"},
         "product_reference": "pcs-0:0.10.18-2.el8_10.2.src",
         "relates_to_product_reference": "AppStream-8.10.0.Z.MAIN"}]},
    "vulnerabilities": [{"cve": "CVE-2024-22020", "product_status": {"fixed": [
      "AppStream-8.10.0.Z.MAIN:nodejs:18:8100020240807161023:ad008a3a:nodejs-1:18.20.4-1.module+el8.10.0+22202+761b9a65.src",
      "AppStream-8.10.0.Z.MAIN:pcs-0:0.10.18-2.el8_10.2.src", "AppStream-8.10.0.Z.MAIN:unknown"]},
      "threats": [{"category": "impact", "details": "Important"}]}]})json";
  IngestResult out;
  auto parsed = ParseCsafJson(text, "module.json", out);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  // The purl's epoch qualifier; a product_version name without a purl read as NEVRA.
  EXPECT_THAT(Lines(out),
              ElementsAre("CVE-2024-22020 rhel:8 nodejs:18::nodejs fixed "
                          "1:18.20.4-1.module+el8.10.0+22202+761b9a65 high redhat-csaf",
                          "CVE-2024-22020 rhel:8 pcs fixed 0.10.18-2.el8_10.2 high redhat-csaf"));
}

TEST(RedHatCsaf, ErrorsNameTheInputAndPlace) {
  IngestResult out;
  auto not_json = ParseCsafJson("{", "a.json", out);
  ASSERT_FALSE(not_json.ok());
  EXPECT_THAT(not_json.error().message, HasSubstr("a.json"));
  auto not_csaf = ParseCsafJson(R"({"document": {"category": "x"}})", "b.json", out);
  ASSERT_FALSE(not_csaf.ok());
  EXPECT_THAT(not_csaf.error().message, HasSubstr("b.json: not a CSAF document"));
  auto no_cve = ParseCsafJson(
      R"({"document": {"category": "csaf_vex"}, "vulnerabilities": [{"title": "x"}]})", "c.json",
      out);
  ASSERT_TRUE(no_cve.ok());
  ASSERT_FALSE(out.warnings.empty());
  EXPECT_THAT(out.warnings.back(), HasSubstr("c.json: /vulnerabilities/0/cve: missing"));
}

// A directory and a tar.zst archive (the form Red Hat publishes) give the same records.
TEST(RedHatCsaf, DirectoryAndArchive) {
  fs::path dir = fs::temp_directory_path() / ("moat-csaf-" + std::to_string(::getpid()));
  fs::create_directories(dir / "vex/2023");
  fs::copy_file(kTestdata / "csaf/cve-2023-20593-excerpt.json",
                dir / "vex/2023/cve-2023-20593.json");
  fs::copy_file(kSamples / "rhel__csaf_advisories_2024_rhsa-2024_6163.json",
                dir / "vex/2023/rhsa-2024_6163.json");
  { std::ofstream(dir / "vex/index.txt") << "2023/cve-2023-20593.json\n"; }
  auto from_dir = IngestCsaf((dir / "vex").string());
  ASSERT_TRUE(from_dir.ok()) << from_dir.error().message;
  EXPECT_EQ(from_dir->records, 2u);
  EXPECT_EQ(from_dir->affected.size(), 9u);
  std::string archive = (dir / "csaf_vex_2024-09-14.tar.zst").string();
  std::string command = "tar --zstd -cf " + archive + " -C " + dir.string() + " vex";
  ASSERT_EQ(std::system(command.c_str()), 0) << "tar with zstd (Debian's tar and zstd) is needed";
  auto from_archive = IngestCsaf(archive);
  ASSERT_TRUE(from_archive.ok()) << from_archive.error().message;
  EXPECT_EQ(Lines(*from_archive), Lines(*from_dir));
  fs::remove_all(dir);
}

// vunnel's SUSE fixture: SLES 15 and 15.1 from the sles-release and sles-ltss-release tests (the
// former preferred), modules and SAP editions left out, "is not affected" kept.
TEST(Oval, SuseSample) {
  auto out = ParseOval(Read(kSamples / "sles__suse_truncated.xml"), "suse.xml");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->records, 4u);
  EXPECT_EQ(out->date, "2021-07-16T05:18:42");
  std::vector<std::string> expected;
  for (const char* package :
       {"krb5", "krb5-32bit", "krb5-client", "krb5-devel", "krb5-plugin-kdb-ldap",
        "krb5-plugin-preauth-otp", "krb5-plugin-preauth-pkinit", "krb5-server"}) {
    expected.push_back(std::string("CVE-2010-1323 sles:15 ") + package +
                       " fixed 0:1.15.2-4.25 medium suse-oval");
  }
  expected.push_back(
      "CVE-2021-29154 sles:15 kernel-default fixed 0:4.12.14-150.72.1 high "
      "suse-oval");
  expected.push_back(
      "CVE-2021-29154 sles:15.1 kernel-default fixed 0:4.12.14-197.89.2 high "
      "suse-oval");
  expected.push_back(
      "CVE-2026-34073 sles:15 python3-cryptography not_affected - medium "
      "suse-oval");
  EXPECT_THAT(Lines(*out), UnorderedElementsAreArray(expected));
  for (const auto& v : out->vulnerabilities) {
    if (v.id != "CVE-2021-29154") continue;
    ASSERT_EQ(v.cvss.size(), 1u);  // vunnel's snapshot: the same vector and score
    EXPECT_EQ(v.cvss[0].vector, "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H");
    EXPECT_EQ(v.cvss[0].version, "3.1");
    EXPECT_DOUBLE_EQ(v.cvss[0].score, 7.0);
  }
}

// vunnel's Azure Linux fixture: no platform criteria, the release from the file name.
TEST(Oval, AzureLinuxSample) {
  const fs::path file = kSamples / "mariner__azure-linux-truncated-3.0-oval.xml";
  auto out = IngestOval(file.string());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->records, 3u);
  EXPECT_THAT(Lines(*out),
              ElementsAre("CVE-2020-27304 azurelinux:3.0 ceph fixed 0:18.2.1-1.azl3 critical "
                          "azurelinux-oval",
                          "CVE-2024-24258 azurelinux:3.0 freeglut fixed 0:3.4.0-1.azl3 high "
                          "azurelinux-oval",
                          "CVE-2024-24259 azurelinux:3.0 freeglut fixed 0:3.4.0-1.azl3 high "
                          "azurelinux-oval"));
  // Under another name the fixed versions' ".azl3" tag still says Azure Linux 3.0.
  auto renamed = ParseOval(Read(file), "feed.xml");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(Lines(*renamed), Lines(*out));
  // Without blanks between elements (after a skipped definition the reader stands on the next).
  std::string compact;
  for (char c : Read(file)) {
    if ((c == '\n' || c == ' ') && !compact.empty() && compact.back() == '>') continue;
    compact += c;
  }
  auto no_blanks = ParseOval(compact, "azurelinux-3.0-compact.xml");
  ASSERT_TRUE(no_blanks.ok()) << no_blanks.error().message;
  EXPECT_EQ(Lines(*no_blanks), Lines(*out));
  // Compressed as published elsewhere (gzip, bzip2): the same.
  fs::path gz = fs::temp_directory_path() / ("moat-oval-" + std::to_string(::getpid()) + ".xml");
  fs::copy_file(file, gz, fs::copy_options::overwrite_existing);
  ASSERT_EQ(std::system(("bzip2 -f " + gz.string()).c_str()), 0);
  auto bz2 = IngestOval(gz.string() + ".bz2", "azurelinux:3.0");
  ASSERT_TRUE(bz2.ok()) << bz2.error().message;
  EXPECT_EQ(Lines(*bz2), Lines(*out));
  fs::remove(gz.string() + ".bz2");
}

// vunnel's Oracle fixture: one record per CVE of each ELSA; where the file lacks a test, its
// criterion's comment gives the package and fix (vunnel's snapshots ol:5/elsa-2007-0057 and
// ol:6/elsa-2018-4250 list the same packages and versions).
TEST(Oval, OracleSample) {
  auto out = IngestOval((kTestdata / "oval/oracle-elsa-vunnel-mock.xml").string());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->records, 2u);
  std::vector<std::string> expected;
  for (const char* cve : {"CVE-2007-0493", "CVE-2007-0494"}) {
    for (const char* package : {"bind", "bind-chroot", "bind-devel", "bind-libbind-devel",
                                "bind-libs", "bind-sdb", "bind-utils", "caching-nameserver"}) {
      expected.push_back(std::string(cve) + " ol:5 " + package +
                         " fixed 30:9.3.3-8.el5 medium oracle-oval");
    }
  }
  for (const char* cve : {"CVE-2017-13695", "CVE-2018-16658", "CVE-2018-7492", "CVE-2018-7566"}) {
    for (const char* package : {"kernel-uek", "kernel-uek-debug", "kernel-uek-debug-devel",
                                "kernel-uek-devel", "kernel-uek-doc", "kernel-uek-firmware"}) {
      expected.push_back(std::string(cve) + " ol:6 " + package +
                         " fixed 0:2.6.39-400.302.2.el6uek high oracle-oval");
    }
  }
  EXPECT_THAT(Lines(*out), UnorderedElementsAreArray(expected));
  bool elsa_linked = false;
  for (const auto& v : out->vulnerabilities) {
    if (v.id != "CVE-2018-7566") continue;
    for (const auto& ref : v.references) {
      elsa_linked = elsa_linked || ref == "http://linux.oracle.com/errata/ELSA-2018-4250.html";
    }
    EXPECT_EQ(v.published, "2018-10-12");
  }
  EXPECT_TRUE(elsa_linked);
}

TEST(Oval, ErrorsNameTheInputAndLine) {
  auto not_xml =
      ParseOval("<oval_definitions><definitions>\n<definition id='x'>\n</oops>", "broken.xml");
  ASSERT_FALSE(not_xml.ok());
  EXPECT_THAT(not_xml.error().message, HasSubstr("broken.xml: line 3"));
  auto other = ParseOval("<html><body/></html>", "page.xml");
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.error().message, HasSubstr("page.xml: not OVAL definitions"));
  // An external entity is neither fetched nor expanded.
  auto entity = ParseOval(
      "<?xml version='1.0'?><!DOCTYPE o [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
      "<oval_definitions><definitions><definition class='vulnerability' id='d'><metadata>"
      "<title>CVE-2024-1</title><description>&x;</description></metadata></definition>"
      "</definitions></oval_definitions>",
      "entity.xml");
  if (entity.ok()) {
    for (const auto& v : entity->vulnerabilities) {
      EXPECT_THAT(v.description, ::testing::Not(HasSubstr("root:")));
    }
  }
  EXPECT_FALSE(ParseOval("", "empty.xml").ok());
}

// The advisory page sample (ALAS-2018-939 for Amazon Linux 2): vunnel's snapshot
// amzn:2/alas-2018-939 lists these 13 packages at 4.9.76-38.79.amzn2, severity critical, CVEs
// CVE-2017-5715 and CVE-2017-5754.
TEST(Alas, AdvisoryPageSample) {
  IngestResult out;
  auto parsed = ParseAlasHtml(Read(kSamples / "amazon__input_2_html_ALAS-2018-939"), "page", out);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(out.records, 1u);
  std::vector<std::string> expected;
  for (const char* cve : {"CVE-2017-5715", "CVE-2017-5754"}) {
    for (const char* package :
         {"kernel", "kernel-debuginfo", "kernel-debuginfo-common-x86_64", "kernel-devel",
          "kernel-doc", "kernel-headers", "kernel-tools", "kernel-tools-debuginfo",
          "kernel-tools-devel", "perf", "perf-debuginfo", "python-perf", "python-perf-debuginfo"}) {
      expected.push_back(std::string(cve) + " amzn:2 " + package +
                         " fixed 4.9.76-38.79.amzn2 critical amazon-alas");
    }
  }
  EXPECT_THAT(Lines(out), UnorderedElementsAreArray(expected));
  ASSERT_FALSE(out.vulnerabilities.empty());
  EXPECT_THAT(out.vulnerabilities[0].references,
              ElementsAre("https://alas.aws.amazon.com/AL2/ALAS-2018-939.html"));
  IngestResult other;
  EXPECT_FALSE(ParseAlasHtml("<html><body>hello</body></html>", "x.html", other).ok());
}

// The same advisory as the repositories' updateinfo.xml carries it (yum's format, Amazon's ids:
// ALAS2- for Amazon Linux 2, ALAS2023- for 2023, ALAS- for 1), read streaming.
TEST(Alas, Updateinfo) {
  const std::string text = R"(<?xml version="1.0" ?>
<updates>
  <update author="linux-alas@amazon.com" from="linux-alas@amazon.com" status="final" type="security" version="1.4">
    <id>ALAS2-2018-939</id>
    <title>Amazon Linux 2 - ALAS2-2018-939: critical priority package update for kernel</title>
    <issued date="2018-01-11 21:05"/>
    <updated date="2018-01-16 01:28"/>
    <severity>critical</severity>
    <description>Package updates are available for Amazon Linux 2 that fix the following vulnerabilities:</description>
    <references>
      <reference href="https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2017-5715" id="CVE-2017-5715" title="" type="cve"/>
      <reference href="https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2017-5754" id="CVE-2017-5754" title="" type="cve"/>
    </references>
    <pkglist>
      <collection short="amazon-linux-2">
        <name>Amazon Linux 2</name>
        <package arch="x86_64" epoch="0" name="kernel" release="38.79.amzn2" version="4.9.76">
          <filename>Packages/kernel-4.9.76-38.79.amzn2.x86_64.rpm</filename>
        </package>
        <package arch="x86_64" epoch="0" name="perf" release="38.79.amzn2" version="4.9.76">
          <filename>Packages/perf-4.9.76-38.79.amzn2.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update type="bugfix"><id>ALAS2-2018-1</id></update>
  <update type="security"><id>ALAS2023-2024-512</id><severity>important</severity>
    <references><reference id="CVE-2024-2398" type="cve"/></references>
    <pkglist><collection><package name="curl" epoch="0" version="8.5.0" release="1.amzn2023.0.3" arch="x86_64"/></collection></pkglist>
  </update>
</updates>
)";
  IngestResult out;
  auto parsed = ParseUpdateinfo(text, "updateinfo.xml", out);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(out.records, 2u);
  EXPECT_THAT(
      Lines(out),
      ElementsAre("CVE-2017-5715 amzn:2 kernel fixed 4.9.76-38.79.amzn2 critical amazon-alas",
                  "CVE-2017-5715 amzn:2 perf fixed 4.9.76-38.79.amzn2 critical amazon-alas",
                  "CVE-2017-5754 amzn:2 kernel fixed 4.9.76-38.79.amzn2 critical amazon-alas",
                  "CVE-2017-5754 amzn:2 perf fixed 4.9.76-38.79.amzn2 critical amazon-alas",
                  "CVE-2024-2398 amzn:2023 curl fixed 8.5.0-1.amzn2023.0.3 high amazon-alas"));
  IngestResult bad;
  auto broken = ParseUpdateinfo("<updates>\n<update type='security'>\n</updates>", "u.xml", bad);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("u.xml: line 3"));
}

// vunnel's Photon 4.0 excerpt; its snapshots give curl/curl-libs/nghttp2's fixes and python3 with
// none.
TEST(Photon, Sample) {
  const fs::path file = kTestdata / "photon/cve_data_photon4.0.json";
  auto out = ParsePhotonCves(Read(file), file.string());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->records, 7u);
  EXPECT_THAT(Lines(*out),
              ElementsAre("BDSA-2025-0719 photon:4.0 krb5-devel fixed 1.17-15.ph4 high photon",
                          "CVE-2023-38545 photon:4.0 curl fixed 7.88.1-4.ph4 critical photon",
                          "CVE-2023-38546 photon:4.0 curl fixed 7.88.1-4.ph4 low photon",
                          "CVE-2023-38546 photon:4.0 curl-libs fixed 7.88.1-4.ph4 low photon",
                          "CVE-2023-44487 photon:4.0 httpd not_affected - high photon",
                          "CVE-2023-44487 photon:4.0 nghttp2 fixed 1.57.0-1.ph4 high photon",
                          "CVE-2023-50447 photon:4.0 python3 affected - - photon"));
  EXPECT_FALSE(ParsePhotonCves("[]", "cve_data.json").ok());  // no release named
  EXPECT_FALSE(ParsePhotonCves("{}", "cve_data_photon5.0.json").ok());
}

// Alpine's YAML secdb (v3.15) against the same data converted to JSON by Python's yaml module
// (the oracle): the same records.
TEST(SecdbYaml, SamplesAgreeWithTheirJsonForm) {
  for (const char* file :
       {"alpine__input_secdb_v3.15_main.yaml", "alpine__input_secdb_v3.15_community.yaml"}) {
    const fs::path path = kSamples / file;
    auto from_yaml = ParseSecdb(Read(path), path.string());
    ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message;
    std::string json_path =
        (fs::temp_directory_path() / ("moat-secdb-" + std::to_string(::getpid()) + ".json"))
            .string();
    std::string command =
        "python3 -c 'import json,sys,yaml; json.dump(yaml.safe_load(open(sys."
        "argv[1])), open(sys.argv[2], \"w\"))' " +
        path.string() + " " + json_path;
    ASSERT_EQ(std::system(command.c_str()), 0) << "python3-yaml is needed";
    auto from_json = ParseSecdb(Read(json_path), json_path);
    ASSERT_TRUE(from_json.ok()) << from_json.error().message;
    EXPECT_EQ(Lines(*from_yaml), Lines(*from_json)) << file;
    EXPECT_EQ(from_yaml->source_hint, from_json->source_hint);
    fs::remove(json_path);
  }
  auto main = ParseSecdb(Read(kSamples / "alpine__input_secdb_v3.15_main.yaml"), "main.yaml");
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(main->records, 5u);
  EXPECT_EQ(main->source_hint, "alpine:3.15/main");
  EXPECT_THAT(Lines(*main),
              ElementsAre("CVE-2018-1071 alpine:3.15 zsh fixed 5.4.2-r1 - alpine-secdb",
                          "CVE-2018-1083 alpine:3.15 zsh fixed 5.4.2-r1 - alpine-secdb",
                          "CVE-2018-25032 alpine:3.15 zlib fixed 1.2.12-r0 - alpine-secdb",
                          "CVE-2019-11922 alpine:3.15 zstd fixed 1.3.8-r0 - alpine-secdb",
                          "CVE-2019-13132 alpine:3.15 zeromq fixed 4.3.2-r0 - alpine-secdb",
                          "CVE-2019-20044 alpine:3.15 zsh fixed 5.8-r0 - alpine-secdb",
                          "CVE-2019-6250 alpine:3.15 zeromq fixed 4.3.1-r0 - alpine-secdb",
                          "CVE-2020-15166 alpine:3.15 zeromq fixed 4.3.3-r0 - alpine-secdb",
                          "CVE-2021-24031 alpine:3.15 zstd fixed 1.4.1-r0 - alpine-secdb",
                          "CVE-2021-24032 alpine:3.15 zstd fixed 1.4.9-r0 - alpine-secdb",
                          "CVE-2021-45444 alpine:3.15 zsh fixed 5.8.1-r0 - alpine-secdb",
                          "CVE-2022-1271 alpine:3.15 xz fixed 5.2.5-r1 - alpine-secdb",
                          "CVE-2022-37434 alpine:3.15 zlib fixed 1.2.12-r2 - alpine-secdb"));
}

TEST(SecdbYaml, EdgeAndBadInput) {
  auto edge = ParseSecdb(
      "distroversion: edge\nreponame: main\npackages:\n- pkg:\n    name: zlib\n"
      "    secfixes:\n      1.3.1-r1:\n      - CVE-2023-45853\n",
      "edge.yaml");
  ASSERT_TRUE(edge.ok()) << edge.error().message;
  EXPECT_THAT(Lines(*edge),
              ElementsAre("CVE-2023-45853 alpine:edge zlib fixed 1.3.1-r1 - alpine-secdb"));
  auto bad = ParseSecdb("packages:\n- pkg: [\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("bad.yaml: line"));
  auto alias = ParseSecdb("a: &x [1]\nb: *x\n", "alias.yaml");
  ASSERT_FALSE(alias.ok());
  EXPECT_THAT(alias.error().message, HasSubstr("alias.yaml: line 1"));
}

// The feeds as `moat db build` inputs: their namespaces are in the metadata and lookups find
// the records.
TEST(DistroFeeds, BuildDatabase) {
  fs::path dir = fs::temp_directory_path() / ("moat-distro-db-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<FeedInput> inputs = {
      {FeedKind::kCsaf, (kTestdata / "csaf/cve-2023-20593-excerpt.json").string(), ""},
      {FeedKind::kOval, (kSamples / "sles__suse_truncated.xml").string(), ""},
      {FeedKind::kOval, (kSamples / "mariner__azure-linux-truncated-3.0-oval.xml").string(), ""},
      {FeedKind::kOval, (kTestdata / "oval/oracle-elsa-vunnel-mock.xml").string(), ""},
      {FeedKind::kSecdb, (kSamples / "alpine__input_secdb_v3.15_main.yaml").string(), ""},
      {FeedKind::kAlas, (kSamples / "amazon__input_2_html_ALAS-2018-939").string(), ""},
      {FeedKind::kPhoton, (kTestdata / "photon/cve_data_photon4.0.json").string(), ""},
  };
  const std::string db_path = (dir / "moat.db").string();
  auto stats = BuildDatabase(inputs, db_path);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  auto db = OpenDatabase(db_path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_THAT((*db)->metadata().namespaces,
              ElementsAre("alpine:3.15", "amzn:2", "azurelinux:3.0", "ol:5", "ol:6", "photon:4.0",
                          "rhel:6", "rhel:7", "rhel:8", "rhel:9", "sles:15", "sles:15.1"));
  auto kernel = (*db)->Lookup("rhel:8", "linux-firmware");
  ASSERT_TRUE(kernel.ok());
  ASSERT_EQ(kernel->size(), 1u);
  EXPECT_EQ((*kernel)[0].status, Status::kWillNotFix);
  auto deferred = (*db)->Lookup("rhel:8", "kernel-rt");
  ASSERT_TRUE(deferred.ok());
  ASSERT_EQ(deferred->size(), 1u);
  EXPECT_EQ((*deferred)[0].status, Status::kFixDeferred);
  auto not_affected = (*db)->Lookup("sles:15", "python3-cryptography");
  ASSERT_TRUE(not_affected.ok());
  ASSERT_EQ(not_affected->size(), 1u);
  EXPECT_EQ((*not_affected)[0].status, Status::kNotAffected);
  std::vector<std::string> sources;
  for (const auto& s : (*db)->metadata().sources) sources.push_back(s.name);
  EXPECT_THAT(sources,
              ElementsAre("alpine:3.15/main", "amazon-alas:amazon__input_2_html_ALAS-2018-939",
                          "oval:mariner__azure-linux-truncated-3.0-oval.xml",
                          "oval:oracle-elsa-vunnel-mock.xml", "oval:sles__suse_truncated.xml",
                          "photon:cve_data_photon4.0", "redhat-csaf"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moat::vulndb
