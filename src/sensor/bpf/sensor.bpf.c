// SPDX-License-Identifier: GPL-2.0
/* Moat's sensor: kernel side. Only BTF-typed and raw tracepoints (tp_btf sys_enter and sys_exit,
 * raw sched_process_exec, sched_process_fork, sched_process_exit) and a BPF ring buffer: they
 * load without tracefs,
 * kprobes, fentry or BPF-LSM, which kernels with lockdown or without CONFIG_KPROBE_EVENTS refuse
 * (docs/sensor.md). Records follow event_abi.h. Only x86_64 syscall numbers are handled.
 *
 * Syscalls are recorded in two steps: sys_enter keeps the arguments of an interesting call in an
 * in-flight table (and copies at once what user memory could change before the kernel reads it:
 * paths of opens, socket addresses, DNS payloads), sys_exit adds the return value and emits. DNS
 * sends are the exception: checked and emitted whole at entry, with no exit program. */
// vmlinux.h defines the kernel types the libbpf headers use, so it comes first.
// clang-format off
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "event_abi.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 self_tgid = 0;

/* x86_64 syscall numbers. */
#define NR_open 2
#define NR_mmap 9
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_bind 49
#define NR_listen 50
#define NR_clone 56
#define NR_truncate 76
#define NR_ftruncate 77
#define NR_rename 82
#define NR_creat 85
#define NR_link 86
#define NR_unlink 87
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_capset 126
#define NR_mount 165
#define NR_umount2 166
#define NR_init_module 175
#define NR_openat 257
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_unshare 272
#define NR_accept4 288
#define NR_setns 308
#define NR_sendmmsg 307
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_openat2 437
#define NR_clone3 435
#define NR_fchmodat2 452

#define O_WRONLY_ 01
#define O_RDWR_ 02
#define O_CREAT_ 0100
#define O_TRUNC_ 01000
#define AF_INET_ 2
#define AF_INET6_ 10
#define AF_PACKET_ 17
#define SOCK_RAW_ 3
#define SOCK_DGRAM_ 2
#define IPPROTO_UDP_ 17
#define CLONE_NS_FLAGS 0x7E020080ULL /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
#define CLONE_NEWTIME_ 0x00000080ULL
#define EINPROGRESS_ 115
#define PROT_EXEC_ 0x4
#define MAP_ANONYMOUS_ 0x20
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

#define CAPTURE_MAX 512 /* bytes copied at entry (paths, addresses, DNS payloads) */
#define PATH_COMPONENTS 24
#define CGROUP_COMPONENTS 12
#define SCRATCH_SIZE 16384
#define OFFSET_MASK 8191 /* records stay below MOAT_MAX_RECORD = OFFSET_MASK + 1 */
#define FIELD_MAX 4096

struct pending_call {
  __u64 args[6];
  __u32 nr;
  __u16 type;
  __u16 capture_len;
  __u16 capture2_len;
  __u16 capture_is_addr;
  char capture[CAPTURE_MAX];
  char capture2[128]; /* a second address (sendto's destination) */
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* replaced by the configured size before load */
} events SEC(".maps");

/* Calls between sys_enter and sys_exit, by thread. LRU: a thread killed inside a blocking call
 * never reaches sys_exit, and its entry must not hold a slot for ever. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 10240);
  __type(key, __u64);
  __type(value, struct pending_call);
} in_flight SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, MOAT_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct scratch {
  char buf[SCRATCH_SIZE];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2); /* 0: the record being built, 1: a pending_call built at entry */
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

/* Sensitive files whose reads are reported (writes and creations are reported everywhere).
 * Prefixes, filled by user space from the configuration; an empty slot ends the list. */
#define SENSITIVE_SLOTS 64
#define SENSITIVE_LEN 64
struct sensitive_prefix {
  __u32 len;
  char text[SENSITIVE_LEN];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SENSITIVE_SLOTS);
  __type(key, __u32);
  __type(value, struct sensitive_prefix);
} sensitive_prefixes SEC(".maps");

/* Files already reported as mapped executable, per mount namespace (so per container): a
 * library is reported the first time a process of the container maps it, not at every process
 * start. LRU: a long-running node forgets the oldest and reports them again at most. */
struct mapped_file_key {
  __u64 inode;
  __u32 dev;
  __u32 mnt_ns;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct mapped_file_key);
  __type(value, __u8);
} mapped_files SEC(".maps");

/* Older kernels name kernfs_node's parent "parent" (6.15 renamed it "__parent"). */
struct kernfs_node___old {
  struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* Hides a value's known range from the compiler so that the mask after it stays in the program
 * (the verifier needs to see it; clang drops masks it can prove useless). */
#define OPAQUE(v) asm volatile("" : "+r"(v))

static __always_inline void count(__u32 which) {
  __u64 *value = bpf_map_lookup_elem(&counters, &which);
  if (value) *value += 1;
}

static __always_inline struct moat_event_header *begin(__u16 type) {
  __u32 zero = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
  if (!s) return 0;
  struct moat_event_header *h = (struct moat_event_header *)s->buf;
  __builtin_memset(h, 0, sizeof(*h));
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u64 uid_gid = bpf_get_current_uid_gid();
  h->type = type;
  h->boot_ns = bpf_ktime_get_boot_ns();
  h->pid = pid_tgid >> 32;
  h->tid = (__u32)pid_tgid;
  h->uid = (__u32)uid_gid;
  h->gid = uid_gid >> 32;
  bpf_get_current_comm(h->comm, sizeof(h->comm));
  h->size = sizeof(*h);
  return h;
}

/* Writes the record; 1 when it went into the ring buffer, 0 when it was dropped (counted). */
static __always_inline int submit(struct moat_event_header *h) {
  __u32 size = h->size;
  if (size > MOAT_MAX_RECORD) size = MOAT_MAX_RECORD;
  if (size < sizeof(*h)) size = sizeof(*h);
  h->size = size;
  OPAQUE(size);
  size &= MOAT_MAX_RECORD * 2 - 1;
  if (size > MOAT_MAX_RECORD) return 0;
  if (bpf_ringbuf_output(&events, h, size, 0) == 0) {
    count(MOAT_COUNTER_EVENTS);
    return 1;
  }
  count(MOAT_COUNTER_DROPS);
  return 0;
}

/* The field writers below append "u16 length + bytes" at h->size. Offsets are masked so that
 * the verifier sees every access inside the scratch buffer; a record that would pass
 * MOAT_MAX_RECORD gets an empty field instead. */
static __always_inline char *field_at(struct moat_event_header *h, __u32 *offset) {
  *offset = h->size & OFFSET_MASK;
  return (char *)h;
}

static __always_inline void put_len(struct moat_event_header *h, __u32 offset, __u32 len) {
  char *base = (char *)h;
  __u16 value = len;
  __builtin_memcpy(&base[offset & OFFSET_MASK], &value, 2);
  h->size = offset + 2 + len;
  h->var_count += 1;
}

static __always_inline void put_bytes(struct moat_event_header *h, const void *src, __u32 len,
                                      int user) {
  __u32 offset;
  char *base = field_at(h, &offset);
  if (len > FIELD_MAX) len = FIELD_MAX;
  if (offset + 2 + len > MOAT_MAX_RECORD) len = 0;
  long rc = 0;
  if (len > 0) {
    char *dst = &base[(offset + 2) & OFFSET_MASK];
    __u32 n = len;
    OPAQUE(n);
    n &= FIELD_MAX * 2 - 1;
    rc = user ? bpf_probe_read_user(dst, n, src) : bpf_probe_read_kernel(dst, n, src);
  }
  put_len(h, offset, rc == 0 ? len : 0);
}

/* A NUL-terminated string; the stored length leaves the NUL out. */
static __always_inline void put_str(struct moat_event_header *h, const void *src, __u32 max,
                                    int user) {
  __u32 offset;
  char *base = field_at(h, &offset);
  long n = 0;
  if (src && offset + 2 + max <= MOAT_MAX_RECORD) {
    char *dst = &base[(offset + 2) & OFFSET_MASK];
    __u32 limit = max;
    OPAQUE(limit);
    limit &= FIELD_MAX * 2 - 1;
    n = user ? bpf_probe_read_user_str(dst, limit, src)
             : bpf_probe_read_kernel_str(dst, limit, src);
  }
  put_len(h, offset, n > 0 ? n - 1 : 0);
}

static __always_inline void put_empty(struct moat_event_header *h) {
  __u32 offset;
  field_at(h, &offset);
  put_len(h, offset, 0);
}

/* Appends one path component and its '/' to the field that starts at `start`; false when the
 * name is empty or unreadable, or the record is full. */
static __always_inline int append_component(char *base, __u32 start, __u32 *len, const void *name) {
  __u32 at = start + 2 + *len;
  if (at + 256 > MOAT_MAX_RECORD) return 0;
  long n = bpf_probe_read_kernel_str(&base[at & OFFSET_MASK], 256, name);
  if (n <= 1) return 0;
  *len += n;
  base[(at + n - 1) & OFFSET_MASK] = '/';
  return 1;
}

/* The path of (dentry, vfsmount) leaf first: "name/parent/.../". Mount points are crossed
 * upward through struct mount; the walk ends at the root of the mount namespace or after
 * PATH_COMPONENTS components. */
static __always_inline void put_dentry_path(struct moat_event_header *h, struct dentry *dentry,
                                            struct vfsmount *vfsmnt) {
  __u32 start;
  char *base = field_at(h, &start);
  __u32 len = 0;
  struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
#pragma unroll
  for (int i = 0; i < PATH_COMPONENTS; i++) {
    struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
    struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
    if (dentry == mnt_root || dentry == parent) {
      struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
      if (mnt_parent == mnt || !mnt_parent) break;
      dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
      mnt = mnt_parent;
      vfsmnt = &mnt->mnt;
      continue;
    }
    if (!append_component(base, start, &len, BPF_CORE_READ(dentry, d_name.name))) break;
    dentry = parent;
  }
  put_len(h, start, len);
}

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn) {
  if (bpf_core_field_exists(struct kernfs_node___old, parent)) {
    return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
  }
  return BPF_CORE_READ(kn, __parent);
}

/* The cgroup path leaf first. On cgroup v2 the default hierarchy; where the task sits at its
 * root (cgroup v1 hosts), the pids controller's hierarchy, where runtimes create a cgroup per
 * container too. */
static __always_inline void put_cgroup_path(struct moat_event_header *h, struct task_struct *task,
                                            __u64 *cgroup_id) {
  struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
  if (kn && !kernfs_parent(kn)) {
    int pids = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
    if (pids >= 0 && pids < 16) {
      struct cgroup_subsys_state *css = BPF_CORE_READ(task, cgroups, subsys[pids]);
      if (css) kn = BPF_CORE_READ(css, cgroup, kn);
    }
  }
  *cgroup_id = kn ? BPF_CORE_READ(kn, id) : 0;
  __u32 start;
  char *base = field_at(h, &start);
  __u32 len = 0;
#pragma unroll
  for (int i = 0; i < CGROUP_COMPONENTS; i++) {
    if (!kn) break;
    struct kernfs_node *parent = kernfs_parent(kn);
    if (!parent) break; /* the root's name is not part of the path */
    if (!append_component(base, start, &len, BPF_CORE_READ(kn, name))) break;
    kn = parent;
  }
  put_len(h, start, len);
}

/* ---- process lifecycle ---- */

SEC("raw_tracepoint/sched_process_exec")
int moat_exec(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *task = (struct task_struct *)ctx->args[0];
  struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
  __u32 tgid = BPF_CORE_READ(task, tgid);
  if (tgid == self_tgid) return 0;
  struct moat_event_header *h = begin(MOAT_EV_EXEC);
  if (!h) return 0;
  const struct cred *cred = BPF_CORE_READ(task, cred);
  h->num[MOAT_EXEC_PPID] = BPF_CORE_READ(task, real_parent, tgid);
  h->num[MOAT_EXEC_EUID] = BPF_CORE_READ(cred, euid.val);
  h->num[MOAT_EXEC_EGID] = BPF_CORE_READ(cred, egid.val);
  h->num[MOAT_EXEC_LOGINUID] = (__u32)-1;
  if (bpf_core_field_exists(task->loginuid)) {
    h->num[MOAT_EXEC_LOGINUID] = BPF_CORE_READ(task, loginuid.val);
  }
  h->num[MOAT_EXEC_CAP_EFFECTIVE] = BPF_CORE_READ(cred, cap_effective.val);
  h->num[MOAT_EXEC_CAP_PERMITTED] = BPF_CORE_READ(cred, cap_permitted.val);
  h->num[MOAT_EXEC_CAP_INHERITABLE] = BPF_CORE_READ(cred, cap_inheritable.val);

  struct file *exe = BPF_CORE_READ(bprm, file);
  struct inode *inode = BPF_CORE_READ(exe, f_inode);
  h->num[MOAT_EXEC_INODE] = BPF_CORE_READ(inode, i_ino);
  __u64 flags = 0;
  unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
  if (magic == OVERLAYFS_SUPER_MAGIC) {
    flags |= MOAT_EXEC_OVERLAY;
    /* struct ovl_inode (overlayfs is often a module, so not in vmlinux BTF) keeps
     * `struct dentry *__upperdentry` right after its `struct inode vfs_inode`: set when the file
     * exists on the upper (container-writable) layer. */
    struct dentry *upper = 0;
    bpf_probe_read_kernel(&upper, sizeof(upper), (char *)inode + bpf_core_type_size(struct inode));
    if (upper) flags |= MOAT_EXEC_UPPER_LAYER;
  }
  if (BPF_CORE_READ(inode, __i_nlink) == 0) {
    /* memfd files have no name on any filesystem: their dentry is "memfd:NAME" */
    char prefix[6] = {};
    bpf_probe_read_kernel(prefix, sizeof(prefix), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
    if (prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' &&
        prefix[4] == 'd' && prefix[5] == ':') {
      flags |= MOAT_EXEC_MEMFD;
    }
  }
  h->num[MOAT_EXEC_FLAGS] = flags;

  put_str(h, BPF_CORE_READ(bprm, filename), 1024, 0);
  if (flags & MOAT_EXEC_MEMFD) {
    /* A memfd's dentry is the root of an internal mount: its name ("memfd:NAME", where NAME may
     * hold '/') is the whole path. */
    put_str(h, BPF_CORE_READ(exe, f_path.dentry, d_name.name), 256, 0);
  } else {
    put_dentry_path(h, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt));
  }
  unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
  __u32 arg_len = arg_end > arg_start ? arg_end - arg_start : 0;
  if (arg_len > 2048) arg_len = 2048;
  put_bytes(h, (const void *)arg_start, arg_len, 1);
  put_dentry_path(h, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt));
  struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
  if (tty) {
    put_str(h, &tty->name, 64, 0);
  } else {
    put_empty(h);
  }
  __u64 cgroup_id = 0;
  put_cgroup_path(h, task, &cgroup_id);
  h->num[MOAT_EXEC_CGROUP_ID] = cgroup_id;
  submit(h);
  return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int moat_fork(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *parent = (struct task_struct *)ctx->args[0];
  struct task_struct *child = (struct task_struct *)ctx->args[1];
  __u32 child_pid = BPF_CORE_READ(child, pid);
  __u32 child_tgid = BPF_CORE_READ(child, tgid);
  if (child_pid != child_tgid) return 0; /* a new thread, not a new process */
  __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
  if (parent_tgid == self_tgid) return 0;
  struct moat_event_header *h = begin(MOAT_EV_FORK);
  if (!h) return 0;
  h->pid = child_tgid;
  h->tid = child_pid;
  h->num[0] = parent_tgid;
  h->num[1] = BPF_CORE_READ(child, real_parent, tgid);
  submit(h);
  return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int moat_exit(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *task = (struct task_struct *)ctx->args[0];
  __u32 pid = BPF_CORE_READ(task, pid);
  __u32 tgid = BPF_CORE_READ(task, tgid);
  if (pid != tgid || tgid == self_tgid) return 0; /* only the thread group leader */
  struct moat_event_header *h = begin(MOAT_EV_EXIT);
  if (!h) return 0;
  h->num[0] = BPF_CORE_READ(task, exit_code);
  submit(h);
  return 0;
}

/* ---- syscalls ---- */

static __always_inline __u16 type_of_syscall(__u32 nr) {
  switch (nr) {
    case NR_open:
    case NR_openat:
    case NR_openat2:
    case NR_creat:
      return MOAT_EV_OPEN;
    case NR_connect:
      return MOAT_EV_CONNECT;
    case NR_accept:
    case NR_accept4:
      return MOAT_EV_ACCEPT;
    case NR_bind:
      return MOAT_EV_BIND;
    case NR_listen:
      return MOAT_EV_LISTEN;
    case NR_socket:
      return MOAT_EV_SOCKET;
    case NR_rename:
    case NR_renameat:
    case NR_renameat2:
      return MOAT_EV_RENAME;
    case NR_unlink:
    case NR_unlinkat:
      return MOAT_EV_UNLINK;
    case NR_link:
    case NR_linkat:
      return MOAT_EV_LINK;
    case NR_symlink:
    case NR_symlinkat:
      return MOAT_EV_SYMLINK;
    case NR_chmod:
    case NR_fchmod:
    case NR_fchmodat:
    case NR_fchmodat2:
      return MOAT_EV_CHMOD;
    case NR_truncate:
    case NR_ftruncate:
      return MOAT_EV_TRUNCATE;
    case NR_ptrace:
      return MOAT_EV_PTRACE;
    case NR_setuid:
    case NR_setreuid:
    case NR_setresuid:
      return MOAT_EV_SETUID;
    case NR_setgid:
    case NR_setregid:
    case NR_setresgid:
      return MOAT_EV_SETGID;
    case NR_capset:
      return MOAT_EV_CAPSET;
    case NR_setns:
      return MOAT_EV_SETNS;
    case NR_unshare:
      return MOAT_EV_UNSHARE;
    case NR_clone:
    case NR_clone3:
      return MOAT_EV_CLONE_NS;
    case NR_mount:
      return MOAT_EV_MOUNT;
    case NR_umount2:
      return MOAT_EV_UMOUNT;
    case NR_memfd_create:
      return MOAT_EV_MEMFD_CREATE;
    case NR_bpf:
      return MOAT_EV_BPF;
    case NR_init_module:
    case NR_finit_module:
      return MOAT_EV_MODULE_LOAD;
    case NR_sendto:
    case NR_sendmsg:
    case NR_sendmmsg:
      return MOAT_EV_DNS_QUERY;
    case NR_mmap:
      return MOAT_EV_MMAP_EXEC;
  }
  return 0;
}

static __always_inline struct file *file_of_fd(int fd) {
  /* The current task as a BTF pointer: its file table is reached with plain loads instead of a
   * bpf_probe_read_kernel call per field (every send of every process comes here, for DNS). */
  struct task_struct *task = bpf_get_current_task_btf();
  struct fdtable *fdt = task->files->fdt;
  unsigned int max = fdt->max_fds;
  if (fd < 0 || (unsigned int)fd >= max) return 0;
  unsigned long fds = (unsigned long)fdt->fd;
  struct file *file = 0;
  bpf_probe_read_kernel(&file, sizeof(file), (void *)(fds + (unsigned long)fd * sizeof(file)));
  return file;
}

static __always_inline struct sock *sock_of_fd(int fd) {
  struct file *file = file_of_fd(fd);
  if (!file) return 0;
  /* Only sockets: their file operations' private data is a struct socket. */
  umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
  if ((mode & 0170000) != 0140000) return 0;
  struct socket *socket = BPF_CORE_READ(file, private_data);
  return BPF_CORE_READ(socket, sk);
}

/* A struct sockaddr_in or sockaddr_in6 built from a socket's local or remote end. */
static __always_inline void put_sock_addr(struct moat_event_header *h, struct sock *sk,
                                          int remote) {
  __u32 offset;
  char *base = field_at(h, &offset);
  if (!sk || offset + 2 + 28 > MOAT_MAX_RECORD) {
    put_len(h, offset, 0);
    return;
  }
  char *dst = &base[(offset + 2) & OFFSET_MASK];
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 port_be;
  if (remote) {
    port_be = BPF_CORE_READ(sk, __sk_common.skc_dport);
  } else {
    __u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
    port_be = (port >> 8) | (port << 8);
  }
  __builtin_memset(dst, 0, 28);
  __builtin_memcpy(dst, &family, 2);
  __builtin_memcpy(dst + 2, &port_be, 2);
  if (family == AF_INET_) {
    __u32 addr = remote ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
                        : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __builtin_memcpy(dst + 4, &addr, 4);
    put_len(h, offset, 16);
  } else if (family == AF_INET6_) {
    if (remote) {
      BPF_CORE_READ_INTO(dst + 8, sk, __sk_common.skc_v6_daddr);
    } else {
      BPF_CORE_READ_INTO(dst + 8, sk, __sk_common.skc_v6_rcv_saddr);
    }
    put_len(h, offset, 28);
  } else {
    put_len(h, offset, 2);
  }
}

static __always_inline int is_sensitive_read(const char *path, __u32 len) {
#pragma unroll
  for (__u32 slot = 0; slot < 16; slot++) {
    __u32 key = slot;
    struct sensitive_prefix *p = bpf_map_lookup_elem(&sensitive_prefixes, &key);
    if (!p || p->len == 0) return 0;
    __u32 plen = p->len;
    if (plen > SENSITIVE_LEN || plen > len) continue;
    int same = 1;
    for (__u32 i = 0; i < SENSITIVE_LEN; i++) {
      if (i >= plen) break;
      if (p->text[i] != path[i & (CAPTURE_MAX - 1)]) {
        same = 0;
        break;
      }
    }
    if (same) return 1;
  }
  return 0;
}

/* Sensitive names anywhere in the path: "/.ssh/", "/proc/N/mem", "release_agent". */
static __always_inline int has_sensitive_part(const char *path, __u32 len) {
  if (len > 200) len = 200;
  for (__u32 i = 0; i + 6 <= len && i < 200; i++) {
    const char *p = &path[i & (CAPTURE_MAX - 1)];
    if (p[0] == '/' && p[1] == '.' && p[2] == 's' && p[3] == 's' && p[4] == 'h' && p[5] == '/')
      return 1;
  }
  if (len >= 13) {
    const char *tail = &path[(len - 13) & (CAPTURE_MAX - 1)];
    if (tail[0] == 'r' && tail[1] == 'e' && tail[2] == 'l' && tail[7] == '_' && tail[8] == 'a' &&
        tail[12] == 't')
      return 1;
  }
  if (len >= 10 && path[0] == '/' && path[1] == 'p' && path[2] == 'r' && path[3] == 'o' &&
      path[4] == 'c' && path[5] == '/') {
    const char *tail = &path[(len - 4) & (CAPTURE_MAX - 1)];
    if (tail[0] == '/' && tail[1] == 'm' && tail[2] == 'e' && tail[3] == 'm') return 1;
  }
  return 0;
}

static __always_inline __u16 dns_port_be(void) { return (53 >> 8) | (53 << 8); }

/* The per-CPU scratch as a new pending call of syscall `nr`. */
static __always_inline struct pending_call *new_pending_call(__u32 nr, __u16 type) {
  __u32 one = 1;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &one);
  if (!s) return 0;
  struct pending_call *call = (struct pending_call *)s->buf;
  call->nr = nr;
  call->type = type;
  call->capture_len = 0;
  call->capture2_len = 0;
  call->capture_is_addr = 0;
  return call;
}

static __always_inline void put_capture(struct moat_event_header *h, struct pending_call *call) {
  __u32 len = call->capture_len;
  if (len > CAPTURE_MAX) len = CAPTURE_MAX;
  put_bytes(h, call->capture, len, 0);
}

/* A DNS query's record: the payload, and the destination (sendto's or sendmsg's address, else the
 * connected socket's remote end). */
static __always_inline void emit_dns_query(struct pending_call *call, __u32 nr, struct sock *sk) {
  struct moat_event_header *h = begin(MOAT_EV_DNS_QUERY);
  if (!h) return;
  h->ret = 0;
  for (int i = 0; i < 6; i++) h->num[i] = call->args[i];
  h->num[11] = nr;
  put_capture(h, call);
  __u32 len = call->capture2_len;
  if (len > 128) len = 128;
  if (len > 0) {
    put_bytes(h, call->capture2, len, 0);
  } else {
    put_sock_addr(h, sk, 1);
  }
  submit(h);
}

/* The entry half of a recorded syscall, once `call` holds its arguments: what user memory could
 * change before the kernel reads it is copied now, uninteresting calls are dropped, the rest is
 * kept in the in-flight table for the exit half. `nr` and `type` are constants in the
 * per-syscall programs, so each of them keeps only its own case of the switch. */
static __always_inline int keep_pending_call(struct pending_call *call, __u32 nr, __u16 type,
                                             __u64 pid_tgid) {
  switch (type) {
    case MOAT_EV_OPEN: {
      /* The path is copied now: another thread could rewrite it before the kernel reads it. */
      const char *path;
      __u64 flags;
      if (nr == NR_open || nr == NR_creat) {
        path = (const char *)call->args[0];
        flags = nr == NR_creat ? (O_CREAT_ | O_WRONLY_ | O_TRUNC_) : call->args[1];
      } else {
        path = (const char *)call->args[1];
        if (nr == NR_openat2) {
          bpf_probe_read_user(&flags, sizeof(flags), (void *)call->args[2]);
        } else {
          flags = call->args[2];
        }
      }
      call->args[5] = flags; /* the effective flags, whichever syscall */
      long n = bpf_probe_read_user_str(call->capture, CAPTURE_MAX, path);
      if (n <= 1) return 0;
      call->capture_len = n - 1;
      int writes = (flags & (O_WRONLY_ | O_RDWR_ | O_CREAT_ | O_TRUNC_)) != 0;
      if (!writes && !is_sensitive_read(call->capture, call->capture_len) &&
          !has_sensitive_part(call->capture, call->capture_len))
        return 0;
      break;
    }
    case MOAT_EV_CONNECT:
    case MOAT_EV_BIND: {
      __u32 len = call->args[2];
      if (len > 127) len = 127;
      OPAQUE(len);
      len &= 127;
      if (bpf_probe_read_user(call->capture, len, (void *)call->args[1]) == 0) {
        call->capture_len = len;
      }
      break;
    }
    case MOAT_EV_MMAP_EXEC:
      /* mmap(addr, len, prot, flags, fd, off): only executable mappings of a file, which is
       * how the dynamic loader (and dlopen) maps a library's code. */
      if (!(call->args[2] & PROT_EXEC_) || (call->args[3] & MAP_ANONYMOUS_) ||
          (int)call->args[4] < 0)
        return 0;
      break;
    case MOAT_EV_CLONE_NS: {
      __u64 flags = call->args[0];
      if (nr == NR_clone3) {
        bpf_probe_read_user(&flags, sizeof(flags), (void *)call->args[0]);
      }
      if (!(flags & (CLONE_NS_FLAGS | CLONE_NEWTIME_))) return 0;
      call->args[5] = flags;
      break;
    }
    case MOAT_EV_DNS_QUERY: {
      struct sock *sk = sock_of_fd(call->args[0]);
      if (!sk) return 0;
      if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP_) return 0;
      __u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
      const void *payload = 0;
      __u64 payload_len = 0;
      if (nr == NR_sendto) {
        payload = (const void *)call->args[1];
        payload_len = call->args[2];
        if (call->args[4]) {
          struct sockaddr_in to = {};
          bpf_probe_read_user(&to, sizeof(to), (void *)call->args[4]);
          dport = to.sin_port;
          __u32 alen = call->args[5];
          if (alen > 127) alen = 127;
          OPAQUE(alen);
          alen &= 127;
          if (bpf_probe_read_user(call->capture2, alen, (void *)call->args[4]) == 0)
            call->capture2_len = alen;
        }
      } else {
        /* sendmsg(fd, msg) and sendmmsg(fd, msgvec, ...): the first message's first buffer
         * (glibc's resolver sends the A and AAAA queries with one sendmmsg). */
        struct user_msghdr msg = {};
        bpf_probe_read_user(&msg, sizeof(msg), (void *)call->args[1]);
        if (msg.msg_name) {
          struct sockaddr_in to = {};
          bpf_probe_read_user(&to, sizeof(to), msg.msg_name);
          dport = to.sin_port;
          __u32 alen = msg.msg_namelen;
          if (alen > 127) alen = 127;
          OPAQUE(alen);
          alen &= 127;
          if (bpf_probe_read_user(call->capture2, alen, msg.msg_name) == 0)
            call->capture2_len = alen;
        }
        struct iovec iov = {};
        bpf_probe_read_user(&iov, sizeof(iov), msg.msg_iov);
        payload = iov.iov_base;
        payload_len = iov.iov_len;
      }
      if (dport != dns_port_be() || !payload) return 0;
      if (payload_len > CAPTURE_MAX) payload_len = CAPTURE_MAX;
      OPAQUE(payload_len);
      payload_len &= CAPTURE_MAX * 2 - 1;
      if (payload_len > CAPTURE_MAX) return 0;
      if (bpf_probe_read_user(call->capture, payload_len, payload) != 0) return 0;
      call->capture_len = payload_len;
      /* Recorded now, as sent: the exit would only add the byte count, and sparing every send
       * of every process an exit program is most of the sensor's cost on a busy server. */
      emit_dns_query(call, nr, sk);
      return 0;
    }
  }
  if (bpf_map_update_elem(&in_flight, &pid_tgid, call, BPF_ANY) != 0) {
    count(MOAT_COUNTER_PENDING_LOST);
  }
  return 0;
}


/* The exit half: the return value, the rest of the arguments, and the record. */
static __always_inline int complete_call(struct pending_call *call, __u32 nr, __u16 type, long ret,
                                         __u64 pid_tgid) {
  /* Failed calls are not reported, except connects in progress (non-blocking sockets). */
  if (ret < 0 && !(type == MOAT_EV_CONNECT && ret == -EINPROGRESS_)) goto done;
  if (type == MOAT_EV_SOCKET) {
    __u64 family = call->args[0], sock_type = call->args[1] & 0xf;
    if (family != AF_PACKET_ && sock_type != SOCK_RAW_) goto done;
  }
  struct file *mapped = 0;
  struct mapped_file_key mapped_key = {};
  if (type == MOAT_EV_MMAP_EXEC) {
    /* Reported once per file and mount namespace: the in-use set needs the file, not each
     * process that maps it (every process start maps libc). */
    mapped = file_of_fd(call->args[4]);
    if (!mapped) goto done;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    mapped_key.inode = BPF_CORE_READ(mapped, f_inode, i_ino);
    mapped_key.dev = BPF_CORE_READ(mapped, f_inode, i_sb, s_dev);
    mapped_key.mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
    if (bpf_map_lookup_elem(&mapped_files, &mapped_key)) goto done;
  }
  struct moat_event_header *h = begin(type);
  if (!h) goto done;
  h->ret = ret;
  for (int i = 0; i < 6; i++) h->num[i] = call->args[i];
  h->num[11] = nr;
  switch (type) {
    case MOAT_EV_OPEN:
    case MOAT_EV_BIND:
      put_capture(h, call);
      break;
    case MOAT_EV_CONNECT:
      put_capture(h, call);
      put_sock_addr(h, sock_of_fd(call->args[0]), 0);
      break;
    case MOAT_EV_ACCEPT: {
      struct sock *sk = sock_of_fd(ret);
      put_sock_addr(h, sk, 1);
      put_sock_addr(h, sk, 0);
      break;
    }
    case MOAT_EV_LISTEN:
      put_sock_addr(h, sock_of_fd(call->args[0]), 0);
      break;
    case MOAT_EV_RENAME:
    case MOAT_EV_LINK:
      /* rename(old, new), link(old, new); the *at forms: (olddirfd, old, newdirfd, new, ...) */
      if (nr == NR_rename || nr == NR_link) {
        put_str(h, (void *)call->args[0], 1024, 1);
        put_str(h, (void *)call->args[1], 1024, 1);
      } else {
        put_str(h, (void *)call->args[1], 1024, 1);
        put_str(h, (void *)call->args[3], 1024, 1);
      }
      break;
    case MOAT_EV_SYMLINK:
      put_str(h, (void *)call->args[0], 1024, 1);
      put_str(h, (void *)call->args[nr == NR_symlink ? 1 : 2], 1024, 1);
      break;
    case MOAT_EV_UNLINK:
    case MOAT_EV_CHMOD:
    case MOAT_EV_TRUNCATE:
      if (nr == NR_unlink || nr == NR_chmod || nr == NR_truncate) {
        put_str(h, (void *)call->args[0], 1024, 1);
      } else if (nr == NR_unlinkat || nr == NR_fchmodat || nr == NR_fchmodat2) {
        put_str(h, (void *)call->args[1], 1024, 1);
      } else {
        put_empty(h); /* fchmod, ftruncate: by descriptor */
      }
      break;
    case MOAT_EV_CAPSET:
      put_bytes(h, (void *)call->args[1], 24, 1);
      break;
    case MOAT_EV_MOUNT:
      put_str(h, (void *)call->args[0], 512, 1);
      put_str(h, (void *)call->args[1], 1024, 1);
      put_str(h, (void *)call->args[2], 64, 1);
      break;
    case MOAT_EV_UMOUNT:
      put_str(h, (void *)call->args[0], 1024, 1);
      break;
    case MOAT_EV_MEMFD_CREATE:
      put_str(h, (void *)call->args[0], 256, 1);
      break;
    case MOAT_EV_MODULE_LOAD:
      put_str(h, (void *)call->args[nr == NR_init_module ? 2 : 1], 256, 1);
      break;
    case MOAT_EV_MMAP_EXEC:
      put_dentry_path(h, BPF_CORE_READ(mapped, f_path.dentry), BPF_CORE_READ(mapped, f_path.mnt));
      break;
  }
  /* A mapping is remembered only once its record is out: a dropped one is reported again. */
  if (submit(h) && type == MOAT_EV_MMAP_EXEC) {
    __u8 seen = 1;
    bpf_map_update_elem(&mapped_files, &mapped_key, &seen, BPF_ANY);
  }
done:
  bpf_map_delete_elem(&in_flight, &pid_tgid);
  return 0;
}

/* How the syscall half attaches (docs/sensor.md "What loads"). Where the kernel's per-syscall
 * tracepoints can be attached (their ids are read from tracefs, which the loader mounts in a
 * private mount namespace when the host has none), one program pair per recorded syscall: the
 * kernel then runs no BPF at all for the other calls (read, write, epoll_wait, ...), which is
 * most of the cost on syscall-heavy work (issue 13 "Speed"; measured on a getppid loop: 12 ns a
 * call against 41 ns for an empty sys_enter/sys_exit pair). Otherwise the tp_btf sys_enter and
 * sys_exit pair sees every call and picks by number. The loader loads one set or the other. */

SEC("tp_btf/sys_enter")
int BPF_PROG(moat_sys_enter, struct pt_regs *regs, long id) {
  /* The number first, before any helper call: most calls are none of the sensor's. */
  __u32 nr = id;
  __u16 type = type_of_syscall(nr);
  if (!type) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if ((pid_tgid >> 32) == self_tgid) return 0;
  struct pending_call *call = new_pending_call(nr, type);
  if (!call) return 0;
  /* The x86_64 syscall calling convention; the registers are a BTF-typed pointer, read
   * directly. */
  call->args[0] = regs->di;
  call->args[1] = regs->si;
  call->args[2] = regs->dx;
  call->args[3] = regs->r10;
  call->args[4] = regs->r8;
  call->args[5] = regs->r9;
  return keep_pending_call(call, nr, type, pid_tgid);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(moat_sys_exit, struct pt_regs *regs, long ret) {
  __u16 type = type_of_syscall((__u32)regs->orig_ax);
  /* DNS sends are recorded whole at entry. */
  if (!type || type == MOAT_EV_DNS_QUERY) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if ((pid_tgid >> 32) == self_tgid) return 0;
  struct pending_call *call = bpf_map_lookup_elem(&in_flight, &pid_tgid);
  if (!call) return 0;
  return complete_call(call, call->nr, call->type, ret, pid_tgid);
}

/* The records of the syscalls:sys_enter_* and sys_exit_* tracepoints as BPF sees them. A program
 * may read no further than the event's last field (the kernel refuses to attach it otherwise),
 * so each enter program reads only its syscall's arguments. */
struct syscall_enter_record {
  __u64 common;
  __s32 nr;
  __s32 pad;
  __u64 args[6];
};
struct syscall_exit_record {
  __u64 common;
  __s32 nr;
  __s32 pad;
  __s64 ret;
};

#define SYSCALL_ARG(i, nargs) ((i) < (nargs) ? ctx->args[i] : 0)

/* The entry program of a recorded syscall: EVENT is the tracepoint's name (sys_enter_EVENT),
 * which is the syscall's name except for umount2 (its tracepoint is sys_enter_umount). */
#define SYSCALL_ENTRY_PROGRAM(event, NR, nargs)                                                \
  SEC("tracepoint/syscalls/sys_enter_" #event)                                                \
  int moat_enter_##event(struct syscall_enter_record *ctx) {                                   \
    __u64 pid_tgid = bpf_get_current_pid_tgid();                                               \
    if ((pid_tgid >> 32) == self_tgid) return 0;                                               \
    struct pending_call *call = new_pending_call(NR, type_of_syscall(NR));                     \
    if (!call) return 0;                                                                       \
    call->args[0] = SYSCALL_ARG(0, nargs);                                                     \
    call->args[1] = SYSCALL_ARG(1, nargs);                                                     \
    call->args[2] = SYSCALL_ARG(2, nargs);                                                     \
    call->args[3] = SYSCALL_ARG(3, nargs);                                                     \
    call->args[4] = SYSCALL_ARG(4, nargs);                                                     \
    call->args[5] = SYSCALL_ARG(5, nargs);                                                     \
    return keep_pending_call(call, NR, type_of_syscall(NR), pid_tgid);                         \
  }

/* A recorded syscall's pair of programs: the entry keeps the call, the exit completes it. */
#define RECORD_SYSCALL(event, NR, nargs)                                                       \
  SYSCALL_ENTRY_PROGRAM(event, NR, nargs)                                                      \
  SEC("tracepoint/syscalls/sys_exit_" #event)                                                 \
  int moat_exit_##event(struct syscall_exit_record *ctx) {                                     \
    __u64 pid_tgid = bpf_get_current_pid_tgid();                                               \
    if ((pid_tgid >> 32) == self_tgid) return 0;                                               \
    struct pending_call *call = bpf_map_lookup_elem(&in_flight, &pid_tgid);                    \
    if (!call) return 0;                                                                       \
    /* An entry another syscall left (its exit was not seen) is dropped, not misread. */      \
    if (call->nr != NR) {                                                                      \
      bpf_map_delete_elem(&in_flight, &pid_tgid);                                              \
      return 0;                                                                                \
    }                                                                                          \
    return complete_call(call, NR, type_of_syscall(NR), ctx->ret, pid_tgid);                   \
  }

/* A syscall recorded whole at entry (the DNS sends): no exit program, so a send costs one
 * program run, not two. */
#define RECORD_SYSCALL_AT_ENTRY(event, NR, nargs) SYSCALL_ENTRY_PROGRAM(event, NR, nargs)

RECORD_SYSCALL(open, NR_open, 3)
RECORD_SYSCALL(openat, NR_openat, 4)
RECORD_SYSCALL(openat2, NR_openat2, 4)
RECORD_SYSCALL(creat, NR_creat, 2)
RECORD_SYSCALL(connect, NR_connect, 3)
RECORD_SYSCALL(accept, NR_accept, 3)
RECORD_SYSCALL(accept4, NR_accept4, 4)
RECORD_SYSCALL(bind, NR_bind, 3)
RECORD_SYSCALL(listen, NR_listen, 2)
RECORD_SYSCALL(socket, NR_socket, 3)
RECORD_SYSCALL(rename, NR_rename, 2)
RECORD_SYSCALL(renameat, NR_renameat, 4)
RECORD_SYSCALL(renameat2, NR_renameat2, 5)
RECORD_SYSCALL(unlink, NR_unlink, 1)
RECORD_SYSCALL(unlinkat, NR_unlinkat, 3)
RECORD_SYSCALL(link, NR_link, 2)
RECORD_SYSCALL(linkat, NR_linkat, 5)
RECORD_SYSCALL(symlink, NR_symlink, 2)
RECORD_SYSCALL(symlinkat, NR_symlinkat, 3)
RECORD_SYSCALL(chmod, NR_chmod, 2)
RECORD_SYSCALL(fchmod, NR_fchmod, 2)
RECORD_SYSCALL(fchmodat, NR_fchmodat, 3)
RECORD_SYSCALL(fchmodat2, NR_fchmodat2, 4)
RECORD_SYSCALL(truncate, NR_truncate, 2)
RECORD_SYSCALL(ftruncate, NR_ftruncate, 2)
RECORD_SYSCALL(ptrace, NR_ptrace, 4)
RECORD_SYSCALL(setuid, NR_setuid, 1)
RECORD_SYSCALL(setreuid, NR_setreuid, 2)
RECORD_SYSCALL(setresuid, NR_setresuid, 3)
RECORD_SYSCALL(setgid, NR_setgid, 1)
RECORD_SYSCALL(setregid, NR_setregid, 2)
RECORD_SYSCALL(setresgid, NR_setresgid, 3)
RECORD_SYSCALL(capset, NR_capset, 2)
RECORD_SYSCALL(setns, NR_setns, 2)
RECORD_SYSCALL(unshare, NR_unshare, 1)
RECORD_SYSCALL(clone, NR_clone, 5)
RECORD_SYSCALL(clone3, NR_clone3, 2)
RECORD_SYSCALL(mount, NR_mount, 5)
RECORD_SYSCALL(umount, NR_umount2, 2)
RECORD_SYSCALL(memfd_create, NR_memfd_create, 2)
RECORD_SYSCALL(bpf, NR_bpf, 3)
RECORD_SYSCALL(init_module, NR_init_module, 3)
RECORD_SYSCALL(finit_module, NR_finit_module, 3)
RECORD_SYSCALL_AT_ENTRY(sendto, NR_sendto, 6)
RECORD_SYSCALL_AT_ENTRY(sendmsg, NR_sendmsg, 3)
RECORD_SYSCALL_AT_ENTRY(sendmmsg, NR_sendmmsg, 4)
RECORD_SYSCALL(mmap, NR_mmap, 6)
