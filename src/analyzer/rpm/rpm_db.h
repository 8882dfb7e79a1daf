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

#include "analyzer/analyzer.h"
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
  kTagOldFileNames = 1027,
  kTagDirIndexes = 1116,
  kTagBaseNames = 1117,
  kTagDirNames = 1118,
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
  /// The package's files, absolute ("/usr/bin/bash"), as `rpm -ql` lists them.
  std::vector<std::string> files;
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

/// What a database reader hands its findings to.
class RpmRecordSink {
 public:
  virtual ~RpmRecordSink() = default;
  virtual void OnRecord(const RpmDbRecord& record) = 0;
  /// A damaged part (record, page, slot) the reader skipped to go on with the rest, with its
  /// place: "page 3 (offset 12288): hash item 4 ...".
  virtual void OnDamage(std::string message) = 0;
};

/// Hands a record a reader extracted to the sink, or, when it could not be extracted, its damage.
void DeliverRecord(Result<RpmDbRecord> record, RpmRecordSink& sink);

enum class RpmDbFormat { kSqlite, kBerkeleyDb, kNdb };

/// Detects the database format from its magic bytes (never from the file name).
std::optional<RpmDbFormat> DetectRpmDbFormat(ByteSpan content);

/// Each reader walks every stored package header of one database file, skipping (and reporting
/// to the sink) damaged records it can step over. An Error means the walk could not go on (bad
/// magic or metadata, a corrupt SQLite b-tree); records delivered before it stand. Messages name
/// the place in the file (page, slot, offset) but not the file itself; the caller adds that.
Result<void> ReadSqliteRpmDb(ByteSpan content, RpmRecordSink& sink);
Result<void> ReadBerkeleyDbHash(ByteSpan content, RpmRecordSink& sink);
Result<void> ReadNdbRpmDb(ByteSpan content, RpmRecordSink& sink);

/// Splits a source RPM file name "bash-5.1.8-6.el9.src.rpm" into name, version and release.
/// Returns nullopt when the name does not have that shape.
struct SourceRpmName {
  std::string name;
  std::string version;
  std::string release;
};
std::optional<SourceRpmName> ParseSourceRpmName(std::string_view file_name);

/// Parses a whole rpm database file (format detected by content) into packages whose file_path
/// is "/" + path, with their file lists. Damaged records are skipped and named in `problems`
/// (record id and offset); an Error, naming the file, when not one package could be read.
Result<AnalysisResult> ParseRpmDatabase(std::string_view path, ByteSpan content);

}  // namespace moat::rpm
