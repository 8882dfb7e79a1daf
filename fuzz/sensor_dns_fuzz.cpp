// libFuzzer target for the DNS question parser (UDP/53 payloads the sensor captures from any
// process): a name or an Error, never a read past the payload.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sensor/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> payload(data, data + size);
  auto question = moat::sensor::ParseDnsQuery(payload);
  if (question.ok()) (void)moat::sensor::DnsTypeName(question->qtype);
  return 0;
}
