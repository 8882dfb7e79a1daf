#include "sensor/config.h"

#include <gtest/gtest.h>

#include "scan/scanner.h"

namespace moat::sensor {
namespace {

TEST(SensorConfigTest, DefaultsAndOverrides) {
  auto defaults = ParseSensorConfig("", "empty");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->ring_buffer_bytes, 16u << 20);
  EXPECT_EQ(defaults->sensitive_read_prefixes, DefaultSensitiveReadPrefixes());
  EXPECT_LE(defaults->sensitive_read_prefixes.size(), 16u);
  EXPECT_EQ(defaults->image_cache_dir, DefaultCacheDir());  // where moat image writes
  EXPECT_EQ(defaults->syscall_attach, SyscallAttach::kAuto);

  auto config = ParseSensorConfig(
      "ringBufferMiB: 64\nstatsInterval: 2\ndockerSocket: /run/x.sock\nparentLevels: 6\n"
      "sensitiveReadPrefixes: [/etc/shadow, /srv/keys/]\nsyscallAttach: raw\n",
      "sensor.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->ring_buffer_bytes, 64u << 20);
  EXPECT_EQ(config->stats_interval_seconds, 2);
  EXPECT_EQ(config->docker_socket, "/run/x.sock");
  EXPECT_EQ(config->parent_levels, 6u);
  EXPECT_EQ(config->sensitive_read_prefixes,
            (std::vector<std::string>{"/etc/shadow", "/srv/keys/"}));
  EXPECT_EQ(config->image_cache_dir, DefaultCacheDir());

  auto cache = ParseSensorConfig("imageCache: /var/cache/moat\n", "sensor.yaml");
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  EXPECT_EQ(cache->image_cache_dir, "/var/cache/moat");
  auto off = ParseSensorConfig("imageCache: \"\"\n", "sensor.yaml");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->image_cache_dir, "");
  auto list = ParseSensorConfig("imageCache: [a]\n", "sensor.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().message, "sensor.yaml: imageCache: not a string");
  EXPECT_EQ(config->syscall_attach, SyscallAttach::kRaw);
  EXPECT_EQ(ParseSensorConfig("syscallAttach: tracepoints\n", "s")->syscall_attach,
            SyscallAttach::kTracepoints);
}

TEST(SensorConfigTest, ErrorsNameTheFileAndSetting) {
  auto odd = ParseSensorConfig("ringBufferMiB: 3\n", "sensor.yaml");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().message,
            "sensor.yaml: ringBufferMiB: 3 is not a power of two from 1 to 1024");
  EXPECT_NE(ParseSensorConfig("parentLevels: 2\n", "s").error().message.find("4-64"),
            std::string::npos);
  EXPECT_NE(ParseSensorConfig("ringbuffer: 2\n", "s").error().message.find("unknown setting"),
            std::string::npos);
  EXPECT_FALSE(ParseSensorConfig("- a\n", "s").ok());
  EXPECT_EQ(ParseSensorConfig("syscallAttach: kprobes\n", "sensor.yaml").error().message,
            "sensor.yaml: syscallAttach: \"kprobes\": expected auto, tracepoints or raw");
}

}  // namespace
}  // namespace moat::sensor
