#include "analyzer/lang/go_buildinfo.h"

#include <algorithm>
#include <cstdio>

#include "analyzer/lang/text_util.h"

namespace moat::lang {
namespace {

constexpr std::string_view kBuildInfoMagic("\xff Go buildinf:", 14);
constexpr size_t kBuildInfoHeaderSize = 32;
constexpr uint8_t kFlagBigEndian = 0x1;
constexpr uint8_t kFlagInlineStrings = 0x2;
// modinfo is wrapped in two 16-byte sentinels by the linker (cmd/go's modload.ModInfoProg).
constexpr size_t kModInfoSentinelSize = 16;
// Strings in build info are small (a few hundred KB of modinfo for the largest binaries).
constexpr uint64_t kMaxStringSize = 64ull << 20;

constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPfX = 0x1;
constexpr uint32_t kPfW = 0x2;
constexpr uint32_t kShtNobits = 8;

std::string Hex(uint64_t value) {
  char buffer[32];
  snprintf(buffer, sizeof(buffer), "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

// Bounds-checked reads of an ELF image in its own byte order, over the parts of the file that
// are at hand (the whole file, or a few ranges of a big one). A read of bytes that are in the file
// but not at hand fails and is noted in `misses`: the ranges to fetch before asking again.
class ElfImage {
 public:
  ElfImage(const std::vector<FilePart>& parts, uint64_t file_size, bool is64, bool big_endian,
           std::vector<FileRange>* misses)
      : parts_(parts),
        file_size_(file_size),
        is64_(is64),
        big_endian_(big_endian),
        misses_(misses) {}

  bool is64() const { return is64_; }
  uint64_t size() const { return file_size_; }
  /// True while finding out which ranges to read (misses are noted), rather than reading.
  bool planning() const { return misses_ != nullptr; }
  ElfImage WithByteOrder(bool is64, bool big_endian) const {
    return ElfImage(parts_, file_size_, is64, big_endian, misses_);
  }

  /// The `size` bytes at `offset`, when they are in the file and at hand.
  std::optional<ByteSpan> Bytes(uint64_t offset, uint64_t size) const {
    if (offset > file_size_ || file_size_ - offset < size) return std::nullopt;
    for (const FilePart& part : parts_) {
      if (offset >= part.offset && offset - part.offset <= part.bytes.size() &&
          part.bytes.size() - (offset - part.offset) >= size) {
        return part.bytes.subspan(offset - part.offset, size);
      }
    }
    if (misses_ != nullptr) misses_->push_back({offset, size});
    return std::nullopt;
  }

  bool Read(uint64_t offset, size_t width, uint64_t& out) const {
    std::optional<ByteSpan> bytes = Bytes(offset, width);
    if (!bytes) return false;
    out = 0;
    for (size_t i = 0; i < width; ++i) {
      uint64_t byte = (*bytes)[big_endian_ ? i : width - 1 - i];
      out = (out << 8) | byte;
    }
    return true;
  }
  // A target-sized word: 4 bytes for ELF32, 8 for ELF64.
  bool ReadWord(uint64_t offset, uint64_t& out) const { return Read(offset, is64_ ? 8 : 4, out); }

 private:
  const std::vector<FilePart>& parts_;
  uint64_t file_size_;
  bool is64_;
  bool big_endian_;
  std::vector<FileRange>* misses_;
};

struct Segment {
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t filesz = 0;
};

struct Section {
  uint64_t name_offset = 0;
  uint32_t type = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Program and section headers; malformed tables are treated as absent (a stripped or odd ELF
// still may have a findable build info), never read out of bounds.
struct ElfLayout {
  std::vector<Segment> segments;
  std::vector<Section> sections;
  uint64_t section_names_index = 0;
};

constexpr size_t kMaxHeaders = 1 << 16;

ElfLayout ReadLayout(const ElfImage& elf) {
  ElfLayout layout;
  const bool is64 = elf.is64();
  uint64_t phoff = 0, shoff = 0, phentsize = 0, phnum = 0, shentsize = 0, shnum = 0, shstrndx = 0;
  bool ok = is64 ? elf.Read(32, 8, phoff) && elf.Read(40, 8, shoff) && elf.Read(54, 2, phentsize) &&
                       elf.Read(56, 2, phnum) && elf.Read(58, 2, shentsize) &&
                       elf.Read(60, 2, shnum) && elf.Read(62, 2, shstrndx)
                 : elf.Read(28, 4, phoff) && elf.Read(32, 4, shoff) && elf.Read(42, 2, phentsize) &&
                       elf.Read(44, 2, phnum) && elf.Read(46, 2, shentsize) &&
                       elf.Read(48, 2, shnum) && elf.Read(50, 2, shstrndx);
  if (!ok) return layout;
  const uint64_t min_phentsize = is64 ? 56 : 32;
  // Whole tables are asked for at once, so a file read in parts needs one round for each.
  if (phentsize >= min_phentsize && phnum < kMaxHeaders &&
      !elf.Bytes(phoff, phentsize * phnum).has_value()) {
    phnum = 0;
  }
  if (shoff != 0 && shnum < kMaxHeaders && !elf.Bytes(shoff, shentsize * shnum).has_value()) {
    shnum = 0;
  }
  if (phentsize >= min_phentsize && phnum < kMaxHeaders) {
    for (uint64_t i = 0; i < phnum; ++i) {
      uint64_t base = phoff + i * phentsize;
      if (base < phoff) break;
      uint64_t type = 0, flags = 0;
      Segment segment;
      bool read =
          is64 ? elf.Read(base, 4, type) && elf.Read(base + 4, 4, flags) &&
                     elf.Read(base + 8, 8, segment.offset) &&
                     elf.Read(base + 16, 8, segment.vaddr) && elf.Read(base + 32, 8, segment.filesz)
               : elf.Read(base, 4, type) && elf.Read(base + 4, 4, segment.offset) &&
                     elf.Read(base + 8, 4, segment.vaddr) &&
                     elf.Read(base + 16, 4, segment.filesz) && elf.Read(base + 24, 4, flags);
      if (!read) break;
      if (type != kPtLoad) continue;
      segment.flags = static_cast<uint32_t>(flags);
      layout.segments.push_back(segment);
    }
  }
  const uint64_t min_shentsize = is64 ? 64 : 40;
  if (shoff != 0 && shentsize >= min_shentsize && shnum < kMaxHeaders) {
    for (uint64_t i = 0; i < shnum; ++i) {
      uint64_t base = shoff + i * shentsize;
      if (base < shoff) break;
      uint64_t type = 0;
      Section section;
      bool read =
          is64 ? elf.Read(base, 4, section.name_offset) && elf.Read(base + 4, 4, type) &&
                     elf.Read(base + 16, 8, section.addr) &&
                     elf.Read(base + 24, 8, section.offset) && elf.Read(base + 32, 8, section.size)
               : elf.Read(base, 4, section.name_offset) && elf.Read(base + 4, 4, type) &&
                     elf.Read(base + 12, 4, section.addr) &&
                     elf.Read(base + 16, 4, section.offset) && elf.Read(base + 20, 4, section.size);
      if (!read) {
        layout.sections.clear();
        break;
      }
      section.type = static_cast<uint32_t>(type);
      layout.sections.push_back(section);
    }
    layout.section_names_index = shstrndx;
  }
  return layout;
}

std::string_view SectionName(const ElfImage& elf, const ElfLayout& layout, const Section& section) {
  if (layout.section_names_index >= layout.sections.size()) return {};
  const Section& names = layout.sections[layout.section_names_index];
  if (section.name_offset >= names.size || names.size > kMaxStringSize) return {};
  // The whole name table at once: one range for a file read in parts.
  std::optional<ByteSpan> table = elf.Bytes(names.offset, names.size);
  if (!table) return {};
  std::string_view text = AsText(table->subspan(section.name_offset));
  size_t nul = text.find('\0');
  return nul == std::string_view::npos ? std::string_view{} : text.substr(0, nul);
}

// Maps a virtual address to its file offset and the bytes from there to the end of the segment's
// (or section's) file data.
bool MapAddress(const ElfImage& elf, const ElfLayout& layout, uint64_t address, uint64_t& offset,
                uint64_t& available) {
  auto map = [&](uint64_t base_address, uint64_t base_offset, uint64_t size) {
    if (address < base_address || address - base_address >= size) return false;
    offset = base_offset + (address - base_address);
    const uint64_t end = base_offset + size;
    if (offset < base_offset || end < base_offset || offset >= elf.size()) return false;
    available = std::min<uint64_t>(end, elf.size()) - offset;
    return true;
  };
  for (const Segment& segment : layout.segments) {
    if (address >= segment.vaddr && address - segment.vaddr < segment.filesz) {
      return map(segment.vaddr, segment.offset, segment.filesz);
    }
  }
  for (const Section& section : layout.sections) {
    if (section.type == kShtNobits || section.addr == 0) continue;
    if (address >= section.addr && address - section.addr < section.size) {
      return map(section.addr, section.offset, section.size);
    }
  }
  return false;
}

// Where the build info is looked for without section headers: the start of the first writable,
// non-executable segment, where the linker puts it (Go's debug/buildinfo reads as much).
constexpr uint64_t kDataSearchWindow = 64u << 10;

// The file offset of the build-info header: the .go.buildinfo section when section headers
// survive, otherwise a 16-byte aligned magic near the start of the data segment. False when there
// is none.
bool FindBuildInfo(const ElfImage& elf, const ElfLayout& layout, uint64_t& header_offset) {
  if (elf.planning() && layout.section_names_index < layout.sections.size()) {
    // The section names come first; the data segment is searched only when they cannot be had.
    const Section& names = layout.sections[layout.section_names_index];
    if (names.size <= kMaxStringSize && !elf.Bytes(names.offset, names.size)) return false;
  }
  for (const Section& section : layout.sections) {
    if (SectionName(elf, layout, section) != ".go.buildinfo") continue;
    // The whole section: for Go 1.18+ it holds the version and module strings too.
    std::optional<ByteSpan> bytes = elf.Bytes(
        section.offset, std::clamp<uint64_t>(section.size, kBuildInfoHeaderSize, kMaxStringSize));
    if (!bytes) bytes = elf.Bytes(section.offset, kBuildInfoHeaderSize);
    if (!bytes || AsText(bytes->subspan(0, kBuildInfoMagic.size())) != kBuildInfoMagic) {
      return false;
    }
    header_offset = section.offset;
    return true;
  }
  for (const Segment& segment : layout.segments) {
    if ((segment.flags & (kPfX | kPfW)) != kPfW) continue;
    if (segment.offset >= elf.size()) continue;
    uint64_t size = std::min({segment.filesz, elf.size() - segment.offset, kDataSearchWindow});
    std::optional<ByteSpan> window = elf.Bytes(segment.offset, size);
    if (!window) return false;
    std::string_view text = AsText(*window);
    size_t position = 0;
    while ((position = text.find(kBuildInfoMagic, position)) != std::string_view::npos) {
      if ((segment.vaddr + position) % 16 == 0 && text.size() - position >= kBuildInfoHeaderSize) {
        header_offset = segment.offset + position;
        return true;
      }
      ++position;
    }
    return false;  // only the first data segment holds it
  }
  return false;
}

// Go 1.18+: a uvarint length followed by the bytes.
bool ReadInlineString(const ElfImage& elf, uint64_t& offset, std::string& out) {
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    uint64_t byte = 0;
    if (shift > 63 || !elf.Read(offset, 1, byte)) return false;
    ++offset;
    length |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > kMaxStringSize) return false;
  std::optional<ByteSpan> bytes = elf.Bytes(offset, length);
  if (!bytes) return false;
  out.assign(reinterpret_cast<const char*>(bytes->data()), length);
  offset += length;
  return true;
}

// Before Go 1.18: the header holds the addresses of two Go string headers {data, len}, in the
// target's byte order (`elf` reads in it).
bool ReadPointerString(const ElfImage& elf, const ElfLayout& layout, uint64_t string_header_address,
                       std::string& out) {
  const size_t word = elf.is64() ? 8 : 4;
  uint64_t header_offset = 0, available = 0;
  if (!MapAddress(elf, layout, string_header_address, header_offset, available) ||
      available < 2 * word) {
    return false;
  }
  uint64_t data_address = 0, length = 0;
  if (!elf.ReadWord(header_offset, data_address) || !elf.ReadWord(header_offset + word, length)) {
    return false;
  }
  if (length == 0) {
    out.clear();
    return true;
  }
  uint64_t data_offset = 0;
  if (length > kMaxStringSize || !MapAddress(elf, layout, data_address, data_offset, available) ||
      available < length) {
    return false;
  }
  std::optional<ByteSpan> bytes = elf.Bytes(data_offset, length);
  if (!bytes) return false;
  out.assign(reinterpret_cast<const char*>(bytes->data()), length);
  return true;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return fields;
}

GoModule ModuleFromFields(const std::vector<std::string_view>& fields) {
  GoModule module;
  if (fields.size() > 1) module.path = fields[1];
  if (fields.size() > 2) module.version = fields[2];
  if (fields.size() > 3) module.sum = fields[3];
  return module;
}

}  // namespace

bool LooksLikeElf(ByteSpan data) {
  return data.size() >= 52 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

void ParseGoModInfo(std::string_view modinfo, GoBuildInfo& info) {
  // The last module line seen, so that a following "=>" line can attach its replacement.
  GoModule* last = nullptr;
  for (std::string_view line : SplitLines(modinfo)) {
    std::vector<std::string_view> fields = SplitTabs(line);
    std::string_view kind = fields[0];
    if (kind == "path" && fields.size() > 1) {
      info.path = fields[1];
      last = nullptr;
    } else if (kind == "mod" && fields.size() > 1) {
      info.main = ModuleFromFields(fields);
      last = &*info.main;
    } else if (kind == "dep" && fields.size() > 1) {
      info.deps.push_back(ModuleFromFields(fields));
      last = &info.deps.back();
    } else if (kind == "=>" && fields.size() > 1 && last != nullptr) {
      GoModule replacement = ModuleFromFields(fields);
      last->replaced = true;
      last->replace_path = std::move(replacement.path);
      last->replace_version = std::move(replacement.version);
      last->replace_sum = std::move(replacement.sum);
      last = nullptr;
    } else {
      last = nullptr;
    }
  }
}

namespace {

Result<std::optional<GoBuildInfo>> ReadBuildInfo(const std::vector<FilePart>& parts,
                                                 uint64_t file_size, std::string_view source,
                                                 std::vector<FileRange>* misses) {
  const std::optional<ByteSpan> ident =
      ElfImage(parts, file_size, false, false, misses).Bytes(0, 52);
  if (!ident || !LooksLikeElf(*ident)) return std::optional<GoBuildInfo>();
  const uint8_t elf_class = (*ident)[4];
  const uint8_t elf_data = (*ident)[5];
  if ((elf_class != 1 && elf_class != 2) || (elf_data != 1 && elf_data != 2)) {
    return std::optional<GoBuildInfo>();
  }
  const ElfImage elf(parts, file_size, elf_class == 2, elf_data == 2, misses);
  const ElfLayout layout = ReadLayout(elf);
  uint64_t header = 0;
  if (!FindBuildInfo(elf, layout, header)) return std::optional<GoBuildInfo>();

  const std::string where = std::string(source) + ": Go build info at offset " + Hex(header);
  uint64_t pointer_size = 0, flags = 0;
  if (!elf.Read(header + 14, 1, pointer_size) || !elf.Read(header + 15, 1, flags)) {
    return Fail(where, ": truncated header");
  }
  GoBuildInfo info;
  std::string modinfo;
  if (flags & kFlagInlineStrings) {
    uint64_t offset = header + kBuildInfoHeaderSize;
    if (!ReadInlineString(elf, offset, info.go_version)) {
      return Fail(where, ": bad Go version string at offset ", Hex(offset));
    }
    if (!ReadInlineString(elf, offset, modinfo)) {
      return Fail(where, ": bad modinfo string at offset ", Hex(offset));
    }
  } else {
    if (pointer_size != 4 && pointer_size != 8) {
      return Fail(where, ": unsupported pointer size ", std::to_string(pointer_size));
    }
    // The header's byte order flag and pointer size describe the target; they normally agree
    // with the ELF header, but the header is what the Go runtime wrote, so trust it.
    const ElfImage target = elf.WithByteOrder(pointer_size == 8, (flags & kFlagBigEndian) != 0);
    uint64_t version_address = 0, modinfo_address = 0;
    if (!target.Read(header + 16, pointer_size, version_address) ||
        !target.Read(header + 16 + pointer_size, pointer_size, modinfo_address)) {
      return Fail(where, ": truncated header");
    }
    if (!ReadPointerString(target, layout, version_address, info.go_version)) {
      return Fail(where, ": Go version pointer ", Hex(version_address), " does not resolve");
    }
    if (!ReadPointerString(target, layout, modinfo_address, modinfo)) {
      return Fail(where, ": modinfo pointer ", Hex(modinfo_address), " does not resolve");
    }
  }
  if (info.go_version.empty()) return std::optional<GoBuildInfo>();
  // Strip the sentinels around modinfo; without them the text is not module info.
  if (modinfo.size() >= 2 * kModInfoSentinelSize + 1 &&
      modinfo[modinfo.size() - kModInfoSentinelSize - 1] == '\n') {
    modinfo = modinfo.substr(kModInfoSentinelSize, modinfo.size() - 2 * kModInfoSentinelSize);
    ParseGoModInfo(modinfo, info);
  }
  return std::optional<GoBuildInfo>(std::move(info));
}

}  // namespace

Result<std::optional<GoBuildInfo>> ReadGoBuildInfo(ByteSpan data, std::string_view source) {
  return ReadBuildInfo({FilePart{0, data}}, data.size(), source, nullptr);
}

Result<std::optional<GoBuildInfo>> ReadGoBuildInfo(const std::vector<FilePart>& parts,
                                                   uint64_t file_size, std::string_view source) {
  return ReadBuildInfo(parts, file_size, source, nullptr);
}

namespace {

void SortUniqueRanges(std::vector<FileRange>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const FileRange& a, const FileRange& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.size < b.size;
  });
  ranges.erase(std::unique(ranges.begin(), ranges.end(),
                           [](const FileRange& a, const FileRange& b) {
                             return a.offset == b.offset && a.size == b.size;
                           }),
               ranges.end());
}

}  // namespace

std::vector<FileRange> GoBuildInfoRanges(const std::vector<FilePart>& parts, uint64_t file_size) {
  std::vector<FileRange> misses;
  (void)ReadBuildInfo(parts, file_size, "", &misses);
  SortUniqueRanges(misses);
  return misses;
}

ElfSectionLookup FindElfSection(const std::vector<FilePart>& parts, uint64_t file_size,
                                std::string_view name, uint64_t max_size,
                                uint64_t prefetch_before_headers) {
  ElfSectionLookup out;
  std::vector<FileRange> misses;
  const std::optional<ByteSpan> ident =
      ElfImage(parts, file_size, false, false, &misses).Bytes(0, 52);
  if (!ident) {
    out.missing = std::move(misses);
    return out;
  }
  if (!LooksLikeElf(*ident)) return out;
  const uint8_t elf_class = (*ident)[4];
  const uint8_t elf_data = (*ident)[5];
  if ((elf_class != 1 && elf_class != 2) || (elf_data != 1 && elf_data != 2)) return out;
  const ElfImage elf(parts, file_size, elf_class == 2, elf_data == 2, &misses);
  // Linkers put the sections no segment loads (the one asked for, the section names) just
  // before the section header table at the end of the file. A file streamed past them cannot go
  // back, so the window before the table is asked for at once with the table itself.
  uint64_t shoff = 0;
  if (prefetch_before_headers > 0 &&
      elf.Read(elf_class == 2 ? 40 : 32, elf_class == 2 ? 8 : 4, shoff) && shoff > 0 &&
      shoff <= file_size) {
    const uint64_t start = shoff - std::min(shoff, prefetch_before_headers);
    (void)elf.Bytes(start, shoff - start);
  }
  const ElfLayout layout = ReadLayout(elf);
  for (const Section& section : layout.sections) {
    if (SectionName(elf, layout, section) != name) continue;
    out.found = true;
    out.offset = section.offset;
    out.size = section.size;
    if (section.type == kShtNobits || section.size > max_size) break;
    out.bytes = elf.Bytes(section.offset, section.size);
    break;
  }
  if (!out.bytes) {
    SortUniqueRanges(misses);
    out.missing = std::move(misses);
  }
  return out;
}

}  // namespace moat::lang
