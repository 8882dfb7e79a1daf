#pragma once
// Private: the compact binary encoding of records stored in the database's BLOB columns
// (length-prefixed strings, varints, optional zstd), and the schema constants.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb::codec {

/// Bumped whenever the schema or a BLOB encoding changes incompatibly.
// 2: Status values not_affected and fix_deferred (a version-1 reader would call them corrupt).
constexpr int kSchemaVersion = 2;
/// PRAGMA application_id of Moat databases ("MOAT").
constexpr int32_t kApplicationId = 0x4d4f4154;

/// Ranges and versions of one AffectedPackage.
std::string EncodeAffected(const AffectedPackage& record);
bool DecodeAffected(std::string_view blob, AffectedPackage& record);

/// Every field of a Vulnerability but the id; `compress` = false for the builder's scratch copy,
/// which is read back once (compressing it would double the build's zstd work).
std::string EncodeVulnerability(const Vulnerability& vuln, bool compress = true);
bool DecodeVulnerability(std::string_view blob, Vulnerability& vuln);

/// A "file:...?immutable=1" URI for sqlite3_open_v2/ATTACH: database files are replaced by
/// rename, never written in place, so readers take no locks and make no change checks.
std::string ImmutableUri(const std::string& path);

}  // namespace moat::vulndb::codec
