// Lazily loaded shared libraries for the `baton` executable (cmake/LazyLibs.cmake).
//
// The executable does not name libgit2, libarchive, libzip, SQLite or libpq as DT_NEEDED: with
// their ~40 transitive libraries the dynamic loader spent ~9 ms of every start on them, and a
// client command (`baton trigger-job`, `--version`) calls none of them. Instead every function
// they export has a small stub in the executable (generated at configure time from the library's
// dynamic symbol table). A stub jumps through its slot; the first call of a function finds the
// slot empty, and baton_lazy_resolve (x86-64 assembly) saves the argument registers, calls
// baton_lazy_resolve_slot, which dlopen()s the library once and dlsym()s the function into the
// slot, restores the registers and jumps to it. Only x86-64 ELF; other builds link normally.
#pragma once

#include <cstdint>

extern "C" {

struct BatonLazyLib {
  const char* soname;            // what dlopen() is given, e.g. "libgit2.so.1.5"
  const char* what;              // what baton needs it for, for the error message
  const char* names;             // the function names, each ending in '\0'
  const std::uint32_t* offsets;  // offsets[i]: where function i's name starts in `names`
  void** slots;                  // slots[i]: function i's address once resolved, else null
  std::uint32_t count;
  void* handle;  // the dlopen() handle once loaded
};

// Loads lib (once) and resolves function `index` into its slot; returns its address. If the
// library or the function cannot be found, prints what is wrong and what to do, and exits 127.
void* baton_lazy_resolve_slot(BatonLazyLib* lib, unsigned long index);
}
