#pragma once
// Private: reading a large JSON document one record at a time through nlohmann's SAX interface,
// so that a feed of hundreds of megabytes (the Debian tracker, an NVD year file) never sits in
// memory as one document tree (about 12 times its size). Included only by ingest_*.cpp.

#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "vulndb/ingest.h"

namespace moat::vulndb::json_stream {

/// Where a value sits: the object keys and array indices leading to it (empty: the document).
using Path = std::vector<std::string>;

/// What a reader wants of each container it meets.
class Visitor {
 public:
  virtual ~Visitor() = default;
  /// For each object or array outside the values read whole: true = visit its members one by
  /// one, false = read it whole and pass it to Value. An error stops the reading.
  virtual Result<bool> Descend(const Path& path, bool is_array) = 0;
  /// Each value not descended into: a scalar, or a container read whole. An error stops.
  virtual Result<void> Value(const Path& path, nlohmann::json&& value) = 0;
};

/// Reads one JSON document; a syntax error names the input and nlohmann's byte position (as
/// json_util::Parse does), an error of the visitor is returned as it is.
Result<void> Read(std::string_view text, const std::string& name, Visitor& visitor);
Result<void> Read(std::istream& in, const std::string& name, Visitor& visitor);

/// Reads a feed document with a visitor of type V, made as V(name, out), whose Finish() checks
/// what the whole document gave and hands the last records over: from memory (tests, fuzzers)...
template <typename V>
Result<IngestResult> ParseFeed(std::string_view text, const std::string& name) {
  IngestResult out;
  V visitor(name, out);
  MOAT_TRY(Read(text, name, visitor));
  MOAT_TRY(visitor.Finish());
  return out;
}

/// ... or from a file (plain or compressed) as a stream, the records going to `sink` as they come.
template <typename V>
Result<IngestResult> StreamFeedFile(const std::string& path, const RecordSink& sink) {
  IngestResult out;
  out.sink = sink;
  V visitor(path, out);
  MOAT_TRY(ReadFeedStream(path, [&](std::istream& in) { return Read(in, path, visitor); }));
  MOAT_TRY(visitor.Finish());
  return out;
}

}  // namespace moat::vulndb::json_stream
