#pragma once
// Test-only: a private PostgreSQL server from Debian's `postgresql` package (initdb into a
// temporary directory, pg_ctl on 127.0.0.1 and a free port), and StoreUrlTest, which runs one
// test body on a fresh SQLite file and on a fresh PostgreSQL database:
//
//   class FindingsTest : public moat::server::testing::StoreUrlTest {};
//   TEST_P(FindingsTest, Upsert) { auto pool = SqlPool::Open(url(), 4); ... }
//   MOAT_STORE_TEST_SUITE(FindingsTest);
//
// A missing PostgreSQL fails the test (naming the package) rather than skipping it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/store/sql.h"

namespace moat::server::testing {

namespace postgres_detail {

/// The newest /usr/lib/postgresql/*/bin/initdb, or "".
inline std::string FindInitdb() {
  glob_t found{};
  std::vector<std::string> paths;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  }
  globfree(&found);
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(20)) < std::stoi(b.substr(20));  // after "/usr/lib/postgresql/"
  });
  return paths.empty() ? "" : paths.back();
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
inline Result<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail("socket: ", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
               getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!bound) return Fail("binding a loopback port: ", std::strerror(errno));
  return static_cast<int>(ntohs(address.sin_port));
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs `argv` (no shell) in `directory` with its output in `directory`/command.log; as the
/// `postgres` user when we are root, since PostgreSQL refuses to run as root.
inline Result<void> Run(const std::vector<std::string>& argv, const std::string& directory) {
  std::vector<std::string> command;
  if (geteuid() == 0) command = {"runuser", "-u", "postgres", "--"};
  command.insert(command.end(), argv.begin(), argv.end());
  std::string log = directory + "/command.log";
  pid_t pid = fork();
  if (pid < 0) return Fail("fork: ", std::strerror(errno));
  if (pid == 0) {
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || chdir(directory.c_str()) != 0) _exit(127);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    std::vector<char*> args;
    for (std::string& arg : command) args.push_back(arg.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Ok();
  return Fail(command[geteuid() == 0 ? 4 : 0], " failed (status ", std::to_string(status),
              "): ", ReadFile(log));
}

/// Stops and deletes the servers of earlier test processes that died without their destructor
/// (SIGKILL, a crash, a timeout): each directory names its owner in owner.pid, and one whose
/// owner is gone is stale. A directory without owner.pid is being created, and is left alone.
inline void ReapStaleRuns(const std::string& bin) {
  glob_t found{};
  const std::string pattern = (std::filesystem::temp_directory_path() / "moat-pg-*").string();
  std::vector<std::string> dirs;
  if (glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) dirs.emplace_back(found.gl_pathv[i]);
  }
  globfree(&found);
  for (const std::string& dir : dirs) {
    const std::string owner = ReadFile(dir + "/owner.pid");
    if (owner.empty()) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(owner.c_str()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours)
    if (std::filesystem::exists(dir + "/data/postmaster.pid")) {
      (void)Run({bin + "/pg_ctl", "stop", "-m", "immediate", "-w", "-D", dir + "/data"}, dir);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace postgres_detail

/// A PostgreSQL server of its own in a temporary directory, trusting local TCP connections from
/// user `moat`, with a database `moat`. Stopped and deleted when destroyed.
class PrivatePostgres {
 public:
  /// initdb, pg_ctl start, CREATE DATABASE moat (a few seconds).
  static Result<std::unique_ptr<PrivatePostgres>> Start() {
    namespace detail = postgres_detail;
    std::string initdb = detail::FindInitdb();
    if (initdb.empty()) {
      return Fail(
          "PostgreSQL's initdb not found (/usr/lib/postgresql/*/bin/initdb): install the "
          "`postgresql` package (scripts/install-deps.sh test)");
    }
    std::string bin = initdb.substr(0, initdb.size() - 7);  // without "/initdb"
    detail::ReapStaleRuns(bin);
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Fail("mkdtemp: ", std::strerror(errno));
    std::ofstream(pattern + "/owner.pid") << getpid() << "\n";
    std::unique_ptr<PrivatePostgres> server(new PrivatePostgres(bin, pattern));
    if (geteuid() == 0) {
      const passwd* user = getpwnam("postgres");
      if (user == nullptr) return Fail("no `postgres` user: install the `postgresql` package");
      if (chown(pattern.c_str(), user->pw_uid, user->pw_gid) != 0) {
        return Fail("chown ", pattern, ": ", std::strerror(errno));
      }
    }
    // --no-sync: a crashed test run loses the cluster anyway; fsync=on below keeps the commits
    // of the durability tests real.
    MOAT_TRY(detail::Run({initdb, "-D", server->data_dir(), "-A", "trust", "-U", "moat",
                          "--no-sync", "-E", "UTF8", "--locale=C"},
                         server->dir_));
    Error last{"not started"};
    for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the free port
      MOAT_ASSIGN_OR_RETURN(int port, detail::FreePort());
      std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port) + " -k " +
                            server->dir_ + " -c fsync=on";
      auto started =
          detail::Run({bin + "/pg_ctl", "start", "-w", "-t", "60", "-D", server->data_dir(), "-l",
                       server->dir_ + "/server.log", "-o", options},
                      server->dir_);
      if (started.ok()) {
        server->port_ = port;
        server->running_ = true;
        break;
      }
      last = Error{started.error().message + detail::ReadFile(server->dir_ + "/server.log")};
    }
    if (!server->running_) return last.Wrap("starting PostgreSQL in " + server->dir_);
    MOAT_ASSIGN_OR_RETURN(server->admin_, OpenSqlConnection(server->url("postgres")));
    MOAT_TRY(server->admin_->ExecScript("CREATE DATABASE moat"));
    return server;
  }

  /// The one server of this test process, started at first use, stopped at exit. A failed start
  /// is reported to every caller.
  static Result<PrivatePostgres*> Shared() {
    static Result<std::unique_ptr<PrivatePostgres>> shared = Start();
    if (!shared.ok()) return shared.error();
    return shared->get();
  }

  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  ~PrivatePostgres() {
    if (getpid() != owner_) return;  // a forked child leaves the server to its parent
    admin_.reset();
    if (running_) {
      (void)postgres_detail::Run({bin_ + "/pg_ctl", "stop", "-m", "fast", "-w", "-D", data_dir()},
                                 dir_);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  int port() const { return port_; }
  const std::string& directory() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }

  /// postgres://moat@127.0.0.1:PORT/DATABASE
  std::string url(const std::string& database = "moat") const {
    return "postgres://moat@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  /// A new empty database (test_N); returns its URL.
  Result<std::string> CreateDatabase() {
    std::lock_guard lock(mutex_);
    std::string name = "test_" + std::to_string(++databases_);
    MOAT_TRY(admin_->ExecScript("CREATE DATABASE " + name));
    return url(name);
  }

  /// Drops a database made by CreateDatabase, closing the connections still open to it.
  Result<void> DropDatabase(const std::string& name) {
    std::lock_guard lock(mutex_);
    return admin_->ExecScript("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

 private:
  PrivatePostgres(std::string bin, std::string dir)
      : bin_(std::move(bin)), dir_(std::move(dir)), owner_(getpid()) {}

  std::string bin_;
  std::string dir_;
  pid_t owner_;
  int port_ = 0;
  bool running_ = false;
  std::mutex mutex_;
  std::unique_ptr<SqlConnection> admin_;
  int databases_ = 0;
};

/// Runs each TEST_P on both stores (instantiate with MOAT_STORE_TEST_SUITE): url() is a fresh
/// SQLite file ("sqlite:/tmp/moat-store-XXXXXX/store.db") or a fresh database on this process's
/// PrivatePostgres, removed after the test (after the derived fixture's members are gone).
class StoreUrlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      auto server = PrivatePostgres::Shared();
      ASSERT_TRUE(server.ok()) << server.error().message;
      auto created = (*server)->CreateDatabase();
      ASSERT_TRUE(created.ok()) << created.error().message;
      url_ = *created;
      database_ = url_.substr(url_.rfind('/') + 1);
    } else {
      std::string pattern = (std::filesystem::temp_directory_path() / "moat-store-XXXXXX").string();
      ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
      sqlite_dir_ = pattern;
      url_ = "sqlite:" + sqlite_dir_ + "/store.db";
    }
  }

  ~StoreUrlTest() override {
    if (!database_.empty()) {
      auto server = PrivatePostgres::Shared();
      if (server.ok()) (void)(*server)->DropDatabase(database_);
    }
    if (!sqlite_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(sqlite_dir_, ignored);
    }
  }

  /// The store URL of this test.
  const std::string& url() const { return url_; }
  SqlDialect dialect() const {
    return GetParam() == "postgres" ? SqlDialect::kPostgres : SqlDialect::kSqlite;
  }

 private:
  std::string url_;
  std::string database_;
  std::string sqlite_dir_;
};

inline std::string StoreName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace moat::server::testing

/// Instantiates a StoreUrlTest-derived suite on both stores: Stores/Suite.Test/sqlite and
/// Stores/Suite.Test/postgres.
#define MOAT_STORE_TEST_SUITE(Suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(Stores, Suite,                                                     \
                           ::testing::Values(std::string("sqlite"), std::string("postgres")), \
                           ::moat::server::testing::StoreName)
