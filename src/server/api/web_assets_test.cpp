// The dashboard's static serving: content types, the single-page fallback, caching (ETag, 304,
// immutable hashed assets), gzip negotiation, and that /api/ stays the API's. The last tests read
// the dashboard this binary was built with.

#include "server/api/web_assets.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace moat::server {
namespace {

const std::vector<WebFile>& Files() {
  static const std::vector<WebFile> files = {
      {"/index.html", "text/html; charset=utf-8", "<html>page</html>", "GZ-INDEX", "\"i1\"", false},
      {"/assets/index-abc123.js", "text/javascript; charset=utf-8", "console.log(1)", "GZ-JS",
       "\"j1\"", true},
      {"/favicon.svg", "image/svg+xml", "<svg/>", "", "\"f1\"", false},
  };
  return files;
}

http::Request Get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {},
                  std::string method = "GET") {
  http::Request request;
  request.method = std::move(method);
  request.target = path;
  request.path = std::move(path);
  request.headers = std::move(headers);
  return request;
}

std::string HeaderOf(const http::Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST(WebAssets, ServesEachFileWithItsContentType) {
  auto index = ServeWebAsset(Get("/"), Files());
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->body, "<html>page</html>");
  auto script = ServeWebAsset(Get("/assets/index-abc123.js"), Files());
  ASSERT_TRUE(script);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script->body, "console.log(1)");
  auto icon = ServeWebAsset(Get("/favicon.svg"), Files());
  ASSERT_TRUE(icon);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
}

TEST(WebAssets, HashedAssetsAreImmutableAndThePageIsRevalidated) {
  auto script = ServeWebAsset(Get("/assets/index-abc123.js"), Files());
  EXPECT_EQ(HeaderOf(*script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(*script, "ETag"), "\"j1\"");
  auto index = ServeWebAsset(Get("/index.html"), Files());
  EXPECT_EQ(HeaderOf(*index, "Cache-Control"), "no-cache");
  EXPECT_NE(HeaderOf(*index, "Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
}

TEST(WebAssets, IfNoneMatchGets304) {
  for (const char* tag : {"\"i1\"", "W/\"i1\"", "\"x\", \"i1\"", "*"}) {
    auto response = ServeWebAsset(Get("/", {{"if-none-match", tag}}), Files());
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 304) << tag;
    EXPECT_TRUE(response->body.empty());
    EXPECT_EQ(HeaderOf(*response, "ETag"), "\"i1\"");
  }
  EXPECT_EQ(ServeWebAsset(Get("/", {{"if-none-match", "\"old\""}}), Files())->status, 200);
}

TEST(WebAssets, GzipOnlyWhenAccepted) {
  auto plain = ServeWebAsset(Get("/assets/index-abc123.js"), Files());
  EXPECT_EQ(plain->body, "console.log(1)");
  EXPECT_EQ(HeaderOf(*plain, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(*plain, "Vary"), "Accept-Encoding");
  auto packed =
      ServeWebAsset(Get("/assets/index-abc123.js", {{"accept-encoding", "gzip, br"}}), Files());
  EXPECT_EQ(packed->body, "GZ-JS");
  EXPECT_EQ(HeaderOf(*packed, "Content-Encoding"), "gzip");
  auto refused =
      ServeWebAsset(Get("/assets/index-abc123.js", {{"accept-encoding", "br, gzip;q=0"}}), Files());
  EXPECT_EQ(refused->body, "console.log(1)");
  // No gzip copy (it would not have been smaller): the body as it is.
  auto icon = ServeWebAsset(Get("/favicon.svg", {{"accept-encoding", "gzip"}}), Files());
  EXPECT_EQ(icon->body, "<svg/>");
  EXPECT_EQ(HeaderOf(*icon, "Vary"), "");
}

TEST(WebAssets, ClientRoutesLoadThePageAndMissingFilesAre404) {
  const std::string browser = "text/html,application/xhtml+xml,*/*;q=0.8";
  for (const char* path :
       {"/images", "/images/sha256:abc/vulnerabilities/CVE-2024-1", "/alerts/7"}) {
    auto page = ServeWebAsset(Get(path, {{"accept", browser}}), Files());
    ASSERT_TRUE(page) << path;
    EXPECT_EQ(page->status, 200) << path;
    EXPECT_EQ(page->body, "<html>page</html>") << path;
  }
  // A script or image that is not there is a 404, even for a browser: a broken build shows.
  EXPECT_EQ(ServeWebAsset(Get("/assets/gone.js", {{"accept", browser}}), Files())->status, 404);
  EXPECT_EQ(ServeWebAsset(Get("/favicon.ico", {{"accept", "image/*"}}), Files())->status, 404);
}

TEST(WebAssets, TheApiKeepsItsPathsAndOtherMethods) {
  EXPECT_FALSE(ServeWebAsset(Get("/api/v1/nope", {{"accept", "text/html"}}), Files()));
  EXPECT_FALSE(ServeWebAsset(Get("/api"), Files()));
  EXPECT_FALSE(ServeWebAsset(Get("/", {}, "POST"), Files()));
  EXPECT_FALSE(ServeWebAsset(Get("/", {}, "DELETE"), Files()));
  auto head = ServeWebAsset(Get("/", {}, "HEAD"), Files());
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);  // the server sends the headers only
}

TEST(WebAssets, ABuildWithoutTheDashboardSaysSo) {
  auto response = ServeWebAsset(Get("/"), {});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_NE(response->body.find("without its dashboard"), std::string::npos);
  EXPECT_NE(response->body.find("npm"), std::string::npos);
}

// The files this binary was built with (web/dist through web/scripts/embed.mjs).
TEST(EmbeddedWebFiles, IndexNamesOnlyFilesThatAreThere) {
  const auto files = EmbeddedWebFiles();
  if (files.empty()) GTEST_SKIP() << "built without the dashboard (MOAT_WEB=OFF or no npm)";
  auto index = ServeWebAsset(Get("/"), files);
  ASSERT_TRUE(index);
  ASSERT_EQ(index->status, 200);
  const std::regex reference(R"re((?:src|href)="(/[^"]+)")re");
  size_t scripts = 0;
  for (std::sregex_iterator it(index->body.begin(), index->body.end(), reference), end; it != end;
       ++it) {
    const std::string path = (*it)[1];
    auto file = ServeWebAsset(Get(path), files);
    ASSERT_TRUE(file) << path;
    EXPECT_EQ(file->status, 200) << path << " is named by index.html but not embedded";
    scripts += path.ends_with(".js") ? 1 : 0;
  }
  EXPECT_GE(scripts, 1u);
  for (const auto& file : files) {
    SCOPED_TRACE(std::string(file.path));
    EXPECT_FALSE(file.content_type.empty());
    EXPECT_FALSE(file.body.empty());
    EXPECT_EQ(file.immutable, file.path.starts_with("/assets/"));
    if (!file.gzip.empty()) {
      EXPECT_LT(file.gzip.size(), file.body.size());
      EXPECT_EQ(static_cast<unsigned char>(file.gzip[0]), 0x1f);  // gzip's magic number
      EXPECT_EQ(static_cast<unsigned char>(file.gzip[1]), 0x8b);
    }
  }
}

}  // namespace
}  // namespace moat::server
