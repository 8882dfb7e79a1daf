#pragma once
// The kernel side: which BPF program types this kernel loads, and the sensor's programs loaded,
// attached and read (libbpf; the programs are src/sensor/bpf/sensor.bpf.c, built into a skeleton
// when clang and bpftool were found at configure time).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "sensor/config.h"

namespace moat::sensor {

/// Whether this build has the kernel programs (clang -target bpf and bpftool were found).
bool KernelSideBuilt();

struct ProgramTypeSupport {
  std::string name;  // "raw_tracepoint", "tracepoint", "tp_btf/fentry (tracing)", "kprobe", "lsm"
  bool loads = false;
  std::string note;  // why not, or what it needs
};

/// Asks the kernel which program types load (BPF_PROG_LOAD of a minimal program of each type),
/// plus the ring buffer map and tracefs (needed by perf-event tracepoints, not by raw ones).
std::vector<ProgramTypeSupport> ProbeProgramTypes();

struct KernelProbeOptions {
  uint32_t ring_buffer_bytes = 16u << 20;  // a power of two, at least a page
  std::vector<std::string> sensitive_read_prefixes;
  uint32_t self_pid = 0;  // events of this process are not recorded
  SyscallAttach syscall_attach = SyscallAttach::kAuto;
};

struct KernelCounters {
  uint64_t events = 0;        // records written to the ring buffer
  uint64_t drops = 0;         // records lost because the ring buffer was full
  uint64_t pending_lost = 0;  // syscalls not recorded: the in-flight table was full
};

class KernelProbe {
 public:
  /// Loads and attaches the programs. Errors say which step failed and why (no privilege, no
  /// BTF, a program the verifier refused).
  static Result<std::unique_ptr<KernelProbe>> Load(const KernelProbeOptions& options);
  virtual ~KernelProbe() = default;

  /// Waits up to `timeout_ms` for records and hands each to `on_record`. Returns how many were
  /// read; an interrupted wait (a signal) reads none and is not an error.
  virtual Result<int> Poll(int timeout_ms, const std::function<void(ByteSpan)>& on_record) = 0;
  /// The per-CPU counters summed.
  virtual KernelCounters ReadCounters() const = 0;
  /// What is attached, for the start-up line: the scheduler tracepoints and how the syscalls
  /// are seen (per-syscall tracepoints, or the sys_enter/sys_exit pair and why).
  virtual std::string Attachment() const = 0;
};

}  // namespace moat::sensor
