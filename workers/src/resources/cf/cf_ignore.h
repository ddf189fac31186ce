// What `cf push` leaves out of an app's bits: the CLI's default exclusions (.cfignore,
// /manifest.yml, .gitignore, .git, .hg, .svn, _darcs, .DS_Store) and the app directory's
// `.cfignore`, read with .gitignore rules: `#` comments, `!` re-includes, a trailing `/` matches
// directories only, a pattern with a `/` (or a leading one) is anchored at the app directory,
// others match a name at any depth, `*`/`?`/`[...]` do not cross `/` and `**` does. The last
// matching line wins. Immutable after Load; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers::resources {

class CfIgnore {
 public:
  // The default exclusions plus `<app_dir>/.cfignore` when it exists.
  static Result<CfIgnore> Load(const std::string& app_dir);
  // Adds one .gitignore-style line.
  void Add(const std::string& line);
  // True when `rel` (relative to the app directory, '/'-separated) is left out.
  bool Ignored(const std::string& rel, bool is_dir) const;

 private:
  struct Rule {
    std::string pattern;
    bool negated = false;
    bool dir_only = false;
    bool anchored = false;
  };
  std::vector<Rule> rules_;
};

}  // namespace baton::workers::resources
