// A dependency-free unit test, so the sample builds with nothing but g++.
#include <cstdio>

#include "greeting.h"

static int failures = 0;
static void Expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

int main() {
  Expect(Greeting("baton") == "hello, baton!", "greets by name");
  Expect(Greeting("") == "hello, world!", "greets the world by default");
  std::printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
