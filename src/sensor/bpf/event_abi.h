/* The record layout shared by the kernel programs (sensor.bpf.c) and the user-space decoder
 * (src/sensor/decoder.cpp). Plain C so that clang -target bpf and the C++ build both read it.
 *
 * A record is a fixed header followed by `var_count` variable fields, each a little-endian u16
 * length and that many bytes. What the numbers and fields mean depends on the type (see
 * src/sensor/event.h, which names them). User space never trusts a record: every length is
 * checked against the record's size before it is read. */
#ifndef MOAT_SENSOR_EVENT_ABI_H_
#define MOAT_SENSOR_EVENT_ABI_H_

#ifdef __cplusplus
#include <cstdint>
#define MOAT_U16 std::uint16_t
#define MOAT_U32 std::uint32_t
#define MOAT_U64 std::uint64_t
#define MOAT_S64 std::int64_t
#else
#define MOAT_U16 __u16
#define MOAT_U32 __u32
#define MOAT_U64 __u64
#define MOAT_S64 __s64
#endif

#define MOAT_ABI_VERSION 1
#define MOAT_NUM_COUNT 12
#define MOAT_COMM_LEN 16
/* Largest record the kernel writes; also the decoder's upper bound. */
#define MOAT_MAX_RECORD 8192

enum moat_event_type {
  MOAT_EV_EXEC = 1,
  MOAT_EV_FORK = 2,
  MOAT_EV_EXIT = 3,
  MOAT_EV_OPEN = 4,
  MOAT_EV_CONNECT = 5,
  MOAT_EV_ACCEPT = 6,
  MOAT_EV_BIND = 7,
  MOAT_EV_LISTEN = 8,
  MOAT_EV_SOCKET = 9, /* raw and packet sockets only */
  MOAT_EV_RENAME = 10,
  MOAT_EV_UNLINK = 11,
  MOAT_EV_LINK = 12,
  MOAT_EV_SYMLINK = 13,
  MOAT_EV_CHMOD = 14,
  MOAT_EV_TRUNCATE = 15,
  MOAT_EV_PTRACE = 16,
  MOAT_EV_SETUID = 17,
  MOAT_EV_SETGID = 18,
  MOAT_EV_CAPSET = 19,
  MOAT_EV_SETNS = 20,
  MOAT_EV_UNSHARE = 21,
  MOAT_EV_CLONE_NS = 22, /* clone/clone3 with CLONE_NEW* flags */
  MOAT_EV_MOUNT = 23,
  MOAT_EV_UMOUNT = 24,
  MOAT_EV_MEMFD_CREATE = 25,
  MOAT_EV_BPF = 26,
  MOAT_EV_MODULE_LOAD = 27,
  MOAT_EV_DNS_QUERY = 28,
  MOAT_EV_MMAP_EXEC = 29, /* a file mapped executable (a shared library), once per container */
  MOAT_EV_TYPE_END
};

/* Bits of num[MOAT_EXEC_FLAGS] in an exec record. */
#define MOAT_EXEC_UPPER_LAYER 0x1 /* the executable's inode is on an overlayfs upper layer */
#define MOAT_EXEC_MEMFD 0x2       /* the executable is a memfd (no link on any filesystem) */
#define MOAT_EXEC_OVERLAY 0x4     /* the executable is on overlayfs at all */

/* Indexes into num[] of an exec record. */
enum moat_exec_num {
  MOAT_EXEC_PPID = 0,
  MOAT_EXEC_EUID,
  MOAT_EXEC_EGID,
  MOAT_EXEC_LOGINUID,
  MOAT_EXEC_CAP_EFFECTIVE,
  MOAT_EXEC_CAP_PERMITTED,
  MOAT_EXEC_CAP_INHERITABLE,
  MOAT_EXEC_INODE,
  MOAT_EXEC_FLAGS,
  MOAT_EXEC_CGROUP_ID,
};

/* Variable fields of an exec record, in this order. Paths walked in the kernel (exe, cwd,
 * cgroup) are written leaf first, each component followed by '/', and reversed in user space:
 * the kernel then needs no second pass over the dentries. */
enum moat_exec_var {
  MOAT_EXEC_VAR_FILENAME = 0, /* as passed to execve (kernel copy) */
  MOAT_EXEC_VAR_EXE_PATH,     /* leaf first; for a memfd its name as is ("memfd:NAME") */
  MOAT_EXEC_VAR_ARGV,         /* NUL separated */
  MOAT_EXEC_VAR_CWD,          /* leaf first */
  MOAT_EXEC_VAR_TTY,          /* e.g. "pts3"; empty without a controlling terminal */
  MOAT_EXEC_VAR_CGROUP,       /* leaf first */
  MOAT_EXEC_VAR_COUNT
};

struct moat_event_header {
  MOAT_U32 size; /* whole record, header included */
  MOAT_U16 type;
  MOAT_U16 var_count;
  MOAT_U64 boot_ns; /* bpf_ktime_get_boot_ns */
  MOAT_U32 pid;     /* thread group id */
  MOAT_U32 tid;
  MOAT_U32 uid;
  MOAT_U32 gid;
  MOAT_S64 ret; /* syscall return value (0 for sched events) */
  MOAT_U64 num[MOAT_NUM_COUNT];
  char comm[MOAT_COMM_LEN];
};

/* Per-CPU counters (map "counters"), read every second by user space. */
enum moat_counter {
  MOAT_COUNTER_EVENTS = 0,   /* records written to the ring buffer */
  MOAT_COUNTER_DROPS,        /* records lost: ring buffer full */
  MOAT_COUNTER_PENDING_LOST, /* syscall entries not recorded: in-flight table full */
  MOAT_COUNTER_COUNT
};

#endif /* MOAT_SENSOR_EVENT_ABI_H_ */
