#include "sensor/dns.h"

#include <cstdio>

namespace moat::sensor {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;  // RFC 1035 2.3.4, in wire form

uint16_t ReadU16(ByteSpan bytes, size_t at) {
  return static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

// A label byte in presentation form (RFC 4343): letters, digits, '-' and '_' as they are, the
// rest escaped as \DDD or \. so that a name never carries control bytes into logs.
void AppendLabelByte(std::string& out, uint8_t c) {
  bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '*';
  if (plain) {
    out.push_back(static_cast<char>(c));
  } else if (c == '.' || c == '\\') {
    out.push_back('\\');
    out.push_back(static_cast<char>(c));
  } else {
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\%03u", c);
    out.append(escaped);
  }
}

}  // namespace

Result<DnsQuestion> ParseDnsQuery(ByteSpan message) {
  if (message.size() < kHeaderSize) {
    return Fail("DNS query: ", std::to_string(message.size()),
                " bytes, shorter than the 12-byte header");
  }
  if (message[2] & 0x80) return Fail("DNS query: the QR bit is set (a response, not a query)");
  if (ReadU16(message, 4) == 0) return Fail("DNS query: no question (QDCOUNT 0)");
  DnsQuestion question;
  size_t at = kHeaderSize;
  size_t wire_length = 0;
  while (true) {
    if (at >= message.size()) {
      return Fail("DNS query: name runs past the end at byte ", std::to_string(at));
    }
    uint8_t length = message[at];
    if ((length & 0xC0) != 0) {
      return Fail("DNS query: label type 0x", std::to_string(length >> 6),
                  " (compression or extended label) at byte ", std::to_string(at));
    }
    wire_length += length + 1;
    if (wire_length > kMaxNameLength) {
      return Fail("DNS query: name longer than 255 bytes at byte ", std::to_string(at));
    }
    ++at;
    if (length == 0) break;
    if (at + length > message.size()) {
      return Fail("DNS query: label of ", std::to_string(length), " bytes at byte ",
                  std::to_string(at - 1), " runs past the end (", std::to_string(message.size()),
                  " bytes)");
    }
    if (!question.name.empty()) question.name.push_back('.');
    for (size_t i = 0; i < length; ++i) AppendLabelByte(question.name, message[at + i]);
    at += length;
  }
  if (question.name.empty()) question.name = ".";
  if (at + 4 > message.size()) {
    return Fail("DNS query: QTYPE/QCLASS missing after the name (byte ", std::to_string(at), ")");
  }
  question.qtype = ReadU16(message, at);
  question.qclass = ReadU16(message, at + 2);
  return question;
}

std::string DnsTypeName(uint16_t qtype) {
  switch (qtype) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 12:
      return "PTR";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 33:
      return "SRV";
    case 64:
      return "SVCB";
    case 65:
      return "HTTPS";
    case 255:
      return "ANY";
  }
  return "TYPE" + std::to_string(qtype);
}

}  // namespace moat::sensor
