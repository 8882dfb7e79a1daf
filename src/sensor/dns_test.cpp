#include "sensor/dns.h"

#include <arpa/nameser.h>
#include <gtest/gtest.h>
#include <resolv.h>

#include <string>
#include <vector>

namespace moat::sensor {
namespace {

// A query as glibc's resolver builds it (res_mkquery is what getaddrinfo sends).
std::vector<uint8_t> GlibcQuery(const char* name, int type) {
  std::vector<uint8_t> buffer(512);
  int length = res_mkquery(ns_o_query, name, ns_c_in, type, nullptr, 0, nullptr, buffer.data(),
                           static_cast<int>(buffer.size()));
  EXPECT_GT(length, 0) << name;
  buffer.resize(length > 0 ? static_cast<size_t>(length) : 0);
  return buffer;
}

TEST(DnsTest, ParsesGlibcQueries) {
  auto a = ParseDnsQuery(GlibcQuery("pool.minexmr.com", ns_t_a));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->name, "pool.minexmr.com");
  EXPECT_EQ(DnsTypeName(a->qtype), "A");
  EXPECT_EQ(a->qclass, 1);
  auto aaaa = ParseDnsQuery(GlibcQuery("Example.ORG.", ns_t_aaaa));
  ASSERT_TRUE(aaaa.ok()) << aaaa.error().message;
  EXPECT_EQ(aaaa->name, "Example.ORG");
  EXPECT_EQ(DnsTypeName(aaaa->qtype), "AAAA");
  auto txt = ParseDnsQuery(GlibcQuery("_dmarc.example.com", ns_t_txt));
  ASSERT_TRUE(txt.ok());
  EXPECT_EQ(txt->name, "_dmarc.example.com");
  EXPECT_EQ(DnsTypeName(999), "TYPE999");
}

TEST(DnsTest, EscapesBytesOutsideHostnames) {
  // Labels may carry any byte; they come out in presentation form, never raw.
  std::vector<uint8_t> query = GlibcQuery("ab.example", ns_t_a);
  query[13] = '\n';  // the first label's first byte
  auto parsed = ParseDnsQuery(query);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->name, "\\010b.example");
}

TEST(DnsTest, RefusesBrokenMessages) {
  std::vector<uint8_t> query = GlibcQuery("example.com", ns_t_a);
  // Every truncation fails with a message, never reads past the end.
  for (size_t size = 0; size < query.size(); ++size) {
    auto parsed = ParseDnsQuery(ByteSpan(query.data(), size));
    EXPECT_FALSE(parsed.ok()) << size;
  }
  std::vector<uint8_t> response = query;
  response[2] |= 0x80;
  EXPECT_NE(ParseDnsQuery(response).error().message.find("response"), std::string::npos);
  std::vector<uint8_t> pointer = query;
  pointer[12] = 0xC0;
  EXPECT_NE(ParseDnsQuery(pointer).error().message.find("compression"), std::string::npos);
  std::vector<uint8_t> no_question = query;
  no_question[5] = 0;
  EXPECT_FALSE(ParseDnsQuery(no_question).ok());
  // A name of 256 wire bytes: four 63-byte labels.
  std::vector<uint8_t> long_name(query.begin(), query.begin() + 12);
  for (int i = 0; i < 4; ++i) {
    long_name.push_back(63);
    long_name.insert(long_name.end(), 63, 'a');
  }
  long_name.insert(long_name.end(), {0, 0, 1, 0, 1});
  EXPECT_NE(ParseDnsQuery(long_name).error().message.find("255"), std::string::npos);
}

}  // namespace
}  // namespace moat::sensor
