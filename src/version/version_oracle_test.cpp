// Differential tests against the real tools on this machine: dpkg --compare-versions, rpm's Lua
// rpm.vercmp() and Debian's python3-packaging, over thousands of real version strings.
//
// Process start-up is expensive here (~8 ms), so the dpkg test checks a total order instead of
// random pairs: the sample is sorted with Moat's comparator and dpkg verifies every adjacent
// pair (one call each). Both orders being total, agreement on neighbours means agreement on all
// N*(N-1)/2 pairs; a random-pair check of Moat's own consistency closes the argument.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "version/version.h"

namespace moat::version {
namespace {

namespace fs = std::filesystem;

bool HaveProgram(const std::string& path) { return fs::exists(path); }

// Runs a shell command, returns its stdout.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() /
                 ("moat_version_oracle_" + std::to_string(static_cast<long>(getpid())));
  fs::create_directories(dir);
  return dir;
}

struct DebPackage {
  std::string name;
  std::string version;
};

// Every (Package, Version) from the apt lists, or from the dpkg database when there are none.
std::vector<DebPackage> AptVersions() {
  std::vector<DebPackage> out;
  std::vector<std::string> texts;
  if (fs::exists("/var/lib/apt/lists")) {
    for (const auto& entry : fs::directory_iterator("/var/lib/apt/lists")) {
      std::string name = entry.path().filename().string();
      if (name.find("_Packages") == std::string::npos) continue;
      texts.push_back(RunCommand("/usr/lib/apt/apt-helper cat-file " + ShellQuote(entry.path()) +
                                 " 2>/dev/null"));
    }
  }
  if (texts.empty() || texts[0].empty()) {
    texts.push_back(
        RunCommand("dpkg-query -W -f='Package: ${Package}\\nVersion: ${Version}\\n' 2>/dev/null"));
  }
  for (const std::string& text : texts) {
    std::string package;
    for (const std::string& line : Lines(text)) {
      if (line.rfind("Package: ", 0) == 0) package = line.substr(9);
      if (line.rfind("Version: ", 0) == 0) out.push_back({package, line.substr(9)});
    }
  }
  return out;
}

// Sorts by Moat's comparator and returns equality-class ranks.
std::vector<int> SortAndRank(Scheme scheme, std::vector<std::string>& versions) {
  std::stable_sort(versions.begin(), versions.end(), [&](const auto& a, const auto& b) {
    auto r = Compare(scheme, a, b);
    return r.ok() && *r < 0;
  });
  std::vector<int> rank(versions.size(), 0);
  for (size_t i = 1; i < versions.size(); ++i) {
    auto r = Compare(scheme, versions[i - 1], versions[i]);
    rank[i] = rank[i - 1] + (r.ok() && *r == 0 ? 0 : 1);
  }
  return rank;
}

// Moat's order is consistent with its own sort (transitivity), on random pairs.
void CheckConsistent(Scheme scheme, const std::vector<std::string>& sorted,
                     const std::vector<int>& rank, int samples) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, sorted.size() - 1);
  int bad = 0;
  for (int k = 0; k < samples; ++k) {
    size_t i = pick(rng), j = pick(rng);
    auto r = Compare(scheme, sorted[i], sorted[j]);
    int expected = rank[i] < rank[j] ? -1 : (rank[i] > rank[j] ? 1 : 0);
    if (!r.ok() || *r != expected) {
      if (++bad < 10) {
        ADD_FAILURE() << "inconsistent order: " << sorted[i] << " vs " << sorted[j];
      }
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(VersionOracle, DpkgCompareVersions) {
  ASSERT_TRUE(HaveProgram("/usr/bin/dpkg")) << "dpkg is missing (scripts/install-deps.sh test)";
  std::vector<DebPackage> all = AptVersions();
  ASSERT_GT(all.size(), 500u) << "no apt lists and no dpkg database to take versions from";

  // Same-package versions across suites (bookworm, -updates, -security) are the interesting
  // neighbours; add every version of a package that has more than one, then random others.
  std::map<std::string, std::set<std::string>> by_package;
  for (const auto& p : all) by_package[p.name].insert(p.version);
  std::set<std::string> chosen;
  for (const auto& [name, versions] : by_package) {
    if (versions.size() > 1) chosen.insert(versions.begin(), versions.end());
  }
  std::vector<std::string> pool;
  for (const auto& p : all) pool.push_back(p.version);
  std::shuffle(pool.begin(), pool.end(), std::mt19937(42));
  // Every version in the archive is one dpkg accepts.
  size_t valid = 0;
  for (const auto& p : all) {
    if (Validate(Scheme::kDeb, p.version).ok()) {
      ++valid;
    } else {
      ADD_FAILURE() << "rejected archive version " << p.name << " " << p.version;
    }
  }
  std::printf("[oracle] deb: %zu of %zu archive versions valid\n", valid, all.size());
  // Each version costs one dpkg process (~8 ms here); MOAT_DPKG_ORACLE_SAMPLE widens the net.
  size_t sample = 1500;
  if (const char* env = std::getenv("MOAT_DPKG_ORACLE_SAMPLE")) {
    sample = std::strtoul(env, nullptr, 10);
  }
  for (const std::string& v : pool) {
    if (chosen.size() >= sample) break;
    chosen.insert(v);
  }
  std::vector<std::string> versions(chosen.begin(), chosen.end());
  for (const std::string& v : versions) ASSERT_TRUE(Validate(Scheme::kDeb, v).ok()) << v;
  std::vector<int> rank = SortAndRank(Scheme::kDeb, versions);
  CheckConsistent(Scheme::kDeb, versions, rank, 100000);

  // One dpkg call per adjacent pair, split over two shells running at once.
  fs::path dir = TempDir();
  std::vector<std::string> files = {(dir / "deb0").string(), (dir / "deb1").string()};
  {
    std::ofstream out0(files[0]), out1(files[1]);
    for (size_t i = 1; i < versions.size(); ++i) {
      const char* op = rank[i] == rank[i - 1] ? "eq" : "lt";
      (i % 2 ? out0 : out1) << i << ' ' << versions[i - 1] << ' ' << op << ' ' << versions[i]
                            << '\n';
    }
  }
  std::vector<FILE*> shells;
  for (const std::string& f : files) {
    std::string script =
        "while read -r i a op b; do if dpkg --compare-versions \"$a\" \"$op\" \"$b\"; then "
        "echo \"$i 1\"; else echo \"$i 0\"; fi; done < " +
        ShellQuote(f);
    shells.push_back(popen(("sh -c " + ShellQuote(script)).c_str(), "r"));
    ASSERT_NE(shells.back(), nullptr);
  }
  int agreed = 0, disagreed = 0;
  for (FILE* p : shells) {
    char line[256];
    while (fgets(line, sizeof(line), p)) {
      size_t i = 0;
      int ok = 0;
      if (std::sscanf(line, "%zu %d", &i, &ok) != 2 || i == 0 || i >= versions.size()) continue;
      if (ok) {
        ++agreed;
      } else {
        ++disagreed;
        ADD_FAILURE() << "dpkg disagrees: " << versions[i - 1] << ' '
                      << (rank[i] == rank[i - 1] ? '=' : '<') << ' ' << versions[i];
      }
    }
    pclose(p);
  }
  fs::remove_all(dir);
  size_t implied = versions.size() * (versions.size() - 1) / 2;
  std::printf(
      "[oracle] dpkg --compare-versions: %zu versions, %d adjacent pairs agreed, %d "
      "disagreed (order of all %zu pairs implied)\n",
      versions.size(), agreed, disagreed, implied);
  EXPECT_EQ(agreed, static_cast<int>(versions.size()) - 1);
  EXPECT_EQ(disagreed, 0);
}

TEST(VersionOracle, RpmLuaVercmp) {
  ASSERT_TRUE(HaveProgram("/usr/bin/rpm")) << "rpm is missing (scripts/install-deps.sh test)";
  std::vector<std::pair<std::string, std::string>> pairs;
  // The rpmvercmp vectors.
  {
    std::ifstream in(std::string(MOAT_SHARED_DATA_DIR) + "/vuln/versions/rpm_vercmp.txt");
    ASSERT_TRUE(in.good());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string a, op, b;
      fields >> a >> op >> b;
      pairs.emplace_back(a, b);
      pairs.emplace_back(b, a);
    }
  }
  // Debian versions made rpm-like: "epoch:version-release" already is EVR syntax; also try
  // rpm's own separators ('^' snapshots, '_' and '+' as plain separators).
  std::vector<DebPackage> all = AptVersions();
  ASSERT_GT(all.size(), 500u);
  std::vector<std::string> versions;
  for (const auto& p : all) versions.push_back(p.version);
  std::sort(versions.begin(), versions.end());
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
  std::mt19937 rng(42);
  std::shuffle(versions.begin(), versions.end(), rng);
  if (versions.size() > 12000) versions.resize(12000);
  for (size_t i = 0; i < versions.size(); i += 3) {
    std::string v = versions[i];
    std::replace(v.begin(), v.end(), '+', i % 2 ? '^' : '_');
    versions.push_back(v);
  }
  for (size_t i = 1; i < versions.size(); ++i) pairs.emplace_back(versions[i - 1], versions[i]);
  // Sorted neighbours are the close calls.
  std::vector<std::string> sorted = versions;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) pairs.emplace_back(sorted[i - 1], sorted[i]);

  fs::path dir = TempDir();
  std::string pairs_file = (dir / "rpm_pairs").string();
  std::string lua_file = (dir / "rpm.lua").string();
  {
    std::ofstream out(pairs_file);
    for (const auto& [a, b] : pairs) out << a << '\t' << b << '\n';
    std::ofstream lua(lua_file);
    lua << "local out = {}\n"
           "for line in io.lines('"
        << pairs_file
        << "') do\n"
           "  local a, b = line:match('^([^\\t]*)\\t(.*)$')\n"
           "  out[#out + 1] = tostring(rpm.vercmp(a, b))\n"
           "end\n"
           "print(table.concat(out, '\\n'))\n";
  }
  std::string output =
      RunCommand("rpm --eval " + ShellQuote("%{lua: dofile('" + lua_file + "')}") + " 2>&1");
  fs::remove_all(dir);
  std::vector<std::string> results = Lines(output);
  ASSERT_EQ(results.size(), pairs.size()) << "rpm output: " << output.substr(0, 500);
  int agreed = 0, disagreed = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    int expected = std::stoi(results[i]);
    auto got = Compare(Scheme::kRpm, pairs[i].first, pairs[i].second);
    if (got.ok() && *got == expected) {
      ++agreed;
    } else {
      ++disagreed;
      if (disagreed < 20) {
        ADD_FAILURE() << "rpm.vercmp(" << pairs[i].first << ", " << pairs[i].second
                      << ") = " << expected << ", Moat "
                      << (got.ok() ? std::to_string(*got) : got.error().message);
      }
    }
  }
  std::printf("[oracle] rpm.vercmp: %zu pairs, %d agreed, %d disagreed\n", pairs.size(), agreed,
              disagreed);
  EXPECT_EQ(disagreed, 0);
}

// Every version string of pypa/packaging's test vectors and of the PyPI OSV advisories.
std::vector<std::string> PypiVersionStrings(size_t& from_vectors) {
  std::set<std::string> strings;
  {
    std::ifstream in(std::string(MOAT_SHARED_DATA_DIR) + "/vuln/versions/pep440_compare.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string a, op, b;
      fields >> a >> op >> b;
      strings.insert(a);
      strings.insert(b);
    }
  }
  from_vectors = strings.size();
  fs::path osv = fs::path(MOAT_SHARED_DATA_DIR) / "vuln" / "osv" / "PyPI";
  EXPECT_TRUE(fs::exists(osv)) << osv;
  if (!fs::exists(osv)) return {};
  for (const auto& entry : fs::directory_iterator(osv)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("affected")) continue;
    for (const auto& affected : j["affected"]) {
      if (affected.contains("versions")) {
        for (const auto& v : affected["versions"]) {
          if (v.is_string()) strings.insert(v.get<std::string>());
        }
      }
      if (!affected.contains("ranges")) continue;
      for (const auto& range : affected["ranges"]) {
        if (range.value("type", "") != "ECOSYSTEM" || !range.contains("events")) continue;
        for (const auto& event : range["events"]) {
          for (const auto& [key, value] : event.items()) {
            if (value.is_string()) strings.insert(value.get<std::string>());
          }
        }
      }
    }
  }
  std::vector<std::string> versions;
  for (const std::string& s : strings) {
    if (s.find('\n') == std::string::npos && s.find('\r') == std::string::npos) {
      versions.push_back(s);
    }
  }
  return versions;
}

TEST(VersionOracle, PythonPackaging) {
  const std::string python = "/usr/bin/python3";
  ASSERT_TRUE(HaveProgram(python)) << "python3 is missing (scripts/install-deps.sh test)";
  std::string probe = RunCommand(python + " -c 'import packaging.version; print(\"ok\")' 2>&1");
  ASSERT_EQ(probe, "ok\n") << "python3-packaging is missing (scripts/install-deps.sh test): "
                           << probe;

  size_t from_vectors = 0;
  std::vector<std::string> versions = PypiVersionStrings(from_vectors);
  ASSERT_GT(versions.size(), 5000u);

  // Python prints, per input line: "valid<TAB>str(Version)<TAB>rank" (rank of its equality
  // class in the sorted valid versions) or "invalid".
  fs::path dir = TempDir();
  std::string in_file = (dir / "pep440_in").string();
  std::string script_file = (dir / "pep440.py").string();
  {
    std::ofstream out(in_file);
    for (const std::string& v : versions) out << v << '\n';
    std::ofstream py(script_file);
    py << "import sys\n"
          "from packaging.version import Version, InvalidVersion\n"
          "lines = open(sys.argv[1], encoding='utf-8', newline='\\n').read().split('\\n')[:-1]\n"
          "parsed = []\n"
          "for s in lines:\n"
          "    try:\n"
          "        parsed.append(Version(s))\n"
          "    except InvalidVersion:\n"
          "        parsed.append(None)\n"
          "valid = sorted(set(v for v in parsed if v is not None))\n"
          "rank = {v: i for i, v in enumerate(valid)}\n"
          "out = []\n"
          "for v in parsed:\n"
          "    out.append('invalid' if v is None else 'valid\\t%s\\t%d' % (v, rank[v]))\n"
          "sys.stdout.write('\\n'.join(out) + '\\n')\n";
  }
  std::string output = RunCommand(python + " " + script_file + " " + in_file + " 2>&1");
  fs::remove_all(dir);
  std::vector<std::string> results = Lines(output);
  ASSERT_EQ(results.size(), versions.size()) << output.substr(0, 500);

  int validity_agreed = 0, normal_agreed = 0, problems = 0;
  std::vector<std::pair<std::string, int>> valid;  // version, python's rank
  for (size_t i = 0; i < versions.size(); ++i) {
    const std::string& v = versions[i];
    bool py_valid = results[i] != "invalid";
    bool ours = Validate(Scheme::kPep440, v).ok();
    if (py_valid == ours) {
      ++validity_agreed;
    } else if (++problems < 20) {
      ADD_FAILURE() << "validity of \"" << v << "\": packaging " << py_valid << ", Moat " << ours;
    }
    if (!py_valid || !ours) continue;
    std::vector<std::string> f;
    std::istringstream fields(results[i]);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    ASSERT_EQ(f.size(), 3u) << results[i];
    auto normal = NormalizePep440(v);
    if (normal.ok() && *normal == f[1]) {
      ++normal_agreed;
    } else if (++problems < 20) {
      ADD_FAILURE() << "normal form of \"" << v << "\": packaging " << f[1] << ", Moat "
                    << (normal.ok() ? *normal : normal.error().message);
    }
    valid.emplace_back(v, std::stoi(f[2]));
  }
  // Full order agreement: sort with Moat, compare equality classes with packaging's ranks.
  std::vector<std::string> sorted;
  for (const auto& [v, r] : valid) sorted.push_back(v);
  std::map<std::string, int> py_rank(valid.begin(), valid.end());
  std::vector<int> rank = SortAndRank(Scheme::kPep440, sorted);
  CheckConsistent(Scheme::kPep440, sorted, rank, 200000);
  int order_agreed = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (py_rank[sorted[i]] == rank[i]) {
      ++order_agreed;
    } else if (++problems < 40) {
      ADD_FAILURE() << "order of \"" << sorted[i] << "\": packaging rank " << py_rank[sorted[i]]
                    << ", Moat rank " << rank[i];
    }
  }
  std::printf(
      "[oracle] python3-packaging: %zu strings (%zu from vectors, rest from PyPI OSV), "
      "validity agreed %d, normal form agreed %d/%zu, sort rank agreed %d/%zu\n",
      versions.size(), from_vectors, validity_agreed, normal_agreed, valid.size(), order_agreed,
      sorted.size());
  EXPECT_EQ(problems, 0);
}

// Versions PEP 440 does not allow compare as packaging's LegacyVersion did: Debian's python3-pip
// (23.0) still vendors packaging 21.3, whose parse() gives a LegacyVersion for them. The whole
// set, valid and legacy together, must sort into the same equality classes.
TEST(VersionOracle, PipLegacyVersion) {
  const std::string python = "/usr/bin/python3";
  std::string probe = RunCommand(
      python + " -c 'from pip._vendor.packaging.version import LegacyVersion; print(\"ok\")' 2>&1");
  ASSERT_EQ(probe, "ok\n") << "python3-pip (packaging 21.3 with LegacyVersion) is missing "
                              "(scripts/install-deps.sh test): "
                           << probe;
  size_t from_vectors = 0;
  std::vector<std::string> versions = PypiVersionStrings(from_vectors);
  for (const char* legacy :
       {"0.9-doduo",   "1.0-SNAPSHOT", "french toast", "2.0.0-final", "1.0.dev-r123",
        "1_2",         "1.0pre-3",     "abc",          "2004d",       "1.0-beta-2",
        "123456789.1", "99999999.1",   "1.0-rc-1",     "1.0preview2", "0.9.8-dev",
        "1.0.0.0-",    "1.0 final",    "2.0b1-r3",     "1.0-0-0",     "1.0-a"}) {
    versions.push_back(legacy);
  }
  std::vector<std::string> sample;
  for (const std::string& v : versions) {
    if (!v.empty() && v.find_first_not_of(" \t") != std::string::npos) sample.push_back(v);
  }
  fs::path dir = TempDir();
  std::string in_file = (dir / "legacy_in").string();
  std::string script_file = (dir / "legacy.py").string();
  {
    std::ofstream out(in_file);
    for (const std::string& v : sample) out << v << '\n';
    std::ofstream py(script_file);
    py << "import sys\n"
          "from pip._vendor.packaging.version import parse, LegacyVersion\n"
          "lines = open(sys.argv[1], encoding='utf-8', newline='\\n').read().split('\\n')[:-1]\n"
          "parsed = [parse(s) for s in lines]\n"
          "keys = sorted(set(v._key for v in parsed))\n"
          "rank = {k: i for i, k in enumerate(keys)}\n"
          "sys.stdout.write('\\n'.join('%d\\t%d' % (rank[v._key], isinstance(v, LegacyVersion))"
          " for v in parsed) + '\\n')\n";
  }
  std::string output = RunCommand(python + " " + script_file + " " + in_file + " 2>&1");
  fs::remove_all(dir);
  std::vector<std::string> results = Lines(output);
  ASSERT_EQ(results.size(), sample.size()) << output.substr(0, 500);
  std::map<std::string, int> py_rank;
  size_t legacy = 0;
  for (size_t i = 0; i < sample.size(); ++i) {
    py_rank[sample[i]] = std::stoi(results[i]);
    legacy += results[i].ends_with("\t1");
  }
  std::vector<std::string> sorted = sample;
  std::vector<int> rank = SortAndRank(Scheme::kPep440, sorted);
  CheckConsistent(Scheme::kPep440, sorted, rank, 100000);
  int agreed = 0, problems = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (py_rank[sorted[i]] == rank[i]) {
      ++agreed;
    } else if (++problems < 20) {
      ADD_FAILURE() << "order of \"" << sorted[i] << "\": pip's packaging 21.3 rank "
                    << py_rank[sorted[i]] << ", Moat rank " << rank[i];
    }
  }
  std::printf(
      "[oracle] pip's packaging 21.3: %zu strings (%zu LegacyVersion), sort rank agreed "
      "%d/%zu\n",
      sorted.size(), legacy, agreed, sorted.size());
  EXPECT_EQ(problems, 0);
  EXPECT_GT(legacy, 20u);
}

// Composer: VersionParser::normalize and version_compare() of Debian's php-composer-semver and
// php-cli on every pair of a set of real and odd Packagist versions: the same normal form (or the
// same refusal) and the same order.
TEST(VersionOracle, ComposerSemver) {
  const std::string autoload = "/usr/share/php/Composer/Semver/autoload.php";
  ASSERT_TRUE(HaveProgram("/usr/bin/php") && HaveProgram(autoload))
      << "php-cli and php-composer-semver are missing (scripts/install-deps.sh test)";
  const std::vector<std::string> versions = {"1.0",
                                             "v1.2.3",
                                             "1.0-b2",
                                             "1.0.0.RC1",
                                             "1.0-dev",
                                             "1.0.x-dev",
                                             "2023.01.05",
                                             "20230105",
                                             "1.0.",
                                             "1.0-",
                                             "1.0-STABLE",
                                             "1.0-stable",
                                             "1.0pl1",
                                             "1.0-patch.2",
                                             "1.0-beta.1.2-dev",
                                             "2.0.0-alpha1",
                                             "1.2.3.4.5",
                                             "dev-main",
                                             "123456.1",
                                             "2010-01-02.5",
                                             "1.0.0+build",
                                             "1.0@beta",
                                             "v2.x-dev",
                                             "1.0.0-a",
                                             "1.0.0-aa",
                                             "1.0.0",
                                             "1.0.0.0",
                                             "1.0.1",
                                             "1.0.10",
                                             "1.0.9",
                                             "1.0.0-beta",
                                             "1.0.0-beta1",
                                             "1.0.0-beta.2",
                                             "1.0.0-BETA3",
                                             "1.0.0-RC1",
                                             "1.0.0-rc.2",
                                             "1.0.0-alpha",
                                             "1.0.0-alpha2",
                                             "1.0.0-p1",
                                             "1.0.0-patch1",
                                             "1.0.0.1",
                                             "1",
                                             "2",
                                             "10",
                                             "v10.1",
                                             "1.0.0-beta1-dev",
                                             "1.0.0-dev",
                                             "5.4.45",
                                             "7.0.0-RC1",
                                             "3.0.0-beta.11",
                                             "99999.0",
                                             "100000.0",
                                             "2.0.0.0-alpha",
                                             "1.0.0-beta.1",
                                             "4.0.0-BETA1",
                                             "1.0.0_rc1",
                                             "1.0.0.alpha1",
                                             "20181010.1",
                                             "2018-10-10",
                                             "2018.10.10.1",
                                             "1.x-dev",
                                             "1.2.x-dev",
                                             "9999999-dev",
                                             "1.01",
                                             "1.1",
                                             "1.0.0-stable",
                                             "1.2.3-pl2",
                                             "1.2.3p2",
                                             "v1.2.3-dev",
                                             "1.0.0-alpha.1-dev",
                                             "master",
                                             "1.0 as 2.0",
                                             "1.2-patch",
                                             "1.2-patch-dev",
                                             "0.0.1",
                                             "0.1.0-alpha1",
                                             " 1.0 ",
                                             "1.0.0-RC1.2",
                                             "1.0.0-beta.1.2.3"};
  fs::path dir = TempDir();
  std::string in_file = (dir / "composer_in").string();
  std::string script_file = (dir / "composer.php").string();
  {
    std::ofstream out(in_file);
    for (const std::string& v : versions) out << v << '\n';
    std::ofstream php(script_file);
    php << "<?php\nrequire '" << autoload
        << "';\n"
           "$p = new Composer\\Semver\\VersionParser();\n"
           "$lines = explode(\"\\n\", rtrim(file_get_contents($argv[1]), \"\\n\"));\n"
           "$norm = [];\n"
           "foreach ($lines as $v) {\n"
           "  try { $n = $p->normalize($v); } catch (Exception $e) { $n = null; }\n"
           "  if ($n !== null && strpos($n, 'dev-') === 0) { $n = null; }\n"
           "  $norm[] = $n;\n"
           "  echo $n === null ? \"!\\n\" : \"$n\\n\";\n"
           "}\n"
           "foreach ($norm as $a) { $row = '';\n"
           "  foreach ($norm as $b) { $row .= ($a === null || $b === null) ? '!' :"
           " ['<', '=', '>'][version_compare($a, $b) + 1]; }\n"
           "  echo $row, \"\\n\"; }\n";
  }
  std::string output = RunCommand("/usr/bin/php " + script_file + " " + in_file + " 2>&1");
  fs::remove_all(dir);
  std::vector<std::string> lines = Lines(output);
  ASSERT_EQ(lines.size(), 2 * versions.size()) << output.substr(0, 500);
  int normal_agreed = 0, pairs = 0, order_agreed = 0, problems = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    auto ours = NormalizeComposerVersion(versions[i]);
    std::string theirs = lines[i];
    std::string got = ours.ok() ? *ours : "!";
    if (got == theirs) {
      ++normal_agreed;
    } else if (++problems < 20) {
      ADD_FAILURE() << "normalize(\"" << versions[i] << "\"): Composer " << theirs << ", Moat "
                    << (ours.ok() ? *ours : ours.error().message);
    }
    const std::string& row = lines[versions.size() + i];
    ASSERT_EQ(row.size(), versions.size());
    for (size_t j = 0; j < versions.size(); ++j) {
      if (row[j] == '!') continue;
      ++pairs;
      auto r = Compare(Scheme::kComposer, versions[i], versions[j]);
      char op = !r.ok() ? '!' : (*r < 0 ? '<' : (*r > 0 ? '>' : '='));
      if (op == row[j]) {
        ++order_agreed;
      } else if (++problems < 40) {
        ADD_FAILURE() << "\"" << versions[i] << "\" vs \"" << versions[j] << "\": Composer "
                      << row[j] << ", Moat " << op;
      }
    }
  }
  std::printf(
      "[oracle] composer/semver + PHP version_compare: %zu versions, normal form agreed "
      "%d, %d pairs, order agreed %d\n",
      versions.size(), normal_agreed, pairs, order_agreed);
  EXPECT_EQ(problems, 0);
  EXPECT_GT(pairs, 3000);
}

// RubyGems: Gem::Version#<=> of Debian's ruby on every pair of a set of versions (the installed
// gems' own and the odd forms of rubygems' test suite), and which strings Gem::Version refuses.
TEST(VersionOracle, RubyGemVersion) {
  ASSERT_TRUE(HaveProgram("/usr/bin/ruby")) << "ruby is missing (scripts/install-deps.sh test)";
  std::vector<std::string> versions = {"1.0",
                                       "1.0.0",
                                       "1.0.a",
                                       "1.8.2",
                                       "0.0.0",
                                       "1.8.2.a",
                                       "1.8.2.b",
                                       "1.8.2.a10",
                                       "1.8.2.a9",
                                       "",
                                       "0",
                                       "0.beta.1",
                                       "0.0.beta.1",
                                       "0.0.beta",
                                       "5.a",
                                       "5.0.0.rc2",
                                       "5.x",
                                       "1.9.3",
                                       "1.9.2.99",
                                       "1.9.3.1",
                                       "1.0.0-rc1",
                                       "1.0.0.pre.rc1",
                                       "1.0.A",
                                       "2.0.0.rc1",
                                       "2.0.0.RC1",
                                       "3.2.1.beta.10",
                                       "3.2.1.beta.9",
                                       "10",
                                       "9.9.9",
                                       "1.0.0.0.0.0.1",
                                       "1.0.b1",
                                       "1.0.b.2",
                                       "1.0.b10",
                                       "1.0.a.2",
                                       "0.9",
                                       "1.0.a10",
                                       "2.7.0-preview1",
                                       "2.7.0.preview.1",
                                       "1-1",
                                       "1.1",
                                       " 1.2 ",
                                       "1.0beta",
                                       "1beta",
                                       "1.0..1",
                                       "junk",
                                       "1.0 2.0",
                                       "1.2.3_rc1"};
  for (const auto& entry : fs::directory_iterator("/usr/lib/ruby/gems/3.1.0/specifications/default",
                                                  fs::directory_options::skip_permission_denied)) {
    std::string name = entry.path().stem().string();  // "bundler-2.3.7"
    size_t dash = name.rfind('-');
    if (dash != std::string::npos) versions.push_back(name.substr(dash + 1));
  }
  fs::path dir = TempDir();
  std::string in_file = (dir / "gem_in").string();
  std::string script_file = (dir / "gem.rb").string();
  {
    std::ofstream out(in_file);
    for (const std::string& v : versions) out << v << '\n';
    std::ofstream rb(script_file);
    rb << "lines = File.read(ARGV[0]).split(\"\\n\", -1)[0...-1]\n"
          "vs = lines.map { |s| Gem::Version.correct?(s) ? Gem::Version.new(s) : nil }\n"
          "vs.each { |a| puts vs.map { |b| (a.nil? || b.nil?) ? '!' :"
          " ['<', '=', '>'][(a <=> b) + 1] }.join }\n";
  }
  std::string output = RunCommand("/usr/bin/ruby " + script_file + " " + in_file + " 2>&1");
  fs::remove_all(dir);
  std::vector<std::string> rows = Lines(output);
  ASSERT_EQ(rows.size(), versions.size()) << output.substr(0, 500);
  int pairs = 0, agreed = 0, validity_agreed = 0, problems = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    ASSERT_EQ(rows[i].size(), versions.size()) << rows[i];
    bool ruby_valid = rows[i].find_first_not_of('!') != std::string::npos;
    if (ruby_valid == Validate(Scheme::kGem, versions[i]).ok()) {
      ++validity_agreed;
    } else if (++problems < 20) {
      ADD_FAILURE() << "validity of \"" << versions[i] << "\": Gem::Version " << ruby_valid;
    }
    for (size_t j = 0; j < versions.size(); ++j) {
      if (rows[i][j] == '!') continue;
      ++pairs;
      auto r = Compare(Scheme::kGem, versions[i], versions[j]);
      char op = !r.ok() ? '!' : (*r < 0 ? '<' : (*r > 0 ? '>' : '='));
      if (op == rows[i][j]) {
        ++agreed;
      } else if (++problems < 40) {
        ADD_FAILURE() << "\"" << versions[i] << "\" vs \"" << versions[j] << "\": Gem::Version "
                      << rows[i][j] << ", Moat " << op;
      }
    }
  }
  std::printf(
      "[oracle] ruby Gem::Version: %zu versions, validity agreed %d, %d pairs, order "
      "agreed %d\n",
      versions.size(), validity_agreed, pairs, agreed);
  EXPECT_EQ(problems, 0);
  EXPECT_GT(pairs, 2000);
}

}  // namespace
}  // namespace moat::version
