#include "resources/registry_image/image_version.h"

#include <charconv>
#include <tuple>

#include "baton/common/strings.h"

namespace baton::workers::resources {
namespace {

// A run of decimal digits that fits 64 bits.
std::optional<uint64_t> Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// Dot-separated identifiers of [0-9A-Za-z-], none empty.
bool Identifiers(std::string_view s) {
  if (s.empty()) return false;
  bool empty_part = true;
  for (char c : s) {
    if (c == '.') {
      if (empty_part) return false;
      empty_part = true;
    } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '-') {
      empty_part = false;
    } else {
      return false;
    }
  }
  return !empty_part;
}

}  // namespace

std::string SemanticVersion::ToString() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) out += "-" + prerelease;
  if (!build.empty()) out += "+" + build;
  return out;
}

std::optional<SemanticVersion> ParseSemanticVersion(const std::string& text) {
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  SemanticVersion v;
  if (size_t plus = s.find('+'); plus != std::string_view::npos) {
    if (!Identifiers(s.substr(plus + 1))) return std::nullopt;
    v.build = std::string(s.substr(plus + 1));
    s = s.substr(0, plus);
  }
  if (size_t dash = s.find('-'); dash != std::string_view::npos) {
    if (!Identifiers(s.substr(dash + 1))) return std::nullopt;
    v.prerelease = std::string(s.substr(dash + 1));
    s = s.substr(0, dash);
  }
  std::vector<std::string> parts = Split(s, '.');
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  uint64_t* fields[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < parts.size(); ++i) {
    std::optional<uint64_t> n = Number(parts[i]);
    if (!n) return std::nullopt;
    *fields[i] = *n;
  }
  return v;
}

std::vector<std::string> AliasTagsToBump(const SemanticVersion& version, const std::string& variant,
                                         const std::vector<std::string>& existing_tags) {
  bool latest = true, major = true, minor = true;
  const std::string suffix = variant.empty() ? "" : "-" + variant;
  auto key = [](const SemanticVersion& v) { return std::tie(v.major, v.minor, v.patch); };
  for (const std::string& tag : existing_tags) {
    if (!suffix.empty() && !EndsWith(tag, suffix)) continue;  // another variant
    std::optional<SemanticVersion> other =
        ParseSemanticVersion(tag.substr(0, tag.size() - suffix.size()));
    if (!other || !other->prerelease.empty()) continue;
    if (key(*other) > key(version)) latest = false;
    if (other->major == version.major && key(*other) > key(version)) major = false;
    if (other->major == version.major && other->minor == version.minor &&
        other->patch > version.patch)
      minor = false;
  }
  std::vector<std::string> out;
  if (latest) out.push_back(variant.empty() ? "latest" : variant);
  if (major) out.push_back(std::to_string(version.major) + suffix);
  if (minor)
    out.push_back(std::to_string(version.major) + "." + std::to_string(version.minor) + suffix);
  return out;
}

}  // namespace baton::workers::resources
