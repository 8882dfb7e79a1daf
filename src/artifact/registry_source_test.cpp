#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "artifact/manifest.h"
#include "artifact/registry_auth.h"
#include "artifact/source_util.h"
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
using testing::RegistryProcess;
using testing::RunCommand;
using testing::TempDir;
using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;
using testing::WriteFile;

struct Oracle {
  std::string manifest_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> diff_ids;
  std::string raw_manifest;
};

Oracle InspectRemote(const std::string& reference, const std::string& creds = "") {
  std::string flags = "--tls-verify=false" + (creds.empty() ? "" : " --creds " + creds);
  Oracle oracle;
  auto inspect = RunCommand("skopeo inspect " + flags + " docker://" + reference);
  auto config = RunCommand("skopeo inspect --config " + flags + " docker://" + reference);
  auto raw = RunCommand("skopeo inspect --raw " + flags + " docker://" + reference);
  EXPECT_EQ(inspect.status, 0) << inspect.output;
  Json image = Json::parse(inspect.output, nullptr, false);
  Json config_json = Json::parse(config.output, nullptr, false);
  if (image.is_discarded() || config_json.is_discarded()) return oracle;
  oracle.manifest_digest = image["Digest"].get<std::string>();
  oracle.layer_digests = image["Layers"].get<std::vector<std::string>>();
  oracle.diff_ids = config_json["rootfs"]["diff_ids"].get<std::vector<std::string>>();
  oracle.raw_manifest = raw.output;
  return oracle;
}

class RegistrySourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string layout = dir_->path() + "/layout";
    BuildOciImage(dir_->path(), layout, "v1",
                  {{"/usr/share/big.bin", NoiseBytes(400000, 3)},
                   {"/etc/os-release", "ID=moat\n"},
                   {"/etc/third", "third layer\n"}});
    BuildOciImage(dir_->path(), layout, "v2", {{"/etc/arm", "the arm64 image\n"}});
    registry_ = new RegistryProcess(dir_->path() + "/registry");
    ASSERT_TRUE(registry_->ready()) << registry_->Log();
    std::string host = registry_->HostPort();
    std::string copy = "skopeo copy --dest-tls-verify=false ";
    MOAT_RUN_OR_FAIL(copy + "oci:" + layout + ":v1 docker://" + host + "/test/app:v1");
    MOAT_RUN_OR_FAIL(copy + "--format v2s2 oci:" + layout + ":v1 docker://" + host +
                     "/test/app:v1-docker");
    MOAT_RUN_OR_FAIL(copy + "oci:" + layout + ":v2 docker://" + host + "/test/app:v2");
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete dir_;
  }

  static RegistryOptions Insecure() {
    RegistryOptions options;
    options.insecure = true;
    options.docker_config_path = dir_->path() + "/empty-config.json";
    WriteFile(options.docker_config_path, "{}");
    options.max_retries = 1;
    return options;
  }

  // Describe + StreamLayers against skopeo's view of the same reference.
  static void CheckImage(const std::string& reference, const RegistryOptions& options,
                         const std::string& creds = "") {
    Oracle oracle = InspectRemote(reference, creds);
    ASSERT_FALSE(oracle.layer_digests.empty());
    auto source = OpenRegistryImage(reference, options);
    ASSERT_TRUE(source.ok()) << source.error().message;
    auto description = (*source)->Describe();
    ASSERT_TRUE(description.ok()) << description.error().message;
    EXPECT_EQ(description->manifest_digest, oracle.manifest_digest);
    EXPECT_EQ(description->layer_digests, oracle.layer_digests);
    EXPECT_EQ(description->diff_ids, oracle.diff_ids);
    EXPECT_EQ(description->image_id, "sha256:" + Sha256Hex(AsBytes(description->config_json)));
    std::string repository = reference.substr(0, reference.rfind(':'));
    EXPECT_EQ(description->repo_digests,
              std::vector<std::string>{repository + "@" + oracle.manifest_digest});
    EXPECT_EQ(description->repo_tags, std::vector<std::string>{reference});

    RecordingHandler handler;
    auto streamed = (*source)->StreamLayers(oracle.diff_ids, handler, 2);
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    auto deliveries = handler.ByDigest();
    ASSERT_EQ(deliveries.size(), oracle.layer_digests.size());
    for (size_t i = 0; i < oracle.layer_digests.size(); ++i) {
      ASSERT_TRUE(deliveries.count(oracle.layer_digests[i]));
      EXPECT_TRUE(deliveries[oracle.layer_digests[i]].closed);
      EXPECT_EQ(deliveries[oracle.layer_digests[i]].expected_diff_id, oracle.diff_ids[i]);
    }
  }

  static TempDir* dir_;
  static RegistryProcess* registry_;
};

TempDir* RegistrySourceTest::dir_ = nullptr;
RegistryProcess* RegistrySourceTest::registry_ = nullptr;

TEST_F(RegistrySourceTest, OciManifest) {
  CheckImage(registry_->HostPort() + "/test/app:v1", Insecure());
}

TEST_F(RegistrySourceTest, DockerSchema2Manifest) {
  std::string reference = registry_->HostPort() + "/test/app:v1-docker";
  Oracle oracle = InspectRemote(reference);
  ASSERT_NE(oracle.raw_manifest.find(media_type::kDockerManifest), std::string::npos);
  CheckImage(reference, Insecure());
}

TEST_F(RegistrySourceTest, ByDigestAndWantedSubset) {
  Oracle oracle = InspectRemote(registry_->HostPort() + "/test/app:v1");
  auto source =
      OpenRegistryImage(registry_->HostPort() + "/test/app@" + oracle.manifest_digest, Insecure());
  ASSERT_TRUE(source.ok()) << source.error().message;
  RecordingHandler handler;
  auto streamed = (*source)->StreamLayers({oracle.diff_ids[1]}, handler, 4);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  ASSERT_EQ(handler.deliveries().size(), 1u);
  EXPECT_EQ(handler.deliveries()[0].digest, oracle.layer_digests[1]);
}

TEST_F(RegistrySourceTest, UnknownTagAndRepositoryAreClearErrors) {
  for (std::string reference :
       {registry_->HostPort() + "/test/app:nope", registry_->HostPort() + "/no/such:v1"}) {
    auto source = OpenRegistryImage(reference, Insecure());
    ASSERT_TRUE(source.ok());
    auto description = (*source)->Describe();
    ASSERT_FALSE(description.ok());
    EXPECT_NE(description.error().message.find("not found"), std::string::npos)
        << description.error().message;
    EXPECT_NE(description.error().message.find(reference.substr(reference.find('/'))),
              std::string::npos)
        << description.error().message;
  }
}

TEST_F(RegistrySourceTest, ImageIndexSelectsPlatform) {
  std::string host = registry_->HostPort();
  Oracle amd64 = InspectRemote(host + "/test/app:v1");
  Oracle arm64 = InspectRemote(host + "/test/app:v2");
  Json index = {
      {"schemaVersion", 2},
      {"mediaType", media_type::kOciIndex},
      {"manifests",
       {{{"mediaType", media_type::kOciManifest},
         {"digest", amd64.manifest_digest},
         {"size", amd64.raw_manifest.size()},
         {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}},
        {{"mediaType", media_type::kOciManifest},
         {"digest", arm64.manifest_digest},
         {"size", arm64.raw_manifest.size()},
         {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}}}}};
  std::string index_text = index.dump();
  HttpRequest put;
  put.method = "PUT";
  put.url = "http://" + host + "/v2/test/app/manifests/multi";
  put.headers = {{"Content-Type", std::string(media_type::kOciIndex)}};
  put.body = index_text;
  auto pushed = HttpFetch(put);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  ASSERT_EQ(pushed->status, 201) << pushed->body;
  std::string index_digest = "sha256:" + Sha256Hex(AsBytes(index_text));

  auto source = OpenRegistryImage(host + "/test/app:multi", Insecure());
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  EXPECT_EQ(description->manifest_digest, amd64.manifest_digest);
  EXPECT_EQ(description->layer_digests, amd64.layer_digests);
  EXPECT_EQ(description->repo_digests,
            std::vector<std::string>{host + "/test/app@" + index_digest});

  RegistryOptions arm = Insecure();
  arm.platform = "linux/arm64";  // variant v8 implied, as containerd does
  source = OpenRegistryImage(host + "/test/app:multi", arm);
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  EXPECT_EQ(description->manifest_digest, arm64.manifest_digest);
  EXPECT_EQ(description->diff_ids, arm64.diff_ids);

  RegistryOptions s390x = Insecure();
  s390x.platform = "linux/s390x";
  source = OpenRegistryImage(host + "/test/app:multi", s390x);
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("linux/arm64/v8"), std::string::npos)
      << description.error().message;
}

TEST(RegistryCorruptionTest, TamperedBlobIsNamedInTheError) {
  TempDir dir;
  std::string layout = dir.path() + "/layout";
  BuildOciImage(dir.path(), layout, "v1", {{"/data.bin", NoiseBytes(100000, 9)}});
  RegistryProcess registry(dir.path() + "/registry");
  ASSERT_TRUE(registry.ready()) << registry.Log();
  std::string reference = registry.HostPort() + "/corrupt/app:v1";
  MOAT_RUN_OR_FAIL("skopeo copy --dest-tls-verify=false oci:" + layout + ":v1 docker://" +
                   reference);
  Oracle oracle = InspectRemote(reference);
  ASSERT_EQ(oracle.layer_digests.size(), 1u);
  std::string data_path = registry.BlobDataPath(oracle.layer_digests[0]);
  std::string data = ReadFile(data_path);
  ASSERT_FALSE(data.empty());
  data[data.size() / 2] ^= 0x55;
  WriteFile(data_path, data);

  RegistryOptions options;
  options.insecure = true;
  options.max_retries = 0;
  options.docker_config_path = dir.path() + "/none.json";
  WriteFile(options.docker_config_path, "{}");
  auto source = OpenRegistryImage(reference, options);
  ASSERT_TRUE(source.ok());
  RecordingHandler handler;
  auto streamed = (*source)->StreamLayers(oracle.diff_ids, handler, 1);
  ASSERT_FALSE(streamed.ok());
  EXPECT_NE(streamed.error().message.find("digest mismatch"), std::string::npos)
      << streamed.error().message;
  EXPECT_NE(streamed.error().message.find(oracle.layer_digests[0]), std::string::npos);
  ASSERT_EQ(handler.deliveries().size(), 1u);
  EXPECT_FALSE(handler.deliveries()[0].closed);  // never handed over as a complete layer
}

TEST(RegistryBasicAuthTest, HtpasswdRegistry) {
  TempDir dir;
  std::string layout = dir.path() + "/layout";
  BuildOciImage(dir.path(), layout, "v1", {{"/etc/secret", "behind basic auth\n"}});
  auto hash = RunCommand(
      "python3 -W ignore -c \"import crypt; print(crypt.crypt('s3cret', "
      "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))\"");
  ASSERT_EQ(hash.status, 0) << hash.output;
  WriteFile(dir.path() + "/htpasswd", "moat:" + hash.output);
  RegistryProcess registry(dir.path() + "/registry", dir.path() + "/htpasswd");
  ASSERT_TRUE(registry.ready()) << registry.Log();
  std::string reference = registry.HostPort() + "/private/app:v1";
  MOAT_RUN_OR_FAIL("skopeo copy --dest-tls-verify=false --dest-creds moat:s3cret oci:" + layout +
                   ":v1 docker://" + reference);

  RegistryOptions anonymous;
  anonymous.insecure = true;
  anonymous.docker_config_path = dir.path() + "/none.json";
  std::string none_config = dir.path() + "/none.json";
  WriteFile(none_config, "{}");
  auto source = OpenRegistryImage(reference, anonymous);
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("credentials"), std::string::npos)
      << description.error().message;

  RegistryOptions wrong = anonymous;
  wrong.username = "moat";
  wrong.password = "wrong";
  source = OpenRegistryImage(reference, wrong);
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("denied"), std::string::npos)
      << description.error().message;

  RegistryOptions with_password = anonymous;
  with_password.username = "moat";
  with_password.password = "s3cret";
  {
    Oracle oracle = InspectRemote(reference, "moat:s3cret");
    source = OpenRegistryImage(reference, with_password);
    ASSERT_TRUE(source.ok());
    description = (*source)->Describe();
    ASSERT_TRUE(description.ok()) << description.error().message;
    EXPECT_EQ(description->layer_digests, oracle.layer_digests);
  }

  // The same credentials from a Docker config file.
  std::string config_path = dir.path() + "/docker/config.json";
  WriteFile(config_path, "{\"auths\":{\"" + registry.HostPort() + "\":{\"auth\":\"" +
                             Base64Encode("moat:s3cret") + "\"}},\"credHelpers\":{}}");
  RegistryOptions from_config = anonymous;
  from_config.docker_config_path = config_path;
  source = OpenRegistryImage(reference, from_config);
  ASSERT_TRUE(source.ok()) << source.error().message;
  RecordingHandler handler;
  description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  auto streamed = (*source)->StreamLayers(description->diff_ids, handler, 2);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  ASSERT_EQ(handler.deliveries().size(), 1u);
  EXPECT_EQ(handler.deliveries()[0].digest, description->layer_digests[0]);
}

// A loopback "gateway" in front of the real registry that demands a Bearer token from its own
// token endpoint and fails the first blob request with 503, as overloaded registries do.
TEST_F(RegistrySourceTest, BearerTokenAuthAndRetries) {
  std::atomic<int> token_requests{0};
  std::atomic<int> blob_failures_left{1};
  std::string upstream = "http://" + registry_->HostPort();
  std::string realm;
  TestHttpServer gateway([&](const TestHttpRequest& request) {
    TestHttpResponse response;
    if (request.target.rfind("/token", 0) == 0) {
      ++token_requests;
      if (request.Header("Authorization") != "Basic " + Base64Encode("robot:pw") ||
          request.target.find("scope=repository%3Atest%2Fapp%3Apull") == std::string::npos ||
          request.target.find("service=moat%20test") == std::string::npos) {
        response.status = 401;
        return response;
      }
      response.body = R"({"access_token":"tok-123","expires_in":300})";
      return response;
    }
    if (request.Header("Authorization") != "Bearer tok-123") {
      response.status = 401;
      response.headers = {
          {"WWW-Authenticate", "Bearer realm=\"" + realm +
                                   "\",service=\"moat test\",scope=\"repository:test/app:pull\""}};
      return response;
    }
    if (request.target.find("/blobs/") != std::string::npos && blob_failures_left-- > 0) {
      response.status = 503;
      return response;
    }
    HttpRequest forward;
    forward.url = upstream + request.target;
    forward.headers = {{"Accept", request.Header("Accept")}};
    auto upstream_response = HttpFetch(forward);
    if (!upstream_response.ok()) {
      response.status = 502;
      return response;
    }
    response.status = static_cast<int>(upstream_response->status);
    response.body = upstream_response->body;
    response.headers = {{"Content-Type", upstream_response->Header("Content-Type")}};
    return response;
  });
  realm = gateway.BaseUrl() + "/token";

  RegistryOptions options = Insecure();
  options.username = "robot";
  options.password = "pw";
  options.max_retries = 2;
  std::string reference = gateway.HostPort() + "/test/app:v1";
  Oracle oracle = InspectRemote(registry_->HostPort() + "/test/app:v1");
  auto source = OpenRegistryImage(reference, options);
  ASSERT_TRUE(source.ok());
  auto description = (*source)->Describe();
  ASSERT_TRUE(description.ok()) << description.error().message;
  EXPECT_EQ(description->manifest_digest, oracle.manifest_digest);
  RecordingHandler handler;
  auto streamed = (*source)->StreamLayers(description->diff_ids, handler, 2);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  EXPECT_EQ(handler.ByDigest().size(), oracle.layer_digests.size());
  EXPECT_EQ(token_requests.load(), 1);  // cached per scope
  EXPECT_LT(blob_failures_left.load(), 0);

  RegistryOptions no_credentials = Insecure();
  source = OpenRegistryImage(reference, no_credentials);
  ASSERT_TRUE(source.ok());
  description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find("token server"), std::string::npos)
      << description.error().message;
}

TEST(RegistryHangTest, StalledRegistryFailsWithinTheTimeout) {
  TestHttpServer stalled([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.delay_before_body_ms = 10000;
    response.body = "{}";
    return response;
  });
  RegistryOptions options;
  options.insecure = true;
  options.max_retries = 0;
  options.timeout_seconds = 1;
  options.docker_config_path = "/nonexistent/moat/config.json";
  auto source = OpenRegistryImage(stalled.HostPort() + "/x/y:z", options);
  ASSERT_FALSE(source.ok());  // a named docker config that doesn't exist is an error
  options.docker_config_path.clear();
  setenv("DOCKER_CONFIG", "/nonexistent/moat", 1);
  source = OpenRegistryImage(stalled.HostPort() + "/x/y:z", options);
  ASSERT_TRUE(source.ok()) << source.error().message;
  auto description = (*source)->Describe();
  ASSERT_FALSE(description.ok());
  EXPECT_NE(description.error().message.find(stalled.HostPort()), std::string::npos)
      << description.error().message;
}

TEST(WwwAuthenticateTest, ParsesChallenges) {
  auto challenge = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push",error="a \"quoted\" word")");
  ASSERT_TRUE(challenge.ok()) << challenge.error().message;
  EXPECT_EQ(challenge->scheme, "bearer");
  EXPECT_EQ(challenge->params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(challenge->params["service"], "registry.docker.io");
  EXPECT_EQ(challenge->params["scope"], "repository:library/nginx:pull,push");
  EXPECT_EQ(challenge->params["error"], "a \"quoted\" word");

  challenge = ParseWwwAuthenticate("Basic realm=moat-test");
  ASSERT_TRUE(challenge.ok());
  EXPECT_EQ(challenge->scheme, "basic");
  EXPECT_EQ(challenge->params["realm"], "moat-test");

  EXPECT_FALSE(ParseWwwAuthenticate("").ok());
  EXPECT_FALSE(ParseWwwAuthenticate("Bearer realm=\"unterminated").ok());
  EXPECT_TRUE(ParseWwwAuthenticate("Bearer ,,,=,\"").ok());  // garbage: no crash, no params
}

TEST(DockerConfigTest, FindsCredentialsByRegistry) {
  std::string config = R"({"auths":{
    "https://index.docker.io/v1/":{"auth":")" +
                       Base64Encode("hubuser:hubpass") + R"("},
    "127.0.0.1:5000":{"auth":")" +
                       Base64Encode("local:pa:ss") + R"("},
    "registry.example.com":{"username":"u","password":"p"},
    "bad.example.com":{"auth":"!!!"}},"credsStore":"desktop"})";
  auto hub = CredentialsFromDockerConfig(config, "docker.io", "config.json");
  ASSERT_TRUE(hub.ok()) << hub.error().message;
  EXPECT_EQ(hub->username, "hubuser");
  EXPECT_EQ(hub->password, "hubpass");
  auto local = CredentialsFromDockerConfig(config, "127.0.0.1:5000", "config.json");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->username, "local");
  EXPECT_EQ(local->password, "pa:ss");
  auto plain = CredentialsFromDockerConfig(config, "registry.example.com", "config.json");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->username, "u");
  auto none = CredentialsFromDockerConfig(config, "other.example.com", "config.json");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->username.empty());
  auto bad = CredentialsFromDockerConfig(config, "bad.example.com", "config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("config.json"), std::string::npos);
  EXPECT_FALSE(CredentialsFromDockerConfig("not json", "docker.io", "config.json").ok());
}

}  // namespace
}  // namespace moat

namespace moat {
namespace {

// A registry that accepts connections (the kernel completes the handshake on the listen
// backlog) and never says a word: the shape of a hung registry behind a load balancer.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentListener() { ::close(fd_); }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Describes an image on a registry that never answers; the error and how long it took.
std::pair<std::string, double> DescribeOnSilentRegistry(const SilentListener& silent,
                                                        RegistryOptions options) {
  setenv("DOCKER_CONFIG", "/nonexistent/moat", 1);
  options.insecure = true;
  auto source = OpenRegistryImage(silent.HostPort() + "/x/y:z", options);
  if (!source.ok()) return {"open: " + source.error().message, 0};
  const auto start = std::chrono::steady_clock::now();
  auto description = (*source)->Describe();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {description.ok() ? "" : description.error().message, seconds};
}

TEST(RegistryHangTest, SilentRegistryFailsAfterTwoStallsNamingWhatItWaitedFor) {
  SilentListener silent;
  RegistryOptions options;
  options.stall_timeout_seconds = 1;  // max_retries (3) stays: stalls have their own budget
  auto [message, elapsed] = DescribeOnSilentRegistry(silent, options);
  EXPECT_NE(message.find("registry " + silent.HostPort()), std::string::npos) << message;
  EXPECT_NE(message.find("/v2/x/y/manifests/z"), std::string::npos) << message;
  EXPECT_NE(message.find("no data for 1 s"), std::string::npos) << message;
  EXPECT_NE(message.find("2 attempts"), std::string::npos) << message;
  // Two stalls of one second and one short backoff; before, each of 4 attempts waited in full.
  EXPECT_GE(elapsed, 1.9);
  EXPECT_LT(elapsed, 4.0);
}

TEST(RegistryHangTest, DeadlineEndsTheWaitEarly) {
  SilentListener silent;
  RegistryOptions options;
  options.stall_timeout_seconds = 60;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  auto [message, elapsed] = DescribeOnSilentRegistry(silent, options);
  EXPECT_NE(message.find("registry " + silent.HostPort()), std::string::npos) << message;
  EXPECT_NE(message.find("time limit ran out"), std::string::npos) << message;
  EXPECT_GE(elapsed, 1.2);
  EXPECT_LT(elapsed, 3.5);
}

}  // namespace
}  // namespace moat
