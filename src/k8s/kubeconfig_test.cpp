#include "k8s/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

namespace moat::k8s {
namespace {

/// Files the kubeconfig may name, keyed by path; anything else does not exist.
KubeconfigFileReader FakeFiles(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Fail(path, ": No such file or directory");
    return it->second;
  };
}

const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443/
    certificate-authority: pki/ca.crt
- name: dev
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
contexts:
- name: dev
  context: {cluster: dev, user: dev-user, namespace: shop}
- name: prod
  context: {cluster: prod, user: prod-user}
users:
- name: dev-user
  user:
    username: admin
    password: secret
- name: prod-user
  user:
    client-certificate: /etc/moat/client.crt
    client-key: keys/client.key
    tokenFile: token
)";

TEST(Kubeconfig, CurrentContextAndBasicAuth) {
  auto c = ParseKubeconfig({{"/home/u/.kube/config", kTwoContexts}}, "", FakeFiles({}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password, "secret");
  EXPECT_TRUE(c->ca_pem.empty());
}

TEST(Kubeconfig, NamedContextReadsFilesRelativeToTheKubeconfig) {
  auto c = ParseKubeconfig({{"/home/u/.kube/config", kTwoContexts}}, "prod",
                           FakeFiles({{"/home/u/.kube/pki/ca.crt", "CA PEM"},
                                      {"/etc/moat/client.crt", "CERT PEM"},
                                      {"/home/u/.kube/keys/client.key", "KEY PEM"},
                                      {"/home/u/.kube/token", "abc.def\n"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://prod.example:6443");  // trailing slash dropped
  EXPECT_EQ(c->ca_pem, "CA PEM");
  EXPECT_EQ(c->client_cert_pem, "CERT PEM");
  EXPECT_EQ(c->client_key_pem, "KEY PEM");
  EXPECT_EQ(c->token, "abc.def");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
}

TEST(Kubeconfig, InlineDataWinsOverFilesAndTokenOverTokenFile) {
  const std::string text = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443", certificate-authority: /nope,
  certificate-authority-data: "Q0EgREFUQQ=="}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: tok, tokenFile: /nope,
  client-certificate-data: Q0VSVA==, client-key-data: "S0VZ\n"}}]
)";
  auto c = ParseKubeconfig({{"k.yaml", text}}, "", FakeFiles({}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->ca_pem, "CA DATA");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_EQ(c->token, "tok");
}

TEST(Kubeconfig, MergesFilesFirstDefinitionWins) {
  const std::string first = R"(current-context: a
contexts: [{name: a, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: first}}]
)";
  const std::string second = R"(current-context: b
clusters: [{name: k, cluster: {server: "https://second:6443"}}]
users: [{name: u, user: {token: second}}]
)";
  auto c = ParseKubeconfig({{"one", first}, {"empty", ""}, {"two", second}}, "", FakeFiles({}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->context, "a");
  EXPECT_EQ(c->server, "https://second:6443");
  EXPECT_EQ(c->token, "first");
  EXPECT_EQ(c->source, "one:empty:two");
}

TEST(Kubeconfig, ErrorsNameTheFileAndTheEntry) {
  auto missing = ParseKubeconfig({{"cfg", kTwoContexts}}, "staging", FakeFiles({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no context named \"staging\""), std::string::npos)
      << missing.error().message;

  auto unreadable = ParseKubeconfig({{"/k/cfg", kTwoContexts}}, "prod", FakeFiles({}));
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.error().message.find("/k/pki/ca.crt"), std::string::npos)
      << unreadable.error().message;

  const std::string exec = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}}}]
)";
  auto plugin = ParseKubeconfig({{"cfg", exec}}, "", FakeFiles({}));
  ASSERT_FALSE(plugin.ok());
  EXPECT_NE(plugin.error().message.find("exec plugin"), std::string::npos);

  const std::string both = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k", insecure-skip-tls-verify: true,
  certificate-authority-data: Q0E=}}]
contexts: [{name: c, context: {cluster: k}}]
)";
  EXPECT_FALSE(ParseKubeconfig({{"cfg", both}}, "", FakeFiles({})).ok());

  const std::string bad_base64 = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k", certificate-authority-data: "@@@"}}]
contexts: [{name: c, context: {cluster: k}}]
)";
  auto decoded = ParseKubeconfig({{"cfg", bad_base64}}, "", FakeFiles({}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("cfg:2: certificate-authority-data is not base64"),
            std::string::npos)
      << decoded.error().message;

  EXPECT_FALSE(
      ParseKubeconfig({{"cfg", "clusters: 3\ncurrent-context: c\n"}}, "", FakeFiles({})).ok());
  EXPECT_FALSE(ParseKubeconfig({{"cfg", "- a\n"}}, "", FakeFiles({})).ok());
  EXPECT_FALSE(ParseKubeconfig({{"cfg", "kind: Config\n"}}, "", FakeFiles({})).ok());
  const std::string ftp = R"(current-context: c
clusters: [{name: k, cluster: {server: "ftp://k"}}]
contexts: [{name: c, context: {cluster: k}}]
)";
  EXPECT_FALSE(ParseKubeconfig({{"cfg", ftp}}, "", FakeFiles({})).ok());
}

TEST(Kubeconfig, InClusterServiceAccount) {
  char dir_template[] = "/tmp/moat-sa-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  {
    FILE* token = std::fopen((dir + "/token").c_str(), "w");
    std::fputs("eyJhbGciOi.sa-token\n", token);
    std::fclose(token);
    FILE* ca = std::fopen((dir + "/ca.crt").c_str(), "w");
    std::fputs("CA PEM", ca);
    std::fclose(ca);
  }
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto c = InClusterConnection(getenv, dir);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->token, "eyJhbGciOi.sa-token");
  EXPECT_EQ(c->ca_pem, "CA PEM");
  EXPECT_EQ(c->context, "in-cluster");
  env.clear();
  EXPECT_FALSE(InClusterConnection(getenv, dir).ok());
  std::remove((dir + "/token").c_str());
  std::remove((dir + "/ca.crt").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace moat::k8s
