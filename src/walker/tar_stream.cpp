// Streaming tar parser. Only 512-byte headers and pax / GNU long-name records are buffered;
// entry content goes straight from the caller's chunk to the visitor (or is skipped).

#include "walker/tar_stream.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

namespace moat {

TarEntry::Type TarEntryTypeForFlag(char type_flag) {
  switch (type_flag) {
    case '0':
    case '\0':
    case '7':
      return TarEntry::Type::kFile;
    case '5':
      return TarEntry::Type::kDirectory;
    case '2':
      return TarEntry::Type::kSymlink;
    case '1':
      return TarEntry::Type::kHardlink;
    default:
      return TarEntry::Type::kOther;
  }
}

namespace {

constexpr size_t kBlockSize = 512;

// Field offsets and lengths of the ustar header (POSIX.1-1988, with GNU and pax extensions).
struct Field {
  size_t offset;
  size_t length;
};
constexpr Field kNameField{0, 100};
constexpr Field kModeField{100, 8};
constexpr Field kSizeField{124, 12};
constexpr Field kChecksumField{148, 8};
constexpr size_t kTypeFlagOffset = 156;
constexpr Field kLinkNameField{157, 100};
constexpr size_t kMagicOffset = 257;
constexpr Field kPrefixField{345, 155};
// Old GNU sparse headers: the "isextended" flag in the main header and in each extension block.
constexpr size_t kGnuSparseIsExtendedOffset = 482;
constexpr size_t kGnuSparseExtensionIsExtendedOffset = 504;

std::string_view FieldText(const uint8_t* block, Field field) {
  const char* start = reinterpret_cast<const char*>(block + field.offset);
  size_t length = 0;
  while (length < field.length && start[length] != '\0') ++length;
  return {start, length};
}

/// Parses an octal field (leading spaces, terminated by NUL or space) or a GNU base-256 field.
std::optional<uint64_t> ParseNumber(const uint8_t* block, Field field) {
  const uint8_t* bytes = block + field.offset;
  if (bytes[0] & 0x80) {
    // Base-256: the top bit marks it; 0xff as first byte would be a negative number.
    if (bytes[0] == 0xff) return std::nullopt;
    uint64_t value = bytes[0] & 0x7f;
    for (size_t i = 1; i < field.length; ++i) {
      if (value > (UINT64_MAX >> 8)) return std::nullopt;
      value = (value << 8) | bytes[i];
    }
    return value;
  }
  size_t i = 0;
  while (i < field.length && bytes[i] == ' ') ++i;
  uint64_t value = 0;
  bool any_digit = false;
  for (; i < field.length; ++i) {
    uint8_t c = bytes[i];
    if (c == '\0' || c == ' ') break;
    if (c < '0' || c > '7') return std::nullopt;
    if (value > (UINT64_MAX >> 3)) return std::nullopt;
    value = (value << 3) | (c - '0');
    any_digit = true;
  }
  // Everything after the terminator must be a terminator too.
  for (; i < field.length; ++i) {
    if (bytes[i] != '\0' && bytes[i] != ' ') return std::nullopt;
  }
  if (!any_digit) return 0;
  return value;
}

bool IsZeroBlock(const uint8_t* block) {
  for (size_t i = 0; i < kBlockSize; ++i) {
    if (block[i] != 0) return false;
  }
  return true;
}

/// Old tars computed the checksum over signed chars; accept either sum.
bool ChecksumMatches(const uint8_t* block, uint64_t stored) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlockSize; ++i) {
    bool in_field = i >= kChecksumField.offset && i < kChecksumField.offset + kChecksumField.length;
    uint8_t byte = in_field ? ' ' : block[i];
    unsigned_sum += byte;
    signed_sum += static_cast<int8_t>(byte);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

uint64_t PaddingFor(uint64_t size) { return (kBlockSize - size % kBlockSize) % kBlockSize; }

enum class PathStatus { kOk, kEmpty, kAbsolute, kEscapes, kNul };

/// Normalizes an archive path: strips "./" and "." segments, collapses "//" and resolves ".."
/// that stays inside the root.
PathStatus NormalizePath(std::string_view raw, std::string& out) {
  out.clear();
  if (raw.find('\0') != std::string_view::npos) return PathStatus::kNul;
  if (!raw.empty() && raw.front() == '/') return PathStatus::kAbsolute;
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view segment = raw.substr(start, end - start);
    if (segment == "..") {
      if (segments.empty()) return PathStatus::kEscapes;
      segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i) out.push_back('/');
    out.append(segments[i]);
  }
  return out.empty() ? PathStatus::kEmpty : PathStatus::kOk;
}

/// Values from pax records that Moat uses; unset means "take the ustar field".
struct PaxValues {
  std::optional<std::string> path;
  std::optional<std::string> linkpath;
  std::optional<uint64_t> size;
  bool gnu_sparse = false;
};

}  // namespace

struct TarStreamParser::Impl {
  enum class State {
    kHeader,           // collecting a 512-byte header
    kMetaRecord,       // collecting the content of an L/K/x/g record
    kSparseExtension,  // skipping old-GNU sparse extension blocks
    kData,             // entry content (forwarded or skipped)
    kPadding,          // zero padding up to the next block boundary
    kEnd,              // two zero blocks seen; the rest is ignored
  };
  enum class MetaKind { kLongName, kLongLink, kPax, kPaxGlobal };

  Impl(TarVisitor& v, std::string name, TarLimits l)
      : visitor(v), input_name(std::move(name)), limits(l) {}

  TarVisitor& visitor;
  std::string input_name;
  TarLimits limits;

  State state = State::kHeader;
  uint64_t offset = 0;  // bytes consumed so far
  std::optional<Error> failure;
  bool closed = false;

  std::array<uint8_t, kBlockSize> header{};
  size_t header_fill = 0;
  uint64_t header_offset = 0;  // where the current header (or record) started
  int zero_blocks = 0;

  // Pending metadata that applies to the next real entry.
  MetaKind meta_kind = MetaKind::kLongName;
  std::string meta_buffer;
  uint64_t meta_remaining = 0;
  uint64_t meta_padding = 0;
  std::optional<std::string> long_name;
  std::optional<std::string> long_link;
  PaxValues pax;
  PaxValues pax_global;

  uint64_t data_remaining = 0;
  uint64_t padding_remaining = 0;
  bool forwarding = false;  // visitor asked for the current entry's content
  size_t extension_fill = 0;
  bool extension_continues = false;

  std::string Where(uint64_t at) const { return input_name + ": tar offset " + std::to_string(at); }

  Result<void> Consume(const uint8_t* data, size_t size);
  Result<void> OnHeaderComplete();
  Result<void> StartMetaRecord(MetaKind kind, uint64_t size);
  Result<void> OnMetaRecordComplete();
  Result<void> ParsePax(std::string_view records, PaxValues& values);
  Result<void> StartEntry();
  Result<void> FinishEntry();
};

Result<void> TarStreamParser::Impl::Consume(const uint8_t* data, size_t size) {
  while (size > 0) {
    switch (state) {
      case State::kHeader: {
        size_t take = std::min(size, kBlockSize - header_fill);
        if (header_fill == 0) header_offset = offset;
        std::memcpy(header.data() + header_fill, data, take);
        header_fill += take;
        data += take;
        size -= take;
        offset += take;
        if (header_fill < kBlockSize) break;
        header_fill = 0;
        MOAT_TRY(OnHeaderComplete());
        break;
      }
      case State::kSparseExtension: {
        // Only the extension block's "isextended" flag matters; the main header stays intact.
        size_t take = std::min(size, kBlockSize - extension_fill);
        if (extension_fill <= kGnuSparseExtensionIsExtendedOffset &&
            extension_fill + take > kGnuSparseExtensionIsExtendedOffset) {
          extension_continues = data[kGnuSparseExtensionIsExtendedOffset - extension_fill] != 0;
        }
        extension_fill += take;
        data += take;
        size -= take;
        offset += take;
        if (extension_fill < kBlockSize) break;
        extension_fill = 0;
        if (!extension_continues) MOAT_TRY(StartEntry());
        break;
      }
      case State::kMetaRecord: {
        if (meta_remaining > 0) {
          size_t take = static_cast<size_t>(std::min<uint64_t>(size, meta_remaining));
          meta_buffer.append(reinterpret_cast<const char*>(data), take);
          meta_remaining -= take;
          data += take;
          size -= take;
          offset += take;
        } else {
          size_t take = static_cast<size_t>(std::min<uint64_t>(size, meta_padding));
          meta_padding -= take;
          data += take;
          size -= take;
          offset += take;
        }
        if (meta_remaining == 0 && meta_padding == 0) MOAT_TRY(OnMetaRecordComplete());
        break;
      }
      case State::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(size, data_remaining));
        if (forwarding) MOAT_TRY(visitor.OnData(ByteSpan(data, take)));
        data_remaining -= take;
        data += take;
        size -= take;
        offset += take;
        if (data_remaining == 0) MOAT_TRY(FinishEntry());
        break;
      }
      case State::kPadding: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(size, padding_remaining));
        padding_remaining -= take;
        data += take;
        size -= take;
        offset += take;
        if (padding_remaining == 0) state = State::kHeader;
        break;
      }
      case State::kEnd:
        // Trailing data after the end-of-archive marker (tape padding, concatenation) is
        // ignored, as tar does.
        offset += size;
        return Ok();
    }
  }
  return Ok();
}

Result<void> TarStreamParser::Impl::OnHeaderComplete() {
  const uint8_t* block = header.data();
  if (IsZeroBlock(block)) {
    if (++zero_blocks == 2) state = State::kEnd;
    return Ok();
  }
  // A lone zero block followed by a header is tolerated (GNU tar only warns).
  zero_blocks = 0;

  std::optional<uint64_t> stored_checksum = ParseNumber(block, kChecksumField);
  if (!stored_checksum)
    return Fail(Where(header_offset), ": header checksum field is not a number");
  if (!ChecksumMatches(block, *stored_checksum)) {
    return Fail(Where(header_offset), ": bad header checksum (not a tar archive, or corrupt)");
  }

  char type_flag = static_cast<char>(block[kTypeFlagOffset]);
  std::optional<uint64_t> size = ParseNumber(block, kSizeField);
  if (!size) return Fail(Where(header_offset), ": invalid size field");

  switch (type_flag) {
    case 'L':
      return StartMetaRecord(MetaKind::kLongName, *size);
    case 'K':
      return StartMetaRecord(MetaKind::kLongLink, *size);
    case 'x':
      return StartMetaRecord(MetaKind::kPax, *size);
    case 'g':
      return StartMetaRecord(MetaKind::kPaxGlobal, *size);
    case 'S':
      // Old GNU sparse file: extension blocks with more of the sparse map may follow.
      if (block[kGnuSparseIsExtendedOffset] != 0) {
        state = State::kSparseExtension;
        return Ok();
      }
      return StartEntry();
    default:
      return StartEntry();
  }
}

Result<void> TarStreamParser::Impl::StartMetaRecord(MetaKind kind, uint64_t size) {
  if (size > limits.max_entry_header_bytes) {
    return Fail(Where(header_offset), ": extended header record of ", std::to_string(size),
                " bytes is over the limit of ", std::to_string(limits.max_entry_header_bytes));
  }
  meta_kind = kind;
  meta_buffer.clear();
  meta_buffer.reserve(static_cast<size_t>(size));
  meta_remaining = size;
  meta_padding = PaddingFor(size);
  state = State::kMetaRecord;
  if (size == 0) return OnMetaRecordComplete();
  return Ok();
}

Result<void> TarStreamParser::Impl::OnMetaRecordComplete() {
  state = State::kHeader;
  switch (meta_kind) {
    case MetaKind::kLongName:
    case MetaKind::kLongLink: {
      // GNU writes the name NUL-terminated inside the record.
      std::string value = meta_buffer.substr(0, meta_buffer.find('\0'));
      (meta_kind == MetaKind::kLongName ? long_name : long_link) = std::move(value);
      return Ok();
    }
    case MetaKind::kPax:
      return ParsePax(meta_buffer, pax);
    case MetaKind::kPaxGlobal:
      return ParsePax(meta_buffer, pax_global);
  }
  return Ok();
}

/// pax records: "<length> <key>=<value>\n", length counting the whole record in decimal.
Result<void> TarStreamParser::Impl::ParsePax(std::string_view records, PaxValues& values) {
  size_t position = 0;
  while (position < records.size()) {
    // Some writers pad the record area with NULs.
    if (records[position] == '\0') break;
    auto bad = [&](const char* why) {
      return Fail(Where(header_offset), ": bad pax record at byte ", std::to_string(position),
                  " of the extended header: ", why);
    };
    size_t cursor = position;
    uint64_t length = 0;
    while (cursor < records.size() && records[cursor] >= '0' && records[cursor] <= '9') {
      if (length > records.size()) return bad("length too large");
      length = length * 10 + static_cast<uint64_t>(records[cursor] - '0');
      ++cursor;
    }
    if (cursor == position || cursor >= records.size() || records[cursor] != ' ') {
      return bad("expected '<length> '");
    }
    if (length > records.size() - position || length < cursor - position + 3) {
      return bad("length out of range");
    }
    std::string_view record = records.substr(cursor + 1, position + length - cursor - 1);
    if (record.back() != '\n') return bad("missing newline");
    record.remove_suffix(1);
    size_t equals = record.find('=');
    if (equals == std::string_view::npos || equals == 0) return bad("expected key=value");
    std::string_view key = record.substr(0, equals);
    std::string_view value = record.substr(equals + 1);
    if (key == "path") {
      // An empty value deletes the keyword (falls back to the ustar field).
      if (value.empty()) {
        values.path.reset();
      } else {
        values.path = std::string(value);
      }
    } else if (key == "linkpath") {
      if (value.empty()) {
        values.linkpath.reset();
      } else {
        values.linkpath = std::string(value);
      }
    } else if (key == "size") {
      if (value.empty()) {
        values.size.reset();
      } else {
        uint64_t size = 0;
        for (char c : value) {
          if (c < '0' || c > '9' || size > (UINT64_MAX - 9) / 10) return bad("invalid size");
          size = size * 10 + static_cast<uint64_t>(c - '0');
        }
        values.size = size;
      }
    } else if (key.starts_with("GNU.sparse.")) {
      values.gnu_sparse = true;
    }
    position += length;
  }
  return Ok();
}

Result<void> TarStreamParser::Impl::StartEntry() {
  const uint8_t* block = header.data();
  char type_flag = static_cast<char>(block[kTypeFlagOffset]);
  // POSIX ustar has "ustar\0" + "00"; old GNU has "ustar  \0" and uses the prefix area for
  // other fields, so only POSIX headers have a name prefix.
  bool posix_ustar = std::memcmp(block + kMagicOffset, "ustar\0", 6) == 0;

  std::string raw_path;
  if (pax.path) {
    raw_path = *pax.path;
  } else if (long_name) {
    raw_path = *long_name;
  } else if (pax_global.path) {
    raw_path = *pax_global.path;
  } else {
    std::string_view name = FieldText(block, kNameField);
    std::string_view prefix = posix_ustar ? FieldText(block, kPrefixField) : std::string_view();
    if (!prefix.empty()) {
      raw_path.assign(prefix);
      raw_path.push_back('/');
    }
    raw_path.append(name);
  }

  std::string raw_link;
  if (pax.linkpath) {
    raw_link = *pax.linkpath;
  } else if (long_link) {
    raw_link = *long_link;
  } else if (pax_global.linkpath) {
    raw_link = *pax_global.linkpath;
  } else {
    raw_link.assign(FieldText(block, kLinkNameField));
  }

  std::optional<uint64_t> header_size = ParseNumber(block, kSizeField);
  uint64_t size = pax.size          ? *pax.size
                  : pax_global.size ? *pax_global.size
                                    : header_size.value_or(0);
  std::optional<uint64_t> mode = ParseNumber(block, kModeField);
  if (!mode) return Fail(Where(header_offset), ": invalid mode field");
  bool sparse = pax.gnu_sparse || pax_global.gnu_sparse;

  TarEntry entry;
  entry.mode = static_cast<uint32_t>(*mode & 07777);
  bool has_content = true;
  entry.type = TarEntryTypeForFlag(type_flag);
  // v7 archives mark directories only by a trailing slash.
  if (entry.type == TarEntry::Type::kFile && type_flag != '7' && !raw_path.empty() &&
      raw_path.back() == '/') {
    entry.type = TarEntry::Type::kDirectory;
  }
  if (sparse && entry.type == TarEntry::Type::kFile) entry.type = TarEntry::Type::kOther;
  // As in Go's archive/tar (which writes Docker layers): these types never carry content,
  // whatever their size field says.
  if (type_flag == '1' || type_flag == '2' || type_flag == '3' || type_flag == '4' ||
      type_flag == '5' || type_flag == '6' || entry.type == TarEntry::Type::kDirectory) {
    has_content = false;
  }
  entry.size = has_content ? size : 0;

  // Per-file metadata is consumed by this entry.
  long_name.reset();
  long_link.reset();
  pax = PaxValues{};

  auto entry_error = [&](std::string_view raw, const char* why) {
    return Fail(Where(header_offset), ": entry \"", std::string(raw), "\": ", why);
  };
  switch (NormalizePath(raw_path, entry.path)) {
    case PathStatus::kOk:
      break;
    case PathStatus::kEmpty:
      if (entry.type != TarEntry::Type::kDirectory) return entry_error(raw_path, "empty path");
      break;  // the root directory itself ("./"): skipped below
    case PathStatus::kAbsolute:
      return entry_error(raw_path, "absolute path");
    case PathStatus::kEscapes:
      return entry_error(raw_path, "path escapes the archive root (\"..\")");
    case PathStatus::kNul:
      return entry_error(raw_path, "path contains a NUL byte");
  }
  if (entry.type == TarEntry::Type::kHardlink) {
    // Hard link targets name another entry of the archive: same rules as paths.
    switch (NormalizePath(raw_link, entry.link_target)) {
      case PathStatus::kOk:
        break;
      case PathStatus::kEmpty:
        return entry_error(raw_path, "hard link without a target");
      case PathStatus::kAbsolute:
        return entry_error(raw_path, "hard link to an absolute path");
      case PathStatus::kEscapes:
        return entry_error(raw_path, "hard link target escapes the archive root (\"..\")");
      case PathStatus::kNul:
        return entry_error(raw_path, "hard link target contains a NUL byte");
    }
  } else if (entry.type == TarEntry::Type::kSymlink) {
    // Symlink targets are interpreted at run time inside the container; keep them verbatim.
    entry.link_target = std::move(raw_link);
  }

  forwarding = false;
  if (!entry.path.empty()) {
    MOAT_ASSIGN_OR_RETURN(bool wanted, visitor.OnEntry(entry));
    forwarding = wanted && entry.type == TarEntry::Type::kFile;
  }
  data_remaining = entry.size;
  padding_remaining = PaddingFor(entry.size);
  if (data_remaining == 0) return FinishEntry();
  state = State::kData;
  return Ok();
}

Result<void> TarStreamParser::Impl::FinishEntry() {
  if (forwarding) {
    forwarding = false;
    MOAT_TRY(visitor.OnEntryEnd());
  }
  state = padding_remaining > 0 ? State::kPadding : State::kHeader;
  return Ok();
}

TarStreamParser::TarStreamParser(TarVisitor& visitor, std::string input_name, TarLimits limits)
    : impl_(std::make_unique<Impl>(visitor, std::move(input_name), limits)) {}

TarStreamParser::~TarStreamParser() = default;

Result<void> TarStreamParser::Write(ByteSpan chunk) {
  Impl& s = *impl_;
  if (s.failure) return *s.failure;
  if (s.closed) return Fail(s.input_name, ": tar stream written after Close");
  auto result = s.Consume(chunk.data(), chunk.size());
  if (!result.ok()) s.failure = result.error();
  return result;
}

Result<void> TarStreamParser::Close() {
  Impl& s = *impl_;
  if (s.failure) return *s.failure;
  if (s.closed) return Ok();
  s.closed = true;
  auto truncated = [&](const char* where) -> Result<void> {
    Error error = Fail(s.Where(s.offset), ": archive truncated ", where);
    s.failure = error;
    return error;
  };
  switch (s.state) {
    case Impl::State::kEnd:
      return Ok();
    case Impl::State::kHeader:
      if (s.header_fill != 0) return truncated("inside a header");
      if (s.long_name || s.long_link || s.pax.path || s.pax.linkpath || s.pax.size) {
        return truncated("after an extended header, before its entry");
      }
      return Ok();
    case Impl::State::kSparseExtension:
      return truncated("inside a sparse header");
    case Impl::State::kMetaRecord:
      return truncated("inside an extended header record");
    case Impl::State::kData:
      return truncated("inside entry content");
    case Impl::State::kPadding:
      return truncated("inside entry padding");
  }
  return Ok();
}

bool IsOpaqueWhiteout(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return base == ".wh..wh..opq";
}

bool IsWhiteout(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  // Any ".wh." name is a marker, not a real file; the opaque marker is one of them, so callers
  // test IsOpaqueWhiteout first.
  return base.starts_with(".wh.") && base.size() > 4;
}

std::string WhiteoutTarget(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view directory = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base == ".wh..wh..opq") return std::string(directory);
  if (!base.starts_with(".wh.")) return std::string(path);
  std::string target(directory);
  if (!target.empty()) target.push_back('/');
  target.append(base.substr(4));
  return target;
}

}  // namespace moat
