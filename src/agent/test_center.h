#pragma once
// Test-only: a real moat server (its SQLite store in a test's directory) on loopback HTTP with an
// agent token and a reader token, for the agent's end-to-end tests: what the agent sends is read
// back through the server's API.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/http.h"
#include "http/server.h"
#include "server/api/api.h"
#include "server/center.h"
#include "server/store/secret_box.h"

namespace moat::agent::testing {

class LoopbackCenter {
 public:
  /// The store in `dir`; `agent_name` names the agent token.
  LoopbackCenter(const std::string& dir, const std::string& agent_name) {
    server::CenterOptions options;
    options.store_url = "sqlite:" + dir + "/moat.db";
    options.secret_key = server::NewSecretKey();
    auto center = server::Center::Open(options);
    EXPECT_TRUE(center.ok()) << center.error().message;
    if (!center.ok()) return;
    center_ = std::move(*center);
    api_ = std::make_unique<server::Api>(*center_, server::ApiOptions{});
    http::ServerOptions http_options;
    http_options.listen = "127.0.0.1:0";
    server::Api* api = api_.get();
    auto started =
        http::Server::Start(http_options, [api](http::Request& r) { return api->Handle(r); });
    EXPECT_TRUE(started.ok()) << started.error().message;
    if (!started.ok()) return;
    server_ = std::move(*started);
    auto agent_token = center_->store().CreateToken(agent_name, server::Role::kAgent, "test");
    auto reader_token = center_->store().CreateToken("reader", server::Role::kReader, "test");
    EXPECT_TRUE(agent_token.ok() && reader_token.ok());
    if (agent_token.ok()) agent_token_ = *agent_token;
    if (reader_token.ok()) reader_token_ = *reader_token;
  }
  ~LoopbackCenter() {
    if (server_) server_->Stop();
  }
  LoopbackCenter(const LoopbackCenter&) = delete;
  LoopbackCenter& operator=(const LoopbackCenter&) = delete;

  bool ok() const { return server_ != nullptr && !agent_token_.empty(); }
  server::Center& center() { return *center_; }
  std::string url() const { return server_->url(); }
  const std::string& agent_token() const { return agent_token_; }

  /// GET `path` with the reader token; the status must be `expected_status`.
  nlohmann::json Get(const std::string& path, int expected_status = 200) const {
    HttpRequest request;
    request.url = server_->url() + path;
    request.headers.emplace_back("Authorization", "Bearer " + reader_token_);
    auto response = HttpFetch(request);
    EXPECT_TRUE(response.ok()) << path;
    if (!response.ok()) return nlohmann::json();
    EXPECT_EQ(response->status, expected_status) << path << ": " << response->body;
    return nlohmann::json::parse(response->body, nullptr, false);
  }

  /// The ids of the resources a recommendation lists as unhealthy (none when it lists none).
  std::set<std::string> Unhealthy(const std::string& recommendation) const {
    std::set<std::string> ids;
    HttpRequest request;
    request.url = server_->url() + "/api/v1/recommendations/" + recommendation;
    request.headers.emplace_back("Authorization", "Bearer " + reader_token_);
    auto response = HttpFetch(request);
    if (!response.ok() || response->status != 200) return ids;
    const nlohmann::json detail = nlohmann::json::parse(response->body, nullptr, false);
    if (!detail.is_object() || !detail.contains("unhealthy")) return ids;
    for (const auto& u : detail["unhealthy"]) ids.insert(u["id"].get<std::string>());
    return ids;
  }

 private:
  std::unique_ptr<server::Center> center_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<http::Server> server_;
  std::string agent_token_;
  std::string reader_token_;
};

}  // namespace moat::agent::testing
