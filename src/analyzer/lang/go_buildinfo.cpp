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

// Bounds-checked reads of an ELF image in its own byte order.
class ElfImage {
 public:
  ElfImage(ByteSpan data, bool is64, bool big_endian)
      : data_(data), is64_(is64), big_endian_(big_endian) {}

  bool is64() const { return is64_; }
  ByteSpan data() const { return data_; }

  bool Read(uint64_t offset, size_t width, uint64_t& out) const {
    if (offset > data_.size() || data_.size() - offset < width) return false;
    out = 0;
    for (size_t i = 0; i < width; ++i) {
      uint64_t byte = data_[offset + (big_endian_ ? i : width - 1 - i)];
      out = (out << 8) | byte;
    }
    return true;
  }
  // A target-sized word: 4 bytes for ELF32, 8 for ELF64.
  bool ReadWord(uint64_t offset, uint64_t& out) const { return Read(offset, is64_ ? 8 : 4, out); }

 private:
  ByteSpan data_;
  bool is64_;
  bool big_endian_;
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
  const ByteSpan data = elf.data();
  if (names.offset > data.size() || section.name_offset >= names.size) return {};
  uint64_t start = names.offset + section.name_offset;
  uint64_t end = std::min<uint64_t>(data.size(), names.offset + names.size);
  if (start < names.offset || start >= end) return {};
  std::string_view text = AsText(data.subspan(start, end - start));
  size_t nul = text.find('\0');
  return nul == std::string_view::npos ? std::string_view{} : text.substr(0, nul);
}

// Maps a virtual address to the file bytes behind it (up to the end of its segment's file data).
bool MapAddress(const ElfImage& elf, const ElfLayout& layout, uint64_t address, ByteSpan& out) {
  const ByteSpan data = elf.data();
  for (const Segment& segment : layout.segments) {
    if (address < segment.vaddr || address - segment.vaddr >= segment.filesz) continue;
    uint64_t offset = segment.offset + (address - segment.vaddr);
    uint64_t segment_end = segment.offset + segment.filesz;
    if (offset < segment.offset || segment_end < segment.offset || offset >= data.size()) {
      return false;
    }
    out = data.subspan(offset, std::min<uint64_t>(segment_end, data.size()) - offset);
    return true;
  }
  for (const Section& section : layout.sections) {
    if (section.type == kShtNobits || section.addr == 0) continue;
    if (address < section.addr || address - section.addr >= section.size) continue;
    uint64_t offset = section.offset + (address - section.addr);
    uint64_t section_end = section.offset + section.size;
    if (offset < section.offset || section_end < section.offset || offset >= data.size()) {
      return false;
    }
    out = data.subspan(offset, std::min<uint64_t>(section_end, data.size()) - offset);
    return true;
  }
  return false;
}

// The file offset of the build-info header: the .go.buildinfo section when section headers
// survive, otherwise a 16-byte aligned magic in the first writable, non-executable segment
// (where the linker puts it); returns false when there is none.
bool FindBuildInfo(const ElfImage& elf, const ElfLayout& layout, uint64_t& header_offset) {
  const ByteSpan data = elf.data();
  for (const Section& section : layout.sections) {
    if (SectionName(elf, layout, section) != ".go.buildinfo") continue;
    if (section.offset > data.size() || data.size() - section.offset < kBuildInfoHeaderSize) {
      return false;
    }
    if (AsText(data.subspan(section.offset, kBuildInfoMagic.size())) != kBuildInfoMagic) {
      return false;
    }
    header_offset = section.offset;
    return true;
  }
  for (const Segment& segment : layout.segments) {
    if ((segment.flags & (kPfX | kPfW)) != kPfW) continue;
    if (segment.offset >= data.size()) continue;
    uint64_t size = std::min<uint64_t>(segment.filesz, data.size() - segment.offset);
    std::string_view text = AsText(data.subspan(segment.offset, size));
    size_t position = 0;
    while ((position = text.find(kBuildInfoMagic, position)) != std::string_view::npos) {
      if ((segment.vaddr + position) % 16 == 0 && text.size() - position >= kBuildInfoHeaderSize) {
        header_offset = segment.offset + position;
        return true;
      }
      ++position;
    }
  }
  return false;
}

// Go 1.18+: a uvarint length followed by the bytes.
bool ReadInlineString(ByteSpan data, uint64_t& offset, std::string& out) {
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    if (shift > 63 || offset >= data.size()) return false;
    uint8_t byte = data[offset++];
    length |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > kMaxStringSize || length > data.size() - offset) return false;
  out.assign(reinterpret_cast<const char*>(data.data() + offset), length);
  offset += length;
  return true;
}

// Before Go 1.18: the header holds the addresses of two Go string headers {data, len}.
bool ReadPointerString(const ElfImage& elf, const ElfLayout& layout, uint64_t string_header_address,
                       std::string& out) {
  ByteSpan header;
  const size_t word = elf.is64() ? 8 : 4;
  if (!MapAddress(elf, layout, string_header_address, header) || header.size() < 2 * word) {
    return false;
  }
  // The string header is in target byte order; read it through a view of the same ELF.
  uint64_t header_offset = static_cast<uint64_t>(header.data() - elf.data().data());
  uint64_t data_address = 0, length = 0;
  if (!elf.ReadWord(header_offset, data_address) || !elf.ReadWord(header_offset + word, length)) {
    return false;
  }
  if (length == 0) {
    out.clear();
    return true;
  }
  ByteSpan bytes;
  if (length > kMaxStringSize || !MapAddress(elf, layout, data_address, bytes) ||
      bytes.size() < length) {
    return false;
  }
  out.assign(reinterpret_cast<const char*>(bytes.data()), length);
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

Result<std::optional<GoBuildInfo>> ReadGoBuildInfo(ByteSpan data, std::string_view source) {
  if (!LooksLikeElf(data)) return std::optional<GoBuildInfo>();
  const uint8_t elf_class = data[4];
  const uint8_t elf_data = data[5];
  if ((elf_class != 1 && elf_class != 2) || (elf_data != 1 && elf_data != 2)) {
    return std::optional<GoBuildInfo>();
  }
  const ElfImage elf(data, elf_class == 2, elf_data == 2);
  const ElfLayout layout = ReadLayout(elf);
  uint64_t header = 0;
  if (!FindBuildInfo(elf, layout, header)) return std::optional<GoBuildInfo>();

  const std::string where = std::string(source) + ": Go build info at offset " + Hex(header);
  const uint8_t pointer_size = data[header + 14];
  const uint8_t flags = data[header + 15];
  GoBuildInfo info;
  std::string modinfo;
  if (flags & kFlagInlineStrings) {
    uint64_t offset = header + kBuildInfoHeaderSize;
    if (!ReadInlineString(data, offset, info.go_version)) {
      return Fail(where, ": bad Go version string at offset ", Hex(offset));
    }
    if (!ReadInlineString(data, offset, modinfo)) {
      return Fail(where, ": bad modinfo string at offset ", Hex(offset));
    }
  } else {
    if (pointer_size != 4 && pointer_size != 8) {
      return Fail(where, ": unsupported pointer size ", std::to_string(pointer_size));
    }
    // The header's byte order flag and pointer size describe the target; they normally agree
    // with the ELF header, but the header is what the Go runtime wrote, so trust it.
    const ElfImage target(data, pointer_size == 8, (flags & kFlagBigEndian) != 0);
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

}  // namespace moat::lang
