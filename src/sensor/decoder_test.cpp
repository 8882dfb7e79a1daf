#include "sensor/decoder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

#include "sensor/bpf/event_abi.h"

namespace moat::sensor {
namespace {

// Writes records the way sensor.bpf.c does: header, then u16-length-prefixed fields.
class RecordBuilder {
 public:
  RecordBuilder(uint16_t type, uint32_t pid) {
    header_.type = type;
    header_.pid = pid;
    header_.tid = pid;
    header_.boot_ns = 123456789;
    std::strncpy(header_.comm, "cat", sizeof header_.comm);
  }
  RecordBuilder& Num(int index, uint64_t value) {
    header_.num[index] = value;
    return *this;
  }
  RecordBuilder& Ret(int64_t value) {
    header_.ret = value;
    return *this;
  }
  RecordBuilder& Field(std::string_view bytes) {
    uint16_t length = static_cast<uint16_t>(bytes.size());
    fields_.append(reinterpret_cast<const char*>(&length), 2);
    fields_.append(bytes);
    ++header_.var_count;
    return *this;
  }
  std::vector<uint8_t> Build() {
    header_.size = static_cast<uint32_t>(sizeof header_ + fields_.size());
    std::vector<uint8_t> out(sizeof header_);
    std::memcpy(out.data(), &header_, sizeof header_);
    out.insert(out.end(), fields_.begin(), fields_.end());
    return out;
  }

 private:
  moat_event_header header_{};
  std::string fields_;
};

std::string Sockaddr4(const char* address, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &in.sin_addr);
  return std::string(reinterpret_cast<const char*>(&in), sizeof in);
}

std::vector<uint8_t> ExecRecord() {
  using namespace std::string_literals;
  return RecordBuilder(MOAT_EV_EXEC, 4242)
      .Num(MOAT_EXEC_PPID, 4000)
      .Num(MOAT_EXEC_EUID, 0)
      .Num(MOAT_EXEC_LOGINUID, 1000)
      .Num(MOAT_EXEC_CAP_EFFECTIVE, 0x1ffffffffff)
      .Num(MOAT_EXEC_INODE, 777)
      .Num(MOAT_EXEC_FLAGS, MOAT_EXEC_OVERLAY | MOAT_EXEC_UPPER_LAYER)
      .Field("/usr/bin/cat")
      .Field("cat/bin/usr/")
      .Field("cat\0/etc/shadow\0"s)
      .Field("tmp/")
      .Field("pts0")
      .Field(std::string(64, 'b') + "/docker/")
      .Build();
}

TEST(DecoderTest, Exec) {
  auto record = ExecRecord();
  auto event = DecodeRecord(record);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->type, EventType::kExec);
  EXPECT_EQ(event->pid, 4242u);
  EXPECT_EQ(event->comm, "cat");
  ASSERT_TRUE(event->exec.has_value());
  const ExecInfo& exec = *event->exec;
  EXPECT_EQ(exec.filename, "/usr/bin/cat");
  EXPECT_EQ(exec.exe, "/usr/bin/cat");
  EXPECT_EQ(exec.argv, (std::vector<std::string>{"cat", "/etc/shadow"}));
  EXPECT_EQ(exec.cwd, "/tmp");
  EXPECT_EQ(exec.tty, "pts0");
  EXPECT_EQ(exec.cgroup, "/docker/" + std::string(64, 'b'));
  EXPECT_EQ(exec.ppid, 4000u);
  EXPECT_EQ(exec.loginuid, 1000u);
  EXPECT_EQ(exec.cap_effective, 0x1ffffffffffu);
  EXPECT_EQ(exec.exe_inode, 777u);
  EXPECT_TRUE(exec.exe_upper_layer);
  EXPECT_TRUE(exec.exe_on_overlay);
  EXPECT_FALSE(exec.exe_memfd);
}

TEST(DecoderTest, MemfdExecKeepsItsName) {
  using namespace std::string_literals;
  auto record = RecordBuilder(MOAT_EV_EXEC, 9)
                    .Num(MOAT_EXEC_FLAGS, MOAT_EXEC_MEMFD)
                    .Field("/dev/fd/6")
                    .Field("memfd:runc_cloned:/proc/self/exe")
                    .Field("runc\0init\0"s)
                    .Field("")
                    .Field("")
                    .Field("")
                    .Build();
  auto event = DecodeRecord(record);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_TRUE(event->exec->exe_memfd);
  EXPECT_EQ(event->exec->exe, "/memfd:runc_cloned:/proc/self/exe");
  EXPECT_EQ(event->exec->cwd, "/");
  EXPECT_EQ(event->exec->cgroup, "/");
}

TEST(DecoderTest, OpenConnectAndDns) {
  auto open = RecordBuilder(MOAT_EV_OPEN, 7)
                  .Num(0, static_cast<uint64_t>(-100))
                  .Num(5, 0101)
                  .Num(11, 257)
                  .Ret(3)
                  .Field("/tmp/x")
                  .Build();
  auto event = DecodeRecord(open);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->syscall, "openat");
  EXPECT_EQ(event->path, "/tmp/x");
  EXPECT_EQ(event->Number("flags"), 0101);
  EXPECT_FALSE(event->Number("dirfd").has_value());  // AT_FDCWD is left out

  auto connect = RecordBuilder(MOAT_EV_CONNECT, 7)
                     .Num(0, 5)
                     .Num(11, 42)
                     .Field(Sockaddr4("127.0.0.1", 4444))
                     .Field(Sockaddr4("127.0.0.1", 51000))
                     .Build();
  event = DecodeRecord(connect);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->remote, (SocketAddress{"ipv4", "127.0.0.1", 4444}));
  EXPECT_EQ(event->local->port, 51000);

  const uint8_t query[] = {0x12, 0x34, 1,   0, 0,   1,   0,   0, 0, 0, 0, 0, 3,
                           'f',  'o',  'o', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
  auto dns = RecordBuilder(MOAT_EV_DNS_QUERY, 7)
                 .Num(11, 307)
                 .Field(std::string(reinterpret_cast<const char*>(query), sizeof query))
                 .Field(Sockaddr4("10.0.0.2", 53))
                 .Build();
  event = DecodeRecord(dns);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->syscall, "sendmmsg");
  EXPECT_EQ(*event->Text("name"), "foo.com");
  EXPECT_EQ(*event->Text("qtype"), "A");
  EXPECT_EQ(event->remote->address, "10.0.0.2");
}

// A library mapped executable: the kernel's leaf-first path, mmap's prot, flags and fd.
TEST(DecoderTest, ExecutableMapping) {
  auto mmap = RecordBuilder(MOAT_EV_MMAP_EXEC, 7)
                  .Num(2, 0x5)    // PROT_READ|PROT_EXEC
                  .Num(3, 0x812)  // MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE
                  .Num(4, 3)
                  .Num(11, 9)
                  .Ret(0x7f1a2d428000)
                  .Field("libsqlite3.so.0.8.6/x86_64-linux-gnu/lib/usr/")
                  .Build();
  auto event = DecodeRecord(mmap);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->type, EventType::kMmapExec);
  EXPECT_EQ(event->syscall, "mmap");
  EXPECT_EQ(EventTypeName(event->type), "mmap");
  EXPECT_EQ(event->path, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6");
  EXPECT_EQ(event->Number("prot"), 0x5);
  EXPECT_EQ(event->Number("fd"), 3);
  // The path field is required.
  auto missing = RecordBuilder(MOAT_EV_MMAP_EXEC, 7).Num(11, 9).Build();
  EXPECT_FALSE(DecodeRecord(missing).ok());
}

TEST(DecoderTest, UnixAndIpv6Addresses) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, "\0moat", 5);
  auto abstract = ParseSockaddr(ByteSpan(reinterpret_cast<const uint8_t*>(&un), 2 + 5));
  ASSERT_TRUE(abstract.ok());
  EXPECT_EQ(abstract->address, "@moat");
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  ::inet_pton(AF_INET6, "::1", &in6.sin6_addr);
  auto v6 = ParseSockaddr(ByteSpan(reinterpret_cast<const uint8_t*>(&in6), sizeof in6));
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(*v6, (SocketAddress{"ipv6", "::1", 443}));
  EXPECT_FALSE(ParseSockaddr(ByteSpan(reinterpret_cast<const uint8_t*>(&in6), 10)).ok());
}

TEST(DecoderTest, RefusesLyingRecords) {
  auto record = ExecRecord();
  // Every truncation is refused (the header's size no longer fits), never read past.
  for (size_t size = 0; size < record.size(); ++size) {
    EXPECT_FALSE(DecodeRecord(ByteSpan(record.data(), size)).ok()) << size;
  }
  // A field length that runs past the record.
  auto bad_field = record;
  uint16_t huge = 60000;
  std::memcpy(bad_field.data() + sizeof(moat_event_header), &huge, 2);
  auto error = DecodeRecord(bad_field);
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message.find("runs past"), std::string::npos) << error.error().message;
  // An unknown type, a wrong field count, an unknown system call.
  auto bad_type = record;
  bad_type[4] = 200;
  EXPECT_NE(DecodeRecord(bad_type).error().message.find("unknown type"), std::string::npos);
  auto few = RecordBuilder(MOAT_EV_EXEC, 1).Field("x").Build();
  EXPECT_NE(DecodeRecord(few).error().message.find("expected 6"), std::string::npos);
  auto syscall = RecordBuilder(MOAT_EV_OPEN, 1).Num(11, 9999).Field("/x").Build();
  EXPECT_NE(DecodeRecord(syscall).error().message.find("9999"), std::string::npos);
}

TEST(DecoderTest, ReversesKernelPaths) {
  EXPECT_EQ(ReverseKernelPath("ls/bin/usr/"), "/usr/bin/ls");
  EXPECT_EQ(ReverseKernelPath(""), "");
  EXPECT_EQ(ReverseKernelPath("a b/dir/"), "/dir/a b");
}

}  // namespace
}  // namespace moat::sensor
