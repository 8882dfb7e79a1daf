#include "sensor/container_id.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace moat::sensor {
namespace {

// Falco's container plugin vectors: every one must give the plugin's answer.
TEST(ContainerFromCgroupTest, FalcoContainerPluginVectors) {
  const std::string path = std::string(MOAT_SHARED_DATA_DIR) +
                           "/runtime/container-attribution/cgroup_to_container_id_vectors.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::string line;
  int vectors = 0, matching = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto vector = nlohmann::json::parse(line);
    ++vectors;
    const std::string name = vector["name"];
    auto ref = ContainerFromCgroup(vector["cgroup"].get<std::string>());
    if (vector["should_match"].get<bool>()) {
      ++matching;
      ASSERT_TRUE(ref.has_value()) << name;
      EXPECT_EQ(ref->ShortId(), vector["expected_container_id"].get<std::string>()) << name;
    } else {
      EXPECT_FALSE(ref.has_value()) << name << " gave " << (ref ? ref->id : "");
    }
  }
  EXPECT_EQ(vectors, 32);
  EXPECT_GT(matching, 20);
}

TEST(ContainerFromCgroupTest, NamesTheRuntime) {
  const std::string id(64, 'a');
  EXPECT_EQ(ContainerFromCgroup("/docker/" + id)->runtime, "docker");
  EXPECT_EQ(ContainerFromCgroup("/system.slice/docker-" + id + ".scope")->runtime, "docker");
  EXPECT_EQ(ContainerFromCgroup("/kubepods.slice/x/crio-" + id + ".scope")->runtime, "cri-o");
  EXPECT_EQ(ContainerFromCgroup("/machine.slice/libpod-" + id + ".scope")->runtime, "podman");
  EXPECT_EQ(ContainerFromCgroup("/kubepods.slice/x/cri-containerd-" + id + ".scope")->runtime,
            "containerd");
  // A cgroup-v1 host that nests the engine below its own cgroup.
  EXPECT_EQ(ContainerFromCgroup("/process_api/8dc1/docker/" + id)->id, id);
  // Host cgroups.
  EXPECT_FALSE(ContainerFromCgroup("/system.slice/cron.service"));
  EXPECT_FALSE(ContainerFromCgroup("/user.slice/user-0.slice"));
  EXPECT_FALSE(ContainerFromCgroup("/system.slice/docker-" + id.substr(1) + ".scope"));
  EXPECT_FALSE(ContainerFromCgroup(""));
}

}  // namespace
}  // namespace moat::sensor
