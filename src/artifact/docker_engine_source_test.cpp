// The Docker Engine source against a private dockerd, and against a loopback engine double
// (Engine API over a unix socket) for export formats and failures a real engine won't show on
// demand (Docker 25+ OCI-style exports, truncated streams).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "artifact/sources.h"
#include "artifact/test_fixture.h"
#include "core/test_http_server.h"

namespace moat {
namespace {

using Json = nlohmann::json;
using testing::BuildOciImage;
using testing::NoiseBytes;
using testing::ReadFile;
using testing::RecordingHandler;
using testing::RunCommand;
using testing::TempDir;
using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

class DockerEngineSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_ = dir_.path() + "/layout";
    BuildOciImage(dir_.path(), layout_, "v1",
                  {{"/usr/share/big.bin", NoiseBytes(200000, 5)}, {"/etc/hostname", "moat\n"}});
    auto config = RunCommand("skopeo inspect --config oci:" + layout_ + ":v1");
    ASSERT_EQ(config.status, 0) << config.output;
    config_ = Json::parse(config.output);
    auto inspect = RunCommand("skopeo inspect oci:" + layout_ + ":v1");
    layer_digests_ = Json::parse(inspect.output)["Layers"].get<std::vector<std::string>>();
    socket_ = dir_.path() + "/docker.sock";
  }

  // An engine that knows one image, "app:v1", and exports `export_path` for it.
  std::unique_ptr<TestHttpServer> StartEngine(const std::string& export_path) {
    std::string export_bytes = ReadFile(export_path);
    Json inspect = {{"Id", "sha256:feed"},
                    {"RepoTags", {"app:v1"}},
                    {"RepoDigests", Json::array()},
                    {"RootFS", {{"Type", "layers"}, {"Layers", config_["rootfs"]["diff_ids"]}}}};
    std::string inspect_text = inspect.dump();
    return std::make_unique<TestHttpServer>(
        [=](const TestHttpRequest& request) {
          TestHttpResponse response;
          if (request.target == "/_ping") {
            response.headers = {{"Api-Version", "1.43"}};
            response.body = "OK";
          } else if (request.target == "/v1.41/images/app:v1/json") {
            response.body = inspect_text;
          } else if (request.target == "/v1.41/images/app:v1/get") {
            response.body = export_bytes;
          } else {
            response.status = 404;
            response.body = R"({"message":"No such image"})";
          }
          return response;
        },
        socket_);
  }

  void CheckExport(const std::string& export_path, bool uncompressed) {
    auto engine = StartEngine(export_path);
    auto source = OpenDockerEngineImage("app:v1", "unix://" + socket_);
    ASSERT_TRUE(source.ok()) << source.error().message;
    EXPECT_NE((*source)->SourceName().find(socket_), std::string::npos);
    auto description = (*source)->Describe();
    ASSERT_TRUE(description.ok()) << description.error().message;
    auto diff_ids = config_["rootfs"]["diff_ids"].get<std::vector<std::string>>();
    EXPECT_EQ(description->diff_ids, diff_ids);
    EXPECT_EQ(description->repo_tags, std::vector<std::string>{"app:v1"});
    EXPECT_TRUE(description->config_json.empty());

    RecordingHandler handler;
    auto streamed = (*source)->StreamLayers(diff_ids, handler, 2);
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    const auto& expected = uncompressed ? diff_ids : layer_digests_;
    auto deliveries = handler.ByDigest();
    ASSERT_EQ(deliveries.size(), expected.size());
    for (const std::string& digest : expected) {
      ASSERT_TRUE(deliveries.count(digest)) << digest;
      EXPECT_TRUE(deliveries[digest].closed);
      EXPECT_TRUE(deliveries[digest].expected_diff_id.empty());
    }
    ASSERT_EQ(handler.configs().size(), 1u);
    EXPECT_EQ(Json::parse(handler.configs()[0])["rootfs"], config_["rootfs"]);
  }

  TempDir dir_;
  std::string layout_;
  std::string socket_;
  Json config_;
  std::vector<std::string> layer_digests_;
};

// Classic `docker save` layout: "<id>/layer.tar" (here symlinks to "<diff>.tar"), "<id>.json".
TEST_F(DockerEngineSourceTest, StreamsDockerSaveExport) {
  std::string archive = dir_.path() + "/export.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive + ":app:v1");
  CheckExport(archive, true);
}

// Docker 25+ exports an OCI layout: compressed or plain blobs under blobs/sha256.
TEST_F(DockerEngineSourceTest, StreamsOciStyleExport) {
  std::string archive = dir_.path() + "/export.oci";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 oci-archive:" + archive + ":app:v1");
  CheckExport(archive, false);
}

TEST_F(DockerEngineSourceTest, UnknownImageAndUnreachableEngine) {
  std::string archive = dir_.path() + "/export.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive + ":app:v1");
  {
    auto engine = StartEngine(archive);
    auto source = OpenDockerEngineImage("other:v9", socket_);
    ASSERT_TRUE(source.ok()) << source.error().message;
    auto description = (*source)->Describe();
    ASSERT_FALSE(description.ok());
    EXPECT_NE(description.error().message.find("image other:v9 not found in docker engine"),
              std::string::npos)
        << description.error().message;
    RecordingHandler handler;
    EXPECT_FALSE((*source)->StreamLayers({}, handler, 1).ok());
  }
  auto source = OpenDockerEngineImage("app:v1", dir_.path() + "/no-such.sock");
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.error().message.find("no-such.sock"), std::string::npos);
  EXPECT_FALSE(OpenDockerEngineImage("app:v1", "tcp://127.0.0.1:2375").ok());
}

TEST_F(DockerEngineSourceTest, TruncatedExportIsAnError) {
  std::string archive = dir_.path() + "/export.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive + ":app:v1");
  std::string truncated = dir_.path() + "/truncated.tar";
  testing::WriteFile(truncated, ReadFile(archive).substr(0, 1500));
  auto engine = StartEngine(truncated);
  auto source = OpenDockerEngineImage("app:v1", socket_);
  ASSERT_TRUE(source.ok()) << source.error().message;
  RecordingHandler handler;
  EXPECT_FALSE((*source)->StreamLayers({}, handler, 1).ok());
}

// A private dockerd (own data root, exec root and socket), as the integration test uses.
class DockerdProcess {
 public:
  explicit DockerdProcess(const std::string& dir) : socket_(dir + "/d.sock") {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = dir + "/dockerd.log";
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      // In a network and mount namespace of its own, /run on a tmpfs there: the engine's
      // network setup (--bridge=none deletes a docker0 interface), mounts and runtime sockets
      // never reach the host. unshare and sh exec in place, so pid_ is dockerd's.
      ::execlp("unshare", "unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
               "mount -n -t tmpfs moat-engine-run /run && exec dockerd \"$@\"", "dockerd",
               "--data-root", (dir + "/data").c_str(), "--exec-root", (dir + "/exec").c_str(), "-H",
               ("unix://" + socket_).c_str(), "--pidfile", (dir + "/dockerd.pid").c_str(),
               "--bridge=none", "--iptables=false", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 300 && !ready_; ++i) {
      HttpRequest ping;
      ping.url = "http://localhost/_ping";
      ping.unix_socket = socket_;
      auto response = HttpFetch(ping);
      ready_ = response.ok() && response->status == 200;
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~DockerdProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

TEST_F(DockerEngineSourceTest, RealDockerd) {
  ASSERT_EQ(RunCommand("command -v dockerd").status, 0)
      << "dockerd is not installed (apt docker.io: scripts/install-deps.sh test)";
  std::string archive = dir_.path() + "/load.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive +
                   ":example.com/moat/app:v1");
  DockerdProcess dockerd(dir_.path() + "/dockerd");
  ASSERT_TRUE(dockerd.ready()) << ReadFile(dir_.path() + "/dockerd/dockerd.log");
  MOAT_RUN_OR_FAIL("docker -H unix://" + dockerd.socket() + " load -i " + archive);

  auto source = OpenDockerEngineImage("example.com/moat/app:v1", "unix://" + dockerd.socket());
  ASSERT_TRUE(source.ok()) << source.error().message;
  auto description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  auto diff_ids = config_["rootfs"]["diff_ids"].get<std::vector<std::string>>();
  EXPECT_EQ(description->diff_ids, diff_ids);
  EXPECT_EQ(description->repo_tags, std::vector<std::string>{"example.com/moat/app:v1"});
  auto config_digest = RunCommand("skopeo inspect --raw oci:" + layout_ + ":v1");
  EXPECT_NE(config_digest.output.find(description->image_id), std::string::npos)
      << description->image_id;

  RecordingHandler handler;
  auto streamed = (*source)->StreamLayers(diff_ids, handler, 2);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  auto deliveries = handler.ByDigest();
  ASSERT_EQ(deliveries.size(), diff_ids.size());
  for (const std::string& diff_id : diff_ids) EXPECT_TRUE(deliveries.count(diff_id)) << diff_id;
  ASSERT_EQ(handler.configs().size(), 1u);
  EXPECT_EQ("sha256:" + Sha256Hex(AsBytes(handler.configs()[0])), description->image_id);

  auto missing = OpenDockerEngineImage("example.com/moat/absent:v1", dockerd.socket());
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  auto missing_description = (*missing)->Describe();
  ASSERT_FALSE(missing_description.ok());
  EXPECT_NE(missing_description.error().message.find("not found in docker engine"),
            std::string::npos)
      << missing_description.error().message;
}

TEST(DefaultDockerSocketTest, FollowsDockerHost) {
  setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock", 1);
  EXPECT_EQ(DefaultDockerSocket(), "/run/user/1000/docker.sock");
  setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
  EXPECT_EQ(DefaultDockerSocket(), "/var/run/docker.sock");
  unsetenv("DOCKER_HOST");
  EXPECT_EQ(DefaultDockerSocket(), "/var/run/docker.sock");
}

}  // namespace
}  // namespace moat
