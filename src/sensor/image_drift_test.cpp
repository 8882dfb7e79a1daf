// Drift against the image inventory (proc.is_exe_from_image): the exe path rules of
// ExeFromImage, then recorded exec events through the real pipeline (process tree, container
// metadata from an engine stand-in on a unix socket, the image's layers read from a real layer
// cache written as moat image writes it) and the built-in rules.

#include "sensor/image_drift.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/test_http_server.h"
#include "core/text.h"
#include "rules/output.h"
#include "scan/image_executables.h"
#include "scan/layer_cache.h"
#include "scan/scanner.h"
#include "sensor/container_metadata.h"
#include "sensor/detector.h"
#include "sensor/sensor.h"

namespace moat::sensor {
namespace {

ContainerInfo ContainerWith(std::vector<std::string> executables) {
  ContainerInfo container;
  container.id = std::string(64, 'c');
  container.resolved = true;
  container.rootfs_overlay = true;
  container.image_executables = std::make_shared<const ImageExecutables>(executables);
  return container;
}

ExecInfo ExecOf(std::string exe, bool on_overlay = true) {
  ExecInfo exec;
  exec.filename = exe;
  exec.exe = std::move(exe);
  exec.exe_on_overlay = on_overlay;
  return exec;
}

TEST(ImageDriftTest, ComparesTheWalkedPathAsTheContainerSeesIt) {
  const ContainerInfo container = ContainerWith({"usr/bin/true", "usr/bin/dash", "bin/busybox"});
  EXPECT_EQ(ExeFromImage(ExecOf("/usr/bin/true"), container), true);
  EXPECT_EQ(ExeFromImage(ExecOf("/usr/bin/busybox"), container), true);  // /bin -> /usr/bin
  // A copy on a bind mount, renamed: not the image's.
  EXPECT_EQ(ExeFromImage(ExecOf("/data/tool", false), container), false);
  // At an image file's path but not on the overlay root: a mount over /usr/bin/true.
  EXPECT_EQ(ExeFromImage(ExecOf("/usr/bin/true", false), container), false);
  // The writable layer is on the overlay too; a new path there is not the image's.
  EXPECT_EQ(ExeFromImage(ExecOf("/usr/local/bin/dropped"), container), false);
  // "sh script.sh" or "./script.sh" with a "#!/bin/sh" line: the kernel ran (and walked) dash.
  ExecInfo script = ExecOf("/usr/bin/dash");
  script.filename = "./script.sh";
  EXPECT_EQ(ExeFromImage(script, container), true);
  ExecInfo memfd = ExecOf("/memfd:payload", false);
  memfd.exe_memfd = true;
  EXPECT_EQ(ExeFromImage(memfd, container), false);
  // The walk gave nothing: execve's filename may be relative or a link ("/bin/sh"): unknown.
  ExecInfo unwalked = ExecOf("/bin/sh");
  unwalked.exe_is_filename = true;
  EXPECT_EQ(ExeFromImage(unwalked, container), std::nullopt);
  EXPECT_EQ(ExeFromImage(ExecOf("tool"), container), std::nullopt);
  // Deeper than the kernel's walk goes: the path may have lost its first components.
  std::string deep;
  for (int i = 0; i < 21; ++i) deep += "/d";
  EXPECT_EQ(ExeFromImage(ExecOf(deep), container), std::nullopt);
  // No inventory: unknown.
  ContainerInfo unknown = container;
  unknown.image_executables.reset();
  EXPECT_EQ(ExeFromImage(ExecOf("/data/tool", false), unknown), std::nullopt);
  // Without an overlay root (another storage driver) the path alone decides.
  ContainerInfo other_driver = container;
  other_driver.rootfs_overlay = false;
  EXPECT_EQ(ExeFromImage(ExecOf("/usr/bin/true", false), other_driver), true);
}

std::string DiffId(char digit) { return "sha256:" + std::string(64, digit); }

// A Docker engine stand-in: containers "aaaa..." and "bbbb..." of image 1 (layers 1 and 2, both
// in the cache), "cccc..." of image 2 (layer 3 not in the cache).
class EngineWithCache {
 public:
  EngineWithCache()
      : socket_((std::filesystem::temp_directory_path() /
                 ("moat-drift-" + std::to_string(::getpid()) + ".sock"))
                    .string()),
        cache_dir_((std::filesystem::path(::testing::TempDir()) / "moat-drift-cache").string()),
        server_([this](const moat::testing::TestHttpRequest& request) { return Answer(request); },
                socket_) {
    std::filesystem::remove_all(cache_dir_);
    LayerCache cache(cache_dir_, BuiltinAnalyzers().VersionKey());
    for (auto [digit, paths] : {std::pair<char, std::vector<std::string>>{
                                    '1', {"usr/bin/bash", "usr/bin/dash", "usr/bin/true"}},
                                {'2', {"usr/local/bin/app"}}}) {
      LayerResult layer;
      layer.diff_id = DiffId(digit);
      layer.executables = paths;
      cache.PutLayer(layer);
    }
  }
  ~EngineWithCache() {
    ::unlink(socket_.c_str());
    std::filesystem::remove_all(cache_dir_);
  }
  const std::string& socket() const { return socket_; }
  const std::string& cache_dir() const { return cache_dir_; }
  int image_requests() const { return image_requests_.load(); }

 private:
  moat::testing::TestHttpResponse Answer(const moat::testing::TestHttpRequest& request) {
    moat::testing::TestHttpResponse response;
    const std::string image1 = DiffId('9'), image2 = DiffId('8');
    if (request.target.rfind("/images/", 0) == 0) {
      ++image_requests_;
      const bool first = request.target.find(image1) != std::string::npos;
      nlohmann::json image = {{"Id", first ? image1 : image2},
                              {"RepoDigests", nlohmann::json::array()},
                              {"RootFS",
                               {{"Type", "layers"},
                                {"Layers", first ? nlohmann::json{DiffId('1'), DiffId('2')}
                                                 : nlohmann::json{DiffId('1'), DiffId('3')}}}}};
      response.body = image.dump();
      return response;
    }
    for (char c : {'a', 'b', 'c'}) {
      const std::string id(64, c);
      if (request.target != "/containers/" + id + "/json") continue;
      nlohmann::json inspect = {{"Id", id},
                                {"Name", std::string("/app-") + c},
                                {"Image", c == 'c' ? image2 : image1},
                                {"GraphDriver", {{"Name", "overlay2"}}},
                                {"Config", {{"Image", c == 'c' ? "app:2" : "app:1"}}}};
      response.body = inspect.dump();
      return response;
    }
    response.status = 404;
    return response;
  }

  std::string socket_;
  std::string cache_dir_;
  std::atomic<int> image_requests_{0};
  moat::testing::TestHttpServer server_;
};

Event ExecEvent(uint32_t pid, uint32_t ppid, char container, std::string exe, bool on_overlay,
                bool upper_layer = false) {
  Event event;
  event.type = EventType::kExec;
  event.pid = event.tid = pid;
  event.comm = exe.substr(exe.rfind('/') + 1);
  ExecInfo exec = ExecOf(std::move(exe), on_overlay);
  exec.exe_upper_layer = upper_layer;
  exec.ppid = ppid;
  exec.argv = {exec.filename};
  exec.cwd = "/";
  exec.cgroup = "/system.slice/docker-" + std::string(64, container) + ".scope";
  event.exec = std::move(exec);
  return event;
}

// The recorded execs through the pipeline and the built-in rules: a renamed copy of an image
// binary on a bind mount is drift (once), the image's own binaries and a script run by its
// interpreter are not, a binary on the writable layer raises one alert (not two), and a
// container whose image the cache lacks gets no field and no inventory alert.
TEST(ImageDriftTest, RecordedExecsThroughThePipelineAndTheBuiltinRules) {
  EngineWithCache engine;
  const std::string dir = ::testing::TempDir();
  const std::string alerts_path = dir + "/moat-drift-alerts.jsonl";
  const std::string events_path = dir + "/moat-drift-events.jsonl";
  std::filesystem::remove(alerts_path);
  rules::OutputOptions output_options;
  output_options.file = alerts_path;
  output_options.rate_window = std::chrono::seconds(0);
  auto outputs = rules::AlertOutputs::Open(output_options);
  ASSERT_TRUE(outputs.ok()) << outputs.error().message;
  auto detector = Detector::Create({}, outputs->get());
  ASSERT_TRUE(detector.ok()) << detector.error().message;
  std::FILE* events = std::fopen(events_path.c_str(), "w");
  ASSERT_NE(events, nullptr);

  SensorConfig config;
  config.docker_socket = engine.socket();
  config.image_cache_dir = engine.cache_dir();
  {
    EventPipeline pipeline(config, {events, detector->get(), nullptr});
    const uint32_t base = 4'190'000;  // above the pids of this machine's processes
    pipeline.OnEvent(ExecEvent(base, 1, 'a', "/usr/bin/bash", true));
    pipeline.OnEvent(ExecEvent(base + 1, base, 'a', "/data/tool", false));         // drift
    pipeline.OnEvent(ExecEvent(base + 2, base, 'a', "/usr/bin/true", true));       // image
    pipeline.OnEvent(ExecEvent(base + 3, base, 'a', "/usr/local/bin/app", true));  // image
    pipeline.OnEvent(ExecEvent(base + 4, base, 'a', "/usr/bin/dash", true));       // a script
    pipeline.OnEvent(ExecEvent(base + 5, base, 'b', "/usr/local/bin/dropped", true,
                               /*upper_layer=*/true));  // drift, on both counts: one alert
    pipeline.OnEvent(ExecEvent(base + 6, 1, 'c', "/data/tool", false));  // image unknown
  }
  std::fclose(events);
  ASSERT_TRUE((*outputs)->Flush(std::chrono::seconds(5)));
  (*outputs)->Close();
  // Containers a and b share their image: asked once.
  EXPECT_EQ(engine.image_requests(), 2);

  std::map<std::string, std::optional<bool>> field;  // by exe
  auto lines = ReadFileToString(events_path);
  ASSERT_TRUE(lines.ok());
  for (std::string_view line : SplitLines(*lines)) {
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line);
    const auto& proc = json.at("proc");
    const std::string key = proc.at("exe").get<std::string>() + "@" +
                            json.at("container").at("id").get<std::string>().substr(0, 1);
    field[key] = proc.contains("exe_from_image") ? std::optional<bool>(proc.at("exe_from_image"))
                                                 : std::nullopt;
  }
  EXPECT_EQ(field["/usr/bin/bash@a"], true);
  EXPECT_EQ(field["/data/tool@a"], false);
  EXPECT_EQ(field["/usr/bin/true@a"], true);
  EXPECT_EQ(field["/usr/local/bin/app@a"], true);
  EXPECT_EQ(field["/usr/bin/dash@a"], true);
  EXPECT_EQ(field["/usr/local/bin/dropped@b"], false);
  ASSERT_TRUE(field.count("/data/tool@c"));
  EXPECT_EQ(field["/data/tool@c"], std::nullopt);

  std::vector<std::string> drift;  // "exe@container" of each drift alert
  auto alerts = ReadFileToString(alerts_path);
  ASSERT_TRUE(alerts.ok());
  for (std::string_view line : SplitLines(*alerts)) {
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line);
    if (json.at("rule") != "Moat Drift Executable Not From Image") continue;
    const std::string output = json.at("output");
    const size_t at = output.find("exe=");
    drift.push_back(output.substr(at + 4, output.find(' ', at) - at - 4) + "@" +
                    json.at("container").at("name").get<std::string>());
    if (drift.back() == "/data/tool@app-a") {
      EXPECT_NE(output.find("upper_layer=false in_image=false"), std::string::npos) << output;
    }
  }
  EXPECT_EQ(drift, (std::vector<std::string>{"/data/tool@app-a", "/usr/local/bin/dropped@app-b"}));
}

// An image scanned after its first container started: the inventory is read again later and
// reaches the container.
TEST(ImageDriftTest, AnImageScannedLaterGetsItsInventory) {
  EngineWithCache engine;
  ContainerMetadataOptions options;
  options.docker_socket = engine.socket();
  options.image_cache_dir = engine.cache_dir();
  options.inventory_retry_interval = std::chrono::milliseconds(0);
  ContainerMetadataCache cache(options);
  ContainerRef ref{"docker", std::string(64, 'c')};
  EXPECT_TRUE(cache.Lookup(ref).resolved);
  EXPECT_EQ(cache.Lookup(ref).image_layers, (std::vector<std::string>{DiffId('1'), DiffId('3')}));
  EXPECT_FALSE(cache.Lookup(ref).image_executables);
  cache.RetryUnknownInventories();
  EXPECT_FALSE(cache.Lookup(ref).image_executables);  // still not scanned
  LayerResult layer;
  layer.diff_id = DiffId('3');
  layer.executables = {"opt/tool"};
  LayerCache(engine.cache_dir(), BuiltinAnalyzers().VersionKey()).PutLayer(layer);
  cache.RetryUnknownInventories();
  const ContainerInfo& info = cache.Lookup(ref);
  ASSERT_TRUE(info.image_executables);
  EXPECT_TRUE(info.image_executables->Contains("/opt/tool"));
  EXPECT_TRUE(info.image_executables->Contains("/usr/bin/dash"));
  EXPECT_EQ(engine.image_requests(), 1);
}

TEST(ImageDriftTest, ImageInspectErrorsNameTheInputAndPlace) {
  auto image = ParseDockerImageInspect(
      R"({"RepoDigests":["app@sha256:ab"],"RootFS":{"Layers":["sha256:1","sha256:2"]}})", "img");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->repo_digest, "app@sha256:ab");
  EXPECT_EQ(image->layers, (std::vector<std::string>{"sha256:1", "sha256:2"}));
  auto bad = ParseDockerImageInspect(R"({"RootFS":{"Layers":["sha256:1",7]}})", "GET /images/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "GET /images/x: RootFS.Layers[1]: not a string");
  EXPECT_FALSE(ParseDockerImageInspect("[]", "img").ok());
}

}  // namespace
}  // namespace moat::sensor
