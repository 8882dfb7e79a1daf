#include "artifact/reference.h"

#include <gtest/gtest.h>

namespace moat {
namespace {

struct Case {
  const char* input;
  const char* registry;
  const char* repository;
  const char* tag;
  const char* digest;
  const char* familiar;
};

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ImageReferenceTest, NormalizesLikeDocker) {
  std::string with_digest = std::string("nginx@") + kDigest;
  std::string tag_and_digest = std::string("quay.io/org/app:1.0@") + kDigest;
  const Case cases[] = {
      {"nginx", "docker.io", "library/nginx", "latest", "", "nginx"},
      {"nginx:1.25", "docker.io", "library/nginx", "1.25", "", "nginx"},
      {"library/nginx", "docker.io", "library/nginx", "latest", "", "nginx"},
      {"docker.io/nginx", "docker.io", "library/nginx", "latest", "", "nginx"},
      {"index.docker.io/library/nginx:x", "docker.io", "library/nginx", "x", "", "nginx"},
      {"user/app:v2", "docker.io", "user/app", "v2", "", "user/app"},
      {"localhost/app", "localhost", "app", "latest", "", "localhost/app"},
      {"localhost:5000/a/b/c:t_1.2-3", "localhost:5000", "a/b/c", "t_1.2-3", "",
       "localhost:5000/a/b/c"},
      {"127.0.0.1:5000/test/app:v1", "127.0.0.1:5000", "test/app", "v1", "",
       "127.0.0.1:5000/test/app"},
      {"ghcr.io/o/my-app__x.y", "ghcr.io", "o/my-app__x.y", "latest", "", "ghcr.io/o/my-app__x.y"},
      {"[::1]:5000/app", "[::1]:5000", "app", "latest", "", "[::1]:5000/app"},
      {with_digest.c_str(), "docker.io", "library/nginx", "", kDigest, "nginx"},
      {tag_and_digest.c_str(), "quay.io", "org/app", "1.0", kDigest, "quay.io/org/app"},
  };
  for (const Case& c : cases) {
    auto parsed = ImageReference::Parse(c.input);
    ASSERT_TRUE(parsed.ok()) << c.input << ": " << parsed.error().message;
    EXPECT_EQ(parsed->registry, c.registry) << c.input;
    EXPECT_EQ(parsed->repository, c.repository) << c.input;
    EXPECT_EQ(parsed->tag, c.tag) << c.input;
    EXPECT_EQ(parsed->digest, c.digest) << c.input;
    EXPECT_EQ(parsed->FamiliarName(), c.familiar) << c.input;
    // Normalization is idempotent.
    auto again = ImageReference::Parse(parsed->ToString());
    ASSERT_TRUE(again.ok()) << parsed->ToString();
    EXPECT_EQ(again->ToString(), parsed->ToString());
  }
}

TEST(ImageReferenceTest, ToStringApiHostAndManifestRef) {
  auto hub = ImageReference::Parse("nginx:1.25");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->ToString(), "docker.io/library/nginx:1.25");
  EXPECT_EQ(hub->ApiHost(), "registry-1.docker.io");
  EXPECT_EQ(hub->ManifestRef(), "1.25");
  auto pinned = ImageReference::Parse(std::string("quay.io/org/app:1.0@") + kDigest);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->ToString(), std::string("quay.io/org/app@") + kDigest);
  EXPECT_EQ(pinned->ApiHost(), "quay.io");
  EXPECT_EQ(pinned->ManifestRef(), kDigest);
}

TEST(ImageReferenceTest, RejectsInvalidReferences) {
  const char* invalid[] = {
      "",
      "Nginx",
      "docker.io/Library/nginx",
      "nginx:",
      "nginx:-bad",
      "nginx:has/slash",
      "nginx@sha256:abc",
      "nginx@md5:0123456789abcdef0123456789abcdef",
      "nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
      "nginx@",
      "/nginx",
      "nginx/",
      "a//b",
      "-app",
      "app-",
      "a..b",
      "a:b:c",
      "with space",
      "tab\tname",
      "reg.io:/app",
      "reg.io:port/app",
      "-reg.io/app",
      ":tag",
      "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  };
  for (const char* text : invalid) {
    auto parsed = ImageReference::Parse(text);
    EXPECT_FALSE(parsed.ok()) << "accepted: \"" << text << "\" as " << parsed->ToString();
    if (!parsed.ok() && *text != '\0') {
      EXPECT_NE(parsed.error().message.find(text), std::string::npos) << parsed.error().message;
    }
  }
  EXPECT_NE(ImageReference::Parse("Nginx").error().message.find("lowercase"), std::string::npos);
  std::string long_name(300, 'a');
  EXPECT_FALSE(ImageReference::Parse(long_name).ok());
  std::string long_tag = "app:" + std::string(129, 't');
  EXPECT_FALSE(ImageReference::Parse(long_tag).ok());
}

}  // namespace
}  // namespace moat
