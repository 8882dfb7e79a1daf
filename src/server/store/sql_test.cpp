// The SQL layer on both drivers: a fresh SQLite file and a fresh database on a private
// PostgreSQL server (test_postgres.h) for every test.

#include "server/store/sql.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "server/store/sql_driver.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

using ::moat::server::testing::StoreUrlTest;
using sql_internal::MaskPassword;
using sql_internal::SqliteParameters;

// ---------------------------------------------------------------------------------------------
// Driver-independent pieces

TEST(SqliteParametersTest, RewritesParametersOutsideLiteralsAndComments) {
  EXPECT_EQ(SqliteParameters("SELECT a FROM t WHERE b = $2 AND c = $1 OR d = $12"),
            "SELECT a FROM t WHERE b = ?2 AND c = ?1 OR d = ?12");
  EXPECT_EQ(SqliteParameters("SELECT '$1', 'it''s $2', $3"), "SELECT '$1', 'it''s $2', ?3");
  EXPECT_EQ(SqliteParameters("SELECT \"odd$1\" FROM t -- costs $1\nWHERE x = $1 /* $2 */"),
            "SELECT \"odd$1\" FROM t -- costs $1\nWHERE x = ?1 /* $2 */");
  // A $ not followed by a digit, and an unterminated literal, are left alone.
  EXPECT_EQ(SqliteParameters("SELECT $ , $a, 'open $1"), "SELECT $ , $a, 'open $1");
}

TEST(MaskPasswordTest, HidesThePasswordOnly) {
  EXPECT_EQ(MaskPassword("postgres://moat:s3cret@db.example:5432/moat"),
            "postgres://moat:***@db.example:5432/moat");
  EXPECT_EQ(MaskPassword("postgresql://db/moat?user=moat&password=s3cret&sslmode=require"),
            "postgresql://db/moat?user=moat&password=***&sslmode=require");
  EXPECT_EQ(MaskPassword("postgres://moat@db/moat"), "postgres://moat@db/moat");
  EXPECT_EQ(MaskPassword("postgres://db:5432/moat"), "postgres://db:5432/moat");
}

TEST(OpenSqlConnectionTest, ErrorsNameTheUrlWithoutThePassword) {
  // Port 1 on loopback: nothing listens there.
  auto refused = OpenSqlConnection("postgres://moat:hunter2@127.0.0.1:1/moat");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("postgres://moat:***@127.0.0.1:1/moat"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("hunter2"), std::string::npos);

  auto unknown = OpenSqlConnection("mysql://root:hunter2@localhost/moat");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown database kind"), std::string::npos);
  EXPECT_EQ(unknown.error().message.find("hunter2"), std::string::npos);

  auto missing = OpenSqlConnection("sqlite:/nonexistent-dir/store.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent-dir/store.db"), std::string::npos);
  EXPECT_FALSE(OpenSqlConnection("sqlite:").ok());
}

TEST(SqlRowTest, ConvertsBetweenTypes) {
  SqlRow row{{int64_t{42}, 2.5, std::string("17"), std::monostate{}, std::string("x")}};
  EXPECT_EQ(row.Int(0), 42);
  EXPECT_EQ(row.Real(0), 42.0);
  EXPECT_EQ(row.Text(0), "42");
  EXPECT_EQ(row.Int(1), 2);
  EXPECT_EQ(row.Text(1), "2.5");
  EXPECT_EQ(row.Int(2), 17);
  EXPECT_EQ(row.Real(2), 17.0);
  EXPECT_TRUE(row.IsNull(3));
  EXPECT_FALSE(row.IsNull(2));
  EXPECT_EQ(row.Int(3), 0);
  EXPECT_EQ(row.Text(3), "");
  EXPECT_EQ(row.Int(4), 0);
  EXPECT_EQ(SqlRow{{0.1}}.Text(0), "0.1");  // shortest text that reads back the same
}

TEST(SqlitePragmasTest, WalFullSyncAndForeignKeys) {
  std::string pattern = (std::filesystem::temp_directory_path() / "moat-sql-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  {
    auto connection = OpenSqlConnection(pattern + "/plain-path.db");  // a plain path is SQLite
    ASSERT_TRUE(connection.ok()) << connection.error().message;
    EXPECT_EQ((*connection)->dialect(), SqlDialect::kSqlite);
    auto journal = (*connection)->Query("PRAGMA journal_mode");
    ASSERT_TRUE(journal.ok());
    EXPECT_EQ(journal->rows[0].Text(0), "wal");
    auto synchronous = (*connection)->Query("PRAGMA synchronous");
    ASSERT_TRUE(synchronous.ok());
    EXPECT_EQ(synchronous->rows[0].Int(0), 2);  // FULL
    auto foreign_keys = (*connection)->Query("PRAGMA foreign_keys");
    ASSERT_TRUE(foreign_keys.ok());
    EXPECT_EQ(foreign_keys->rows[0].Int(0), 1);
    // The database and its WAL are its owner's only, whatever the umask.
    ASSERT_TRUE((*connection)->Query("CREATE TABLE t (x BIGINT)").ok());
    for (const char* file : {"/plain-path.db", "/plain-path.db-wal"}) {
      const auto permissions = std::filesystem::status(pattern + file).permissions();
      EXPECT_EQ(permissions & std::filesystem::perms::all,
                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
          << file;
    }
  }
  std::filesystem::remove_all(pattern);
}

TEST(PrivatePostgresTest, StaleRunsOfDeadTestProcessesAreReaped) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);  // its pid now names no process
  auto make_run = [](pid_t owner) {
    std::string dir = (std::filesystem::temp_directory_path() / "moat-pg-XXXXXX").string();
    EXPECT_NE(mkdtemp(dir.data()), nullptr);
    std::ofstream(dir + "/owner.pid") << owner << "\n";
    return dir;
  };
  const std::string stale = make_run(child);
  const std::string alive = make_run(getpid());
  ::moat::server::testing::postgres_detail::ReapStaleRuns("/nonexistent");
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(alive));
  std::filesystem::remove_all(alive);
}

// ---------------------------------------------------------------------------------------------
// Both drivers

class SqlTest : public StoreUrlTest {
 protected:
  std::unique_ptr<SqlConnection> Connect() {
    auto connection = OpenSqlConnection(url());
    EXPECT_TRUE(connection.ok()) << connection.error().message;
    return connection.ok() ? std::move(*connection) : nullptr;
  }

  static SqlRows MustQuery(SqlConnection& connection, std::string_view sql,
                           const std::vector<SqlValue>& params = {}) {
    auto rows = connection.Query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? std::move(*rows) : SqlRows{};
  }

  static void MustExec(SqlConnection& connection, std::string_view sql) {
    auto done = connection.ExecScript(sql);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  static int64_t Count(SqlConnection& connection, const std::string& table) {
    SqlRows rows = MustQuery(connection, "SELECT COUNT(*) FROM " + table);
    return rows.rows.empty() ? -1 : rows.rows[0].Int(0);
  }
};

TEST_P(SqlTest, TypesRoundTrip) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db, "CREATE TABLE v (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT)");
  const std::string text =
      "quote ' double \" back\\slash $1 newline\n tab\t ünïcödé 漢字 🛡";
  const std::vector<std::vector<SqlValue>> inserted = {
      {int64_t{1}, std::numeric_limits<int64_t>::max(), 0.1, text},
      {int64_t{2}, std::numeric_limits<int64_t>::min(), -1e300, std::string()},
      {int64_t{3}, int64_t{-42}, 3.141592653589793, std::string("42")},
      {int64_t{4}, std::monostate{}, std::monostate{}, std::monostate{}},
      {int64_t{5}, int64_t{0}, 5e-324, std::string("x")},
  };
  for (const auto& values : inserted) {
    SqlRows result = MustQuery(*db, "INSERT INTO v (id, i, r, t) VALUES ($1, $2, $3, $4)", values);
    EXPECT_EQ(result.affected, 1);
  }
  SqlRows rows = MustQuery(*db, "SELECT id, i, r, t FROM v ORDER BY id");
  ASSERT_EQ(rows.rows.size(), inserted.size());
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"id", "i", "r", "t"}));
  EXPECT_EQ(rows.affected, 0);
  for (size_t r = 0; r < inserted.size(); ++r) {
    for (size_t c = 0; c < 4; ++c) {
      // Same alternative (int64 for BIGINT, double for DOUBLE PRECISION, text, NULL) and value.
      EXPECT_EQ(rows.rows[r].values[c], inserted[r][c]) << "row " << r << " column " << c;
    }
  }
  // Expressions: integer arithmetic beyond 32 bits, an aggregate, a comparison.
  SqlRows computed = MustQuery(*db, "SELECT $1 * 1000, SUM(id), AVG(id), COUNT(*) > 2 FROM v",
                               {int64_t{4'000'000'000}});
  ASSERT_EQ(computed.rows.size(), 1u);
  EXPECT_EQ(computed.rows[0].values[0], SqlValue(int64_t{4'000'000'000'000}));
  EXPECT_EQ(computed.rows[0].values[1], SqlValue(int64_t{15}));
  EXPECT_EQ(computed.rows[0].Real(2), 3.0);
  EXPECT_EQ(computed.rows[0].Int(3), 1);
  // A double read back exactly through text.
  SqlRows real = MustQuery(*db, "SELECT r FROM v WHERE r = $1", {0.1});
  ASSERT_EQ(real.rows.size(), 1u);
  EXPECT_EQ(real.rows[0].Real(0), 0.1);
}

TEST_P(SqlTest, PlaceholdersReusedOutOfOrderAndInsideLiterals) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db, "CREATE TABLE p (a TEXT, b TEXT)");
  // $2 before $1, each twice.
  MustQuery(*db, "INSERT INTO p (a, b) VALUES ($2, $1), ($1, $2)",
            {std::string("one"), std::string("two")});
  SqlRows rows = MustQuery(*db, "SELECT a, b FROM p ORDER BY a");
  ASSERT_EQ(rows.rows.size(), 2u);
  EXPECT_EQ(rows.rows[0].Text(0), "one");
  EXPECT_EQ(rows.rows[0].Text(1), "two");
  EXPECT_EQ(rows.rows[1].Text(0), "two");
  EXPECT_EQ(rows.rows[1].Text(1), "one");
  // '$1' inside a literal is text, not a parameter: one parameter only.
  SqlRows literal = MustQuery(*db, "SELECT '$1' || a, 'it''s $2' FROM p WHERE a = $1 OR b = $1",
                              {std::string("one")});
  ASSERT_EQ(literal.rows.size(), 2u);
  EXPECT_EQ(literal.rows[0].Text(1), "it's $2");
  EXPECT_EQ(literal.rows[0].Text(0).substr(0, 2), "$1");
  // A wrong number of parameters is an error on both.
  EXPECT_FALSE(db->Query("SELECT a FROM p WHERE a = $1 AND b = $2", {std::string("x")}).ok());
}

TEST_P(SqlTest, ReturningAndOnConflictDoUpdateAndAffectedCounts) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db, dialect() == SqlDialect::kPostgres
                    ? "CREATE TABLE images (id BIGSERIAL PRIMARY KEY, digest TEXT NOT NULL UNIQUE, "
                      "seen BIGINT NOT NULL)"
                    : "CREATE TABLE images (id INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT "
                      "NULL UNIQUE, seen BIGINT NOT NULL)");
  constexpr const char* kUpsert =
      "INSERT INTO images (digest, seen) VALUES ($1, $2) ON CONFLICT (digest) DO UPDATE SET "
      "seen = images.seen + excluded.seen RETURNING id, seen";
  SqlRows first = MustQuery(*db, kUpsert, {std::string("sha256:aa"), int64_t{1}});
  SqlRows second = MustQuery(*db, kUpsert, {std::string("sha256:bb"), int64_t{1}});
  SqlRows again = MustQuery(*db, kUpsert, {std::string("sha256:aa"), int64_t{5}});
  ASSERT_EQ(first.rows.size(), 1u);
  ASSERT_EQ(second.rows.size(), 1u);
  ASSERT_EQ(again.rows.size(), 1u);
  EXPECT_EQ(first.rows[0].Int(0), 1);
  EXPECT_EQ(second.rows[0].Int(0), 2);
  EXPECT_EQ(again.rows[0].Int(0), 1);  // the same row, updated
  EXPECT_EQ(again.rows[0].Int(1), 6);
  EXPECT_EQ(first.affected, 1);
  EXPECT_EQ(again.affected, 1);

  SqlRows updated = MustQuery(*db, "UPDATE images SET seen = 0 WHERE seen > $1", {int64_t{0}});
  EXPECT_EQ(updated.affected, 2);
  EXPECT_TRUE(updated.rows.empty());
  SqlRows none = MustQuery(*db, "DELETE FROM images WHERE digest = $1", {std::string("nope")});
  EXPECT_EQ(none.affected, 0);
  SqlRows deleted = MustQuery(*db, "DELETE FROM images WHERE digest = $1 RETURNING digest",
                              {std::string("sha256:bb")});
  EXPECT_EQ(deleted.affected, 1);
  ASSERT_EQ(deleted.rows.size(), 1u);
  EXPECT_EQ(deleted.rows[0].Text(0), "sha256:bb");
  // DDL and SELECT report no changes (not the count of the statement before).
  EXPECT_EQ(MustQuery(*db, "CREATE TABLE other (x BIGINT)").affected, 0);
  EXPECT_EQ(MustQuery(*db, "SELECT digest FROM images").affected, 0);
}

TEST_P(SqlTest, ErrorsNameTheStatementAndTheDriversMessage) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db, "CREATE TABLE u (k TEXT PRIMARY KEY)");
  MustQuery(*db, "INSERT INTO u (k) VALUES ($1)", {std::string("a")});
  auto duplicate = db->Query("INSERT INTO u (k) VALUES ($1)", {std::string("a")});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("INSERT INTO u (k) VALUES ($1)"), std::string::npos)
      << duplicate.error().message;
  EXPECT_TRUE(duplicate.error().message.find("UNIQUE") != std::string::npos ||
              duplicate.error().message.find("unique") != std::string::npos)
      << duplicate.error().message;
  EXPECT_FALSE(IsRetryableSqlError(duplicate.error()));
  auto syntax = db->Query("SELEC nothing");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("SELEC nothing"), std::string::npos);
  // The connection still works.
  EXPECT_EQ(Count(*db, "u"), 1);
}

TEST_P(SqlTest, ForeignKeysAreEnforced) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db,
           "CREATE TABLE parent (id BIGINT PRIMARY KEY); CREATE TABLE child (id BIGINT PRIMARY "
           "KEY, parent BIGINT NOT NULL REFERENCES parent(id) ON DELETE CASCADE)");
  EXPECT_FALSE(db->Query("INSERT INTO child (id, parent) VALUES (1, 7)").ok());
  MustExec(*db, "INSERT INTO parent VALUES (7); INSERT INTO child VALUES (1, 7)");
  MustQuery(*db, "DELETE FROM parent WHERE id = 7");
  EXPECT_EQ(Count(*db, "child"), 0);
}

TEST_P(SqlTest, InTransactionRollsBackOnError) {
  auto db = Connect();
  ASSERT_TRUE(db);
  MustExec(*db, "CREATE TABLE r (k TEXT PRIMARY KEY)");
  auto failed = InTransaction(*db, [](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(tx.Query("INSERT INTO r (k) VALUES ($1)", {std::string("first")}));
    MOAT_TRY(tx.Query("INSERT INTO r (k) VALUES ($1)", {std::string("first")}));  // duplicate
    return Ok();
  });
  EXPECT_FALSE(failed.ok());
  auto refused = InTransaction(*db, [](SqlConnection& tx) -> Result<int> {
    MOAT_TRY(tx.Query("INSERT INTO r (k) VALUES ($1)", {std::string("second")}));
    return Fail("caller refuses");
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "caller refuses");
  EXPECT_EQ(Count(*db, "r"), 0);

  auto committed = InTransaction(*db, [](SqlConnection& tx) -> Result<int64_t> {
    MOAT_TRY(tx.Query("INSERT INTO r (k) VALUES ($1)", {std::string("third")}));
    MOAT_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM r"));
    return rows.rows[0].Int(0);
  });
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(*committed, 1);
  // Seen from another connection: committed.
  auto other = Connect();
  ASSERT_TRUE(other);
  EXPECT_EQ(Count(*other, "r"), 1);
}

TEST_P(SqlTest, ConcurrentIncrementsThroughAPoolLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 500;
  auto pool = SqlPool::Open(url(), kThreads);
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  {
    auto db = (*pool)->Acquire();
    MustExec(*db,
             "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); "
             "INSERT INTO counter VALUES (1, 0); "
             "CREATE TABLE increments (n BIGINT PRIMARY KEY)");
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto db = (*pool)->Acquire();
        // Each increment records the value it produced: 2000 distinct values show that no two
        // transactions saw the same counter.
        auto done = InTransaction(*db, [](SqlConnection& tx) -> Result<void> {
          MOAT_ASSIGN_OR_RETURN(auto rows,
                                tx.Query("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n"));
          MOAT_TRY(tx.Query("INSERT INTO increments (n) VALUES ($1)", {rows.rows.at(0).Int(0)}));
          return Ok();
        });
        if (!done.ok()) {
          ADD_FAILURE() << done.error().message;
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  auto db = (*pool)->Acquire();
  SqlRows counter = MustQuery(*db, "SELECT n FROM counter WHERE id = 1");
  ASSERT_EQ(counter.rows.size(), 1u);
  EXPECT_EQ(counter.rows[0].Int(0), kThreads * kIncrements);
  SqlRows increments = MustQuery(*db, "SELECT COUNT(*), MIN(n), MAX(n) FROM increments");
  EXPECT_EQ(increments.rows[0].Int(0), kThreads * kIncrements);
  EXPECT_EQ(increments.rows[0].Int(1), 1);
  EXPECT_EQ(increments.rows[0].Int(2), kThreads * kIncrements);
}

TEST_P(SqlTest, PoolAcquireWaitsForARelease) {
  auto pool = SqlPool::Open(url(), 1);
  ASSERT_TRUE(pool.ok()) << pool.error().message;
  EXPECT_EQ((*pool)->dialect(), dialect());
  std::atomic<bool> acquired{false};
  std::thread waiter;
  {
    SqlPool::Lease held = (*pool)->Acquire();
    waiter = std::thread([&] {
      SqlPool::Lease lease = (*pool)->Acquire();
      acquired = true;
      EXPECT_TRUE(lease->Query("SELECT 1").ok());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(acquired);
    SqlPool::Lease moved(std::move(held));  // a moved-from lease returns nothing
  }
  waiter.join();
  EXPECT_TRUE(acquired);
  EXPECT_FALSE(SqlPool::Open(url(), 0).ok());
}

TEST_P(SqlTest, ConflictingWritersGetARetryableError) {
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a && b);
  MustExec(*a,
           "CREATE TABLE d (id BIGINT PRIMARY KEY, n BIGINT); INSERT INTO d VALUES (1, 0); "
           "INSERT INTO d VALUES (2, 0)");
  if (dialect() == SqlDialect::kSqlite) {
    // Without waiting, the second writer's BEGIN IMMEDIATE finds the database locked.
    MustExec(*b, "PRAGMA busy_timeout = 0");
    ASSERT_TRUE(a->Begin().ok());
    auto busy = b->Begin();
    ASSERT_FALSE(busy.ok());
    EXPECT_TRUE(IsRetryableSqlError(busy.error())) << busy.error().message;
    ASSERT_TRUE(a->Commit().ok());
    ASSERT_TRUE(b->Begin().ok());
    ASSERT_TRUE(b->Rollback().ok());
    return;
  }
  // PostgreSQL: a deadlock (a locks 1 then 2, b locks 2 then 1); the victim's error is
  // retryable, the other transaction goes through.
  ASSERT_TRUE(a->Begin().ok());
  ASSERT_TRUE(b->Begin().ok());
  MustQuery(*a, "UPDATE d SET n = n + 1 WHERE id = 1");
  MustQuery(*b, "UPDATE d SET n = n + 1 WHERE id = 2");
  Result<SqlRows> from_a = Error{"not run"};
  std::thread thread([&] { from_a = a->Query("UPDATE d SET n = n + 1 WHERE id = 2"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto from_b = b->Query("UPDATE d SET n = n + 1 WHERE id = 1");
  if (!from_b.ok()) (void)b->Rollback();  // lets a's update go on
  thread.join();
  ASSERT_NE(from_a.ok(), from_b.ok());  // exactly one victim
  const Error& victim = from_a.ok() ? from_b.error() : from_a.error();
  EXPECT_TRUE(IsRetryableSqlError(victim)) << victim.message;
  EXPECT_NE(victim.message.find("40P01"), std::string::npos) << victim.message;
  if (from_a.ok()) {
    EXPECT_TRUE(a->Commit().ok());
  } else {
    EXPECT_TRUE(a->Rollback().ok());
    EXPECT_TRUE(b->Commit().ok());
  }
}

TEST_P(SqlTest, PostgresReconnectsOutsideATransaction) {
  if (dialect() != SqlDialect::kPostgres) GTEST_SKIP() << "a PostgreSQL session matter";
  auto db = Connect();
  auto killer = Connect();
  ASSERT_TRUE(db && killer);
  MustExec(*db, "CREATE TABLE k (x BIGINT)");
  auto terminate = [&] {
    SqlRows pid = MustQuery(*db, "SELECT pg_backend_pid()");
    ASSERT_EQ(pid.rows.size(), 1u);
    MustQuery(*killer, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", {pid.rows[0].Int(0)});
  };
  terminate();
  // The prepared statement of the lost session is prepared again on the new one.
  auto after = db->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(after.ok()) << after.error().message;

  // Inside a transaction, the loss is an error: its earlier statements are gone.
  ASSERT_TRUE(db->Begin().ok());
  MustQuery(*db, "INSERT INTO k VALUES (1)");
  terminate();
  EXPECT_FALSE(db->Query("INSERT INTO k VALUES (2)").ok());
  EXPECT_TRUE(db->Rollback().ok());
  EXPECT_EQ(Count(*db, "k"), 0);
}

std::vector<Migration> TestMigrations() {
  return {
      {1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY); INSERT INTO a VALUES (1);", "", ""},
      {2, "insert into a", "INSERT INTO a VALUES (2)", "", ""},
      {3, "create b", "",
       "CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT); "
       "INSERT INTO b (kind) VALUES ('sqlite')",
       "CREATE TABLE b (id BIGSERIAL PRIMARY KEY, kind TEXT); "
       "INSERT INTO b (kind) VALUES ('postgres')"},
  };
}

TEST_P(SqlTest, MigrationsAreAppliedOnceAndIdempotentOnReopen) {
  {
    auto db = Connect();
    ASSERT_TRUE(db);
    auto first = Migrate(*db, TestMigrations());
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = Migrate(*db, TestMigrations());
    ASSERT_TRUE(second.ok()) << second.error().message;
  }
  auto db = Connect();
  ASSERT_TRUE(db);
  auto reopened = Migrate(*db, TestMigrations());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(Count(*db, "a"), 2);
  SqlRows b = MustQuery(*db, "SELECT kind FROM b");
  ASSERT_EQ(b.rows.size(), 1u);  // the dialect's own script
  EXPECT_EQ(b.rows[0].Text(0), dialect() == SqlDialect::kPostgres ? "postgres" : "sqlite");
  SqlRows recorded =
      MustQuery(*db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_EQ(recorded.rows.size(), 3u);
  EXPECT_EQ(recorded.rows[0].Int(0), 1);
  EXPECT_EQ(recorded.rows[1].Text(1), "insert into a");
  EXPECT_EQ(recorded.rows[2].Text(2).size(), std::string("2026-01-01T00:00:00Z").size());
}

TEST_P(SqlTest, ConcurrentMigrationsApplyEachOnce) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<SqlConnection>> connections;
  for (int i = 0; i < kReplicas; ++i) {
    connections.push_back(Connect());
    ASSERT_TRUE(connections.back());
  }
  std::vector<std::thread> replicas;
  std::atomic<int> failures{0};
  for (auto& connection : connections) {
    replicas.emplace_back([&] {
      auto migrated = Migrate(*connection, TestMigrations());
      if (!migrated.ok()) {
        ADD_FAILURE() << migrated.error().message;
        ++failures;
      }
    });
  }
  for (auto& replica : replicas) replica.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Count(*connections[0], "a"), 2);
  EXPECT_EQ(Count(*connections[0], "b"), 1);
  EXPECT_EQ(Count(*connections[0], "schema_migrations"), 3);
}

TEST_P(SqlTest, FailedMigrationIsRolledBackAndRetriedNextTime) {
  auto db = Connect();
  ASSERT_TRUE(db);
  std::vector<Migration> migrations = TestMigrations();
  migrations.push_back(
      {4, "broken", "CREATE TABLE c (id BIGINT); INSERT INTO missing VALUES (1)", "", ""});
  auto failed = Migrate(*db, migrations);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("migration 4 (broken)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("missing"), std::string::npos) << failed.error().message;
  EXPECT_EQ(Count(*db, "schema_migrations"), 3);
  EXPECT_FALSE(db->Query("SELECT COUNT(*) FROM c").ok());  // its table is gone with it

  migrations.back().sql = "CREATE TABLE c (id BIGINT); INSERT INTO c VALUES (1)";
  auto fixed = Migrate(*db, migrations);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(Count(*db, "c"), 1);
  EXPECT_EQ(Count(*db, "schema_migrations"), 4);
}

TEST_P(SqlTest, NewerSchemaIsRefused) {
  auto db = Connect();
  ASSERT_TRUE(db);
  ASSERT_TRUE(Migrate(*db, TestMigrations()).ok());
  std::vector<Migration> older = TestMigrations();
  older.pop_back();
  auto refused = Migrate(*db, older);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "database schema version 3 is newer than this moat (2); upgrade moat");
  if (dialect() == SqlDialect::kPostgres) {
    // The advisory lock was released: another session can migrate.
    auto other = Connect();
    ASSERT_TRUE(other);
    EXPECT_TRUE(Migrate(*other, TestMigrations()).ok());
  }
}

// A child process commits rows one transaction at a time and reports each commit on a pipe;
// it is killed with SIGKILL at once. Every reported row must be in the database.
TEST_P(SqlTest, AcknowledgedCommitsSurviveSigkill) {
  {
    auto db = Connect();
    ASSERT_TRUE(db);
    MustExec(*db, "CREATE TABLE acked (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)");
  }
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    auto db = OpenSqlConnection(url());
    if (!db.ok()) _exit(1);
    for (int64_t id = 1;; ++id) {
      auto done = InTransaction(**db, [&](SqlConnection& tx) -> Result<void> {
        MOAT_TRY(tx.Query("INSERT INTO acked (id, payload) VALUES ($1, $2)",
                          {id, std::string(200, 'x')}));
        return Ok();
      });
      if (!done.ok()) _exit(2);
      if (write(pipe_fds[1], &id, sizeof(id)) != sizeof(id)) _exit(3);
      if (id == 400) raise(SIGKILL);  // in case the parent is slow: die right after a commit
    }
  }
  close(pipe_fds[1]);
  int64_t last_acked = 0;
  int64_t id = 0;
  while (read(pipe_fds[0], &id, sizeof(id)) == sizeof(id)) {
    last_acked = id;
    if (id == 150) kill(child, SIGKILL);  // mid-stream: the child is in its next transaction
  }
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ASSERT_GE(last_acked, 150);

  auto db = Connect();
  ASSERT_TRUE(db);
  SqlRows rows = MustQuery(*db, "SELECT COUNT(*), MAX(id) FROM acked WHERE id <= $1", {last_acked});
  EXPECT_EQ(rows.rows[0].Int(0), last_acked);
  EXPECT_EQ(rows.rows[0].Int(1), last_acked);
  // At most the one transaction in flight at the kill committed without its acknowledgement.
  EXPECT_LE(Count(*db, "acked"), last_acked + 1);
}

MOAT_STORE_TEST_SUITE(SqlTest);

}  // namespace
}  // namespace moat::server
