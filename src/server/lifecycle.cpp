#include "server/lifecycle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.h"
#include "server/notify/dispatcher.h"
#include "server/store/secret_box.h"
#include "vulndb/vulndb.h"

namespace moat::server {

std::string DefaultDataDir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/moat";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.local/share/moat";
}

Result<void> PrepareDataDir(const std::string& dir) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return Fail("data directory ", path, ": ", std::strerror(errno));
      }
    }
  }
  if (::access(dir.c_str(), W_OK) != 0) return Fail("data directory ", dir, ": not writable");
  return Ok();
}

namespace {

Result<void> CheckListen(const std::string& flag, const std::string& listen,
                         const std::string& tls_cert_file, const std::string& tls_key_file) {
  MOAT_ASSIGN_OR_RETURN(auto address, http::ParseListenAddress(listen));
  const bool tls = !tls_cert_file.empty() || !tls_key_file.empty();
  if (tls && (tls_cert_file.empty() || tls_key_file.empty())) {
    return Fail("--tls-cert and --tls-key go together");
  }
  if (!tls && !http::IsLoopbackHost(address.first)) {
    return Fail(flag, " ", listen,
                ": without --tls-cert/--tls-key the server listens on loopback only (tokens "
                "would cross the network in clear); give a certificate or a loopback address");
  }
  return Ok();
}

}  // namespace

Result<void> CheckListenPolicy(const ServerOptions& options) {
  return CheckListen("--listen", options.listen, options.tls_cert_file, options.tls_key_file);
}

Result<std::string> BootstrapAdminToken(Store& store, const std::string& data_dir) {
  MOAT_ASSIGN_OR_RETURN(int64_t tokens, store.CountTokens());
  if (tokens > 0) return std::string();
  MOAT_ASSIGN_OR_RETURN(std::string token, store.CreateToken("admin", Role::kAdmin, "bootstrap"));
  const std::string path = data_dir + "/admin.token";
  const std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(temp, ": ", std::strerror(errno));
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
    return Fail(path, ": cannot write the admin token");
  }
  MOAT_TRY(store.Audit("bootstrap", "token.create", "admin", "first start: " + path));
  return path;
}

Result<void> AddCommandLineRegistries(Store& store, const std::vector<std::string>& registries) {
  MOAT_ASSIGN_OR_RETURN(auto known, store.ListRegistries());
  for (const auto& spec : registries) {
    RegistryRecord registry;
    const size_t eq = spec.find('=');
    registry.url = eq == std::string::npos ? spec : spec.substr(eq + 1);
    if (registry.url.find("://") == std::string::npos) registry.url = "https://" + registry.url;
    std::string host = registry.url.substr(registry.url.find("://") + 3);
    host = host.substr(0, host.find('/'));
    registry.name = eq == std::string::npos ? host : spec.substr(0, eq);
    if (registry.url.rfind("http://", 0) == 0) {
      std::string bare =
          host.front() == '[' ? host.substr(1, host.find(']') - 1) : host.substr(0, host.find(':'));
      if (!http::IsLoopbackHost(bare)) {
        return Fail("--registry ", spec, ": plain http:// only for a loopback registry");
      }
    }
    bool exists = false;
    for (const auto& k : known) exists |= k.name == registry.name;
    if (exists) continue;
    MOAT_TRY(store.AddRegistry(registry));
    log::Info("monitoring registry " + registry.name + " (" + registry.url + ")");
  }
  return Ok();
}

Result<std::unique_ptr<RunningServer>> RunningServer::Start(const ServerOptions& options) {
  MOAT_TRY(CheckListenPolicy(options));
  const std::string data_dir = options.data_dir.empty() ? DefaultDataDir() : options.data_dir;
  MOAT_TRY(PrepareDataDir(data_dir));
  CenterOptions center_options;
  center_options.store_url =
      options.store_url.empty() ? "sqlite:" + data_dir + "/moat.db" : options.store_url;
  // 2 per worker: its job and its job's lease renewal; + 2: the scheduler's advisory-lock
  // session and its pass.
  center_options.connections = options.http_threads + 2 * options.workers + 3;
  center_options.job_lease_seconds = options.job_lease_seconds;
  MOAT_ASSIGN_OR_RETURN(
      center_options.secret_key,
      LoadOrCreateSecretKey(options.secret_key_file.empty() ? data_dir + "/secret.key"
                                                            : options.secret_key_file));
  center_options.db_path =
      options.db_path.empty() ? vulndb::DefaultDatabasePath() : options.db_path;
  center_options.cache_dir = data_dir + "/cache";
  for (const auto& flag : options.notify) {
    MOAT_ASSIGN_OR_RETURN(auto target, notify::ParseNotifyFlag(flag));
    center_options.notifications.push_back(std::move(target));
  }
  center_options.database_copy_dir = data_dir + "/vulndb";
  std::unique_ptr<RunningServer> server(new RunningServer());
  MOAT_ASSIGN_OR_RETURN(server->center_, Center::Open(center_options));
  MOAT_ASSIGN_OR_RETURN(std::string token_file,
                        BootstrapAdminToken(server->center_->store(), data_dir));
  if (!token_file.empty()) log::Info("first start: the admin token is in " + token_file);
  MOAT_TRY(AddCommandLineRegistries(server->center_->store(), options.registries));
  server->api_ = std::make_unique<Api>(*server->center_, options.api);
  server->center_->StartWorkers(options.workers, ProcessWorkerName() + "-server");
  server->center_->posture().Start();
  SchedulerOptions scheduler_options;
  scheduler_options.interval = std::chrono::seconds(options.scheduler_interval_seconds);
  server->scheduler_ = std::make_unique<Scheduler>(*server->center_, scheduler_options);
  server->scheduler_->Start();
  http::ServerOptions http_options;
  http_options.listen = options.listen;
  http_options.tls_cert_file = options.tls_cert_file;
  http_options.tls_key_file = options.tls_key_file;
  http_options.threads = options.http_threads;
  http_options.max_body_bytes = 16 << 20;  // agent batches; alerts are limited per item
  Api* api = server->api_.get();
  MOAT_ASSIGN_OR_RETURN(server->http_,
                        http::Server::Start(http_options, [api](http::Request& request) {
                          return api->Handle(request);
                        }));
  return server;
}

RunningServer::~RunningServer() { Stop(); }

void RunningServer::Stop() {
  if (http_) http_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (center_) center_->Stop();
}

Result<std::unique_ptr<RunningWorker>> RunningWorker::Start(const WorkerOptions& options) {
  if (!options.metrics_listen.empty()) {
    MOAT_TRY(CheckListen("--metrics-listen", options.metrics_listen, options.tls_cert_file,
                         options.tls_key_file));
  }
  CenterOptions center_options = options.center;
  // 2 per worker: its job and its job's lease renewal; + 1 for /metrics (token, job counts).
  center_options.connections = 2 * options.workers + 1 + (options.metrics_listen.empty() ? 0 : 1);
  std::unique_ptr<RunningWorker> worker(new RunningWorker());
  MOAT_ASSIGN_OR_RETURN(worker->center_, Center::Open(center_options));
  if (!options.metrics_listen.empty()) {
    ApiOptions api_options;
    api_options.metrics_only = true;
    worker->api_ = std::make_unique<Api>(*worker->center_, api_options);
    http::ServerOptions http_options;
    http_options.listen = options.metrics_listen;
    http_options.tls_cert_file = options.tls_cert_file;
    http_options.tls_key_file = options.tls_key_file;
    http_options.threads = 1;
    Api* api = worker->api_.get();
    MOAT_ASSIGN_OR_RETURN(worker->http_,
                          http::Server::Start(http_options, [api](http::Request& request) {
                            return api->Handle(request);
                          }));
  }
  worker->center_->StartWorkers(options.workers,
                                options.name.empty() ? ProcessWorkerName() : options.name);
  return worker;
}

RunningWorker::~RunningWorker() { Stop(); }

std::string RunningWorker::metrics_url() const { return http_ ? http_->url() : ""; }

void RunningWorker::Stop() {
  if (http_) http_->Stop();
  if (center_) center_->Stop();
}

}  // namespace moat::server
