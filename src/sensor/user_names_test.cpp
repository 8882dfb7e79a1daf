#include "sensor/user_names.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace moat::sensor {
namespace {

TEST(UserNamesTest, ParsesPasswd) {
  auto names = ParsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "# comment\n"
      "broken line\n"
      "nouid:x::0::/:/bin/sh\n"
      "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
      "toor:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "root");  // the first of a uid wins
  EXPECT_EQ(names[33], "www-data");
}

TEST(UserNamesTest, ReadsEachContainersOwnFileAndTheHostsThroughPid1) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("moat-users-" + std::to_string(::getpid()));
  fs::create_directories(root / "1/root/etc");
  fs::create_directories(root / "42/root/etc");
  std::ofstream(root / "1/root/etc/passwd")
      << "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n";
  std::ofstream(root / "42/root/etc/passwd")
      << "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
  UserNames names(root.string());
  EXPECT_EQ(names.Name("", 7, 1000), "alice");
  EXPECT_EQ(names.Name("c1", 42, 1000), "app");
  EXPECT_EQ(names.Name("c1", 42, 4242), "");
  EXPECT_EQ(names.tables(), 2u);
  fs::remove_all(root);
}

// The real /etc/passwd of this machine through the real /proc: uid 0 is root everywhere.
TEST(UserNamesTest, RealProc) {
  if (::access("/proc/1/root/etc/passwd", R_OK) != 0) GTEST_SKIP() << "/proc/1/root needs root";
  UserNames names;
  EXPECT_EQ(names.Name("", static_cast<uint32_t>(::getpid()), 0), "root");
}

}  // namespace
}  // namespace moat::sensor
