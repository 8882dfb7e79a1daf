#include "cli/flags.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace moat::cli {
namespace {

std::string_view StripRoot(std::string_view path) {
  while (true) {
    if (path.starts_with("./")) {
      path.remove_prefix(2);
    } else if (path.starts_with("/")) {
      path.remove_prefix(1);
    } else {
      break;
    }
  }
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

// Glob over a slash-separated path: `**` crosses segments, `*` and `?` do not.
bool PathGlobMatch(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.starts_with("**")) {
    std::string_view rest = pattern.substr(2);
    // "**/x" also matches "x" at the top.
    if (rest.starts_with("/") && PathGlobMatch(rest.substr(1), text)) return true;
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (PathGlobMatch(rest, text.substr(skip))) return true;
    }
    return false;
  }
  if (pattern.front() == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (PathGlobMatch(pattern.substr(1), text.substr(skip))) return true;
      if (skip < text.size() && text[skip] == '/') break;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern.front() == '?' ? text.front() == '/' : pattern.front() != text.front()) return false;
  return PathGlobMatch(pattern.substr(1), text.substr(1));
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CLI::Option* AddListOption(CLI::App& command, const std::string& name,
                           std::vector<std::string>& values, const std::string& description) {
  // CLI11 lets a vector option take every following word (the image name too); one word per
  // use, split on commas, is Trivy's convention.
  return command.add_option(name, values, description)->delimiter(',')->allow_extra_args(false);
}

CLI::Option* AddListOption(CLI::App& command, const std::string& name, std::string& joined,
                           const std::string& description) {
  return command.add_option(name, joined, description)
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::Join);
}

void SetExamples(CLI::App& command, const std::vector<std::string>& examples) {
  std::string footer = "\nExamples:";
  for (const auto& example : examples) footer += "\n  " + example;
  command.footer(footer);
}

std::string UnknownCommand(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    // Options before a command word are flags without values (-q, -d, --help).
    if (word.starts_with("-")) continue;
    if (current->get_subcommands({}).empty()) return "";
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : current->get_subcommands({})) {
      if (sub->check_name(std::string(word))) next = sub;
    }
    if (next == nullptr) return std::string(word);
    current = next;
  }
  return "";
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto invalid = [&] {
    return Fail("invalid duration \"", std::string(text), "\" (expected e.g. 5m, 90s, 1h30m)");
  };
  if (text.empty()) return invalid();
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return invalid();
    double number = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || end != text.data() + i) return invalid();
    std::string_view unit;
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit.empty()) {
      if (start != 0 || i != text.size()) return invalid();  // a bare number is whole seconds
      scale = 1000;
    } else if (unit == "h") {
      scale = 3600e3;
    } else if (unit == "m") {
      scale = 60e3;
    } else if (unit == "s") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1;
    } else {
      return invalid();
    }
    total_ms += number * scale;
  }
  if (total_ms < 1 || total_ms > 1e12) return invalid();
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

size_t TableWidth(const std::string& output_path) {
  if ((!output_path.empty() && output_path != "-") || !::isatty(STDOUT_FILENO)) return 0;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && *columns != '\0') {
    size_t width = 0;
    std::string_view text(columns);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), width);
    if (ec == std::errc() && end == text.data() + text.size() && width > 0) return width;
  }
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

std::vector<std::string> SeveritiesAtOrAbove(std::string_view minimum,
                                             const std::vector<std::string>& ordered_low_to_high) {
  const std::string wanted = Upper(minimum);
  for (size_t i = 0; i < ordered_low_to_high.size(); ++i) {
    if (ordered_low_to_high[i] == wanted) {
      return {ordered_low_to_high.begin() + static_cast<std::ptrdiff_t>(i),
              ordered_low_to_high.end()};
    }
  }
  return {};
}

bool PackageTypeSelected(PackageType type, const std::vector<std::string>& pkg_types) {
  const char* kind = IsOsPackageType(type) ? "os" : "library";
  return std::find(pkg_types.begin(), pkg_types.end(), kind) != pkg_types.end();
}

bool PathSkipped(std::string_view path, const std::vector<std::string>& skip_dirs,
                 const std::vector<std::string>& skip_files) {
  path = StripRoot(path);
  for (const auto& pattern : skip_files) {
    if (PathGlobMatch(StripRoot(pattern), path)) return true;
  }
  for (const auto& pattern : skip_dirs) {
    std::string_view dir_pattern = StripRoot(pattern);
    for (size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      if (PathGlobMatch(dir_pattern, path.substr(0, slash))) return true;
    }
  }
  return false;
}

void AddKubeconfigFlags(CLI::App& command, k8s::ConnectionOptions& connection,
                        const std::string& applies_to) {
  // A help text starts with a capital unless the mode prefix comes first.
  auto help = [&applies_to](std::string text) {
    if (applies_to.empty()) text[0] = static_cast<char>(std::toupper(text[0]));
    return applies_to + text;
  };
  command.add_option("--kubeconfig", connection.kubeconfig,
                     help("kubeconfig file (default $KUBECONFIG, then ~/.kube/config, then the "
                          "in-cluster service account)"));
  command.add_option("--context", connection.context,
                     help("kubeconfig context (default: current-context)"));
  command.add_flag("--in-cluster", connection.in_cluster,
                   help("use the pod's service account (KUBERNETES_SERVICE_HOST/PORT) even when a "
                        "kubeconfig exists"));
}

bool KubeconfigFlagsGiven(const k8s::ConnectionOptions& connection) {
  return !connection.kubeconfig.empty() || !connection.context.empty() || connection.in_cluster;
}

namespace {
// Lock-free, so a signal handler may set it.
std::atomic<bool> stop_requested{false};
void OnStopSignal(int) { stop_requested = true; }
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace

std::atomic<bool>& InstallStopFlag() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return stop_requested;
}

void WaitForStopSignal() {
  const std::atomic<bool>& stop = InstallStopFlag();
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

}  // namespace moat::cli
