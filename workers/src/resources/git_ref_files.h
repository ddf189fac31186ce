// The files a get of the `git` type leaves in the checkout's .git directory, named and written
// as concourse/git-resource writes them, so a task (or an `additional_tags:` of a later put)
// written against one works with the other: ref, commit, short_ref, branch, tags, author,
// author_date, committer (the author's email, as git-resource has it), committer_name,
// committer_date, commit_message, commit_timestamp, describe_ref, url and metadata.json.
// Pure apart from the file writes; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/git_repository.h"
#include "baton/workers/resource_type.h"
#include "resources/git_source.h"

namespace baton::workers::resources {

// `when` in a `git log --date=<format>` format (iso8601, iso8601-strict, rfc2822, short, raw,
// unix, default); iso8601 for anything else.
std::string GitDate(const GitSignature& when, const std::string& format = "iso8601");

// The web page of commit `sha` for an http(s) or ssh remote ("https://host/owner/repo/commit/
// <sha>", as GitHub, GitLab and Gitea serve it; credentials and ports dropped; http stays http);
// "" for local paths and git://.
std::string CommitWebUrl(const std::string& remote_url, const std::string& sha);

struct GitRefFiles {
  std::string ref;  // the version's ref: the sha, or the tag name when tracking tags
  GitCommit commit;
  std::string branch;
  std::vector<std::string> tags;  // of the commit
  std::string describe;           // `git describe` of the commit
  std::string url;                // CommitWebUrl
  std::vector<MetadataField> metadata;
};

// Writes the files into `checkout`/.git; `params` gives short_ref_format and timestamp_format.
Status WriteGitRefFiles(const std::string& checkout, const GitRefFiles& files,
                        const GitGetParams& params);
// The same files, empty: made ahead in a spare checkout (git_spare.h), so that the get that takes
// it rewrites them in place instead of creating them. WriteGitRefFiles writes every one of them.
Status CreateGitRefFilePlaceholders(const std::string& checkout);

}  // namespace baton::workers::resources
