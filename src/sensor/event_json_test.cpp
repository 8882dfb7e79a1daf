#include "sensor/event_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace moat::sensor {
namespace {

// The --events line written without a JSON tree: valid JSON whatever bytes the process put in
// its paths and arguments, every part in place.
TEST(EventJsonTest, WritesEveryPartAsValidJson) {
  ProcessInfo parent;
  parent.pid = 10;
  parent.comm = "bash";
  parent.exec.exe = "/usr/bin/bash";
  parent.exec.argv = {"bash", "-c", "x"};
  ProcessInfo process;
  process.pid = 11;
  process.ppid = 10;
  process.comm = "cat";
  process.exec.exe = "/usr/bin/cat";
  process.exec.argv = {"cat", "a\"b\\c\n\x01", std::string("\xff\xfe", 2)};
  process.exec.cap_effective = 0x1fffffffff;
  ContainerInfo container;
  container.id = std::string(64, 'a');
  container.runtime = "docker";
  container.name = "web";
  container.image = "nginx:1.25";
  container.resolved = true;
  container.privileged = true;
  container.labels = {{"io.kubernetes.pod.name", "shop-1"}, {"odd\"key", "v"}};
  Event event;
  event.type = EventType::kConnect;
  event.syscall = "connect";
  event.pid = 11;
  event.tid = 12;
  event.uid = 1000;
  event.ret = -115;
  event.comm = "cat";
  event.remote = SocketAddress{"ipv4", "10.0.0.9", 4444};
  event.local = SocketAddress{"unix", "@abstract", 0};
  event.numbers = {{"fd", 3}};
  event.texts = {{"name\"q", "v\tw"}};
  EnrichedEvent enriched;
  enriched.event = &event;
  enriched.time_ns = 1'700'000'000'123'456'789;
  enriched.process = &process;
  enriched.parents = {&parent};
  enriched.container = &container;
  enriched.user_name = "alice";
  const std::string line = EnrichedEventToJson(enriched);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto json = nlohmann::json::parse(line);  // throws on invalid JSON
  EXPECT_EQ(json["time"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(json["type"], "connect");
  EXPECT_EQ(json["ret"], -115);
  EXPECT_EQ(json["remote"],
            nlohmann::json({{"family", "ipv4"}, {"address", "10.0.0.9"}, {"port", 4444}}));
  EXPECT_EQ(json["local"], nlohmann::json({{"family", "unix"}, {"address", "@abstract"}}));
  EXPECT_EQ(json["args"]["fd"], 3);
  EXPECT_EQ(json["args"]["name\"q"], "v\tw");
  EXPECT_EQ(json["proc"]["args"][0], "a\"b\\c\n\x01");
  EXPECT_EQ(json["proc"]["args"][1], "\xEF\xBF\xBD\xEF\xBF\xBD");  // invalid UTF-8 replaced
  EXPECT_EQ(json["proc"]["cap_effective"], "0x1fffffffff");
  EXPECT_EQ(json["proc"]["parents"][0]["cmdline"], "bash -c x");
  EXPECT_EQ(json["user"]["name"], "alice");
  EXPECT_EQ(json["container"]["id"], "aaaaaaaaaaaa");
  EXPECT_EQ(json["container"]["privileged"], true);
  EXPECT_EQ(json["container"]["labels"]["odd\"key"], "v");
  EXPECT_EQ(json["k8s"]["pod"], "shop-1");

  // Without process or container: the short forms.
  enriched.process = nullptr;
  enriched.parents.clear();
  enriched.container = nullptr;
  json = nlohmann::json::parse(EnrichedEventToJson(enriched));
  EXPECT_EQ(json["proc"], nlohmann::json({{"pid", 11}, {"name", "cat"}}));
  EXPECT_FALSE(json.contains("container"));
}

}  // namespace
}  // namespace moat::sensor
