/* baton-sandbox-init: PID 1 of a sandbox once its task has started (see sandbox_child.cpp).
 *
 * The sandbox's init builds the sandbox and starts the task while it still shares the worker's
 * memory (clone with CLONE_VM | CLONE_VFORK: nothing of the worker is copied), then executes this
 * program from a sealed memfd (init_image.h), which only waits: it forwards SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to every process of the sandbox, reaps them, and when the
 * task (the pid in argv[1]) exits, kills what is left and exits with the task's status as a shell
 * reports it (128 + signal when killed).
 *
 * The signals it waits for were blocked before the exec, and blocked signals stay pending across
 * it: a task that exited (or a signal that came) before this program ran is not missed.
 *
 * No libc: a static program of a few kB runs in the sandbox whatever its root holds and starts in
 * ~0.04 ms (a static glibc one takes ~0.3 ms). System calls only, x86-64 Linux. */

#define SYS_EXIT_GROUP 231
#define SYS_KILL 62
#define SYS_WAIT4 61
#define SYS_RT_SIGTIMEDWAIT 128
#define SYS_RT_SIGPROCMASK 14
#define SYS_PRCTL 157
#define SYS_GETPID 39

#define SIG_HUP 1
#define SIG_INT 2
#define SIG_QUIT 3
#define SIG_KILL 9
#define SIG_USR1 10
#define SIG_USR2 12
#define SIG_TERM 15
#define SIG_CHLD 17
#define SIG_BLOCK_HOW 0
#define WNOHANG_FLAG 1
#define EINTR_ERR 4
#define ECHILD_ERR 10
#define PR_SET_NAME_OPT 15
#define SETUP_FAILED_EXIT 125

typedef unsigned long u64;

static long Syscall4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

static __attribute__((noreturn)) void Exit(int code) {
  for (;;) Syscall4(SYS_EXIT_GROUP, code, 0, 0, 0);
}

static u64 Bit(int sig) { return 1UL << (sig - 1); }

/* A decimal pid > 0, or -1 for anything else. */
static long ParsePid(const char* s) {
  long pid = 0;
  if (s == 0 || *s == '\0') return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || pid > 4194304) return -1; /* PID_MAX_LIMIT */
    pid = pid * 10 + (*s - '0');
  }
  return pid > 0 ? pid : -1;
}

static int ExitCodeOf(int status) {
  int sig = status & 0x7f;
  if (sig == 0) return (status >> 8) & 0xff; /* exited */
  if (sig != 0x7f) return 128 + sig;         /* killed */
  return 255;
}

/* Reaps every exited child; returns 1 (and the status) once the task was among them. */
static int ReapAll(long task, int* task_status) {
  int found = 0;
  for (;;) {
    int status = 0;
    long pid = Syscall4(SYS_WAIT4, -1, (long)&status, WNOHANG_FLAG, 0);
    if (pid <= 0) return found;
    if (pid == task) {
      *task_status = status;
      found = 1;
    }
  }
}

/* Kills everything left in the sandbox and waits until it is gone. */
static __attribute__((noreturn)) void EndWith(int code) {
  Syscall4(SYS_KILL, -1, SIG_KILL, 0, 0);
  for (;;) {
    int status;
    long pid = Syscall4(SYS_WAIT4, -1, (long)&status, 0, 0);
    if (pid < 0 && pid != -EINTR_ERR) break; /* -ECHILD: nothing left */
  }
  Exit(code);
}

void InitMain(long argc, char** argv) {
  /* kill(-1) below is meant for the sandbox's PID namespace alone: as any other process (run by
   * hand on the host, as root) it would kill every process of the machine. */
  if (Syscall4(SYS_GETPID, 0, 0, 0, 0) != 1) Exit(SETUP_FAILED_EXIT);
  /* The worker's start-up check that this program can be executed where its inits run. */
  if (argc == 2 && argv[1][0] == 'p' && argv[1][1] == 'r' && argv[1][2] == 'o' &&
      argv[1][3] == 'b' && argv[1][4] == 'e' && argv[1][5] == '\0') {
    Exit(0);
  }
  Syscall4(SYS_PRCTL, PR_SET_NAME_OPT, (long)"baton-init", 0, 0);
  const int forwarded[] = {SIG_TERM, SIG_INT, SIG_HUP, SIG_QUIT, SIG_USR1, SIG_USR2};
  u64 set = Bit(SIG_CHLD);
  for (unsigned i = 0; i < sizeof forwarded / sizeof forwarded[0]; ++i) set |= Bit(forwarded[i]);
  /* Already blocked by the init before the exec; blocked again in case it was run otherwise. */
  Syscall4(SYS_RT_SIGPROCMASK, SIG_BLOCK_HOW, (long)&set, 0, sizeof set);
  long task = argc == 2 ? ParsePid(argv[1]) : -1;
  if (task < 0) EndWith(SETUP_FAILED_EXIT); /* started by something else than the sandbox */
  int task_status = 0;
  if (ReapAll(task, &task_status)) EndWith(ExitCodeOf(task_status));
  for (;;) {
    unsigned char info[128]; /* siginfo_t */
    long sig = Syscall4(SYS_RT_SIGTIMEDWAIT, (long)&set, (long)info, 0, sizeof set);
    if (sig < 0) continue;
    if (sig != SIG_CHLD) {
      Syscall4(SYS_KILL, -1, sig, 0, 0);
      continue;
    }
    if (ReapAll(task, &task_status)) EndWith(ExitCodeOf(task_status));
    /* No child left but the task was never reaped: it cannot be ours. */
    long none = Syscall4(SYS_WAIT4, -1, 0, WNOHANG_FLAG, 0);
    if (none == -ECHILD_ERR) EndWith(SETUP_FAILED_EXIT);
  }
}

/* The kernel starts a static program with argc at the stack pointer, argv after it. */
__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov (%rsp), %rdi\n"
    "  lea 8(%rsp), %rsi\n"
    "  and $-16, %rsp\n"
    "  call InitMain\n"
    "  mov $1, %edi\n"
    "  mov $231, %eax\n"
    "  syscall\n"
    "  hlt\n");
