#pragma once
// Decoding of the kernel's ring-buffer records (bpf/event_abi.h). The records are untrusted
// input as far as this code goes: a record shorter than it says, a field running past its end, an
// unknown type or a wrong field count is an Error naming the record and the place, never a read
// out of bounds.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "sensor/event.h"

namespace moat::sensor {

/// A record split into its parts, before any meaning is given to them.
struct RawRecord {
  uint16_t type = 0;
  uint64_t boot_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t ret = 0;
  std::array<uint64_t, 12> num{};
  std::string comm;
  std::vector<std::string_view> fields;  // views into the record's bytes
};

/// Splits one record; `record` must outlive the result's fields.
Result<RawRecord> SplitRecord(ByteSpan record);

/// Gives a split record its meaning (paths reversed, addresses and DNS names parsed).
Result<Event> InterpretRecord(const RawRecord& raw);

/// SplitRecord then InterpretRecord.
Result<Event> DecodeRecord(ByteSpan record);

/// A path the kernel wrote leaf first ("ls/bin/usr/") in the usual order ("/usr/bin/ls").
/// Empty input gives "".
std::string ReverseKernelPath(std::string_view leaf_first);

/// A struct sockaddr (in, in6, un) as the kernel or the caller passed it.
Result<SocketAddress> ParseSockaddr(ByteSpan bytes);

}  // namespace moat::sensor
