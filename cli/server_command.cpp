// `moat server`: the security center (REST API, registry monitoring, scan workers) on SQLite or
// PostgreSQL. `moat worker`: scan workers only, for a PostgreSQL store shared with the servers.

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "agent/agent.h"
#include "artifact/sources.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/http.h"
#include "core/log.h"
#include "core/text.h"
#include "server/lifecycle.h"
#include "server/store/secret_box.h"
#include "vulndb/vulndb.h"

namespace moat::cli {

namespace {

// The store URL from a file (first line, trimmed).
Result<std::string> ReadStoreUrlFile(const std::string& path) {
  std::ifstream in(path);
  std::string url;
  if (!in || !std::getline(in, url)) return Fail("--store-file ", path, ": cannot read it");
  url = std::string(TrimSpace(url));
  if (url.empty()) return Fail("--store-file ", path, ": empty");
  return url;
}

// The token of the server's own agent, kept in DATA/local-agent.token (mode 0600) and created on
// first use, so that a restart does not pile up tokens.
Result<std::string> LocalAgentToken(server::Store& store, const std::string& data_dir) {
  const std::string path = data_dir + "/local-agent.token";
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token)) {
    auto known = store.Authenticate(token);
    if (known.ok() && *known && (*known)->role == server::Role::kAgent) return token;
  }
  MOAT_ASSIGN_OR_RETURN(token, store.CreateToken("local-agent", server::Role::kAgent, "server"));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(path, ": cannot write the local agent's token");
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return Fail(path, ": cannot write the local agent's token");
  return token;
}

// True when a Docker engine answers on the default socket.
bool DockerEngineAnswers() {
  HttpRequest request;
  request.unix_socket = DefaultDockerSocket();
  request.url = "http://localhost/_ping";
  request.connect_timeout_seconds = 2;
  request.timeout_seconds = 5;
  auto response = HttpFetch(request);
  return response.ok() && response->status == 200;
}

// --job-lease DURATION: how long a scan job stays claimed by a worker that stopped renewing it.
void AddJobLeaseOption(CLI::App& command, int64_t& lease_seconds) {
  command
      .add_option_function<std::string>(
          "--job-lease",
          [&lease_seconds](const std::string& text) {
            auto duration = ParseDuration(text);
            if (!duration.ok()) throw CLI::ValidationError("--job-lease", duration.error().message);
            lease_seconds = std::max<int64_t>(1, (duration->count() + 999) / 1000);
          },
          "A worker renews its scan job's lease every third of this while it works; when a worker "
          "dies or hangs, another takes its job once the lease has expired (e.g. 30s, 2m; "
          "default " +
              std::to_string(lease_seconds) + "s)")
      ->type_name("DURATION");
}

}  // namespace

void AddServerCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto options = std::make_shared<server::ServerOptions>();
  auto store_file = std::make_shared<std::string>();
  auto* command = app.add_subcommand(
      "server", "Run the security center: REST API, registry monitoring, scan workers");
  command
      ->add_option("--listen", options->listen,
                   "Address to listen on (HOST:PORT); without TLS only loopback")
      ->capture_default_str();
  command->add_option("--data", options->data_dir,
                      "Data directory (SQLite store, secret key, admin token, layer cache); "
                      "default $XDG_DATA_HOME/moat or ~/.local/share/moat");
  command->add_option("--store", options->store_url,
                      "Store: a SQLite path, sqlite:PATH, or postgres://USER@HOST/DB "
                      "(default DATA/moat.db)");
  command
      ->add_option("--store-file", *store_file,
                   "Read the store URL from this file (a Kubernetes Secret: keeps the "
                   "PostgreSQL password out of the command line and environment)")
      ->excludes("--store");
  command->add_option("--db", options->db_path,
                      "Vulnerability database (default: the one `moat db update` keeps)");
  AddListOption(*command, "--registry", options->registries,
                "Monitor this registry from the start: URL or NAME=URL (http:// only on "
                "loopback)");
  // Not a comma list: the commas separate a target's options. Repeat the flag for more targets.
  command
      ->add_option("--notify", options->notify,
                   "Send new alerts to KIND=URL[,min=PRIORITY][,batch] (repeatable): "
                   "webhook=https://..., slack=https://hooks.slack.com/..., "
                   "syslog=udp://HOST:514 or tcp://HOST:514")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command->add_option("--tls-cert", options->tls_cert_file, "TLS certificate (PEM)");
  command->add_option("--tls-key", options->tls_key_file, "TLS private key (PEM)");
  command->add_option("--secret-key-file", options->secret_key_file,
                      "32-byte key that encrypts registry credentials at rest (default "
                      "DATA/secret.key, created on first start; replicas share one)");
  command->add_option("--workers", options->workers, "Scan workers in this process")
      ->capture_default_str();
  AddJobLeaseOption(*command, options->job_lease_seconds);
  command->add_option("--http-threads", options->http_threads, "HTTP server threads")
      ->capture_default_str();
  auto local_agent = std::make_shared<bool>(false);
  command->add_flag("--local-agent", *local_agent,
                    "Also run an agent for this machine's Docker host (when an engine answers): "
                    "CIS Docker Benchmark, running containers, on a schedule and on events");
  command
      ->add_option("--rate-limit", options->api.rate_per_second,
                   "API requests per second per token")
      ->capture_default_str();
  SetExamples(*command,
              {"moat server", "moat server --registry http://127.0.0.1:5000 --data /var/lib/moat",
               "moat server --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key "
               "--store postgres://moat@db/moat"});
  command->callback([options, store_file, local_agent, &global, &action] {
    action = [options, store_file, local_agent, &global] {
      (void)global;
      if (!store_file->empty()) {
        auto url = ReadStoreUrlFile(*store_file);
        if (!url.ok()) {
          log::Error(url.error().message);
          return kExitError;
        }
        options->store_url = *url;
      }
      options->api.tool_version = MOAT_VERSION;
      auto server = server::RunningServer::Start(*options);
      if (!server.ok()) {
        log::Error(server.error().message);
        return kExitError;
      }
      log::Info("moat server listening on " + (*server)->url());
      std::atomic<bool> stop_agent{false};
      std::thread agent_thread;
      if (*local_agent && !DockerEngineAnswers()) {
        log::Info("--local-agent: no Docker engine answers at " + DefaultDockerSocket() +
                  "; no local agent");
      } else if (*local_agent) {
        const std::string data_dir =
            options->data_dir.empty() ? server::DefaultDataDir() : options->data_dir;
        auto token = LocalAgentToken((*server)->center().store(), data_dir);
        if (!token.ok()) {
          log::Error(token.error().message);
          return kExitError;
        }
        agent::AgentOptions agent;
        agent.server.url = (*server)->url();
        agent.server.token = *token;
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        agent.registration.name = host;
        agent.registration.hostname = host;
        agent.registration.version = MOAT_VERSION;
        agent.report.tool_version = MOAT_VERSION;
        agent.spool_dir = data_dir + "/local-agent";
        log::Info("local agent reporting this Docker host as " + agent.registration.name);
        agent_thread = std::thread([agent, &stop_agent] {
          auto ran = agent::RunAgent(agent, stop_agent);
          if (!ran.ok()) log::Error("local agent: " + ran.error().message);
        });
      }
      WaitForStopSignal();
      log::Info("stopping");
      stop_agent = true;
      if (agent_thread.joinable()) agent_thread.join();
      (*server)->Stop();
      return kExitOk;
    };
  });
}

void AddWorkerCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct WorkerOptions {
    std::string store_url;
    std::string store_file;
    std::string db_path;
    std::string secret_key_file;
    std::string cache_dir;
    size_t workers = 1;
    std::string name;
    int64_t job_lease_seconds = server::CenterOptions{}.job_lease_seconds;
    std::string metrics_listen;
    std::string tls_cert_file;
    std::string tls_key_file;
  };
  auto options = std::make_shared<WorkerOptions>();
  auto* command = app.add_subcommand(
      "worker", "Run scan workers against a shared PostgreSQL store (scale-out)");
  auto* store = command->add_option("--store", options->store_url, "Store URL (postgres://...)");
  command->add_option("--store-file", options->store_file, "Read the store URL from this file")
      ->excludes(store);
  command->add_option("--db", options->db_path, "Vulnerability database");
  command
      ->add_option("--secret-key-file", options->secret_key_file,
                   "The servers' secret key file (registry credentials)")
      ->required();
  command->add_option("--cache-dir", options->cache_dir, "Layer cache directory");
  command->add_option("--workers", options->workers, "Workers in this process")
      ->capture_default_str();
  command->add_option("--name", options->name,
                      "Worker name, unique among the workers and servers on the store (default: "
                      "host name and pid)");
  AddJobLeaseOption(*command, options->job_lease_seconds);
  command->add_option("--metrics-listen", options->metrics_listen,
                      "Serve this worker's /metrics (Prometheus, a read token needed) on "
                      "HOST:PORT; without TLS only loopback");
  command->add_option("--tls-cert", options->tls_cert_file, "TLS certificate of /metrics (PEM)");
  command->add_option("--tls-key", options->tls_key_file, "TLS private key of /metrics (PEM)");
  SetExamples(*command, {"moat worker --store postgres://moat@db/moat --secret-key-file "
                         "/etc/moat/secret.key --workers 2",
                         "moat worker --store-file /etc/moat/store-url --secret-key-file "
                         "/etc/moat/secret.key --metrics-listen 127.0.0.1:9464"});
  command->callback([options, &global, &action] {
    action = [options, &global] {
      (void)global;
      server::WorkerOptions worker_options;
      server::CenterOptions& center_options = worker_options.center;
      center_options.store_url = options->store_url;
      if (!options->store_file.empty()) {
        auto url = ReadStoreUrlFile(options->store_file);
        if (!url.ok()) {
          log::Error(url.error().message);
          return kExitError;
        }
        center_options.store_url = *url;
      }
      if (center_options.store_url.empty()) {
        log::Error("moat worker: give --store URL or --store-file FILE");
        return kExitError;
      }
      center_options.job_lease_seconds = options->job_lease_seconds;
      auto key = server::LoadSecretKey(options->secret_key_file);
      if (!key.ok()) {
        log::Error(key.error().message);
        return kExitError;
      }
      center_options.secret_key = *key;
      center_options.db_path =
          options->db_path.empty() ? vulndb::DefaultDatabasePath() : options->db_path;
      center_options.cache_dir = options->cache_dir;
      worker_options.workers = options->workers;
      worker_options.name = options->name.empty() ? server::ProcessWorkerName() : options->name;
      worker_options.metrics_listen = options->metrics_listen;
      worker_options.tls_cert_file = options->tls_cert_file;
      worker_options.tls_key_file = options->tls_key_file;
      auto worker = server::RunningWorker::Start(worker_options);
      if (!worker.ok()) {
        log::Error(worker.error().message);
        return kExitError;
      }
      log::Info("moat worker " + worker_options.name + " running " +
                std::to_string(options->workers) + " worker(s)" +
                ((*worker)->metrics_url().empty()
                     ? std::string()
                     : ", metrics at " + (*worker)->metrics_url() + "/metrics"));
      WaitForStopSignal();
      (*worker)->Stop();
      return kExitOk;
    };
  });
}

}  // namespace moat::cli
