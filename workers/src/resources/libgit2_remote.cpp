// Remotes for fetch, push and clone, made without libgit2's `insteadOf` lookup: libgit2 1.5
// matches every config key against a regex for it and leaks pcre2's match data (~20 KB) on each
// key that does not match, ~95 KB per fetch. Baton applies `url.<base>.insteadOf` itself.
#include <algorithm>
#include <cctype>

#include "resources/libgit2_repository.h"

namespace baton::workers::resources {
namespace {

bool EndsWithNoCase(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

}  // namespace

std::string ApplyInsteadOf(git_repository* repo, const std::string& url) {
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, repo) != 0) {
    git_error_clear();
    return url;
  }
  // git's rule: the longest `insteadOf` prefix of the URL wins.
  std::string best_base, best_prefix;
  git_config_iterator* it = nullptr;
  if (git_config_iterator_new(&it, cfg) == 0) {
    git_config_entry* entry = nullptr;
    const std::string head = "url.", tail = ".insteadof";
    while (git_config_next(&entry, it) == 0) {
      std::string name = entry->name ? entry->name : "";
      std::string prefix = entry->value ? entry->value : "";
      if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
          !EndsWithNoCase(name, tail) || prefix.empty() || url.rfind(prefix, 0) != 0 ||
          prefix.size() <= best_prefix.size()) {
        continue;
      }
      best_prefix = prefix;
      best_base = name.substr(head.size(), name.size() - head.size() - tail.size());
    }
    git_config_iterator_free(it);
  }
  git_config_free(cfg);
  git_error_clear();
  return best_prefix.empty() ? url : best_base + url.substr(best_prefix.size());
}

Result<RemotePtr> OpenAnonymousRemote(git_repository* repo, const GitRemote& remote,
                                      const std::string& what) {
  std::string url = ApplyInsteadOf(repo, remote.url);
  git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
  opts.repository = repo;
  opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* raw = nullptr;
  int rc = git_remote_create_with_opts(&raw, url.c_str(), &opts);
  if (rc != 0) return GitError(rc, what, &remote);
  return RemotePtr(raw);
}

int CreateCloneRemote(git_remote** out, git_repository* repo, const char* name, const char* url,
                      void* /*payload*/) {
  git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
  opts.repository = repo;
  opts.name = name;
  opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;  // a clone of the local mirror: nothing to apply
  return git_remote_create_with_opts(out, url, &opts);
}

}  // namespace baton::workers::resources
