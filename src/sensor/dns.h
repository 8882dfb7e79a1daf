#pragma once
// The question of a DNS query as the sensor captures it from a UDP/53 payload (RFC 1035 4.1).
// Payloads come from any process: every length is checked, compression pointers (never used in
// a query's question) are refused, names longer than 255 bytes are refused.

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/result.h"

namespace moat::sensor {

struct DnsQuestion {
  std::string name;  // presentation form without the final dot; "." for the root
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

/// The first question of a DNS query message. A response (QR set) or a message without a
/// question is an Error.
Result<DnsQuestion> ParseDnsQuery(ByteSpan message);

/// "A", "AAAA", "MX", ... or "TYPE<n>" (RFC 3597).
std::string DnsTypeName(uint16_t qtype);

}  // namespace moat::sensor
