// Hostile inputs shared by the tests of tests/security.
#pragma once

#include <string>

namespace baton::testing {

// 605 bytes: nine levels of ten aliases each, 10^9 scalars once expanded, in a resource's
// source (which becomes JSON, so a loader that expands aliases builds them all). The first
// alias past a million expanded nodes is on line 11 (`f: &f [...]`).
inline std::string BillionLaughs() {
  std::string yaml =
      "# billion laughs: nine levels of 10 aliases, 10^9 nodes.\n"
      "resources:\n"
      "- name: r\n"
      "  type: mock\n"
      "  source:\n"
      "    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  const std::string levels = "abcdefghi";
  for (size_t i = 1; i < levels.size(); ++i) {
    std::string prev(1, levels[i - 1]), name(1, levels[i]);
    yaml += "    " + name + ": &" + name + " [";
    for (int k = 0; k < 10; ++k) yaml += (k ? ", *" : "*") + prev;
    yaml += "]\n";
  }
  yaml += "jobs:\n- name: j\n  plan:\n  - get: r\n";
  return yaml;
}

}  // namespace baton::testing
