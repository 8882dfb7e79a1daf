#include "sensor/in_use.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/alert.h"

namespace moat::sensor {
namespace {

// The shape of /proc/PID/maps (Linux 6.x): anonymous, [heap]/[vdso], a memfd, a deleted file, a
// path with a space, non-executable mappings of the same files.
constexpr const char* kMaps =
    "55d0c0a00000-55d0c0a28000 r--p 00000000 00:1f 1835012                    /usr/bin/python3.11\n"
    "55d0c0a28000-55d0c0d1f000 r-xp 00028000 00:1f 1835012                    /usr/bin/python3.11\n"
    "55d0c2b40000-55d0c2c60000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1a2c000000-7f1a2c021000 rw-p 00000000 00:00 0 \n"
    "7f1a2d428000-7f1a2d5bd000 r-xp 00028000 00:1f 1836011                    "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1a2d600000-7f1a2d610000 r-xp 00000000 00:1f 1836999                    /opt/my app/lib x.so "
    "(deleted)\n"
    "7f1a2d700000-7f1a2d701000 r-xp 00000000 00:01 4242                       /memfd:jit "
    "(deleted)\n"
    "7f1a2d800000-7f1a2d810000 r--p 00000000 00:1f 1837000                    "
    "/usr/lib/locale/C.utf8/LC_CTYPE\n"
    "7ffd5a1f2000-7ffd5a1f4000 r-xp 00000000 00:00 0                          [vdso]\n"
    "garbage line\n";

TEST(InUseTest, ExecutableMappingsAreTheMappedFilesWithExecute) {
  auto files = ExecutableMappings(kMaps);
  EXPECT_EQ(files,
            (std::set<std::string>{"/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                                   "/opt/my app/lib x.so"}));
  EXPECT_TRUE(ExecutableMappings("").empty());
}

// This very process: its own maps through the real /proc name the test binary and libc.
TEST(InUseTest, SamplesARealProcessAndExportsTheDocument) {
  InUseTracker tracker("/proc", /*sample_delay_ns=*/0);
  ContainerInfo container;
  container.id = std::string(64, 'c');
  container.name = "web";
  container.image = "nginx:1.25";
  container.image_digest = "sha256:abc";
  container.resolved = true;
  ProcessInfo process;
  process.pid = static_cast<uint32_t>(::getpid());
  process.exec.exe = std::filesystem::read_symlink("/proc/self/exe").string();
  tracker.OnExec(container, process, 100, 1'700'000'000'000'000'000);
  tracker.Sample(100);
  auto json = nlohmann::json::parse(tracker.ToJson("node-1", 1'700'000'001'000'000'000));
  EXPECT_EQ(json["format"], "moat-in-use/1");
  EXPECT_EQ(json["node"], "node-1");
  ASSERT_EQ(json["containers"].size(), 1u);
  const auto& c = json["containers"][0];
  EXPECT_EQ(c["id"], container.id);
  EXPECT_EQ(c["image"], "nginx:1.25");
  EXPECT_EQ(c["executables"], nlohmann::json::array({process.exec.exe}));
  bool libc = false;
  for (const auto& library : c["libraries"]) {
    libc |= library.get<std::string>().find("libc.so") != std::string::npos;
    EXPECT_NE(library, process.exec.exe);  // the executable is not repeated as a library
  }
  EXPECT_TRUE(libc) << c["libraries"].dump();

  const std::string path = ::testing::TempDir() + "/in-use.json";
  ASSERT_TRUE(tracker.WriteFile(path, "node-1", 1).ok());
  std::ifstream in(path);
  EXPECT_EQ(nlohmann::json::parse(in)["containers"][0]["name"], "web");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

// A pid that now runs another program (reused) adds no libraries to the container.
TEST(InUseTest, AReusedPidIsNotSampled) {
  InUseTracker tracker("/proc", 0);
  ContainerInfo container;
  container.id = "c2";
  ProcessInfo process;
  process.pid = static_cast<uint32_t>(::getpid());
  process.exec.exe = "/usr/bin/some-other-program";
  tracker.OnExec(container, process, 0, 1);
  tracker.Sample(1);
  auto json = nlohmann::json::parse(tracker.ToJson("n", 1));
  EXPECT_TRUE(json["containers"][0]["libraries"].empty());
  EXPECT_EQ(json["containers"][0]["executables"][0], "/usr/bin/some-other-program");
}

// Libraries the kernel reports mapped (dlopen after the exec's sample included) join the
// container's libraries; memfd mappings and relative names do not.
TEST(InUseTest, MappedFilesJoinTheLibraries) {
  InUseTracker tracker("/proc", 0);
  ContainerInfo container;
  container.id = "c3";
  container.image = "debian:12";
  container.resolved = true;
  tracker.OnMappedFile(container, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", 5);
  tracker.OnMappedFile(container, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6", 6);
  tracker.OnMappedFile(container, "/memfd:jit", 7);
  tracker.OnMappedFile(container, "", 7);
  tracker.OnMappedFile(container, "relative.so", 7);
  auto json = nlohmann::json::parse(tracker.ToJson("n", 8));
  ASSERT_EQ(json["containers"].size(), 1u);
  const auto& c = json["containers"][0];
  EXPECT_EQ(c["libraries"],
            nlohmann::json::array({"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"}));
  EXPECT_TRUE(c["executables"].empty());
  EXPECT_EQ(c["image"], "debian:12");
  EXPECT_EQ(c["first_seen"], FormatRfc3339Nanos(5));
  EXPECT_EQ(c["last_seen"], FormatRfc3339Nanos(6));  // what is left out does not count
}

}  // namespace
}  // namespace moat::sensor
