#include "../src/greeting.h"
#include <string>
int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  if (which == "hello") return Greeting("x").rfind("hello", 0) == 0 ? 0 : 1;
  if (which == "name") return Greeting("ada") == "hello, ada" ? 0 : 1;
  return 1;
}
