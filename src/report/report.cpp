#include "report/report.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/sha256.h"
#include "core/text_format.h"
#include "purl/purl.h"
#include "report/render.h"

namespace moat {
namespace report {

PreparedInventory Prepare(const Inventory& inventory, const ReportContext& context) {
  PreparedInventory prepared{inventory, context};
  if (prepared.context.timestamp.empty()) prepared.context.timestamp = NowRfc3339Utc();
  SortPackages(prepared.inventory.packages);
  for (Package& package : prepared.inventory.packages) {
    if (package.purl.empty()) package.purl = PurlForPackage(package, prepared.inventory.os);
  }
  std::sort(prepared.inventory.warnings.begin(), prepared.inventory.warnings.end());
  return prepared;
}

std::string DocumentUuid(const PreparedInventory& input) {
  const std::string name = "moat:" + Sha256Hex(AsBytes(RenderMoatJson(input)));
  // RFC 4122 version 5: SHA-1 over the namespace UUID (here the URL namespace) and the name.
  static constexpr std::array<uint8_t, 16> kUrlNamespace = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
                                                            0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                                            0x4f, 0xd4, 0x30, 0xc8};
  std::string material(kUrlNamespace.begin(), kUrlNamespace.end());
  material += name;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest.data());
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::string PackageIdentity(const Package& package) {
  const std::string version = package.DisplayVersion();
  std::string material;
  for (std::string_view field :
       {PackageTypeName(package.type), std::string_view(package.name), std::string_view(version),
        std::string_view(package.arch), std::string_view(package.file_path),
        std::string_view(package.layer_diff_id)}) {
    material += field;
    material.push_back('\0');
  }
  return Sha256Hex(AsBytes(material)).substr(0, 16);
}

std::string ArtifactPurl(const ArtifactInfo& artifact) {
  // Prefer a registry digest ("docker.io/library/debian@sha256:..."): it names the repository.
  std::string repository;
  std::string digest = artifact.manifest_digest;
  if (!artifact.repo_digests.empty()) {
    const std::string& repo_digest = artifact.repo_digests.front();
    if (const size_t at = repo_digest.find('@'); at != std::string::npos) {
      repository = repo_digest.substr(0, at);
      digest = repo_digest.substr(at + 1);
    }
  }
  if (digest.empty()) digest = artifact.image_id;
  if (digest.empty()) return "";
  std::string name = repository.empty() ? artifact.name : repository;
  if (const size_t at = name.find('@'); at != std::string::npos) name.resize(at);
  if (const size_t slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
  if (const size_t colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  if (name.empty()) return "";
  PackageUrl purl;
  purl.type = "oci";
  purl.name = name;
  purl.version = digest;
  if (!artifact.architecture.empty()) purl.qualifiers["arch"] = artifact.architecture;
  if (!repository.empty()) purl.qualifiers["repository_url"] = repository;
  return purl.ToString();
}

}  // namespace report

Result<std::string> RenderInventory(const Inventory& inventory, std::string_view format,
                                    const ReportContext& context) {
  if (format != "table" && format != "json" && format != "cyclonedx" && format != "spdx-json" &&
      format != "sarif") {
    return Fail("unknown report format '", std::string(format),
                "' (expected table, json, sarif, cyclonedx or spdx-json)");
  }
  const report::PreparedInventory prepared = report::Prepare(inventory, context);
  if (format == "table") return report::RenderTable(prepared);
  if (format == "json") return report::RenderMoatJson(prepared);
  if (format == "sarif") return report::RenderSarif(prepared);
  if (format == "cyclonedx") return report::RenderCycloneDx(prepared);
  return report::RenderSpdxJson(prepared);
}

}  // namespace moat
