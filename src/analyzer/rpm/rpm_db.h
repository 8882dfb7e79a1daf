#pragma once
// Internals of the rpm analyzer, exposed for its tests and fuzz targets: the RPM header blob
// decoder and readers for the three rpm database formats (SQLite, Berkeley DB hash, NDB).
// Every reader only yields the stored header blobs; decoding them is DecodeRpmHeader's job.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/package.h"
#include "core/result.h"

namespace moat::rpm {

/// The header tags the inventory needs (values from rpm's rpmtag.h).
enum RpmTag : uint32_t {
  kTagHeaderImage = 61,
  kTagHeaderSignatures = 62,
  kTagHeaderImmutable = 63,
  kTagName = 1000,
  kTagVersion = 1001,
  kTagRelease = 1002,
  kTagEpoch = 1003,
  kTagVendor = 1011,
  kTagLicense = 1014,
  kTagArch = 1022,
  kTagSourceRpm = 1044,
  kTagModularityLabel = 5096,
};

/// The fields of one installed package's header. Strings are empty when the tag is absent.
struct RpmHeaderFields {
  std::string name;
  std::string version;
  std::string release;
  std::optional<uint32_t> epoch;
  std::string arch;
  std::string source_rpm;
  std::string license;
  std::string vendor;
  std::string modularity_label;
};

/// Decodes a header blob as rpm stores it in its databases (no lead, no 8-byte magic): index
/// count and data length (big-endian), the index entries, then the data store. Every offset and
/// count is checked; errors name the offset inside the blob.
Result<RpmHeaderFields> DecodeRpmHeader(ByteSpan blob);

/// One header blob found in a database.
struct RpmDbRecord {
  /// How the database names the record: "hnum 12", "key 12", "pkgidx 12".
  std::string id;
  /// Offset of the blob in the database file, when the format lets us know it.
  std::optional<uint64_t> file_offset;
  /// Valid only during the visitor call.
  ByteSpan blob;
};

using RpmRecordVisitor = std::function<Result<void>(const RpmDbRecord&)>;

enum class RpmDbFormat { kSqlite, kBerkeleyDb, kNdb };

/// Detects the database format from its magic bytes (never from the file name).
std::optional<RpmDbFormat> DetectRpmDbFormat(ByteSpan content);

/// Each reader walks every stored package header of one database file. Errors name the place
/// in the file (page, slot, offset) but not the file itself; the caller adds that.
Result<void> ReadSqliteRpmDb(ByteSpan content, const RpmRecordVisitor& visit);
Result<void> ReadBerkeleyDbHash(ByteSpan content, const RpmRecordVisitor& visit);
Result<void> ReadNdbRpmDb(ByteSpan content, const RpmRecordVisitor& visit);

/// Splits a source RPM file name "bash-5.1.8-6.el9.src.rpm" into name, version and release.
/// Returns nullopt when the name does not have that shape.
struct SourceRpmName {
  std::string name;
  std::string version;
  std::string release;
};
std::optional<SourceRpmName> ParseSourceRpmName(std::string_view file_name);

/// Parses a whole rpm database file (format detected by content) into packages whose file_path
/// is "/" + path. Errors name the file, the package record and the offset.
Result<std::vector<Package>> ParseRpmDatabase(std::string_view path, ByteSpan content);

}  // namespace moat::rpm
