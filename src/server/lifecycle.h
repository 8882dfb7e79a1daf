#pragma once
// `moat server` and `moat worker` start-up as ordered steps, each a function of its own (tested
// alone): data directory, listen address policy, secret key, store, first admin token,
// registries from the command line, workers, HTTP server.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/server.h"
#include "server/api/api.h"
#include "server/center.h"
#include "server/monitor/scheduler.h"

namespace moat::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8443";
  std::string data_dir;   // default: DefaultDataDir()
  std::string store_url;  // default: sqlite DATA/moat.db
  std::string db_path;    // vulnerability database; default: the scan commands' default
  std::vector<std::string> registries;  // monitored from the start: URL or NAME=URL
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string secret_key_file;      // default: DATA/secret.key
  size_t workers = 1;               // in-process scan workers
  std::vector<std::string> notify;  // --notify KIND=URL[,min=PRIORITY][,batch]
  size_t http_threads = 4;
  int64_t job_lease_seconds = CenterOptions{}.job_lease_seconds;  // --job-lease
  /// Registry polls, daily rescans and the vulnerability-database check run this often.
  int64_t scheduler_interval_seconds = 60;
  ApiOptions api;
};

/// $XDG_DATA_HOME/moat or ~/.local/share/moat.
std::string DefaultDataDir();
/// Creates the data directory (mode 0700) when missing.
Result<void> PrepareDataDir(const std::string& dir);
/// Without TLS the server listens on loopback only: any other address is refused.
Result<void> CheckListenPolicy(const ServerOptions& options);
/// On a store with no token: creates an admin token and writes it to DIR/admin.token (0600).
/// Returns the file's path when it wrote one.
Result<std::string> BootstrapAdminToken(Store& store, const std::string& data_dir);
/// Adds the --registry URLs that the store does not know yet.
Result<void> AddCommandLineRegistries(Store& store, const std::vector<std::string>& registries);

class RunningServer {
 public:
  static Result<std::unique_ptr<RunningServer>> Start(const ServerOptions& options);
  ~RunningServer();
  std::string url() const { return http_->url(); }
  Center& center() { return *center_; }
  Api& api() { return *api_; }
  void Stop();

 private:
  RunningServer() = default;
  std::unique_ptr<Center> center_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<Scheduler> scheduler_;
};

struct WorkerOptions {
  CenterOptions center;  // the store, secret key, database, cache; connections are set here
  size_t workers = 1;
  std::string name;  // the lease owner's name; default: ProcessWorkerName()
  /// HOST:PORT of the worker's /metrics (Prometheus text, a read token needed, as the server's);
  /// empty: none. Without TLS only loopback, as the server's --listen.
  std::string metrics_listen;
  std::string tls_cert_file;
  std::string tls_key_file;
};

/// `moat worker`: scan workers on a shared store and, with metrics_listen, an HTTP server with
/// /healthz, /readyz and /metrics only (Api with ApiOptions::metrics_only).
class RunningWorker {
 public:
  static Result<std::unique_ptr<RunningWorker>> Start(const WorkerOptions& options);
  ~RunningWorker();
  Center& center() { return *center_; }
  /// "http://127.0.0.1:PORT" of /metrics; empty without metrics_listen.
  std::string metrics_url() const;
  void Stop();

 private:
  RunningWorker() = default;
  std::unique_ptr<Center> center_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Server> http_;
};

}  // namespace moat::server
