// `moat audit-log`: Kubernetes audit logs through the rules engine (docs/rules.md). This file
// has the command and `scan`, a one-shot pass over stored logs; `watch` and `serve` are in
// audit_log_service_command.cpp.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "auditlog/detector.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/bytes.h"
#include "rules/k8s_audit.h"
#include "walker/tar_stream.h"

namespace moat::cli {
namespace {

struct ScanOptions {
  std::vector<std::string> files;
  std::vector<std::string> rules;
  bool no_builtin_rules = false;
  std::string since;
  std::string until;
  int exit_code = 0;
  std::string output;
};

struct ScanCounts {
  uint64_t events = 0;
  uint64_t outside_window = 0;
  uint64_t alerts = 0;
  uint64_t malformed = 0;
  std::vector<std::string> first_errors;
};

constexpr size_t kErrorsShown = 10;

// --since/--until: an RFC 3339 time, or a duration back from now ("2h", "30m").
Result<int64_t> ParseTimeBound(const std::string& text, const char* flag) {
  if (auto ns = ParseRfc3339Nanos(text)) return *ns;
  auto duration = ParseDuration(text);
  if (!duration.ok()) {
    return Fail(flag, ": \"", text, "\" is neither an RFC 3339 time nor a duration (2h, 30m)");
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - *duration).count());
}

// Splits the (decompressed) bytes into lines and runs each through the detector.
class LineSink : public ByteSink {
 public:
  LineSink(std::string input_name, const std::function<void(std::string_view, uint64_t)>& on_line)
      : input_name_(std::move(input_name)), on_line_(on_line) {}

  Result<void> Write(ByteSpan chunk) override {
    std::string_view text = AsText(chunk);
    while (!text.empty()) {
      const size_t newline = text.find('\n');
      if (newline == std::string_view::npos) {
        if (pending_.size() + text.size() > rules::kMaxAuditEventBytes + 1) {
          // An over-long line is still counted as one malformed line, not kept in memory.
          oversized_ = true;
          pending_.clear();
        } else {
          pending_.append(text);
        }
        return Ok();
      }
      pending_.append(text.substr(0, newline));
      text.remove_prefix(newline + 1);
      EndLine();
    }
    return Ok();
  }

  Result<void> Close() override {
    if (!pending_.empty() || oversized_) EndLine();
    return Ok();
  }

 private:
  void EndLine() {
    ++line_;
    if (oversized_) {
      pending_ = "(line longer than the event limit)";
      oversized_ = false;
    }
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    on_line_(pending_, line_);
    pending_.clear();
  }

  std::string input_name_;
  const std::function<void(std::string_view, uint64_t)>& on_line_;
  std::string pending_;
  uint64_t line_ = 0;
  bool oversized_ = false;
};

int RunScan(const ScanOptions& options) {
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  for (auto [text, bound, flag] : {std::tuple{&options.since, &since, "--since"},
                                   std::tuple{&options.until, &until, "--until"}}) {
    if (text->empty()) continue;
    auto parsed = ParseTimeBound(*text, flag);
    if (!parsed.ok()) {
      std::cerr << "moat audit-log scan: " << parsed.error().message << "\n";
      return kExitError;
    }
    *bound = *parsed;
  }
  auditlog::DetectorOptions detector_options;
  detector_options.rule_paths = options.rules;
  detector_options.builtin_rules = !options.no_builtin_rules;
  rules::LoadReport report;
  auto detector = auditlog::Detector::Create(detector_options, nullptr, nullptr, &report);
  if (!detector.ok()) {
    std::cerr << "moat audit-log scan: " << detector.error().message << "\n";
    return kExitError;
  }
  for (const rules::DisabledRule& rule : report.disabled) {
    std::cerr << "moat audit-log scan: rule \"" << rule.name << "\" (" << rule.location.file << ":"
              << rule.location.line << ") disabled: " << rule.reason << "\n";
  }
  if (report.enabled.empty()) {
    std::cerr << "moat audit-log scan: no rule is enabled\n";
    return kExitError;
  }

  std::ofstream file_out;
  std::ostream* out = &std::cout;
  if (!options.output.empty() && options.output != "-") {
    file_out.open(options.output, std::ios::binary | std::ios::trunc);
    if (!file_out) {
      std::cerr << "moat audit-log scan: cannot write " << options.output << "\n";
      return kExitError;
    }
    out = &file_out;
  }

  ScanCounts counts;
  for (const std::string& path : options.files) {
    const std::string name = path == "-" ? "stdin" : path;
    const std::function<void(std::string_view, uint64_t)> on_line = [&](std::string_view line,
                                                                        uint64_t number) {
      if (line.find_first_not_of(" \t") == std::string_view::npos) return;
      const std::string where = name + ":" + std::to_string(number);
      auto event = rules::ParseAuditEvent(std::string(line), where);
      if (!event.ok()) {
        ++counts.malformed;
        if (counts.first_errors.size() < kErrorsShown) {
          counts.first_errors.push_back(event.error().message);
        }
        return;
      }
      if ((since && event->time_ns() < *since) || (until && event->time_ns() > *until)) {
        ++counts.outside_window;
        return;
      }
      ++counts.events;
      for (const Alert& alert : (*detector)->Evaluate(*event)) {
        ++counts.alerts;
        *out << AlertToJson(alert) << '\n';
      }
    };
    LineSink lines(name, on_line);
    DecompressingSink decompress(lines, name, /*max_output_bytes=*/1ull << 40);
    FILE* input = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!input) {
      std::cerr << "moat audit-log scan: " << path << ": cannot open\n";
      return kExitError;
    }
    std::vector<uint8_t> buffer(1 << 16);
    Result<void> status = Ok();
    while (status.ok()) {
      const size_t got = std::fread(buffer.data(), 1, buffer.size(), input);
      if (got == 0) break;
      status = decompress.Write(ByteSpan(buffer.data(), got));
    }
    const bool read_error = std::ferror(input) != 0;
    if (input != stdin) std::fclose(input);
    if (status.ok()) status = decompress.Close();
    if (!status.ok() || read_error) {
      std::cerr << "moat audit-log scan: "
                << (status.ok() ? path + ": read error" : status.error().message) << "\n";
      return kExitError;
    }
  }
  out->flush();
  if (!*out) {
    std::cerr << "moat audit-log scan: writing the alerts failed\n";
    return kExitError;
  }
  std::cerr << "moat audit-log scan: " << counts.events << " events, " << counts.alerts
            << " alerts, " << counts.malformed << " malformed lines";
  if (since || until) std::cerr << ", " << counts.outside_window << " outside --since/--until";
  std::cerr << "\n";
  for (const std::string& error : counts.first_errors) {
    std::cerr << "moat audit-log scan: skipped " << error << "\n";
  }
  if (counts.malformed > counts.first_errors.size()) {
    std::cerr << "moat audit-log scan: ... and " << counts.malformed - counts.first_errors.size()
              << " more malformed lines\n";
  }
  return counts.alerts > 0 ? options.exit_code : kExitOk;
}

}  // namespace

void AddAuditLogCommand(CLI::App& app, Action& action) {
  CLI::App* audit_log = app.add_subcommand(
      "audit-log", "Threat detection on Kubernetes audit logs with Falco-format rules");
  audit_log->require_subcommand(1);

  auto options = std::make_shared<ScanOptions>();
  CLI::App* scan = audit_log->add_subcommand(
      "scan", "One pass over stored audit logs (JSON lines, plain or gzip): alerts as JSON lines");
  scan->add_option("files", options->files, "Audit log files; - reads standard input")
      ->required()
      ->type_name("FILE");
  scan->add_option("--rules", options->rules,
                   "Falco-format rule file or directory, loaded after the built-in rules "
                   "(repeatable)")
      ->type_name("PATH")
      ->check(CLI::ExistingPath)
      ->allow_extra_args(false);  // one path per --rules: the files after it stay positional
  scan->add_flag("--no-builtin-rules", options->no_builtin_rules,
                 "Load only the --rules files, not Moat's built-in audit rules");
  scan->add_option("--since", options->since,
                   "Only events at or after this time: RFC 3339, or a duration back from now (2h)");
  scan->add_option("--until", options->until,
                   "Only events at or before this time: RFC 3339, or a duration back from now");
  scan->add_option("--exit-code", options->exit_code,
                   "Exit with this code when any alert fired (default 0)");
  scan->add_option("-o,--output", options->output, "Write the alerts to FILE instead of stdout");
  SetExamples(*scan, {"moat audit-log scan /var/log/kubernetes/audit.log",
                      "moat audit-log scan audit-*.log.gz --since 2024-05-01T00:00:00Z "
                      "--exit-code 1",
                      "zcat audit.log.gz | moat audit-log scan - --rules my-rules.yaml "
                      "-o alerts.jsonl"});
  scan->callback([options, &action] { action = [options] { return RunScan(*options); }; });

  AddAuditLogServiceCommands(*audit_log, action);
}

}  // namespace moat::cli
