#include <cstdio>

#include "greeting.h"

int main(int argc, char** argv) {
  std::puts(Greeting(argc > 1 ? argv[1] : "").c_str());
  return 0;
}
