#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/server.h"

namespace moat::http {
namespace {

// A handler that names its route and echoes its parameters.
Handler Named(std::string name) {
  return [name](const Request& request) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [key, value] : request.path_params) params[key] = value;
    return Response::Json(200, nlohmann::json{{"route", name}, {"params", params}}.dump());
  };
}

Response Call(const Router& router, std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  return router.Route(request);
}

nlohmann::json BodyOf(const Response& response) { return nlohmann::json::parse(response.body); }

std::string HeaderOf(const Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/api/v1/images", Named("list"));
    router_.Add("GET", "/api/v1/images/{digest}", Named("image"));
    router_.Add("DELETE", "/api/v1/images/{digest}", Named("delete"));
    router_.Add("GET", "/api/v1/images/{digest}/vulnerabilities", Named("vulns"));
    router_.Add("POST", "/api/v1/images/export", Named("export"));  // after {digest}
    router_.Add("GET", "/api/v1/repositories/{name...}", Named("repository"));
    router_.Add("GET", "/", Named("root"));
  }
  Router router_;
};

TEST_F(RouterTest, LiteralAndParameterSegments) {
  auto body = BodyOf(Call(router_, "GET", "/api/v1/images"));
  EXPECT_EQ(body["route"], "list");
  body = BodyOf(Call(router_, "GET", "/api/v1/images/sha256:ab"));
  EXPECT_EQ(body["route"], "image");
  EXPECT_EQ(body["params"]["digest"], "sha256:ab");
  body = BodyOf(Call(router_, "GET", "/api/v1/images/sha256:ab/vulnerabilities"));
  EXPECT_EQ(body["route"], "vulns");
  EXPECT_EQ(body["params"]["digest"], "sha256:ab");
  EXPECT_EQ(BodyOf(Call(router_, "DELETE", "/api/v1/images/x"))["route"], "delete");
  EXPECT_EQ(BodyOf(Call(router_, "GET", "/"))["route"], "root");
}

TEST_F(RouterTest, TrailingRestTakesSlashes) {
  auto body = BodyOf(Call(router_, "GET", "/api/v1/repositories/registry:5000/library/nginx"));
  EXPECT_EQ(body["route"], "repository");
  EXPECT_EQ(body["params"]["name"], "registry:5000/library/nginx");
  EXPECT_EQ(BodyOf(Call(router_, "GET", "/api/v1/repositories/a"))["params"]["name"], "a");
  // The rest must not be empty.
  EXPECT_EQ(Call(router_, "GET", "/api/v1/repositories/").status, 404);
  EXPECT_EQ(Call(router_, "GET", "/api/v1/repositories").status, 404);
}

TEST_F(RouterTest, LiteralBeatsParameterWhateverTheOrder) {
  EXPECT_EQ(BodyOf(Call(router_, "POST", "/api/v1/images/export"))["route"], "export");
  // GET on the same path is the {digest} route: "export" is a literal only for POST.
  EXPECT_EQ(BodyOf(Call(router_, "GET", "/api/v1/images/export"))["route"], "image");
}

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Response missing = Call(router_, "GET", "/api/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(BodyOf(missing)["error"], "not found: /api/v2/nothing");
  EXPECT_EQ(Call(router_, "GET", "/api/v1/images/").status, 404);  // empty {digest}
  EXPECT_EQ(Call(router_, "GET", "/api/v1/images/a/b").status, 404);

  Response wrong = Call(router_, "PUT", "/api/v1/images/sha256:ab");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(HeaderOf(wrong, "Allow"), "GET, DELETE, HEAD");
  EXPECT_NE(BodyOf(wrong)["error"].get<std::string>().find("PUT"), std::string::npos);
  EXPECT_EQ(HeaderOf(Call(router_, "GET", "/api/v1/images/export"), "Allow"), "");
  EXPECT_EQ(HeaderOf(Call(router_, "DELETE", "/api/v1/images"), "Allow"), "GET, HEAD");
}

TEST_F(RouterTest, HeadIsGetUnlessAHeadRouteExists) {
  EXPECT_EQ(BodyOf(Call(router_, "HEAD", "/api/v1/images"))["route"], "list");
  router_.Add("HEAD", "/api/v1/images", Named("head"));
  EXPECT_EQ(BodyOf(Call(router_, "HEAD", "/api/v1/images"))["route"], "head");
  EXPECT_EQ(HeaderOf(Call(router_, "PUT", "/api/v1/images"), "Allow"), "GET, HEAD");
}

TEST_F(RouterTest, RoutesListsPatternsInOrder) {
  auto routes = router_.Routes();
  ASSERT_EQ(routes.size(), 7u);
  EXPECT_EQ(routes[0], (std::pair<std::string, std::string>{"GET", "/api/v1/images"}));
  EXPECT_EQ(routes[5],
            (std::pair<std::string, std::string>{"GET", "/api/v1/repositories/{name...}"}));
}

TEST(RouterDeathTest, BadPatternsAreProgrammingErrors) {
  Router router;
  EXPECT_DEATH(router.Add("GET", "no-slash", Named("x")), "invariant");
  EXPECT_DEATH(router.Add("GET", "/{rest...}/tail", Named("x")), "invariant");
  EXPECT_DEATH(router.Add("GET", "/{a}/{a}", Named("x")), "invariant");
}

}  // namespace
}  // namespace moat::http
