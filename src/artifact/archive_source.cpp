// Archive source: `docker save` tarballs (plain or compressed), OCI archives and OCI layout
// directories, recognized by content. Plain tar files are indexed by reading only their headers;
// layers are then streamed from their byte ranges in parallel.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "artifact/manifest.h"
#include "artifact/reference.h"
#include "artifact/source_util.h"
#include "artifact/sources.h"
#include "core/log.h"
#include "core/sha256.h"
#include "walker/tar_stream.h"

namespace moat {
namespace {

constexpr uint64_t kMaxMetadataBytes = 8u << 20;          // manifests, indexes, configs
constexpr uint64_t kMaxMetadataTotal = 64u << 20;         // all of them, compressed archives
constexpr uint64_t kMaxDecompressedArchive = 1ull << 40;  // `docker save | gzip` streams
constexpr uint64_t kMaxTarMetaRecord = 1u << 20;          // pax / GNU long name records
constexpr int kMaxLinkHops = 16;

// Normalizes a path inside an archive: relative, no "." segments, no trailing "/".
// ".." that would leave the root is an Error.
Result<std::string> NormalizeArchivePath(std::string_view path, std::string_view input_name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      if (parts.empty()) return Fail(input_name, ": path \"", path, "\" escapes the archive");
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(path.substr(0, slash));
}

std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

struct ArchiveEntry {
  TarEntry::Type type = TarEntry::Type::kFile;
  uint64_t offset = 0;  // of the content, plain tar files only
  uint64_t size = 0;
  std::string link_target;  // normalized archive path (symlinks resolved relative to their dir)
};

class StringSink : public ByteSink {
 public:
  explicit StringSink(uint64_t limit) : limit_(limit) {}
  Result<void> Write(ByteSpan chunk) override {
    if (data.size() + chunk.size() > limit_) return Fail("larger than ", std::to_string(limit_));
    data.append(AsText(chunk));
    return Ok();
  }
  Result<void> Close() override { return Ok(); }
  std::string data;

 private:
  uint64_t limit_;
};

// A blob the scanner wants, located by its archive path.
struct BlobRequest {
  std::string path;
  std::string expected_diff_id;
  std::string name;  // for OpenLayer / messages
};

// Where the archive's files live: a directory, a plain tar file, or a compressed tar stream.
class ArchiveStore {
 public:
  virtual ~ArchiveStore() = default;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<std::string> ReadSmall(const std::string& path) = 0;
  virtual Result<void> StreamBlobs(const std::vector<BlobRequest>& blobs, LayerHandler& handler,
                                   size_t threads) = 0;
};

class DirectoryStore : public ArchiveStore {
 public:
  explicit DirectoryStore(std::string root) : root_(std::move(root)) {}
  bool Exists(const std::string& path) override {
    struct stat info;
    return ::stat((root_ + "/" + path).c_str(), &info) == 0 && S_ISREG(info.st_mode);
  }
  Result<std::string> ReadSmall(const std::string& path) override {
    return ReadFileToString(root_ + "/" + path, kMaxMetadataBytes);
  }
  Result<void> StreamBlobs(const std::vector<BlobRequest>& blobs, LayerHandler& handler,
                           size_t threads) override {
    return RunJobs(blobs.size(), threads, [&](size_t i) -> Result<void> {
      MOAT_ASSIGN_OR_RETURN(auto sink, handler.OpenLayer(blobs[i].expected_diff_id, blobs[i].name));
      return StreamFileToSink(root_ + "/" + blobs[i].path, *sink);
    });
  }

 private:
  std::string root_;
};

// Resolves symlinks and hard links among indexed entries to the regular file holding the bytes.
Result<std::string> ResolveEntry(const std::map<std::string, ArchiveEntry>& entries,
                                 const std::string& path, std::string_view input_name) {
  std::string current = path;
  for (int hop = 0; hop < kMaxLinkHops; ++hop) {
    auto it = entries.find(current);
    if (it == entries.end()) return Fail(input_name, ": no entry \"", path, "\"");
    const ArchiveEntry& entry = it->second;
    if (entry.type == TarEntry::Type::kFile) return current;
    if (entry.type != TarEntry::Type::kSymlink && entry.type != TarEntry::Type::kHardlink) {
      return Fail(input_name, ": entry \"", current, "\" is not a file");
    }
    current = entry.link_target;
  }
  return Fail(input_name, ": too many links resolving \"", path, "\"");
}

// ---- plain tar file: index headers with pread, stream byte ranges ----

class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<std::string> PreadExact(int fd, uint64_t offset, uint64_t length,
                               std::string_view input_name) {
  std::string out(length, '\0');
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(input_name, ": truncated at offset ", std::to_string(offset + done));
    }
    done += static_cast<uint64_t>(n);
  }
  return out;
}

std::string CString(std::string_view field) {
  return std::string(field.substr(0, field.find('\0')));
}

Result<uint64_t> ParseTarNumber(std::string_view field, std::string_view input_name,
                                uint64_t header_offset) {
  if (!field.empty() && (static_cast<uint8_t>(field[0]) & 0x80)) {  // base-256 (GNU)
    uint64_t value = static_cast<uint8_t>(field[0]) & 0x7f;
    for (size_t i = 1; i < field.size(); ++i) {
      if (value >> 55) {
        return Fail(input_name, ": tar header at offset ", std::to_string(header_offset),
                    ": number too large");
      }
      value = (value << 8) | static_cast<uint8_t>(field[i]);
    }
    return value;
  }
  uint64_t value = 0;
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  for (; i < field.size() && field[i] != '\0' && field[i] != ' '; ++i) {
    if (field[i] < '0' || field[i] > '7' || (value >> 60)) {
      return Fail(input_name, ": tar header at offset ", std::to_string(header_offset),
                  ": bad octal number");
    }
    value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return value;
}

// pax extended header records: "<len> key=value\n".
Result<std::map<std::string, std::string>> ParsePax(std::string_view data,
                                                    std::string_view input_name,
                                                    uint64_t header_offset) {
  std::map<std::string, std::string> records;
  while (!data.empty()) {
    size_t space = data.find(' ');
    uint64_t length = 0;
    bool valid = space != std::string_view::npos && space > 0 && space < 20;
    for (size_t i = 0; valid && i < space; ++i) {
      valid = data[i] >= '0' && data[i] <= '9';
      length = length * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    if (!valid || length <= space + 1 || length > data.size() || data[length - 1] != '\n') {
      if (data.find_first_not_of('\0') == std::string_view::npos) break;  // padding
      return Fail(input_name, ": bad pax record in header at offset ",
                  std::to_string(header_offset));
    }
    std::string_view record = data.substr(space + 1, length - space - 2);
    size_t equals = record.find('=');
    if (equals != std::string_view::npos) {
      records[std::string(record.substr(0, equals))] = std::string(record.substr(equals + 1));
    }
    data = data.substr(length);
  }
  return records;
}

Result<std::map<std::string, ArchiveEntry>> IndexTarFile(int fd, uint64_t file_size,
                                                         std::string_view input_name) {
  std::map<std::string, ArchiveEntry> entries;
  uint64_t offset = 0;
  std::string long_name, long_link;
  std::map<std::string, std::string> pax;
  bool any_header = false;
  while (true) {
    if (offset + 512 > file_size) {
      if (!any_header) return Fail(input_name, ": not a tar archive (too short)");
      if (!long_name.empty() || !long_link.empty() || !pax.empty()) {
        return Fail(input_name, ": truncated after an extended header at offset ",
                    std::to_string(offset));
      }
      break;  // missing end-of-archive marker: accepted, as GNU tar does
    }
    MOAT_ASSIGN_OR_RETURN(std::string header, PreadExact(fd, offset, 512, input_name));
    if (header.find_first_not_of('\0') == std::string::npos) break;  // end of archive
    uint64_t checksum = 0;
    for (size_t i = 0; i < 512; ++i) {
      checksum += (i >= 148 && i < 156) ? ' ' : static_cast<uint8_t>(header[i]);
    }
    MOAT_ASSIGN_OR_RETURN(uint64_t stored, ParseTarNumber(std::string_view(header).substr(148, 8),
                                                          input_name, offset));
    if (stored != checksum) {
      return Fail(input_name,
                  any_header ? ": bad tar header checksum at offset "
                             : ": not a tar archive (bad header checksum at offset ",
                  std::to_string(offset), any_header ? "" : ")");
    }
    any_header = true;
    MOAT_ASSIGN_OR_RETURN(uint64_t size, ParseTarNumber(std::string_view(header).substr(124, 12),
                                                        input_name, offset));
    char type_flag = header[156];
    if (type_flag != 'L' && type_flag != 'K' && type_flag != 'x' && pax.count("size")) {
      const std::string& text = pax["size"];
      uint64_t value = 0;
      if (text.empty() || text.size() > 19 ||
          text.find_first_not_of("0123456789") != std::string::npos) {
        return Fail(input_name, ": bad pax size in header at offset ", std::to_string(offset));
      }
      for (char c : text) value = value * 10 + static_cast<uint64_t>(c - '0');
      size = value;
    }
    uint64_t data_offset = offset + 512;
    if (size > file_size || data_offset > file_size - size) {
      return Fail(input_name, ": entry at offset ", std::to_string(offset),
                  " extends past the end of the file (truncated)");
    }
    uint64_t next = data_offset + ((size + 511) / 512) * 512;
    if (type_flag == 'L' || type_flag == 'K' || type_flag == 'x') {
      if (size > kMaxTarMetaRecord) {
        return Fail(input_name, ": extended header at offset ", std::to_string(offset),
                    " is too large");
      }
      MOAT_ASSIGN_OR_RETURN(std::string data, PreadExact(fd, data_offset, size, input_name));
      if (type_flag == 'L') long_name = CString(data);
      if (type_flag == 'K') long_link = CString(data);
      if (type_flag == 'x') {
        MOAT_ASSIGN_OR_RETURN(auto records, ParsePax(data, input_name, offset));
        for (auto& [key, value] : records) pax[key] = value;
      }
      offset = next;
      continue;
    }
    if (type_flag == 'g') {  // global pax header: nothing Moat needs
      offset = next;
      continue;
    }
    std::string name = CString(std::string_view(header).substr(0, 100));
    std::string_view magic = std::string_view(header).substr(257, 6);
    if (magic == std::string_view("ustar\0", 6)) {
      std::string prefix = CString(std::string_view(header).substr(345, 155));
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    std::string link = CString(std::string_view(header).substr(157, 100));
    if (!long_name.empty()) name = long_name;
    if (!long_link.empty()) link = long_link;
    if (pax.count("path")) name = pax["path"];
    if (pax.count("linkpath")) link = pax["linkpath"];
    long_name.clear();
    long_link.clear();
    pax.clear();

    ArchiveEntry entry;
    entry.type = TarEntryTypeForFlag(type_flag);
    MOAT_ASSIGN_OR_RETURN(std::string path, NormalizeArchivePath(name, input_name));
    if (entry.type == TarEntry::Type::kSymlink) {
      if (!link.empty() && link[0] == '/') {
        link.clear();  // absolute targets point outside the archive: never followed
        entry.type = TarEntry::Type::kOther;
      } else {
        auto target = NormalizeArchivePath(DirName(path) + "/" + link, input_name);
        if (target.ok()) {
          entry.link_target = *target;
        } else {
          entry.type = TarEntry::Type::kOther;
        }
      }
    } else if (entry.type == TarEntry::Type::kHardlink) {
      MOAT_ASSIGN_OR_RETURN(entry.link_target, NormalizeArchivePath(link, input_name));
    }
    entry.offset = data_offset;
    entry.size = size;
    if (!path.empty()) entries[path] = std::move(entry);
    offset = next;
  }
  return entries;
}

class TarFileStore : public ArchiveStore {
 public:
  TarFileStore(std::string path, std::map<std::string, ArchiveEntry> entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}

  bool Exists(const std::string& path) override { return ResolveEntry(entries_, path, path_).ok(); }

  Result<std::string> ReadSmall(const std::string& path) override {
    MOAT_ASSIGN_OR_RETURN(std::string resolved, ResolveEntry(entries_, path, path_));
    const ArchiveEntry& entry = entries_.at(resolved);
    if (entry.size > kMaxMetadataBytes) {
      return Fail(path_, ": entry \"", path, "\" is too large for metadata (",
                  std::to_string(entry.size), " bytes)");
    }
    StringSink sink(kMaxMetadataBytes);
    MOAT_TRY(StreamFileToSink(path_, sink, entry.offset, entry.size));
    return std::move(sink.data);
  }

  Result<void> StreamBlobs(const std::vector<BlobRequest>& blobs, LayerHandler& handler,
                           size_t threads) override {
    return RunJobs(blobs.size(), threads, [&](size_t i) -> Result<void> {
      MOAT_ASSIGN_OR_RETURN(std::string resolved, ResolveEntry(entries_, blobs[i].path, path_));
      const ArchiveEntry& entry = entries_.at(resolved);
      MOAT_ASSIGN_OR_RETURN(auto sink, handler.OpenLayer(blobs[i].expected_diff_id, blobs[i].name));
      return StreamFileToSink(path_, *sink, entry.offset, entry.size);
    });
  }

 private:
  std::string path_;
  std::map<std::string, ArchiveEntry> entries_;
};

// ---- compressed tar (`docker save | gzip`): no seeking, so one pass for the metadata and one
// for the layers ----

class MetadataCollector : public TarVisitor {
 public:
  explicit MetadataCollector(std::string input_name) : input_name_(std::move(input_name)) {}
  Result<bool> OnEntry(const TarEntry& entry) override {
    ArchiveEntry indexed;
    indexed.type = entry.type;
    indexed.size = entry.size;
    if (entry.type == TarEntry::Type::kSymlink) {
      auto target = NormalizeArchivePath(DirName(entry.path) + "/" + entry.link_target, "");
      if (target.ok() && !entry.link_target.empty() && entry.link_target[0] != '/') {
        indexed.link_target = *target;
      } else {
        indexed.type = TarEntry::Type::kOther;
      }
    } else if (entry.type == TarEntry::Type::kHardlink) {
      MOAT_ASSIGN_OR_RETURN(indexed.link_target,
                            NormalizeArchivePath(entry.link_target, input_name_));
    }
    entries[entry.path] = indexed;
    current_ = entry.path;
    buffer_.clear();
    collecting_ = entry.type == TarEntry::Type::kFile && entry.size <= kMaxMetadataBytes &&
                  total_ + entry.size <= kMaxMetadataTotal;
    return collecting_;
  }
  Result<void> OnData(ByteSpan chunk) override {
    // Only JSON documents (and the oci-layout marker) are metadata; stop early otherwise.
    if (buffer_.empty() && !chunk.empty() && chunk[0] != '{' && chunk[0] != '[') {
      collecting_ = false;
    }
    if (collecting_) buffer_.append(AsText(chunk));
    return Ok();
  }
  Result<void> OnEntryEnd() override {
    if (collecting_) {
      total_ += buffer_.size();
      files[current_] = std::move(buffer_);
    }
    buffer_.clear();
    return Ok();
  }

  std::map<std::string, ArchiveEntry> entries;
  std::map<std::string, std::string> files;

 private:
  std::string input_name_;
  std::string current_;
  std::string buffer_;
  bool collecting_ = false;
  uint64_t total_ = 0;
};

class BlobForwarder : public TarVisitor {
 public:
  BlobForwarder(std::map<std::string, std::vector<const BlobRequest*>> wanted,
                LayerHandler& handler)
      : wanted_(std::move(wanted)), handler_(handler) {}
  Result<bool> OnEntry(const TarEntry& entry) override {
    sinks_.clear();
    auto it = wanted_.find(entry.path);
    if (it == wanted_.end() || entry.type != TarEntry::Type::kFile) return false;
    for (const BlobRequest* request : it->second) {
      MOAT_ASSIGN_OR_RETURN(auto sink,
                            handler_.OpenLayer(request->expected_diff_id, request->name));
      sinks_.push_back(std::move(sink));
    }
    delivered_ += it->second.size();
    return true;
  }
  Result<void> OnData(ByteSpan chunk) override {
    for (auto& sink : sinks_) MOAT_TRY(sink->Write(chunk));
    return Ok();
  }
  Result<void> OnEntryEnd() override {
    for (auto& sink : sinks_) MOAT_TRY(sink->Close());
    sinks_.clear();
    return Ok();
  }
  size_t delivered() const { return delivered_; }

 private:
  std::map<std::string, std::vector<const BlobRequest*>> wanted_;
  LayerHandler& handler_;
  std::vector<std::unique_ptr<ByteSink>> sinks_;
  size_t delivered_ = 0;
};

Result<void> StreamCompressedTar(const std::string& path, TarVisitor& visitor) {
  TarStreamParser parser(visitor, path);
  DecompressingSink decompressor(parser, path, kMaxDecompressedArchive);
  return StreamFileToSink(path, decompressor);  // closes decompressor, which closes parser
}

class CompressedTarStore : public ArchiveStore {
 public:
  static Result<std::unique_ptr<CompressedTarStore>> Open(const std::string& path) {
    MetadataCollector collector(path);
    MOAT_TRY(StreamCompressedTar(path, collector));
    auto store = std::make_unique<CompressedTarStore>();
    store->path_ = path;
    store->entries_ = std::move(collector.entries);
    store->files_ = std::move(collector.files);
    return store;
  }

  bool Exists(const std::string& path) override { return ResolveEntry(entries_, path, path_).ok(); }
  Result<std::string> ReadSmall(const std::string& path) override {
    MOAT_ASSIGN_OR_RETURN(std::string resolved, ResolveEntry(entries_, path, path_));
    auto it = files_.find(resolved);
    if (it == files_.end()) {
      return Fail(path_, ": entry \"", path, "\" is not a small JSON document");
    }
    return it->second;
  }
  Result<void> StreamBlobs(const std::vector<BlobRequest>& blobs, LayerHandler& handler,
                           size_t threads) override {
    (void)threads;  // a compressed stream is read once, in order
    std::map<std::string, std::vector<const BlobRequest*>> wanted;
    for (const BlobRequest& blob : blobs) {
      MOAT_ASSIGN_OR_RETURN(std::string resolved, ResolveEntry(entries_, blob.path, path_));
      wanted[resolved].push_back(&blob);
    }
    if (wanted.empty()) return Ok();
    BlobForwarder forwarder(std::move(wanted), handler);
    MOAT_TRY(StreamCompressedTar(path_, forwarder));
    if (forwarder.delivered() != blobs.size()) {
      return Fail(path_, ": the archive changed between reads (missing layers)");
    }
    return Ok();
  }

 private:
  std::string path_;
  std::map<std::string, ArchiveEntry> entries_;
  std::map<std::string, std::string> files_;
};

// ---- image selection, common to every store ----

bool ReferenceMatches(const std::string& wanted, const std::string& candidate) {
  if (wanted == candidate) return true;
  auto a = ImageReference::Parse(wanted);
  auto b = ImageReference::Parse(candidate);
  return a.ok() && b.ok() && a->ToString() == b->ToString();
}

class ArchiveImageSource : public ImageSource {
 public:
  ArchiveImageSource(std::string path, std::unique_ptr<ArchiveStore> store, std::string reference,
                     Platform platform)
      : path_(std::move(path)),
        store_(std::move(store)),
        reference_(std::move(reference)),
        platform_(std::move(platform)) {}

  std::string SourceName() const override { return "archive " + path_; }

  Result<ImageDescription> Describe() override {
    if (described_) return description_;
    Result<void> loaded = Fail("");
    if (store_->Exists("index.json") && store_->Exists("oci-layout")) {
      loaded = LoadOci();
    } else if (store_->Exists("manifest.json")) {
      loaded = LoadDockerSave();
    } else {
      return Fail(path_,
                  ": not an image archive or OCI layout (no index.json + oci-layout, "
                  "no manifest.json)");
    }
    MOAT_TRY(loaded);
    described_ = true;
    return description_;
  }

  Result<void> StreamLayers(const std::vector<std::string>& wanted, LayerHandler& handler,
                            size_t threads) override {
    MOAT_TRY(Describe());
    std::vector<BlobRequest> requests;
    for (size_t i = 0; i < layer_paths_.size(); ++i) {
      const std::string& diff_id = description_.diff_ids[i];
      if (std::find(wanted.begin(), wanted.end(), diff_id) == wanted.end()) continue;
      bool duplicate = false;
      for (const BlobRequest& r : requests) duplicate = duplicate || r.expected_diff_id == diff_id;
      if (duplicate) continue;
      requests.push_back(BlobRequest{layer_paths_[i], diff_id, layer_paths_[i]});
    }
    return store_->StreamBlobs(requests, handler, threads);
  }

 private:
  Result<std::string> ReadVerifiedBlob(const std::string& digest) {
    std::string blob_path = BlobPath(digest);
    auto data = store_->ReadSmall(blob_path);
    if (!data.ok()) return data.error().Wrap(path_ + ": blob " + digest);
    std::string actual = "sha256:" + Sha256Hex(AsBytes(*data));
    if (actual != digest) {
      return Fail(path_, ": ", blob_path, ": digest mismatch: content hashes to ", actual);
    }
    return data;
  }

  static std::string RefName(const Descriptor& descriptor) {
    auto it = descriptor.annotations.find("org.opencontainers.image.ref.name");
    return it == descriptor.annotations.end() ? "" : it->second;
  }
  static std::string ContainerdName(const Descriptor& descriptor) {
    auto it = descriptor.annotations.find("io.containerd.image.name");
    return it == descriptor.annotations.end() ? "" : it->second;
  }

  bool DescriptorMatches(const Descriptor& descriptor) const {
    std::string containerd_name = ContainerdName(descriptor);
    if (!containerd_name.empty() && ReferenceMatches(reference_, containerd_name)) return true;
    std::string ref_name = RefName(descriptor);
    if (ref_name.empty()) return false;
    if (ref_name == reference_) return true;
    // A bare tag ("1.0") names the image within this layout; "name:1.0" must agree on the tag
    // (and on the name when the entry also carries a full containerd name).
    auto parsed = ImageReference::Parse(reference_);
    if (parsed.ok() && ref_name.find(':') == std::string::npos &&
        ref_name.find('/') == std::string::npos) {
      return containerd_name.empty() && parsed->tag == ref_name;
    }
    return ReferenceMatches(reference_, ref_name);
  }

  Result<void> LoadOci() {
    std::string index_name = path_ + ": index.json";
    MOAT_ASSIGN_OR_RETURN(std::string index_json, store_->ReadSmall("index.json"));
    MOAT_ASSIGN_OR_RETURN(ImageIndex index, ParseImageIndex(index_json, index_name));
    std::vector<const Descriptor*> candidates;
    for (const Descriptor& descriptor : index.manifests) {
      if (reference_.empty() || DescriptorMatches(descriptor)) candidates.push_back(&descriptor);
    }
    if (candidates.empty()) {
      return Fail(path_, ": no image named \"", reference_, "\" in the OCI index", NamesOf(index));
    }
    if (candidates.size() > 1) {
      // Several platforms of one image may sit side by side; otherwise the user must choose.
      ImageIndex subset;
      for (const Descriptor* candidate : candidates) subset.manifests.push_back(*candidate);
      bool all_platforms = std::all_of(candidates.begin(), candidates.end(),
                                       [](const Descriptor* d) { return d->has_platform; });
      if (!all_platforms) {
        return Fail(path_, ": holds several images; choose one by name", NamesOf(index));
      }
      MOAT_ASSIGN_OR_RETURN(Descriptor chosen, SelectPlatform(subset, platform_, index_name));
      chosen_ = chosen;
    } else {
      chosen_ = *candidates[0];
    }
    Descriptor current = chosen_;
    for (int depth = 0; depth < 4; ++depth) {
      MOAT_ASSIGN_OR_RETURN(std::string document, ReadVerifiedBlob(current.digest));
      std::string name = path_ + ": manifest " + current.digest;
      MOAT_ASSIGN_OR_RETURN(ManifestKind kind,
                            DetectManifestKind(document, current.media_type, name));
      if (kind == ManifestKind::kIndex) {
        MOAT_ASSIGN_OR_RETURN(ImageIndex nested, ParseImageIndex(document, name));
        MOAT_ASSIGN_OR_RETURN(current, SelectPlatform(nested, platform_, name));
        continue;
      }
      MOAT_ASSIGN_OR_RETURN(ImageManifest manifest, ParseImageManifest(document, name));
      MOAT_ASSIGN_OR_RETURN(std::string config_json, ReadVerifiedBlob(manifest.config.digest));
      MOAT_ASSIGN_OR_RETURN(
          ImageConfig config,
          ParseImageConfig(config_json, path_ + ": config " + manifest.config.digest));
      if (config.diff_ids.size() != manifest.layers.size()) {
        return Fail(name, ": lists ", std::to_string(manifest.layers.size()),
                    " layers but the config has ", std::to_string(config.diff_ids.size()),
                    " diff IDs");
      }
      description_.image_id = manifest.config.digest;
      description_.manifest_digest = current.digest;
      std::string containerd_name = ContainerdName(chosen_);
      std::string ref_name = RefName(chosen_);
      if (!containerd_name.empty()) {
        auto parsed = ImageReference::Parse(containerd_name);
        if (parsed.ok() && !parsed->tag.empty() && parsed->digest.empty()) {
          description_.repo_tags.push_back(parsed->FamiliarName() + ":" + parsed->tag);
        }
      } else if (!ref_name.empty() && ref_name.find(':') != std::string::npos) {
        description_.repo_tags.push_back(ref_name);
      }
      for (const Descriptor& layer : manifest.layers) {
        description_.layer_digests.push_back(layer.digest);
        layer_paths_.push_back(BlobPath(layer.digest));
      }
      description_.diff_ids = config.diff_ids;
      description_.config_json = std::move(config_json);
      return Ok();
    }
    return Fail(path_, ": image indexes nested too deeply");
  }

  static std::string NamesOf(const ImageIndex& index) {
    std::string names;
    for (const Descriptor& descriptor : index.manifests) {
      std::string name = ContainerdName(descriptor);
      if (name.empty()) name = RefName(descriptor);
      if (!name.empty()) names += (names.empty() ? "" : ", ") + name;
    }
    return names.empty() ? "" : " (images: " + names + ")";
  }

  Result<void> LoadDockerSave() {
    std::string manifest_name = path_ + ": manifest.json";
    MOAT_ASSIGN_OR_RETURN(std::string manifest_json, store_->ReadSmall("manifest.json"));
    MOAT_ASSIGN_OR_RETURN(auto images, ParseDockerSaveManifest(manifest_json, manifest_name));
    const DockerSaveImage* chosen = nullptr;
    std::string all_tags;
    for (const DockerSaveImage& image : images) {
      for (const std::string& tag : image.repo_tags) {
        all_tags += (all_tags.empty() ? "" : ", ") + tag;
        if (!reference_.empty() && chosen == nullptr && ReferenceMatches(reference_, tag)) {
          chosen = &image;
        }
      }
    }
    if (chosen == nullptr) {
      if (images.size() == 1 && reference_.empty()) {
        chosen = &images[0];
      } else if (images.empty()) {
        return Fail(manifest_name, ": lists no images");
      } else if (reference_.empty()) {
        return Fail(path_, ": holds several images; choose one by name (images: ", all_tags, ")");
      } else if (images.size() == 1) {
        chosen = &images[0];  // one image: a name that doesn't match its tags is not fatal
        log::Debug(path_ + ": no tag matches " + reference_ + "; using its only image");
      } else {
        return Fail(path_, ": no image named \"", reference_, "\" (images: ", all_tags, ")");
      }
    }
    MOAT_ASSIGN_OR_RETURN(std::string config_path,
                          NormalizeArchivePath(chosen->config, manifest_name));
    MOAT_ASSIGN_OR_RETURN(std::string config_json, store_->ReadSmall(config_path));
    MOAT_ASSIGN_OR_RETURN(ImageConfig config,
                          ParseImageConfig(config_json, path_ + ": " + config_path));
    if (config.diff_ids.size() != chosen->layers.size()) {
      return Fail(manifest_name, ": lists ", std::to_string(chosen->layers.size()),
                  " layers but the config has ", std::to_string(config.diff_ids.size()),
                  " diff IDs");
    }
    for (const std::string& layer : chosen->layers) {
      MOAT_ASSIGN_OR_RETURN(std::string layer_path, NormalizeArchivePath(layer, manifest_name));
      if (!store_->Exists(layer_path)) {
        return Fail(manifest_name, ": layer \"", layer_path, "\" is missing from the archive");
      }
      layer_paths_.push_back(layer_path);
    }
    description_.image_id = "sha256:" + Sha256Hex(AsBytes(config_json));
    description_.repo_tags = chosen->repo_tags;
    // docker save layers are uncompressed tars: the blob digest is the diff ID.
    description_.layer_digests = config.diff_ids;
    description_.diff_ids = config.diff_ids;
    description_.config_json = std::move(config_json);
    return Ok();
  }

  std::string path_;
  std::unique_ptr<ArchiveStore> store_;
  std::string reference_;
  Platform platform_;
  bool described_ = false;
  Descriptor chosen_;
  ImageDescription description_;
  std::vector<std::string> layer_paths_;  // aligned with description_.diff_ids
};

}  // namespace

Result<std::unique_ptr<ImageSource>> OpenArchiveImage(const std::string& path,
                                                      const std::string& reference,
                                                      const std::string& platform_text) {
  MOAT_ASSIGN_OR_RETURN(Platform platform,
                        ParsePlatform(platform_text.empty() ? "linux/amd64" : platform_text));
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return Fail(path, ": ", std::strerror(errno));
  std::unique_ptr<ArchiveStore> store;
  if (S_ISDIR(info.st_mode)) {
    store = std::make_unique<DirectoryStore>(path);
  } else if (S_ISREG(info.st_mode)) {
    FileHandle file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0) return Fail(path, ": ", std::strerror(errno));
    uint64_t size = static_cast<uint64_t>(info.st_size);
    MOAT_ASSIGN_OR_RETURN(std::string magic,
                          PreadExact(file.get(), 0, std::min<uint64_t>(size, 4), path));
    bool gzip = magic.size() >= 2 && static_cast<uint8_t>(magic[0]) == 0x1f &&
                static_cast<uint8_t>(magic[1]) == 0x8b;
    bool zstd = magic == std::string("\x28\xb5\x2f\xfd", 4);
    if (gzip || zstd) {
      MOAT_ASSIGN_OR_RETURN(store, CompressedTarStore::Open(path));
    } else {
      MOAT_ASSIGN_OR_RETURN(auto entries, IndexTarFile(file.get(), size, path));
      store = std::make_unique<TarFileStore>(path, std::move(entries));
    }
  } else {
    return Fail(path, ": neither a file nor a directory");
  }
  return std::unique_ptr<ImageSource>(
      std::make_unique<ArchiveImageSource>(path, std::move(store), reference, std::move(platform)));
}

}  // namespace moat
