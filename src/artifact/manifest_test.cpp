#include "artifact/manifest.h"

#include <gtest/gtest.h>

#include "artifact/image_source.h"

namespace moat {
namespace {

std::string Digest(char fill) { return "sha256:" + std::string(64, fill); }

TEST(ImageConfigTest, ParsesFieldsAndAlignsHistoryWithLayers) {
  std::string json = R"({"architecture":"arm64","variant":"v8","os":"linux",
    "created":"2024-01-01T00:00:00Z","config":{"Env":["A=1"]},
    "rootfs":{"type":"layers","diff_ids":[")" +
                     Digest('a') + R"(",")" + Digest('b') + R"("]},
    "history":[{"created_by":"ADD rootfs"},{"created_by":"ENV A=1","empty_layer":true},
               {"created_by":"RUN apt-get install x","comment":"c"}]})";
  auto config = ParseImageConfig(json, "config.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->os, "linux");
  EXPECT_EQ(config->architecture, "arm64");
  EXPECT_EQ(config->variant, "v8");
  EXPECT_EQ(config->created, "2024-01-01T00:00:00Z");
  EXPECT_EQ(config->diff_ids, (std::vector<std::string>{Digest('a'), Digest('b')}));
  ASSERT_EQ(config->history.size(), 3u);
  EXPECT_TRUE(config->history[1].empty_layer);
  EXPECT_EQ(config->history[2].comment, "c");
  EXPECT_EQ(config->LayerCreatedBy(),
            (std::vector<std::string>{"ADD rootfs", "RUN apt-get install x"}));

  // Missing history still gives one (empty) entry per layer.
  config->history.clear();
  EXPECT_EQ(config->LayerCreatedBy(), (std::vector<std::string>{"", ""}));
}

TEST(ImageConfigTest, BadInputNamesInputAndField) {
  struct BadCase {
    std::string json;
    std::string mentions;
  };
  const BadCase cases[] = {
      {"", "not valid JSON"},
      {"{\"rootfs\":{\"diff_ids\":[", "not valid JSON"},
      {"[]", "not an object"},
      {"{}", "rootfs"},
      {R"({"rootfs":{"type":"layers"}})", "diff_ids"},
      {R"({"rootfs":{"type":"layers","diff_ids":"x"}})", "diff_ids"},
      {R"({"rootfs":{"type":"layers","diff_ids":[1]}})", "diff_ids[0]"},
      {R"({"rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}})", "diff_ids[0]"},
      {R"({"rootfs":{"type":"other","diff_ids":[]}})", "rootfs.type"},
      {R"({"os":5,"rootfs":{"diff_ids":[]}})", "os"},
      {R"({"rootfs":{"diff_ids":[]},"history":[{"created_by":7}]})", "history[0].created_by"},
      {R"({"rootfs":{"diff_ids":[]},"history":[{"empty_layer":"yes"}]})", "empty_layer"},
      {R"({"rootfs":{"diff_ids":[]},"history":{}})", "history"},
  };
  for (const BadCase& c : cases) {
    auto config = ParseImageConfig(c.json, "img/config");
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_NE(config.error().message.find("img/config"), std::string::npos)
        << config.error().message;
    EXPECT_NE(config.error().message.find(c.mentions), std::string::npos)
        << c.json << " -> " << config.error().message;
  }
}

TEST(ManifestTest, ParsesManifestAndDetectsKinds) {
  std::string manifest = R"({"schemaVersion":2,"mediaType":")" +
                         std::string(media_type::kDockerManifest) +
                         R"(","config":{"mediaType":"x","digest":")" + Digest('c') +
                         R"(","size":100},"layers":[{"digest":")" + Digest('1') +
                         R"(","size":5},{"digest":")" + Digest('2') + R"("}]})";
  auto kind = DetectManifestKind(manifest, "", "m");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, ManifestKind::kImageManifest);
  auto parsed = ParseImageManifest(manifest, "m");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->config.digest, Digest('c'));
  EXPECT_EQ(parsed->config.size, 100);
  ASSERT_EQ(parsed->layers.size(), 2u);
  EXPECT_EQ(parsed->layers[1].digest, Digest('2'));
  EXPECT_EQ(parsed->layers[1].size, -1);

  // No mediaType in the document: the Content-Type decides, else the shape.
  std::string bare_index = R"({"schemaVersion":2,"manifests":[]})";
  EXPECT_EQ(*DetectManifestKind(bare_index, "", "i"), ManifestKind::kIndex);
  EXPECT_EQ(
      *DetectManifestKind(bare_index, std::string(media_type::kOciIndex) + "; charset=x", "i"),
      ManifestKind::kIndex);

  auto schema1 = DetectManifestKind(R"({"schemaVersion":1,"fsLayers":[]})", "", "old");
  ASSERT_FALSE(schema1.ok());
  EXPECT_NE(schema1.error().message.find("schema 1"), std::string::npos);
  EXPECT_FALSE(DetectManifestKind(R"({"schemaVersion":2})", "text/html", "html").ok());
}

TEST(ManifestTest, RejectsBadManifests) {
  const std::string bad[] = {
      "",
      "null",
      R"({"schemaVersion":2})",
      R"({"schemaVersion":3,"config":{},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":"sha256:00"},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":")" + Digest('c') + R"("},"layers":{}})",
      R"({"schemaVersion":2,"config":{"digest":")" + Digest('c') +
          R"("},"layers":[{"digest":"../../etc/passwd"}]})",
      R"({"schemaVersion":2,"config":{"digest":")" + Digest('c') + R"(","size":-1},"layers":[]})",
      R"({"schemaVersion":2,"config":{"digest":")" + Digest('c') + R"(","size":"1"},"layers":[]})",
      R"({"schemaVersion":"2","config":{},"layers":[]})",
  };
  for (const std::string& json : bad) {
    auto parsed = ParseImageManifest(json, "bad-manifest");
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_NE(parsed.error().message.find("bad-manifest"), std::string::npos);
  }
  EXPECT_FALSE(ParseImageIndex(R"({"schemaVersion":2,"manifests":[{"digest":1}]})", "i").ok());
  EXPECT_FALSE(ParseImageIndex(R"({"schemaVersion":2,"manifests":[{"digest":")" + Digest('a') +
                                   R"(","platform":[]}]})",
                               "i")
                   .ok());
}

TEST(PlatformTest, ParsesAndNormalizes) {
  auto platform = ParsePlatform("linux/aarch64");
  ASSERT_TRUE(platform.ok());
  EXPECT_EQ(platform->architecture, "arm64");
  EXPECT_EQ(platform->variant, "v8");
  platform = ParsePlatform("linux/x86_64");
  ASSERT_TRUE(platform.ok());
  EXPECT_EQ(platform->architecture, "amd64");
  EXPECT_EQ(platform->variant, "");
  platform = ParsePlatform("Linux/ARM");
  ASSERT_TRUE(platform.ok());
  EXPECT_EQ(platform->os, "linux");
  EXPECT_EQ(platform->variant, "v7");
  for (const char* bad : {"", "linux", "linux/", "/amd64", "a/b/c/d", "linux/arm/"}) {
    EXPECT_FALSE(ParsePlatform(bad).ok()) << bad;
  }
}

TEST(PlatformTest, SelectsFromIndexSkippingAttestations) {
  std::string index_json = R"({"schemaVersion":2,"manifests":[
    {"digest":")" + Digest('1') +
                           R"(","platform":{"os":"linux","architecture":"amd64"}},
    {"digest":")" + Digest('2') +
                           R"(","platform":{"os":"linux","architecture":"arm64"}},
    {"digest":")" + Digest('3') +
                           R"(","platform":{"os":"linux","architecture":"arm","variant":"v6"}},
    {"digest":")" + Digest('4') +
                           R"(","platform":{"os":"linux","architecture":"arm","variant":"v7"}},
    {"digest":")" + Digest('5') +
                           R"(","platform":{"os":"unknown","architecture":"unknown"},
     "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]})";
  auto index = ParseImageIndex(index_json, "index");
  ASSERT_TRUE(index.ok()) << index.error().message;
  auto pick = [&](const char* text) -> std::string {
    auto platform = ParsePlatform(text);
    if (!platform.ok()) return "bad platform";
    auto chosen = SelectPlatform(*index, *platform, "index");
    return chosen.ok() ? chosen->digest : chosen.error().message;
  };
  EXPECT_EQ(pick("linux/amd64"), Digest('1'));
  EXPECT_EQ(pick("linux/arm64/v8"), Digest('2'));  // empty variant means v8 for arm64
  EXPECT_EQ(pick("linux/arm64"), Digest('2'));
  EXPECT_EQ(pick("linux/arm"), Digest('4'));  // arm means arm/v7
  EXPECT_EQ(pick("linux/arm/v6"), Digest('3'));
  std::string missing = pick("linux/s390x");
  EXPECT_NE(missing.find("linux/s390x"), std::string::npos);
  EXPECT_NE(missing.find("linux/arm/v6"), std::string::npos);
  EXPECT_EQ(missing.find("unknown"), std::string::npos);
}

TEST(DockerSaveManifestTest, ParsesAndRejects) {
  auto images = ParseDockerSaveManifest(
      R"([{"Config":"abc.json","RepoTags":["a:1","b:2"],"Layers":["x/layer.tar","y/layer.tar"]},
          {"Config":"def.json","RepoTags":null,"Layers":[]}])",
      "manifest.json");
  ASSERT_TRUE(images.ok()) << images.error().message;
  ASSERT_EQ(images->size(), 2u);
  EXPECT_EQ((*images)[0].repo_tags, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ((*images)[0].layers[1], "y/layer.tar");
  EXPECT_TRUE((*images)[1].repo_tags.empty());
  for (const char* bad :
       {"{}", "[1]", R"([{"RepoTags":[]}])", R"([{"Config":"a","Layers":[3]}])", "[{"}) {
    auto parsed = ParseDockerSaveManifest(bad, "manifest.json");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("manifest.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace moat
