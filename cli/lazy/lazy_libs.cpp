// The run-time half of the lazily loaded libraries: see lazy_libs.h.
#include "lazy_libs.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>

extern "C" void* baton_lazy_resolve_slot(BatonLazyLib* lib, unsigned long index) {
  void* handle = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
  if (handle == nullptr) {
    // Two threads may both get here: dlopen() of a loaded library returns the same handle.
    handle = ::dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      std::fprintf(stderr,
                   "baton: cannot load the shared library %s, which baton needs for %s: %s\n"
                   "baton: install it (on Debian 12: apt-get install the package that ships %s, "
                   "see .ci/packages/) or, for a build that names it at link time, configure "
                   "with -DBATON_LAZY_LIBS=OFF\n",
                   lib->soname, lib->what, why != nullptr ? why : "unknown error", lib->soname);
      std::fflush(stderr);
      ::_exit(127);
    }
    __atomic_store_n(&lib->handle, handle, __ATOMIC_RELEASE);
  }
  const char* name = lib->names + lib->offsets[index];
  void* fn = ::dlsym(handle, name);
  if (fn == nullptr) {
    const char* why = ::dlerror();
    std::fprintf(stderr,
                 "baton: the shared library %s has no function %s (%s): it is not the version "
                 "baton was built against; rebuild baton on this machine (make build)\n",
                 lib->soname, name, why != nullptr ? why : "not found");
    std::fflush(stderr);
    ::_exit(127);
  }
  __atomic_store_n(&lib->slots[index], fn, __ATOMIC_RELEASE);
  return fn;
}

// baton_lazy_resolve: every stub jumps here with r10 = its BatonLazyLib and r11 = its index
// when its slot is still empty. The System V x86-64 ABI passes arguments in rdi, rsi, rdx, rcx,
// r8, r9 and xmm0-7 (al counts the vector registers of a variadic call); r10 and r11 are scratch
// registers no C function takes an argument in. They are all saved around the C resolver, and
// the call continues in the real function as if the stub had jumped there directly.
__asm__(R"(
  .text
  .globl baton_lazy_resolve
  .hidden baton_lazy_resolve
  .type baton_lazy_resolve, @function
  .p2align 4
baton_lazy_resolve:
  .cfi_startproc
  pushq %rbp
  .cfi_def_cfa_offset 16
  .cfi_offset %rbp, -16
  movq %rsp, %rbp
  .cfi_def_cfa_register %rbp
  subq $192, %rsp
  andq $-16, %rsp
  movq %rdi, 0(%rsp)
  movq %rsi, 8(%rsp)
  movq %rdx, 16(%rsp)
  movq %rcx, 24(%rsp)
  movq %r8, 32(%rsp)
  movq %r9, 40(%rsp)
  movq %rax, 48(%rsp)
  movaps %xmm0, 64(%rsp)
  movaps %xmm1, 80(%rsp)
  movaps %xmm2, 96(%rsp)
  movaps %xmm3, 112(%rsp)
  movaps %xmm4, 128(%rsp)
  movaps %xmm5, 144(%rsp)
  movaps %xmm6, 160(%rsp)
  movaps %xmm7, 176(%rsp)
  movq %r10, %rdi
  movq %r11, %rsi
  call baton_lazy_resolve_slot
  movq %rax, %r11
  movq 0(%rsp), %rdi
  movq 8(%rsp), %rsi
  movq 16(%rsp), %rdx
  movq 24(%rsp), %rcx
  movq 32(%rsp), %r8
  movq 40(%rsp), %r9
  movq 48(%rsp), %rax
  movaps 64(%rsp), %xmm0
  movaps 80(%rsp), %xmm1
  movaps 96(%rsp), %xmm2
  movaps 112(%rsp), %xmm3
  movaps 128(%rsp), %xmm4
  movaps 144(%rsp), %xmm5
  movaps 160(%rsp), %xmm6
  movaps 176(%rsp), %xmm7
  movq %rbp, %rsp
  popq %rbp
  .cfi_def_cfa %rsp, 8
  jmp *%r11
  .cfi_endproc
  .size baton_lazy_resolve, .-baton_lazy_resolve
)");
