#include "report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "purl/purl.h"
#include "report/spdx_licenses.h"
#include "schema_validation.h"

namespace moat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kLayer1[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr char kLayer2[] =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

Package MakePackage(PackageType type, std::string name, std::string version) {
  Package p;
  p.type = type;
  p.name = std::move(name);
  p.version = std::move(version);
  p.layer_diff_id = kLayer1;
  p.layer_created_by = "/bin/sh -c apt-get install -y curl";
  return p;
}

// A mixed inventory: every package type, a deb with a source package, an rpm with an epoch,
// licenses that are SPDX ids, SPDX expressions and free text, and the same purl found twice.
Inventory SampleInventory() {
  Inventory inv;
  inv.artifact.name = "registry.example:5000/team/app:1.0";
  inv.artifact.type = "container_image";
  inv.artifact.image_id = "sha256:abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";
  inv.artifact.repo_tags = {"registry.example:5000/team/app:1.0"};
  inv.artifact.repo_digests = {
      "registry.example:5000/team/app@sha256:"
      "0123456789012345678901234567890123456789012345678901234567890123"};
  inv.artifact.os = "linux";
  inv.artifact.architecture = "amd64";
  inv.artifact.layers = {{kLayer1, "", "ADD rootfs /", 1000}, {kLayer2, "", "RUN pip", 2000}};
  inv.os = {"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};

  Package libssl = MakePackage(PackageType::kDeb, "libssl3", "3.0.11-1~deb12u2");
  libssl.arch = "amd64";
  libssl.source_name = "openssl";
  libssl.source_version = "3.0.11-1~deb12u2";
  libssl.maintainer = "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>";
  libssl.file_path = "/var/lib/dpkg/status";
  Package curl = MakePackage(PackageType::kDeb, "curl", "7.88.1-10+deb12u5");
  curl.arch = "amd64";
  curl.licenses = {"curl"};
  curl.file_path = "/var/lib/dpkg/status";

  Package bash = MakePackage(PackageType::kRpm, "bash", "5.1.8");
  bash.epoch = "1";
  bash.release = "6.el9";
  bash.arch = "x86_64";
  bash.source_name = "bash";
  bash.licenses = {"GPLv3+"};  // Fedora short name, not SPDX
  bash.file_path = "/var/lib/rpm/rpmdb.sqlite";

  Package musl = MakePackage(PackageType::kApk, "musl", "1.2.4-r2");
  musl.arch = "x86_64";
  musl.licenses = {"mit AND BSD-2-Clause"};  // lower-case id: canonicalized
  musl.file_path = "/lib/apk/db/installed";

  Package requests = MakePackage(PackageType::kPypi, "Requests_OAuthlib", "1.3.1");
  requests.licenses = {"ISC", "BSD License"};
  requests.file_path = "/usr/lib/python3/dist-packages/requests_oauthlib-1.3.1.dist-info/METADATA";
  requests.layer_diff_id = kLayer2;
  // The same distribution installed twice (two site-packages): same purl, two packages.
  Package requests2 = requests;
  requests2.file_path =
      "/opt/venv/lib/python3.11/site-packages/"
      "requests_oauthlib-1.3.1.dist-info/METADATA";

  Package types_node = MakePackage(PackageType::kNpm, "@types/node", "20.11.5");
  types_node.licenses = {"MIT"};
  types_node.file_path = "/app/node_modules/@types/node/package.json";

  Package distribution = MakePackage(PackageType::kGolang,
                                     "github.com/distribution/distribution/v3", "v3.0.0-alpha.1");
  distribution.go_version = "go1.21.5";
  distribution.main_module = true;
  distribution.file_path = "/usr/bin/registry";
  Package x_net = MakePackage(PackageType::kGolang, "golang.org/x/net", "v0.19.0");
  x_net.file_path = "/usr/bin/registry";

  Package log4j = MakePackage(PackageType::kMaven, "org.apache.logging.log4j:log4j-core", "2.14.1");
  log4j.licenses = {"Apache-2.0"};
  log4j.file_path = "/app/lib/log4j-core-2.14.1.jar";

  // Deliberately unsorted: the report orders packages itself.
  inv.packages = {log4j, requests,   curl,   musl,         x_net,
                  bash,  types_node, libssl, distribution, requests2};
  inv.warnings = {"z: second warning", "/usr/lib/python3/x.dist-info/METADATA: no Name"};
  return inv;
}

ReportContext FixedContext() { return {"0.1.0-test", "2024-05-01T12:00:00Z"}; }

std::string Render(const Inventory& inv, std::string_view format,
                   const ReportContext& context = FixedContext()) {
  auto out = RenderInventory(inv, format, context);
  EXPECT_TRUE(out.ok()) << format << ": " << (out.ok() ? "" : out.error().message);
  return out.ok() ? *out : std::string();
}

void ExpectValid(const std::string& kind, const std::string& doc) {
  auto [code, log] = ValidateWithSchema(kind, doc);
  EXPECT_EQ(code, 0) << log;
}

std::set<std::string> ExpectedPurls(const Inventory& inv) {
  std::set<std::string> purls;
  for (const auto& p : inv.packages) purls.insert(PurlForPackage(p, inv.os));
  return purls;
}

TEST(RenderInventory, UnknownFormatIsAnError) {
  auto out = RenderInventory(SampleInventory(), "xml", FixedContext());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("xml"), std::string::npos);
}

TEST(RenderInventory, MoatJson) {
  const Inventory inv = SampleInventory();
  const std::string text = Render(inv, "json");
  const json doc = json::parse(text);
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["tool"]["name"], "moat");
  EXPECT_EQ(doc["tool"]["version"], "0.1.0-test");
  EXPECT_EQ(doc["created"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(doc["artifact"]["name"], inv.artifact.name);
  EXPECT_EQ(doc["artifact"]["layers"].size(), 2u);
  EXPECT_EQ(doc["os"]["family"], "debian");
  ASSERT_EQ(doc["packages"].size(), inv.packages.size());
  // Canonical order: by type (deb, rpm, apk, pypi, npm, golang, maven), then name.
  std::vector<std::string> order;
  for (const auto& p : doc["packages"])
    order.push_back(p["type"].get<std::string>() + "/" + p["name"].get<std::string>());
  EXPECT_EQ(order.front(), "deb/curl");
  EXPECT_EQ(order[1], "deb/libssl3");
  EXPECT_EQ(order.back(), "maven/org.apache.logging.log4j:log4j-core");
  std::set<std::string> purls;
  for (const auto& p : doc["packages"]) {
    auto parsed = PackageUrl::Parse(p["purl"].get<std::string>());
    EXPECT_TRUE(parsed.ok()) << p["purl"];
    purls.insert(p["purl"]);
  }
  EXPECT_EQ(purls, ExpectedPurls(inv));
  EXPECT_TRUE(purls.count("pkg:rpm/debian/bash@5.1.8-6.el9?arch=x86_64&distro=debian-12&epoch=1"));
  EXPECT_EQ(doc["warnings"][0], "/usr/lib/python3/x.dist-info/METADATA: no Name");
  // Two-space indentation, trailing newline, and reproducible.
  EXPECT_EQ(text.substr(0, 4), "{\n  ");
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text, Render(inv, "json"));
  // A package that already has a purl keeps it.
  Inventory with_purl = inv;
  with_purl.packages.resize(1);
  with_purl.packages[0].purl = "pkg:maven/x/y@1";
  EXPECT_EQ(json::parse(Render(with_purl, "json"))["packages"][0]["purl"], "pkg:maven/x/y@1");
}

TEST(RenderInventory, Table) {
  const Inventory inv = SampleInventory();
  const std::string text = Render(inv, "table");
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  ASSERT_GT(lines.size(), inv.packages.size() + 3);
  EXPECT_NE(lines[0].find(inv.artifact.name), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("Debian GNU/Linux 12 (bookworm)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("abcdefabcdef"), std::string::npos) << lines[0];
  const std::string& header = lines[2];
  for (const char* column : {"NAME", "VERSION", "TYPE", "ARCH", "SOURCE", "LAYER", "PATH"}) {
    EXPECT_NE(header.find(column), std::string::npos) << column << " in " << header;
  }
  // Every package row has its cells aligned under the header's columns.
  const size_t version_col = header.find("VERSION");
  const size_t layer_col = header.find("LAYER");
  int rows = 0;
  for (size_t i = 3; i < lines.size() && !lines[i].starts_with("Total:"); ++i) {
    if (lines[i].empty()) continue;
    ++rows;
    EXPECT_EQ(lines[i][version_col - 1], ' ') << lines[i];
    EXPECT_NE(lines[i][version_col], ' ') << lines[i];
    EXPECT_TRUE(lines[i].substr(layer_col, 12) == "111111111111" ||
                lines[i].substr(layer_col, 12) == "222222222222")
        << lines[i];
  }
  EXPECT_EQ(rows, static_cast<int>(inv.packages.size()));
  EXPECT_NE(text.find("Total: 10 packages (apk 1, deb 2, golang 2, maven 1, npm 1, pypi 2, rpm 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1:5.1.8-6.el9"), std::string::npos);  // rpm display version
  EXPECT_NE(text.find("Warnings:"), std::string::npos);
  // Columns no package fills are left out.
  Inventory bare;
  bare.packages = {MakePackage(PackageType::kNpm, "left-pad", "1.3.0")};
  bare.packages[0].layer_diff_id.clear();
  const std::string bare_text = Render(bare, "table");
  EXPECT_EQ(bare_text.find("ARCH"), std::string::npos) << bare_text;
  EXPECT_NE(bare_text.find("OS: unknown"), std::string::npos) << bare_text;
}

TEST(RenderInventory, CycloneDxValidatesAndDescribesTheInventory) {
  const Inventory inv = SampleInventory();
  const std::string text = Render(inv, "cyclonedx");
  ExpectValid("cyclonedx-1.6", text);
  const json bom = json::parse(text);
  EXPECT_EQ(bom["bomFormat"], "CycloneDX");
  EXPECT_EQ(bom["specVersion"], "1.6");
  EXPECT_EQ(bom["version"], 1);
  EXPECT_EQ(bom["metadata"]["timestamp"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(bom["metadata"]["tools"]["components"][0]["name"], "moat");
  const json& image = bom["metadata"]["component"];
  EXPECT_EQ(image["type"], "container");
  EXPECT_EQ(image["name"], inv.artifact.name);
  EXPECT_EQ(image["purl"],
            "pkg:oci/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
            "?arch=amd64&repository_url=registry.example:5000%2Fteam%2Fapp");
  EXPECT_TRUE(PackageUrl::Parse(image["purl"].get<std::string>()).ok());

  // One component for the OS plus one per package; bom-refs unique.
  ASSERT_EQ(bom["components"].size(), inv.packages.size() + 1);
  std::set<std::string> refs;
  std::map<std::string, std::string> ref_to_purl;
  std::set<std::string> purls;
  std::string os_ref;
  for (const auto& c : bom["components"]) {
    EXPECT_TRUE(refs.insert(c["bom-ref"].get<std::string>()).second) << c["bom-ref"];
    if (c["type"] == "operating-system") {
      os_ref = c["bom-ref"];
      EXPECT_EQ(c["name"], "debian");
      EXPECT_EQ(c["version"], "12");
      continue;
    }
    auto parsed = PackageUrl::Parse(c["purl"].get<std::string>());
    EXPECT_TRUE(parsed.ok()) << c["purl"];
    purls.insert(c["purl"]);
    ref_to_purl[c["bom-ref"]] = c["purl"];
  }
  EXPECT_EQ(purls, ExpectedPurls(inv));
  EXPECT_EQ(purls.size(), inv.packages.size() - 1);  // the pypi package found twice
  ASSERT_FALSE(os_ref.empty());

  // Licenses: SPDX ids as id, anything else as name.
  for (const auto& c : bom["components"]) {
    if (c["name"] == "log4j-core") {
      EXPECT_EQ(c["group"], "org.apache.logging.log4j");
      EXPECT_EQ(c["licenses"][0]["license"]["id"], "Apache-2.0");
    }
    if (c["name"] == "bash") {
      EXPECT_EQ(c["version"], "1:5.1.8-6.el9");
      EXPECT_EQ(c["licenses"][0]["license"]["name"], "GPLv3+");
    }
    if (c["name"] == "curl") {
      EXPECT_EQ(c["licenses"][0]["license"]["id"], "curl");
    }
  }

  // Dependencies: image -> OS + language packages; OS -> OS packages.
  std::map<std::string, std::set<std::string>> depends;
  for (const auto& d : bom["dependencies"]) {
    auto& set = depends[d["ref"]];
    for (const auto& r : d["dependsOn"]) set.insert(r);
  }
  const std::string image_ref = image["bom-ref"];
  ASSERT_TRUE(depends.count(image_ref));
  EXPECT_TRUE(depends[image_ref].count(os_ref));
  EXPECT_EQ(depends[image_ref].size(), 1 + 6u);  // OS + 6 language packages
  EXPECT_EQ(depends[os_ref].size(), 4u);         // 2 deb, 1 rpm, 1 apk
  for (const auto& ref : depends[os_ref]) {
    const std::string type = PackageUrl::Parse(ref_to_purl[ref])->type;
    EXPECT_TRUE(type == "deb" || type == "rpm" || type == "apk") << ref;
  }

  // Reproducible for a fixed timestamp; a new timestamp gives a new serial number.
  EXPECT_EQ(text, Render(inv, "cyclonedx"));
  const json later = json::parse(Render(inv, "cyclonedx", {"0.1.0-test", "2024-05-02T00:00:00Z"}));
  EXPECT_NE(later["serialNumber"], bom["serialNumber"]);
}

TEST(RenderInventory, SpdxValidatesAndDescribesTheInventory) {
  const Inventory inv = SampleInventory();
  const std::string text = Render(inv, "spdx-json");
  ExpectValid("spdx-2.3", text);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["dataLicense"], "CC0-1.0");
  EXPECT_EQ(doc["SPDXID"], "SPDXRef-DOCUMENT");
  EXPECT_EQ(doc["creationInfo"]["created"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(doc["creationInfo"]["creators"][0], "Tool: moat-0.1.0-test");
  const std::string ns = doc["documentNamespace"];
  EXPECT_TRUE(ns.starts_with("https://")) << ns;
  EXPECT_EQ(ns.find('#'), std::string::npos);

  ASSERT_EQ(doc["packages"].size(), inv.packages.size() + 2);  // + image + OS
  std::map<std::string, json> by_id;
  std::set<std::string> purls;
  std::string image_id;
  std::string os_id;
  for (const auto& p : doc["packages"]) {
    EXPECT_TRUE(by_id.emplace(p["SPDXID"], p).second) << p["SPDXID"];
    EXPECT_EQ(p["downloadLocation"], "NOASSERTION");
    EXPECT_EQ(p["filesAnalyzed"], false);
    if (p["primaryPackagePurpose"] == "CONTAINER") image_id = p["SPDXID"];
    if (p["primaryPackagePurpose"] == "OPERATING_SYSTEM") os_id = p["SPDXID"];
    if (!p.contains("externalRefs")) continue;
    for (const auto& ref : p["externalRefs"]) {
      EXPECT_EQ(ref["referenceCategory"], "PACKAGE-MANAGER");
      EXPECT_EQ(ref["referenceType"], "purl");
      auto parsed = PackageUrl::Parse(ref["referenceLocator"].get<std::string>());
      EXPECT_TRUE(parsed.ok()) << ref["referenceLocator"];
      if (parsed.ok() && parsed->type != "oci") purls.insert(ref["referenceLocator"]);
    }
  }
  EXPECT_EQ(purls, ExpectedPurls(inv));
  ASSERT_FALSE(image_id.empty());
  ASSERT_FALSE(os_id.empty());

  // Relationships: DOCUMENT DESCRIBES image; image CONTAINS OS and language packages; OS
  // CONTAINS the OS packages. Every package is reached exactly once.
  std::map<std::string, std::vector<std::string>> contains;
  int describes = 0;
  for (const auto& r : doc["relationships"]) {
    if (r["relationshipType"] == "DESCRIBES") {
      EXPECT_EQ(r["spdxElementId"], "SPDXRef-DOCUMENT");
      EXPECT_EQ(r["relatedSpdxElement"], image_id);
      ++describes;
    } else {
      EXPECT_EQ(r["relationshipType"], "CONTAINS");
      contains[r["spdxElementId"]].push_back(r["relatedSpdxElement"]);
    }
  }
  EXPECT_EQ(describes, 1);
  EXPECT_EQ(contains[image_id].size(), 1 + 6u);
  EXPECT_EQ(contains[os_id].size(), 4u);

  // Licenses: SPDX expressions canonicalized, free text as declared LicenseRefs.
  std::set<std::string> declared_refs;
  for (const auto& info : doc["hasExtractedLicensingInfos"]) {
    declared_refs.insert(info["licenseId"]);
    EXPECT_FALSE(info["extractedText"].get<std::string>().empty());
  }
  std::map<std::string, std::string> license_by_name;
  for (const auto& [id, p] : by_id) {
    const std::string declared = p["licenseDeclared"];
    license_by_name[p["name"]] = declared;
    std::stringstream words(declared);
    for (std::string word; words >> word;) {
      while (!word.empty() && (word.front() == '(')) word.erase(0, 1);
      while (!word.empty() && (word.back() == ')')) word.pop_back();
      if (word.starts_with("LicenseRef-")) {
        EXPECT_TRUE(declared_refs.count(word)) << word << " is not declared";
      }
    }
  }
  EXPECT_EQ(license_by_name["musl"], "MIT AND BSD-2-Clause");
  EXPECT_EQ(license_by_name["bash"], "LicenseRef-GPLv3-");
  EXPECT_EQ(license_by_name["Requests_OAuthlib"], "ISC AND LicenseRef-BSD-License");
  EXPECT_EQ(license_by_name["libssl3"], "NOASSERTION");
  EXPECT_EQ(declared_refs.size(), 2u);

  EXPECT_EQ(text, Render(inv, "spdx-json"));
}

TEST(RenderInventory, EmptyInventoryRendersValidDocuments) {
  Inventory empty;
  ExpectValid("cyclonedx-1.6", Render(empty, "cyclonedx"));
  ExpectValid("spdx-2.3", Render(empty, "spdx-json"));
  const json doc = json::parse(Render(empty, "json"));
  EXPECT_TRUE(doc["packages"].empty());
  EXPECT_TRUE(doc["warnings"].is_array());
  EXPECT_NE(Render(empty, "table").find("No packages found."), std::string::npos);
  // No timestamp given: the current time is used, in RFC 3339 UTC.
  const json bom = json::parse(Render(empty, "cyclonedx", {"1.0", ""}));
  const std::string ts = bom["metadata"]["timestamp"];
  EXPECT_EQ(ts.size(), 20u) << ts;
  EXPECT_EQ(ts.back(), 'Z');
}

// Package metadata comes from untrusted files: odd bytes must not break any writer.
TEST(RenderInventory, HostileMetadataStillRendersValidDocuments) {
  Inventory inv;
  inv.artifact.name = "we\"ird/na me:\x01tag";
  inv.os.family = "debian";
  Package p = MakePackage(PackageType::kDeb, "bad\xff\xfename", "1.0\n-1");
  p.licenses = {"(MIT", "GPL-2.0 WITH Classpath-exception-2.0", "", "((((", "\xc3\x28"};
  p.source_name = "src\tname";
  inv.packages = {p, p};  // exact duplicates
  inv.warnings = {"bad \xff byte"};
  for (const char* format : {"table", "json", "cyclonedx", "spdx-json"}) {
    EXPECT_FALSE(Render(inv, format).empty()) << format;
  }
  const std::string bom = Render(inv, "cyclonedx");
  ExpectValid("cyclonedx-1.6", bom);
  const std::string spdx = Render(inv, "spdx-json");
  ExpectValid("spdx-2.3", spdx);
  const json spdx_doc = json::parse(spdx);
  EXPECT_EQ(spdx_doc["packages"].size(), 4u);
  EXPECT_NE(spdx_doc["packages"][2]["SPDXID"], spdx_doc["packages"][3]["SPDXID"]);
  const std::string table = Render(inv, "table");
  EXPECT_EQ(table.find('\x01'), std::string::npos);
}

TEST(RenderInventory, ValidatorRejectsBrokenDocuments) {
  // The validator is the oracle of the tests above; it must be able to say no.
  json bom = json::parse(Render(SampleInventory(), "cyclonedx"));
  bom["components"][1]["type"] = "not-a-type";
  EXPECT_EQ(ValidateWithSchema("cyclonedx-1.6", bom.dump()).first, 1);
  json spdx = json::parse(Render(SampleInventory(), "spdx-json"));
  spdx["packages"][0].erase("SPDXID");
  EXPECT_EQ(ValidateWithSchema("spdx-2.3", spdx.dump()).first, 1);
  EXPECT_EQ(ValidateWithSchema("spdx-2.3", "{not json").first, 1);
}

TEST(SpdxLicenseExpression, CanonicalizesValidExpressions) {
  EXPECT_EQ(*CanonicalSpdxExpression("mit"), "MIT");
  EXPECT_EQ(*CanonicalSpdxExpression("GPL-2.0-or-later OR (mit and bsd-3-clause)"),
            "GPL-2.0-or-later OR (MIT AND BSD-3-Clause)");
  EXPECT_EQ(*CanonicalSpdxExpression("GPL-2.0+ WITH classpath-exception-2.0"),
            "GPL-2.0+ WITH Classpath-exception-2.0");
  EXPECT_EQ(*CanonicalSpdxExpression("Apache-2.0"), "Apache-2.0");
}

TEST(SpdxLicenseExpression, RejectsNonSpdxText) {
  for (const char* text : {"", "GPLv2+", "BSD License", "MIT AND", "(MIT", "MIT)", "AND MIT",
                           "MIT WITH MIT", "LicenseRef-foo", "MIT, BSD", "GPL-2.0 WITH",
                           "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                           "((((MIT"}) {
    EXPECT_FALSE(CanonicalSpdxExpression(text).ok()) << text;
  }
}

}  // namespace
}  // namespace moat

namespace moat {
namespace {

// Findings for the sample's first two packages, as the matcher (src/match) makes them.
Inventory WithVulnerabilities() {
  Inventory inv = SampleInventory();
  inv.vulnerability_scan = true;
  for (size_t i = 0; i < 2 && i < inv.packages.size(); ++i) {
    const Package& p = inv.packages[i];
    DetectedVulnerability v;
    v.id = i == 0 ? "CVE-2023-0464" : "CVE-2024-0001";
    v.aliases = {"GHSA-aaaa-bbbb-cccc"};
    v.package_name = p.name;
    v.package_version = p.DisplayVersion();
    v.package_type = std::string(PackageTypeName(p.type));
    v.package_purl = PurlForPackage(p, inv.os);
    v.package_id = v.package_type + "|" + p.name + "|" + p.DisplayVersion() + "|" + p.arch + "|" +
                   p.file_path + "|" + p.layer_diff_id;
    v.installed_version = p.version;
    v.fixed_versions = {"9.9.9-1"};
    v.status = "fixed";
    v.severity = i == 0 ? "high" : "medium";
    v.severity_source = "nvd";
    v.cvss = {CvssRating{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "nvd"}};
    v.title = "Excessive resource use verifying X.509 policy constraints";
    v.description = "A security vulnerability has been identified...";
    v.references = {"https://www.openssl.org/news/secadv/20230322.txt"};
    v.cwes = {"CWE-295"};
    v.primary_url = "https://nvd.nist.gov/vuln/detail/" + v.id;
    v.file_path = p.file_path;
    if (i == 1) {
      v.suppression = Suppression{"vex", "not_affected", "vulnerable_code_not_in_execute_path",
                                  "not reachable", "app.openvex.json"};
      inv.suppressed_vulnerabilities.push_back(v);
    } else {
      inv.vulnerabilities.push_back(v);
    }
  }
  return inv;
}

TEST(RenderVulnerabilities, SarifValidates) {
  auto out = RenderInventory(WithVulnerabilities(), "sarif", FixedContext());
  ASSERT_TRUE(out.ok()) << out.error().message;
  ExpectValid("sarif", *out);
  auto doc = nlohmann::json::parse(*out);
  const auto& run = doc["runs"][0];
  ASSERT_EQ(run["results"].size(), 1u);  // suppressed findings are not alerts
  EXPECT_EQ(run["tool"]["driver"]["rules"][0]["id"], "CVE-2023-0464");
  EXPECT_EQ(run["tool"]["driver"]["rules"][0]["properties"]["security-severity"], "7.5");
  EXPECT_EQ(run["results"][0]["level"], "error");
  // Stable across runs at another time.
  ReportContext later = FixedContext();
  later.timestamp = "2030-01-01T00:00:00Z";
  auto again = nlohmann::json::parse(*RenderInventory(WithVulnerabilities(), "sarif", later));
  EXPECT_EQ(again["runs"][0]["results"][0]["partialFingerprints"],
            run["results"][0]["partialFingerprints"]);
}

TEST(RenderVulnerabilities, CycloneDxValidatesWithVulnerabilities) {
  auto out = RenderInventory(WithVulnerabilities(), "cyclonedx", FixedContext());
  ASSERT_TRUE(out.ok()) << out.error().message;
  ExpectValid("cyclonedx-1.6", *out);
  auto doc = nlohmann::json::parse(*out);
  ASSERT_EQ(doc["vulnerabilities"].size(), 2u);
  std::set<std::string> refs;
  for (const auto& c : doc["components"]) refs.insert(c["bom-ref"].get<std::string>());
  for (const auto& v : doc["vulnerabilities"]) {
    EXPECT_TRUE(refs.count(v["affects"][0]["ref"].get<std::string>())) << v.dump();
  }
  EXPECT_EQ(doc["vulnerabilities"][1]["analysis"]["state"], "not_affected");
  EXPECT_EQ(doc["vulnerabilities"][1]["analysis"]["justification"], "code_not_reachable");
}

TEST(RenderVulnerabilities, JsonAndTable) {
  auto json_text = RenderInventory(WithVulnerabilities(), "json", FixedContext());
  ASSERT_TRUE(json_text.ok());
  auto doc = nlohmann::json::parse(*json_text);
  ASSERT_EQ(doc["vulnerabilities"].size(), 1u);
  EXPECT_EQ(doc["vulnerabilities"][0]["fixed_versions"][0], "9.9.9-1");
  EXPECT_EQ(doc["suppressed_vulnerabilities"][0]["suppression"]["justification"],
            "vulnerable_code_not_in_execute_path");
  // Inventory-only output keeps its keys.
  auto plain = nlohmann::json::parse(*RenderInventory(SampleInventory(), "json", FixedContext()));
  EXPECT_FALSE(plain.contains("vulnerabilities"));
  auto table = RenderInventory(WithVulnerabilities(), "table", FixedContext());
  ASSERT_TRUE(table.ok());
  EXPECT_NE(table->find("CVE-2023-0464"), std::string::npos);
  EXPECT_NE(table->find("HIGH: 1"), std::string::npos);
  EXPECT_NE(table->find("Suppressed (VEX or ignore file): 1"), std::string::npos);
  // SPDX is unchanged by findings.
  auto spdx_a = RenderInventory(WithVulnerabilities(), "spdx-json", FixedContext());
  auto spdx_b = RenderInventory(SampleInventory(), "spdx-json", FixedContext());
  ASSERT_TRUE(spdx_a.ok() && spdx_b.ok());
  ExpectValid("spdx-2.3", *spdx_a);
}

// What the scan could not assess reaches every format, in the place each has for it, and every
// document still validates against its official schema.
TEST(RenderVulnerabilities, AssessmentGapsInEveryFormat) {
  Inventory inv = WithVulnerabilities();
  inv.assessment_gaps = {
      {AssessmentGap::Kind::kPartial,
       "/var/lib/dpkg/status",
       "dpkg",
       {"line 12: expected \"Field: value\"; stanza at lines 10-15 (package \"x\") skipped"},
       41},
      {AssessmentGap::Kind::kNoVulnerabilityData,
       "Debian GNU/Linux 13 (trixie)",
       "vulnerability database",
       {"the vulnerability database has no records for namespace \"debian:13\""},
       42}};
  for (Package& p : inv.packages) {
    if (p.type == PackageType::kPypi) p.owned_by = "python3-requests";
  }

  const json doc = json::parse(Render(inv, "json"));
  ASSERT_EQ(doc["assessment_gaps"].size(), 2u);
  EXPECT_EQ(doc["assessment_gaps"][0]["kind"], "partial");
  EXPECT_EQ(doc["assessment_gaps"][0]["subject"], "/var/lib/dpkg/status");
  EXPECT_EQ(doc["assessment_gaps"][0]["packages"], 41);
  EXPECT_EQ(doc["assessment_gaps"][1]["kind"], "no_vulnerability_data");
  size_t owned = 0;
  for (const auto& p : doc["packages"]) owned += p.value("owned_by", "") == "python3-requests";
  EXPECT_GT(owned, 0u);

  const std::string table = Render(inv, "table");
  EXPECT_EQ(table.find("INCOMPLETE ASSESSMENT"), table.find('\n') + 2) << table;
  EXPECT_NE(table.find("line 12: expected"), std::string::npos);
  EXPECT_NE(table.find("NOT ASSESSED"), std::string::npos);
  // On an 80-column terminal the notice wraps like the rest of the table.
  ReportContext narrow = FixedContext();
  narrow.table_width = 80;
  const std::string narrow_table = Render(inv, "table", narrow);
  const size_t notice_at = narrow_table.find("INCOMPLETE ASSESSMENT");
  ASSERT_NE(notice_at, std::string::npos) << narrow_table;
  const std::string notice =
      narrow_table.substr(notice_at, narrow_table.find("\n\n", notice_at) + 1 - notice_at);
  size_t start = 0;
  for (size_t end; (end = notice.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 80u) << notice.substr(start, end - start);
  }
  EXPECT_NE(narrow_table.find("stanza at lines 10-15"), std::string::npos) << narrow_table;

  const std::string sarif = Render(inv, "sarif");
  ExpectValid("sarif-2.1.0", sarif);
  const json invocation = json::parse(sarif)["runs"][0]["invocations"][0];
  EXPECT_EQ(invocation["executionSuccessful"], false);
  ASSERT_EQ(invocation["toolExecutionNotifications"].size(), 2u);
  EXPECT_EQ(invocation["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
                      ["artifactLocation"]["uri"],
            "var/lib/dpkg/status");

  const std::string cyclonedx = Render(inv, "cyclonedx");
  ExpectValid("cyclonedx-1.6", cyclonedx);
  EXPECT_EQ(json::parse(cyclonedx)["metadata"]["properties"].size(), 2u);

  const std::string spdx = Render(inv, "spdx-json");
  ExpectValid("spdx-2.3", spdx);
  EXPECT_NE(json::parse(spdx)["comment"].get<std::string>().find("debian:13"), std::string::npos);

  // A complete assessment says so too.
  const json complete = json::parse(Render(WithVulnerabilities(), "sarif"));
  EXPECT_EQ(complete["runs"][0]["invocations"][0]["executionSuccessful"], true);
  EXPECT_TRUE(json::parse(Render(WithVulnerabilities(), "json"))["assessment_gaps"].empty());
}

}  // namespace
}  // namespace moat
