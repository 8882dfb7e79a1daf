// In use, end to end: the sensor's in-use tracker (src/sensor/in_use.cpp, the code `moat sensor`
// runs) records this very test process as a container's exec and reads its real
// /proc/self/maps; its moat-in-use/1 export is served on loopback as the sensor serves GET
// /in-use; `moat agent --once` fetches it and sends it to a real moat server (SQLite), which holds
// a real scan (ScanRootfs) of a root made of this machine's dpkg records for libc6 and dash. The
// finding in libc6 (whose libc.so.6 every process maps) is marked in use and ranked first; the one
// in dash (never run here) is not; a later export without the container clears the mark.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/agent.h"
#include "agent/test_center.h"
#include "artifact/test_fixture.h"
#include "core/test_http_server.h"
#include "k8s/test_api_server.h"
#include "scan/scanner.h"
#include "sensor/in_use.h"
#include "server/in_use.h"
#include "server/monitor/image_scan.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kDigest = "sha256:" + std::string(64, 'd');
const std::string kContainer = std::string(64, 'c');

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The paragraph of `package` in this machine's dpkg status file.
std::string StatusParagraph(const std::string& status, const std::string& package) {
  const std::string start = "Package: " + package + "\n";
  size_t at = status.rfind(start, 0) == 0 ? 0 : status.find("\n" + start);
  if (at == std::string::npos) return "";
  if (at != 0) ++at;
  const size_t end = status.find("\n\n", at);
  return status.substr(at, end == std::string::npos ? std::string::npos : end - at) + "\n\n";
}

// A root holding this machine's os-release and the dpkg records (status and file lists) of
// `packages`: what an image with exactly these packages has.
void MakeRoot(const fs::path& root, const std::vector<std::string>& packages) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "var/lib/dpkg/info");
  fs::copy_file("/etc/os-release", root / "etc/os-release");
  const std::string status = ReadText("/var/lib/dpkg/status");
  std::ofstream out(root / "var/lib/dpkg/status");
  for (const std::string& package : packages) {
    const std::string paragraph = StatusParagraph(status, package);
    ASSERT_FALSE(paragraph.empty()) << package << " is not installed here (dpkg)";
    out << paragraph;
    bool listed = false;
    for (const auto& entry : fs::directory_iterator("/var/lib/dpkg/info")) {
      const std::string name = entry.path().filename().string();
      if (name == package + ".list" ||
          (name.rfind(package + ":", 0) == 0 && name.size() > 5 && name.ends_with(".list"))) {
        fs::copy_file(entry.path(), root / "var/lib/dpkg/info" / name);
        listed = true;
      }
    }
    ASSERT_TRUE(listed) << package << " has no file list in /var/lib/dpkg/info";
  }
}

server::FindingRecord Vulnerability(const std::string& id, const std::string& package,
                                    const std::string& severity, double cvss) {
  server::FindingRecord f;
  f.resource_kind = "image";
  f.resource_id = kDigest;
  f.source = "vulnerability";
  f.finding_id = id;
  f.package = package;
  f.installed_version = "1";
  f.category = "deb";
  f.severity = severity;
  f.cvss = cvss;
  return f;
}

class InUseAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(center_.ok());
    options_.server = {center_.url(), center_.agent_token(), "", 30};
    options_.registration = {"node-1", "host", "0.1.0-test", "node-1"};
    options_.spool_dir = dir_ + "/spool";
    options_.report.docker_host = "unix://" + dir_ + "/no-docker.sock";
    options_.report.tool_version = "0.1.0-test";
    options_.sender.initial_backoff = std::chrono::milliseconds(20);
    options_.once = true;
    options_.once_timeout = std::chrono::seconds(30);
  }
  // The image in a registry, scanned from the root: its inventory, file index and findings.
  void StoreScannedImage(const std::vector<server::FindingRecord>& findings) {
    MakeRoot(dir_ + "/root", {"libc6", "dash"});
    auto inventory = ScanRootfs(dir_ + "/root", BuiltinAnalyzers(), ScanOptions{});
    ASSERT_TRUE(inventory.ok()) << inventory.error().message;
    ASSERT_EQ(inventory->os_package_files.size(), 2u);
    server::RegistryRecord registry;
    registry.name = "local";
    registry.url = "http://127.0.0.1:5000";
    auto added = center_.center().store().AddRegistry(registry);
    ASSERT_TRUE(added.ok()) << added.error().message;
    ASSERT_TRUE(center_.center().store().RecordPush(added->id, "app", kDigest, "1", 100).ok());
    server::ImageScan scan = server::MatchImage(*inventory, nullptr);
    ASSERT_TRUE(center_.center()
                    .store()
                    .SaveImageScan(kDigest, "debian 12", "linux/amd64", scan.inventory_json,
                                   scan.package_keys, findings, 200)
                    .ok());
    ASSERT_TRUE(center_.center()
                    .store()
                    .SaveImageFiles(kDigest, server::PackageFilesIndex(*inventory))
                    .ok());
  }

  // finding id -> in_use of the image's findings, in the order of `sort`.
  std::vector<std::pair<std::string, bool>> Findings(const std::string& query) {
    std::vector<std::pair<std::string, bool>> out;
    const Json page = center_.Get("/api/v1/findings?resource_id=" + kDigest + query);
    for (const auto& f : page["items"]) out.emplace_back(f["finding_id"], f["in_use"]);
    return out;
  }

  // One `moat agent --once` with a sensor serving `export_json` at /in-use.
  void RunAgentWithSensor(const std::string& export_json) {
    moat::testing::TestHttpServer sensor([&](const moat::testing::TestHttpRequest& request) {
      moat::testing::TestHttpResponse response;
      if (request.target != "/in-use") {
        response.status = 404;
        return response;
      }
      response.headers.emplace_back("Content-Type", "application/json");
      response.body = export_json;
      return response;
    });
    options_.sensor_urls = {sensor.BaseUrl()};
    std::atomic<bool> stop{false};
    auto ran = RunAgent(options_, stop);
    ASSERT_TRUE(ran.ok()) << ran.error().message;
    ASSERT_FALSE(sensor.Requests().empty()) << "the agent did not ask the sensor";
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  testing::LoopbackCenter center_{dir_, "node-1"};
  AgentOptions options_;
};

TEST_F(InUseAgentTest, FindingsOfPackagesTheSensorSawLoadedAreMarkedAndRankedFirst) {
  const std::vector<server::FindingRecord> findings = {
      Vulnerability("CVE-2099-0001", "libc6", "HIGH", 7.5),
      Vulnerability("CVE-2099-0002", "dash", "CRITICAL", 9.8)};
  StoreScannedImage(findings);
  ASSERT_FALSE(HasFatalFailure());

  // The sensor's tracker: this process exec'd in the container, its mappings read as the sensor
  // reads them half a second after an exec.
  sensor::InUseTracker tracker("/proc", 0);
  sensor::ContainerInfo container;
  container.id = kContainer;
  container.name = "app";
  container.image = "127.0.0.1:5000/app:1";
  container.image_digest = "127.0.0.1:5000/app@" + kDigest;
  container.resolved = true;
  sensor::ProcessInfo process;
  process.pid = static_cast<uint32_t>(::getpid());
  process.exec.exe = fs::read_symlink("/proc/self/exe").string();
  tracker.OnExec(container, process, 1, 1'700'000'000'000'000'000);
  tracker.Sample(UINT64_MAX);
  const std::string exported = tracker.ToJson("node-1", 1'700'000'001'000'000'000);
  ASSERT_NE(exported.find("libc.so.6"), std::string::npos) << exported;

  RunAgentWithSensor(exported);
  using Marks = std::vector<std::pair<std::string, bool>>;
  // Most severe first by default; in use first when asked; filtered.
  EXPECT_EQ(Findings(""), (Marks{{"CVE-2099-0002", false}, {"CVE-2099-0001", true}}));
  EXPECT_EQ(Findings("&sort=in_use"), (Marks{{"CVE-2099-0001", true}, {"CVE-2099-0002", false}}));
  EXPECT_EQ(Findings("&in_use=true"), (Marks{{"CVE-2099-0001", true}}));
  EXPECT_EQ(Findings("&in_use=false"), (Marks{{"CVE-2099-0002", false}}));
  // The recommendation's drill-down carries the mark.
  Json recommendation =
      center_.Get("/api/v1/recommendations/registry-images-vulnerabilities?findings=10");
  ASSERT_EQ(recommendation["unhealthy"].size(), 1u) << recommendation;
  std::map<std::string, bool> drill_down;
  for (const auto& f : recommendation["unhealthy"][0]["findings"]) {
    drill_down[f["finding_id"]] = f["in_use"];
  }
  EXPECT_EQ(drill_down,
            (std::map<std::string, bool>{{"CVE-2099-0001", true}, {"CVE-2099-0002", false}}));
  // In use ranks first there, ahead of the more severe finding.
  EXPECT_EQ(recommendation["unhealthy"][0]["findings"][0]["finding_id"], "CVE-2099-0001");

  // A rescan keeps the mark (the scan does not know what runs).
  ASSERT_TRUE(center_.center()
                  .store()
                  .SaveImageScan(kDigest, "debian 12", "linux/amd64", "{}", {}, findings, 300)
                  .ok());
  EXPECT_EQ(Findings("&in_use=true"), (Marks{{"CVE-2099-0001", true}}));

  // The container is gone from the next export (the sensor restarted): no longer in use.
  sensor::InUseTracker restarted("/proc", 0);
  RunAgentWithSensor(restarted.ToJson("node-1", 1'700'000'100'000'000'000));
  EXPECT_EQ(Findings(""), (Marks{{"CVE-2099-0002", false}, {"CVE-2099-0001", false}}));
}

// In a cluster the agent finds the sensor DaemonSet's pods among the pods it lists (here one at
// 127.0.0.1), and gives a container whose digest the sensor could not learn (containerd: no
// Docker engine to ask) the one its pod's status reports for that container id.
TEST_F(InUseAgentTest, AClusterAgentFetchesEachSensorPodsExport) {
  StoreScannedImage({Vulnerability("CVE-2099-0001", "libc6", "HIGH", 7.5),
                     Vulnerability("CVE-2099-0002", "dash", "CRITICAL", 9.8)});
  ASSERT_FALSE(HasFatalFailure());
  sensor::InUseTracker tracker("/proc", 0);
  sensor::ContainerInfo container;
  container.id = kContainer;  // the app pod's containerID in testdata/cluster-sensor/pods.json
  container.runtime = "containerd";
  sensor::ProcessInfo process;
  process.pid = static_cast<uint32_t>(::getpid());
  process.exec.exe = fs::read_symlink("/proc/self/exe").string();
  tracker.OnExec(container, process, 1, 1'700'000'000'000'000'000);
  tracker.Sample(UINT64_MAX);
  const std::string exported = tracker.ToJson("node-1", 1'700'000'001'000'000'000);
  moat::testing::TestHttpServer sensor([&](const moat::testing::TestHttpRequest& request) {
    moat::testing::TestHttpResponse response;
    response.status = request.target == "/in-use" ? 200 : 404;
    if (response.status == 200) response.body = exported;
    return response;
  });

  k8s::testing::TestPki pki;
  ASSERT_TRUE(pki.ok()) << "openssl could not make the test PKI";
  const std::vector<fs::path> recordings = {
      fs::path(MOAT_SOURCE_DIR) / "src/agent/testdata/cluster-sensor",
      fs::path(MOAT_SOURCE_DIR) / "src/k8s/testdata/cluster"};
  k8s::testing::TlsApiServer api_server(pki.dir(), [&](const std::string& target) {
    return k8s::testing::ServeRecordedFrom(recordings, target);
  });
  ASSERT_TRUE(api_server.ready());
  k8s::testing::WriteText(dir_ + "/kubeconfig", pki.Kubeconfig(api_server.Url()));
  options_.registration = {"prod", "cluster", "0.1.0-test", "agent-pod"};
  options_.cluster.cluster_name = "prod";
  options_.cluster.connection.kubeconfig = dir_ + "/kubeconfig";
  options_.cluster.sensor_port = sensor.port();
  std::atomic<bool> stop{false};
  auto ran = RunAgent(options_, stop);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  ASSERT_EQ(sensor.Requests().size(), 1u);
  using Marks = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(Findings("&in_use=true"), (Marks{{"CVE-2099-0001", true}}));
}

// The file index keeps the files a package manager lists, in the /usr form, without directories
// and documentation; packages are found through it and through language packages' paths.
TEST(PackagesInUseTest, MapsFilesToOsAndLanguagePackages) {
  Inventory inventory;
  Package libssl;
  libssl.name = "libssl3";
  inventory.packages = {libssl};  // "removed" left its list behind
  inventory.os_package_files = {
      {"libssl3",
       {"/.", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/share/doc/libssl3/copyright"}},
      {"removed", {"/usr/bin/removed"}}};
  const std::string index = server::PackageFilesIndex(inventory);
  const Json parsed = Json::parse(index);
  ASSERT_EQ(parsed["packages"].size(), 1u) << index;
  EXPECT_EQ(parsed["packages"][0][2], Json::array({"/usr/lib/x86_64-linux-gnu/libssl.so.3"}));

  auto package = [](PackageType type, const char* name, const char* file_path) {
    Package p;
    p.type = type;
    p.name = name;
    p.file_path = file_path;
    return p;
  };
  const Package go_binary = package(PackageType::kGolang, "stdlib", "/usr/local/bin/app");
  const Package addon =
      package(PackageType::kNpm, "bcrypt", "/app/node_modules/bcrypt/package.json");
  // Another package's addon inside it is not its own.
  const Package nested =
      package(PackageType::kNpm, "wrapper", "/app/node_modules/wrapper/package.json");
  const Package numpy = package(PackageType::kPypi, "numpy",
                                "/usr/lib/python3/dist-packages/numpy-1.24.2.dist-info/METADATA");
  const Package idle = package(PackageType::kPypi, "six",
                               "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA");
  const std::set<std::string> files = {
      "/lib/x86_64-linux-gnu/libssl.so.3",  // the old path: compared in the /usr form
      "/usr/local/bin/app", "/app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node",
      "/app/node_modules/wrapper/node_modules/inner/build/inner.node",
      "/usr/lib/python3/dist-packages/numpy.libs/libopenblas64_p-r0-15028c96.3.21.so"};
  const std::set<server::PackageRef> expected = {
      {"deb", "libssl3"}, {"golang", "stdlib"}, {"npm", "bcrypt"}, {"pypi", "numpy"}};
  EXPECT_EQ(server::PackagesInUse(index, {go_binary, addon, nested, numpy, idle}, files), expected);
  // A damaged index finds no OS package, and no error.
  EXPECT_EQ(server::PackagesInUse("{\"packages\": 7}", {}, files), std::set<server::PackageRef>{});
}

}  // namespace
}  // namespace moat::agent
