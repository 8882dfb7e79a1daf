#include "sensor/container_metadata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/test_http_server.h"

namespace moat::sensor {
namespace {

// The shape of GET /containers/{id}/json from Docker Engine 20.10 (API 1.41) for a container
// that kubelet created through cri-dockerd, trimmed to the fields the sensor reads plus a few
// neighbours.
constexpr const char* kInspect = R"({
  "Id": "7951fb549ab99e0722a949b6c121634e1f3a36b5bacbe5392991e3b12251e6b8",
  "Created": "2024-05-01T10:00:00.000000000Z",
  "Path": "nginx",
  "Name": "/k8s_web_shop-7d9c_prod_0a1b_0",
  "Image": "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6",
  "State": {"Status": "running", "Pid": 4242},
  "HostConfig": {"Privileged": true, "CapAdd": null},
  "Mounts": [
    {"Type": "bind", "Source": "/var/lib/kubelet/pods/0a1b/volumes/kubernetes.io~empty-dir/cache",
     "Destination": "/cache", "Mode": "", "RW": true, "Propagation": "rprivate"},
    {"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data",
     "Destination": "/data", "Driver": "local", "RW": true},
    {"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock",
     "Mode": "ro", "RW": false, "Propagation": "rprivate"},
    {"Type": "bind"}, "not a mount"
  ],
  "Config": {
    "Image": "nginx:1.25",
    "Labels": {
      "io.kubernetes.pod.name": "shop-7d9c",
      "io.kubernetes.pod.namespace": "prod",
      "io.kubernetes.container.name": "web"
    }
  }
})";

constexpr const char* kImage = R"({
  "Id": "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6",
  "RepoTags": ["nginx:1.25"],
  "RepoDigests": ["nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"]
})";

std::string SocketPath() {
  return (std::filesystem::temp_directory_path() /
          ("moat-sensor-meta-" + std::to_string(::getpid()) + ".sock"))
      .string();
}

TEST(ContainerMetadataTest, ParsesInspect) {
  auto info = ParseDockerInspect(kInspect, "inspect");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->name, "k8s_web_shop-7d9c_prod_0a1b_0");
  EXPECT_EQ(info->image, "nginx:1.25");
  EXPECT_EQ(info->Label("io.kubernetes.pod.namespace"), "prod");
  EXPECT_TRUE(info->privileged);
  // Bind mounts only (a named volume is Docker's own directory), sources as given.
  EXPECT_EQ(
      info->host_mounts,
      (std::vector<std::string>{"/var/lib/kubelet/pods/0a1b/volumes/kubernetes.io~empty-dir/cache",
                                "/var/run/docker.sock"}));
  auto unprivileged =
      ParseDockerInspect(R"({"Id": "ab", "HostConfig": {"Privileged": false}})", "i");
  ASSERT_TRUE(unprivileged.ok());
  EXPECT_FALSE(unprivileged->privileged);
  EXPECT_FALSE(ParseDockerInspect("[]", "inspect").ok());
  EXPECT_FALSE(ParseDockerInspect("{\"Name\": \"x\"}", "inspect").ok());
}

TEST(ContainerMetadataTest, RetriesWithBackoffUntilTheEngineAnswers) {
  const std::string socket = SocketPath();
  std::atomic<int> inspects{0};
  testing::TestHttpServer server(
      [&](const testing::TestHttpRequest& request) {
        testing::TestHttpResponse response;
        if (request.target.find("/images/") != std::string::npos) {
          response.body = kImage;
        } else if (++inspects <= 2) {
          response.status = 503;  // the engine is busy: retried
        } else {
          response.body = kInspect;
        }
        return response;
      },
      socket);
  ContainerMetadataOptions options;
  options.docker_socket = socket;
  ContainerMetadataCache cache(options);
  ContainerRef ref{"docker", "7951fb549ab99e0722a949b6c121634e1f3a36b5bacbe5392991e3b12251e6b8"};
  const ContainerInfo& info = cache.Lookup(ref);
  EXPECT_TRUE(info.resolved);
  EXPECT_EQ(inspects.load(), 3);
  EXPECT_EQ(info.image_digest,
            "nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31");
  EXPECT_EQ(cache.failed_requests(), 2u);
  // Cached: no new request.
  cache.Lookup(ref);
  EXPECT_EQ(inspects.load(), 3);
  ::unlink(socket.c_str());
}

TEST(ContainerMetadataTest, UnknownContainerWaitsBeforeAskingAgain) {
  const std::string socket = SocketPath();
  std::atomic<int> requests{0};
  testing::TestHttpServer server(
      [&](const testing::TestHttpRequest&) {
        ++requests;
        testing::TestHttpResponse response;
        response.status = 404;
        response.body = R"({"message":"No such container"})";
        return response;
      },
      socket);
  ContainerMetadataOptions options;
  options.docker_socket = socket;
  options.retry_interval = std::chrono::milliseconds(200);
  ContainerMetadataCache cache(options);
  ContainerRef ref{"containerd", "abc"};
  EXPECT_FALSE(cache.Lookup(ref).resolved);
  EXPECT_EQ(requests.load(), 1);  // a 404 is an answer: no retry inside the lookup
  EXPECT_FALSE(cache.Lookup(ref).resolved);
  EXPECT_EQ(requests.load(), 1);  // within the retry interval
  ::usleep(250'000);
  cache.Lookup(ref);
  EXPECT_EQ(requests.load(), 2);
  EXPECT_EQ(cache.Lookup(ref).id, "abc");
  ::unlink(socket.c_str());
}

}  // namespace
}  // namespace moat::sensor
