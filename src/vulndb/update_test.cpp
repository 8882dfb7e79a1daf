#include "vulndb/update.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/bytes.h"
#include "core/test_http_server.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb {
namespace {

namespace fs = std::filesystem;
using moat::testing::TestHttpRequest;
using moat::testing::TestHttpResponse;
using moat::testing::TestHttpServer;

const fs::path kFixtures = fs::path(MOAT_SHARED_DATA_DIR) / "vuln" / "feeds" / "vunnel-fixtures";

std::string Read(const fs::path& path) {
  auto text = ReadFileToString(path.string());
  return text.ok() ? *text : "";
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Serves feeds by path with ETag validators, counting full (200) responses.
class FeedServer {
 public:
  FeedServer() : server_([this](const TestHttpRequest& request) { return Handle(request); }) {}

  void Set(const std::string& path, std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    bodies_[path] = std::move(body);
    ++version_;
  }
  int full_responses() const { return full_responses_; }
  std::string Url(const std::string& path) const { return server_.BaseUrl() + path; }

 private:
  TestHttpResponse Handle(const TestHttpRequest& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = bodies_.find(request.target);
    if (it == bodies_.end()) return {404, {}, "not found"};
    std::string etag = "\"" + std::to_string(std::hash<std::string>{}(it->second)) + "\"";
    if (request.Header("If-None-Match") == etag) return {304, {{"ETag", etag}}, ""};
    ++full_responses_;
    return {200, {{"ETag", etag}, {"Last-Modified", "Sun, 01 Nov 2026 00:00:00 GMT"}}, it->second};
  }

  std::mutex mutex_;
  std::map<std::string, std::string> bodies_;
  int version_ = 0;
  std::atomic<int> full_responses_{0};
  TestHttpServer server_;
};

class Update : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moat-vulndb-update-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "db" / "moat.db").string();
    server_.Set("/debian.json", Read(kFixtures / "debian__input_debian.json"));
    server_.Set("/wolfi.json", Read(kFixtures / "wolfi__input_secdb_security.json"));
    server_.Set("/kev.json", Read(kFixtures / "kev__valid-catalog-1.json"));
    server_.Set("/epss.csv", Read(kFixtures / "epss__example-1.csv"));
    sources_ = {{"debian-tracker", FeedKind::kDebianTracker, server_.Url("/debian.json")},
                {"wolfi", FeedKind::kSecdb, server_.Url("/wolfi.json")},
                {"kev", FeedKind::kKev, server_.Url("/kev.json")},
                {"epss", FeedKind::kEpss, server_.Url("/epss.csv")}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string db_;
  FeedServer server_;
  std::vector<UpdateSource> sources_;
};

TEST_F(Update, DownloadsThenNotModified) {
  auto first = UpdateDatabase(db_, sources_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->rebuilt);
  EXPECT_EQ(first->changed.size(), 4u);
  EXPECT_EQ(server_.full_responses(), 4);
  auto db = OpenDatabase(db_);
  ASSERT_TRUE(db.ok());
  auto sope = (*db)->Lookup("debian:12", "sope");
  ASSERT_TRUE(sope.ok());
  EXPECT_EQ(sope->size(), 1u);
  auto built_at = fs::last_write_time(db_);

  auto second = UpdateDatabase(db_, sources_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->rebuilt);
  EXPECT_EQ(second->unchanged.size(), 4u);
  EXPECT_EQ(server_.full_responses(), 4);  // every request answered 304
  EXPECT_EQ(fs::last_write_time(db_), built_at);

  // One feed changes: only it is downloaded again, and the database is rebuilt.
  server_.Set("/wolfi.json", Read(kFixtures / "chainguard__input_secdb_security.json"));
  auto third = UpdateDatabase(db_, sources_);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE(third->rebuilt);
  EXPECT_EQ(third->changed, std::vector<std::string>{"wolfi"});
  EXPECT_EQ(server_.full_responses(), 5);
}

TEST_F(Update, CorruptDownloadKeepsTheOldDatabase) {
  ASSERT_TRUE(UpdateDatabase(db_, sources_).ok());
  std::string before = Read(db_);
  server_.Set("/debian.json", "<html>rate limited</html>");
  auto corrupt = UpdateDatabase(db_, sources_);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().message.find("previous database is unchanged"), std::string::npos)
      << corrupt.error().message;
  EXPECT_EQ(Read(db_), before);
  EXPECT_TRUE(OpenDatabase(db_).ok());
  server_.Set("/kev.json", R"({"vulnerabilities":[]})");  // parses, but empty
  server_.Set("/debian.json", Read(kFixtures / "debian__input_debian.json"));
  EXPECT_FALSE(UpdateDatabase(db_, sources_).ok());
  EXPECT_EQ(Read(db_), before);
  sources_.push_back({"missing", FeedKind::kKev, server_.Url("/missing.json")});
  auto missing = UpdateDatabase(db_, sources_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("HTTP 404"), std::string::npos);
  EXPECT_EQ(Read(db_), before);
  // No temporary files are left behind.
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find(".part-"), std::string::npos) << name;
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  }
}

TEST_F(Update, SourcesFile) {
  fs::path file = dir_ / "sources.json";
  WriteFile(file, R"({"sources":[{"name":"kev","kind":"kev","url":")" + server_.Url("/kev.json") +
                      R"("}]})");
  auto sources = LoadUpdateSources(file.string());
  ASSERT_TRUE(sources.ok()) << sources.error().message;
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].kind, FeedKind::kKev);
  WriteFile(file, R"({"sources":[{"name":"x","kind":"bogus","url":"http://a"}]})");
  EXPECT_FALSE(LoadUpdateSources(file.string()).ok());
  EXPECT_FALSE(DefaultUpdateSources().empty());
}

TEST_F(Update, ExportImport) {
  ASSERT_TRUE(UpdateDatabase(db_, sources_).ok());
  std::string bundle = (dir_ / "moat.bundle").string();
  ASSERT_TRUE(ExportBundle(db_, bundle).ok());
  std::string imported = (dir_ / "other" / "moat.db").string();
  auto status = ImportBundle(bundle, imported);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(Read(imported), Read(db_));
  // A damaged or truncated bundle is refused and the installed database stays.
  std::string data = Read(bundle);
  std::string flipped = data;
  flipped[flipped.size() / 2] ^= 0x40;
  WriteFile(dir_ / "flipped.bundle", flipped);
  auto bad = ImportBundle((dir_ / "flipped.bundle").string(), imported);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("checksum mismatch"), std::string::npos);
  WriteFile(dir_ / "short.bundle", data.substr(0, data.size() - 100));
  EXPECT_FALSE(ImportBundle((dir_ / "short.bundle").string(), imported).ok());
  WriteFile(dir_ / "junk.bundle", "junk");
  EXPECT_FALSE(ImportBundle((dir_ / "junk.bundle").string(), imported).ok());
  EXPECT_EQ(Read(imported), Read(db_));
}

}  // namespace
}  // namespace moat::vulndb
