#include "resources/cf/cf_ignore.h"

#include <fnmatch.h>

#include <fstream>

namespace baton::workers::resources {
namespace {

// The cf CLI's default exclusions (cf push leaves these out of every app directory).
constexpr const char* kDefaultLines[] = {".cfignore", "/manifest.yml", ".gitignore", ".git",
                                         ".hg",       ".svn",          "_darcs",     ".DS_Store"};

bool Glob(const std::string& pattern, const std::string& text) {
  // `**` crosses directories; without it a wildcard stays inside one path segment.
  int flags = pattern.find("**") == std::string::npos ? FNM_PATHNAME : 0;
  return fnmatch(pattern.c_str(), text.c_str(), flags) == 0;
}

std::string BaseName(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

}  // namespace

Result<CfIgnore> CfIgnore::Load(const std::string& app_dir) {
  CfIgnore out;
  for (const char* line : kDefaultLines) out.Add(line);
  std::ifstream in(app_dir + "/.cfignore");
  if (!in.is_open()) return out;
  for (std::string line; std::getline(in, line);) out.Add(line);
  if (in.bad()) return IoError("cannot read " + app_dir + "/.cfignore");
  return out;
}

void CfIgnore::Add(const std::string& raw) {
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  if (line.empty() || line[0] == '#') return;
  Rule rule;
  if (line[0] == '!') rule.negated = true, line.erase(0, 1);
  if (line.rfind("\\", 0) == 0) line.erase(0, 1);  // "\#file", "\!file"
  if (!line.empty() && line.back() == '/') rule.dir_only = true, line.pop_back();
  if (line.rfind("**/", 0) == 0) line.erase(0, 3);  // "**/name": any depth, as no slash
  if (line.find('/') != std::string::npos) rule.anchored = true;
  if (!line.empty() && line[0] == '/') line.erase(0, 1);
  if (line.empty()) return;
  rule.pattern = line;
  rules_.push_back(std::move(rule));
}

bool CfIgnore::Ignored(const std::string& rel, bool is_dir) const {
  bool ignored = false;
  for (const Rule& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    bool match = rule.anchored ? Glob(rule.pattern, rel) : Glob(rule.pattern, BaseName(rel));
    if (match) ignored = !rule.negated;
  }
  return ignored;
}

}  // namespace baton::workers::resources
