#include "core/token_file.h"

#include <gtest/gtest.h>

#include "core/bytes.h"

namespace moat {
namespace {

TEST(ReadTokenFile, TrimsAndRefusesEmptyMissingAndHugeFiles) {
  const std::string path = ::testing::TempDir() + "/moat-token-file";
  ASSERT_TRUE(WriteOutput(path, "  moat_abc123\n").ok());
  auto token = ReadTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(*token, "moat_abc123");

  ASSERT_TRUE(WriteOutput(path, " \n\t").ok());
  auto empty = ReadTokenFile(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, path + " is empty");

  ASSERT_TRUE(WriteOutput(path, std::string(64 * 1024 + 1, 'x')).ok());
  auto huge = ReadTokenFile(path);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("larger than the limit"), std::string::npos);

  auto missing = ReadTokenFile(path + "-absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(path + "-absent"), std::string::npos);
}

}  // namespace
}  // namespace moat
