#include "resources/registry_image/image_version.h"

#include <algorithm>
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

bool IsNumericIdentifier(std::string_view id) {
  return !id.empty() && id.find_first_not_of("0123456789") == std::string_view::npos;
}

// One pre-release identifier against another: numeric ones by value (of any length), below
// alphanumeric ones, which compare in ASCII order.
int ComparePrereleaseIdentifier(std::string_view a, std::string_view b) {
  const bool a_numeric = IsNumericIdentifier(a), b_numeric = IsNumericIdentifier(b);
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;
  if (a_numeric) {
    a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
    b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  }
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int ComparePrereleases(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  while (true) {
    const size_t a_dot = a.find('.'), b_dot = b.find('.');
    if (int c = ComparePrereleaseIdentifier(a.substr(0, a_dot), b.substr(0, b_dot)); c != 0)
      return c;
    if (a_dot == std::string_view::npos || b_dot == std::string_view::npos)
      return a_dot == b_dot ? 0 : (a_dot == std::string_view::npos ? -1 : 1);
    a.remove_prefix(a_dot + 1);
    b.remove_prefix(b_dot + 1);
  }
}

}  // namespace

int CompareVersions(const SemanticVersion& a, const SemanticVersion& b) {
  const auto key = [](const SemanticVersion& v) { return std::tie(v.major, v.minor, v.patch); };
  if (key(a) != key(b)) return key(a) < key(b) ? -1 : 1;
  return ComparePrereleases(a.prerelease, b.prerelease);
}

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

std::optional<SemanticVersion> VersionOfTag(const std::string& tag, const std::string& variant) {
  if (variant.empty()) return ParseSemanticVersion(tag);
  const std::string suffix = "-" + variant;
  if (tag.size() <= suffix.size() || !EndsWith(tag, suffix)) return std::nullopt;
  return ParseSemanticVersion(tag.substr(0, tag.size() - suffix.size()));
}

std::vector<std::string> AliasTagsToBump(const SemanticVersion& version, const std::string& variant,
                                         const std::vector<std::string>& existing_tags) {
  bool latest = true, major = true, minor = true;
  const std::string suffix = variant.empty() ? "" : "-" + variant;
  for (const std::string& tag : existing_tags) {
    std::optional<SemanticVersion> other = VersionOfTag(tag, variant);
    if (!other || !other->prerelease.empty()) continue;
    const bool later = CompareVersions(*other, version) > 0;  // both releases
    if (later) latest = false;
    if (later && other->major == version.major) major = false;
    if (later && other->major == version.major && other->minor == version.minor) minor = false;
  }
  std::vector<std::string> out;
  if (latest) out.push_back(variant.empty() ? "latest" : variant);
  if (major) out.push_back(std::to_string(version.major) + suffix);
  if (minor)
    out.push_back(std::to_string(version.major) + "." + std::to_string(version.minor) + suffix);
  return out;
}

}  // namespace baton::workers::resources
