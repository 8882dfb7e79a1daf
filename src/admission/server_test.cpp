// The webhook over real HTTPS from C++ (libcurl through core/http.h, trusting only a CA made here
// with the openssl CLI): the captured requests answered with their uid, keep-alive metrics, and
// the refusal to serve plain HTTP.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "admission/test_util.h"
#include "admission/webhook.h"
#include "core/bytes.h"
#include "core/http.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class WebhookHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("admission-https-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string command =
        "cd " + d +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
        " -subj /CN=ca -keyout ca.key -out ca.crt 2>/dev/null"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=webhook"
        " -keyout tls.key -out tls.csr 2>/dev/null"
        " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext"
        " && openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1"
        " -extfile ext -out tls.crt 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl (package openssl) failed";
    AdmissionConfig config;
    ASSERT_TRUE(AddFlagRule(config, Action::kDeny, {"pss-baseline"}, "--enforce").ok());
    auto webhook = Webhook::Create([config] { return PolicySet::Build(config); }, WebhookOptions{});
    ASSERT_TRUE(webhook.ok()) << webhook.error().message;
    webhook_ = std::move(*webhook);
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.tls_cert_file = d + "/tls.crt";
    options.tls_key_file = d + "/tls.key";
    auto server = StartWebhookServer(*webhook_, options);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    ca_pem_ = *ReadFileToString(d + "/ca.crt");
  }
  void TearDown() override {
    if (server_) server_->Stop();
    fs::remove_all(dir_);
  }

  HttpResponse Post(const std::string& path, const std::string& body) {
    HttpRequest request;
    request.method = "POST";
    request.url = server_->url() + path;
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body;
    request.ca_pem = ca_pem_;
    request.timeout_seconds = 10;
    auto response = HttpFetch(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : HttpResponse{};
  }

  fs::path dir_;
  std::unique_ptr<Webhook> webhook_;
  std::unique_ptr<http::Server> server_;
  std::string ca_pem_;
};

TEST_F(WebhookHttps, AnswersCapturedReviewsOverTls) {
  ASSERT_EQ(server_->url().rfind("https://127.0.0.1:", 0), 0u) << server_->url();
  size_t answered = 0;
  for (const char* dir : {"canonical", "kubewarden"}) {
    for (const auto& entry : fs::directory_iterator(testing::kReviews / dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".json" || name.rfind("response_", 0) == 0) continue;
      SCOPED_TRACE(name);
      json review = json::parse(*ReadFileToString(entry.path().string()));
      if (!review.contains("request"))
        review = {{"apiVersion", "admission.k8s.io/v1"},
                  {"kind", "AdmissionReview"},
                  {"request", review}};
      const HttpResponse response = Post("/validate", review.dump());
      ASSERT_EQ(response.status, 200) << response.body;
      EXPECT_NE(response.Header("content-type").find("application/json"), std::string::npos);
      const json answer = json::parse(response.body);
      EXPECT_EQ(answer["response"]["uid"], review["request"]["uid"]);
      ++answered;
    }
  }
  EXPECT_GE(answered, 12u);
  // A bad request is a 4xx over TLS too, and the next request is served.
  EXPECT_EQ(Post("/validate", "{").status, 400);
  EXPECT_EQ(
      Post("/validate",
           testing::CreateReview({{"kind", "Pod"},
                                  {"metadata", {{"name", "p"}}},
                                  {"spec", {{"hostNetwork", true}, {"containers", json::array()}}}},
                                 "shop")
               .dump())
          .status,
      200);
}

TEST_F(WebhookHttps, RefusesToServeWithoutTls) {
  http::ServerOptions plain;
  plain.listen = "127.0.0.1:0";
  auto server = StartWebhookServer(*webhook_, plain);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message.find("HTTPS only"), std::string::npos);
}

}  // namespace
}  // namespace moat::admission
