#include "vulndb/codec.h"

#include <zstd.h>

#include <cstring>
#include <memory>
#include <vector>

namespace moat::vulndb::codec {
namespace {

// Blobs start with one byte: 0 = plain, 1 = zstd (then the plain size as a varint).
constexpr size_t kCompressAbove = 160;
constexpr uint64_t kMaxPlain = 64u << 20;

class Writer {
 public:
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      out_ += static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    out_ += static_cast<char>(value);
  }
  void String(std::string_view text) {
    Varint(text.size());
    out_.append(text);
  }
  void Strings(const std::vector<std::string>& list) {
    Varint(list.size());
    for (const auto& item : list) String(item);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (position_ >= data_.size()) return false;
      uint8_t byte = static_cast<uint8_t>(data_[position_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  }
  bool String(std::string& text) {
    uint64_t size;
    if (!Varint(size) || size > data_.size() - position_) return false;
    text.assign(data_.substr(position_, size));
    position_ += size;
    return true;
  }
  bool Strings(std::vector<std::string>& list) {
    uint64_t count;
    if (!Varint(count) || count > data_.size() - position_) return false;
    list.resize(count);
    for (auto& item : list) {
      if (!String(item)) return false;
    }
    return true;
  }
  bool Double(double& value) {
    if (data_.size() - position_ < sizeof value) return false;
    std::memcpy(&value, data_.data() + position_, sizeof value);
    position_ += sizeof value;
    return true;
  }
  bool done() const { return position_ == data_.size(); }

 private:
  std::string_view data_;
  size_t position_ = 0;
};

void PutDouble(Writer& w, double value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  w.out().append(bytes, sizeof value);
}

std::string Seal(std::string plain, bool compress = true) {
  if (compress && plain.size() > kCompressAbove) {
    // One context per thread: creating one per record costs more than compressing it.
    static thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(
        ZSTD_createCCtx(), ZSTD_freeCCtx);
    std::string packed(ZSTD_compressBound(plain.size()), '\0');
    size_t n = ZSTD_compressCCtx(context.get(), packed.data(), packed.size(), plain.data(),
                                 plain.size(), 9);
    if (!ZSTD_isError(n) && n + 8 < plain.size()) {
      Writer w;
      w.out() += '\1';
      w.Varint(plain.size());
      w.out().append(packed.data(), n);
      return std::move(w.out());
    }
  }
  plain.insert(plain.begin(), '\0');
  return plain;
}

bool Unseal(std::string_view blob, std::string& plain) {
  if (blob.empty()) return false;
  if (blob[0] == '\0') {
    plain.assign(blob.substr(1));
    return true;
  }
  if (blob[0] != '\1') return false;
  Reader r(blob.substr(1));
  uint64_t size;
  if (!r.Varint(size) || size > kMaxPlain) return false;
  size_t header = 1;
  for (uint64_t s = size; s >= 0x80; s >>= 7) ++header;
  ++header;
  if (header > blob.size()) return false;
  plain.resize(size);
  // One context per thread: ZSTD_decompress would allocate and clear a new one for every record.
  static thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(),
                                                                                 ZSTD_freeDCtx);
  size_t n = ZSTD_decompressDCtx(context.get(), plain.data(), plain.size(), blob.data() + header,
                                 blob.size() - header);
  return !ZSTD_isError(n) && n == size;
}

}  // namespace

std::string EncodeAffected(const AffectedPackage& record) {
  Writer w;
  w.Varint(record.ranges.size());
  for (const auto& range : record.ranges) {
    w.String(range.introduced);
    w.String(range.fixed);
    w.String(range.last_affected);
  }
  w.Strings(record.versions);
  return Seal(std::move(w.out()));
}

bool DecodeAffected(std::string_view blob, AffectedPackage& record) {
  std::string plain;
  if (!Unseal(blob, plain)) return false;
  Reader r(plain);
  uint64_t count;
  if (!r.Varint(count) || count > plain.size()) return false;
  record.ranges.resize(count);
  for (auto& range : record.ranges) {
    if (!r.String(range.introduced) || !r.String(range.fixed) || !r.String(range.last_affected)) {
      return false;
    }
  }
  return r.Strings(record.versions) && r.done();
}

std::string EncodeVulnerability(const Vulnerability& v, bool compress) {
  Writer w;
  w.Strings(v.aliases);
  w.String(v.title);
  w.String(v.description);
  w.Strings(v.references);
  w.String(v.published);
  w.String(v.modified);
  w.String(v.severity);
  w.String(v.severity_source);
  w.Varint(v.cvss.size());
  for (const auto& score : v.cvss) {
    w.String(score.version);
    w.String(score.vector);
    PutDouble(w, score.score);
    w.String(score.source);
  }
  w.Strings(v.cwes);
  w.Varint((v.withdrawn ? 1 : 0) | (v.known_exploited ? 2 : 0) | (v.epss_score ? 4 : 0) |
           (v.epss_percentile ? 8 : 0));
  w.String(v.kev_date_added);
  if (v.epss_score) PutDouble(w, *v.epss_score);
  if (v.epss_percentile) PutDouble(w, *v.epss_percentile);
  return Seal(std::move(w.out()), compress);
}

bool DecodeVulnerability(std::string_view blob, Vulnerability& v) {
  std::string plain;
  if (!Unseal(blob, plain)) return false;
  Reader r(plain);
  uint64_t count, flags;
  if (!r.Strings(v.aliases) || !r.String(v.title) || !r.String(v.description) ||
      !r.Strings(v.references) || !r.String(v.published) || !r.String(v.modified) ||
      !r.String(v.severity) || !r.String(v.severity_source) || !r.Varint(count) ||
      count > plain.size()) {
    return false;
  }
  v.cvss.resize(count);
  for (auto& score : v.cvss) {
    if (!r.String(score.version) || !r.String(score.vector) || !r.Double(score.score) ||
        !r.String(score.source)) {
      return false;
    }
  }
  if (!r.Strings(v.cwes) || !r.Varint(flags) || !r.String(v.kev_date_added)) return false;
  v.withdrawn = flags & 1;
  v.known_exploited = flags & 2;
  if (flags & 4) {
    double value;
    if (!r.Double(value)) return false;
    v.epss_score = value;
  }
  if (flags & 8) {
    double value;
    if (!r.Double(value)) return false;
    v.epss_percentile = value;
  }
  return r.done();
}

}  // namespace moat::vulndb::codec
