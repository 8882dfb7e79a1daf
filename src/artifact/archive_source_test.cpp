#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "artifact/manifest.h"
#include "artifact/sources.h"
#include "artifact/test_fixture.h"

namespace moat {
namespace {

using Json = nlohmann::json;
using testing::BuildOciImage;
using testing::NoiseBytes;
using testing::ReadFile;
using testing::RecordingHandler;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

// What skopeo (the oracle) says about an image.
struct Oracle {
  std::string manifest_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> diff_ids;
};

Oracle Inspect(const std::string& transport_ref) {
  Oracle oracle;
  auto inspect = RunCommand("skopeo inspect " + transport_ref);
  auto config = RunCommand("skopeo inspect --config " + transport_ref);
  EXPECT_EQ(inspect.status, 0) << inspect.output;
  EXPECT_EQ(config.status, 0) << config.output;
  Json image = Json::parse(inspect.output, nullptr, false);
  Json config_json = Json::parse(config.output, nullptr, false);
  if (image.is_discarded() || config_json.is_discarded()) return oracle;
  oracle.manifest_digest = image["Digest"].get<std::string>();
  oracle.layer_digests = image["Layers"].get<std::vector<std::string>>();
  oracle.diff_ids = config_json["rootfs"]["diff_ids"].get<std::vector<std::string>>();
  return oracle;
}

class ArchiveSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_ = dir_.path() + "/layout";
    BuildOciImage(dir_.path(), layout_, "v1",
                  {{"/usr/share/big.bin", NoiseBytes(300000, 1)},
                   {"/etc/os-release", "ID=moat\nVERSION_ID=1\n"}});
    BuildOciImage(dir_.path(), layout_, "v2", {{"/etc/other", "second image\n"}});
    oracle_ = Inspect("oci:" + layout_ + ":v1");
    ASSERT_EQ(oracle_.layer_digests.size(), 2u);
  }

  // Checks a full Describe + StreamLayers against the oracle. `uncompressed`: blobs are the
  // plain tars (docker save), so each blob hashes to its diff ID.
  void CheckImage(const std::string& path, const std::string& reference, bool uncompressed) {
    auto source = OpenArchiveImage(path, reference, "");
    ASSERT_TRUE(source.ok()) << source.error().message;
    auto description = (*source)->Describe();
    ASSERT_TRUE(description.ok()) << description.error().message;
    EXPECT_EQ(description->diff_ids, oracle_.diff_ids);
    EXPECT_EQ(description->image_id, "sha256:" + Sha256Hex(AsBytes(description->config_json)));
    auto config = ParseImageConfig(description->config_json, "config");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->diff_ids, oracle_.diff_ids);
    const std::vector<std::string>& expected_blobs =
        uncompressed ? oracle_.diff_ids : oracle_.layer_digests;
    if (!uncompressed) {
      EXPECT_EQ(description->manifest_digest, oracle_.manifest_digest);
      EXPECT_EQ(description->layer_digests, oracle_.layer_digests);
    }

    RecordingHandler handler;
    auto streamed = (*source)->StreamLayers(oracle_.diff_ids, handler, 2);
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    auto deliveries = handler.ByDigest();
    ASSERT_EQ(deliveries.size(), 2u);
    for (size_t i = 0; i < expected_blobs.size(); ++i) {
      ASSERT_TRUE(deliveries.count(expected_blobs[i])) << "blob " << expected_blobs[i];
      const auto& delivery = deliveries[expected_blobs[i]];
      EXPECT_TRUE(delivery.closed);
      EXPECT_EQ(delivery.expected_diff_id, oracle_.diff_ids[i]);
      EXPECT_FALSE(delivery.blob_name.empty());
    }

    RecordingHandler only_second;
    ASSERT_TRUE((*source)->StreamLayers({oracle_.diff_ids[1]}, only_second, 2).ok());
    ASSERT_EQ(only_second.deliveries().size(), 1u);
    EXPECT_EQ(only_second.deliveries()[0].digest, expected_blobs[1]);
  }

  TempDir dir_;
  std::string layout_;
  Oracle oracle_;
};

TEST_F(ArchiveSourceTest, OciLayoutDirectory) { CheckImage(layout_, "v1", false); }

TEST_F(ArchiveSourceTest, OciLayoutSelectsImageByNameAndRefusesToGuess) {
  auto source = OpenArchiveImage(layout_, "", "");
  ASSERT_TRUE(source.ok()) << source.error().message;
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("several images"), std::string::npos)
      << description.error().message;

  Oracle second = Inspect("oci:" + layout_ + ":v2");
  source = OpenArchiveImage(layout_, "v2", "");
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  EXPECT_EQ(description->manifest_digest, second.manifest_digest);

  source = OpenArchiveImage(layout_, "v3", "");
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("v3"), std::string::npos);
}

TEST_F(ArchiveSourceTest, OciArchive) {
  std::string archive = dir_.path() + "/image.oci";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 oci-archive:" + archive + ":v1");
  CheckImage(archive, "", false);
}

TEST_F(ArchiveSourceTest, DockerSaveArchive) {
  std::string archive = dir_.path() + "/image.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive +
                   ":example.com/test/app:v1");
  CheckImage(archive, "example.com/test/app:v1", true);
  auto source = OpenArchiveImage(archive, "", "");
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  EXPECT_EQ(description->repo_tags, std::vector<std::string>{"example.com/test/app:v1"});
  EXPECT_EQ(description->layer_digests, oracle_.diff_ids);
}

// `docker save | gzip`, with a name that says nothing about the content.
TEST_F(ArchiveSourceTest, GzippedDockerSaveArchive) {
  std::string archive = dir_.path() + "/image.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive +
                   ":example.com/test/app:v1");
  MOAT_RUN_OR_FAIL("gzip -c " + archive + " > " + dir_.path() + "/image.data");
  CheckImage(dir_.path() + "/image.data", "example.com/test/app:v1", true);
}

// Older `docker save` puts layers in "<id>/layer.tar"; newer ones make those symlinks to blobs.
TEST_F(ArchiveSourceTest, DockerSaveLayersReachedThroughSymlinks) {
  std::string archive = dir_.path() + "/image.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive + ":app:v1");
  // Rewrite manifest.json so Layers name the "<id>/layer.tar" symlinks skopeo also writes.
  std::string script = dir_.path() + "/relink.py";
  WriteFile(script, R"(import io, json, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as tin:
    members = tin.getmembers()
    links = {m.linkname.split('/')[-1]: m.name for m in members if m.issym()}
    with tarfile.open(dst, 'w', format=tarfile.PAX_FORMAT) as tout:
        for m in members:
            data = tin.extractfile(m).read() if m.isfile() else None
            if m.name == 'manifest.json':
                manifest = json.loads(data)
                manifest[0]['Layers'] = ['./' + links[l] for l in manifest[0]['Layers']]
                data = json.dumps(manifest).encode()
                m.size = len(data)
            tout.addfile(m, io.BytesIO(data) if data is not None else None)
)");
  MOAT_RUN_OR_FAIL("python3 " + script + " " + archive + " " + dir_.path() + "/relinked.tar");
  std::string manifest =
      RunCommand("tar xOf " + dir_.path() + "/relinked.tar manifest.json").output;
  ASSERT_NE(manifest.find("/layer.tar"), std::string::npos) << manifest;
  CheckImage(dir_.path() + "/relinked.tar", "app:v1", true);
}

TEST_F(ArchiveSourceTest, CorruptConfigBlobIsADigestMismatch) {
  Json index = Json::parse(ReadFile(layout_ + "/index.json"));
  auto manifest_digest = index["manifests"][0]["digest"].get<std::string>();
  Json manifest = Json::parse(ReadFile(layout_ + "/blobs/sha256/" + manifest_digest.substr(7)));
  std::string config_digest = manifest["config"]["digest"];
  std::string config_path = layout_ + "/blobs/sha256/" + config_digest.substr(7);
  std::string config = ReadFile(config_path);
  config[config.find("amd64")] = 'A';
  std::filesystem::permissions(config_path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  WriteFile(config_path, config);
  auto source = OpenArchiveImage(
      layout_, index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "");
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("digest mismatch"), std::string::npos)
      << description.error().message;
  EXPECT_NE(description.error().message.find(config_digest.substr(7)), std::string::npos);
}

TEST_F(ArchiveSourceTest, TruncatedAndGarbageArchivesAreErrors) {
  std::string archive = dir_.path() + "/image.tar";
  MOAT_RUN_OR_FAIL("skopeo copy oci:" + layout_ + ":v1 docker-archive:" + archive + ":app:v1");
  std::string bytes = ReadFile(archive);
  // Truncated inside the first layer's content, and inside a header.
  for (size_t cut : {size_t{700}, size_t{100}, bytes.size() / 2}) {
    std::string truncated = dir_.path() + "/truncated.tar";
    WriteFile(truncated, bytes.substr(0, cut));
    auto source = OpenArchiveImage(truncated, "", "");
    bool failed = !source.ok() || !(*source)->Describe().ok();
    if (!failed) {
      RecordingHandler handler;
      failed = !(*source)->StreamLayers(oracle_.diff_ids, handler, 1).ok();
    }
    EXPECT_TRUE(failed) << "cut at " << cut;
  }
  std::string gzip_truncated = dir_.path() + "/truncated.gz";
  MOAT_RUN_OR_FAIL("gzip -c " + archive + " | head -c 400 > " + gzip_truncated);
  EXPECT_FALSE(OpenArchiveImage(gzip_truncated, "", "").ok());

  std::string garbage = dir_.path() + "/garbage";
  WriteFile(garbage, testing::NoiseBytes(5000, 7));
  auto source = OpenArchiveImage(garbage, "", "");
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.error().message.find(garbage), std::string::npos) << source.error().message;

  std::string empty_dir = dir_.path() + "/empty";
  std::filesystem::create_directories(empty_dir);
  source = OpenArchiveImage(empty_dir, "", "");
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("not an image archive"), std::string::npos);

  EXPECT_FALSE(OpenArchiveImage(dir_.path() + "/missing", "", "").ok());
  EXPECT_FALSE(OpenArchiveImage(layout_, "", "linux").ok());  // bad platform
}

TEST_F(ArchiveSourceTest, BadIndexJsonIsAnError) {
  WriteFile(layout_ + "/index.json", "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"../x\"}]}");
  auto source = OpenArchiveImage(layout_, "", "");
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("index.json"), std::string::npos)
      << description.error().message;
}

}  // namespace
}  // namespace moat
