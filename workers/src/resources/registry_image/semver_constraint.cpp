#include "resources/registry_image/semver_constraint.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

namespace baton::workers::resources {
namespace {

using Op = SemverConstraint::Op;
using Comparison = SemverConstraint::Comparison;
using ComparisonGroup = std::vector<Comparison>;

bool IsSemverSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsSemverDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSemverWildcard(char c) { return c == 'x' || c == 'X' || c == '*'; }
bool IsSemverIdentifierChar(char c) {
  return IsSemverDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// Reads a constraint left to right, keeping its place for error messages.
class SemverConstraintReader {
 public:
  explicit SemverConstraintReader(const std::string& text) : text_(text) {}

  // Every alternative (the parts between `||`), each its ANDed comparisons.
  Result<std::vector<ComparisonGroup>> ReadAlternatives() {
    std::vector<ComparisonGroup> alternatives;
    while (true) {
      BATON_ASSIGN_OR_RETURN(ComparisonGroup group, ReadGroup());
      alternatives.push_back(std::move(group));
      if (pos_ >= text_.size()) return alternatives;
      pos_ += 2;  // past "||"
    }
  }

 private:
  Status Fail(const std::string& what) const {
    const std::string where =
        pos_ >= text_.size() ? "at the end" : "at character " + std::to_string(pos_ + 1);
    return InvalidArgument("semver constraint \"" + text_ + "\": " + what + " " + where);
  }

  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  // Whether there was any whitespace to skip.
  bool SkipSpaces() {
    const size_t start = pos_;
    while (IsSemverSpace(Peek())) ++pos_;
    return pos_ != start;
  }

  bool AtGroupEnd() const { return pos_ >= text_.size() || text_.compare(pos_, 2, "||") == 0; }

  // Comparisons separated by a comma (spaces around it allowed) or by spaces alone.
  Result<ComparisonGroup> ReadGroup() {
    SkipSpaces();
    if (AtGroupEnd()) return Fail("expected a version comparison");
    ComparisonGroup group;
    while (true) {
      BATON_RETURN_IF_ERROR(ReadComparisons(group));
      const bool spaced = SkipSpaces();
      if (AtGroupEnd()) return group;
      if (Peek() == ',') {
        ++pos_;
        SkipSpaces();
        if (AtGroupEnd()) return Fail("expected a version comparison after `,`");
      } else if (!spaced) {
        return Fail("unexpected `" + std::string(1, Peek()) + "`");
      }
    }
  }

  // One comparison, or the two of a hyphen range `1.2 - 1.4.5` (>= 1.2, <= 1.4.5).
  Status ReadComparisons(ComparisonGroup& group) {
    const std::optional<Op> op = ReadOp();
    SkipSpaces();
    BATON_ASSIGN_OR_RETURN(Comparison first, ReadVersion(op.value_or(Op::kEqual)));
    if (op || !AtHyphen()) {
      group.push_back(std::move(first));
      return Status::Ok();
    }
    SkipSpaces();
    ++pos_;  // past '-'
    SkipSpaces();
    first.op = Op::kGreaterEqual;
    BATON_ASSIGN_OR_RETURN(Comparison last, ReadVersion(Op::kLessEqual));
    group.push_back(std::move(first));
    group.push_back(std::move(last));
    return Status::Ok();
  }

  // Spaces, a lone `-`, then spaces or the end: the middle of a hyphen range.
  bool AtHyphen() const {
    size_t i = pos_;
    while (i < text_.size() && IsSemverSpace(text_[i])) ++i;
    if (i == pos_ || i >= text_.size() || text_[i] != '-') return false;
    return i + 1 == text_.size() || IsSemverSpace(text_[i + 1]);
  }

  std::optional<Op> ReadOp() {
    static constexpr std::pair<std::string_view, Op> kOps[] = {
        {"!=", Op::kNotEqual},  {">=", Op::kGreaterEqual}, {"=>", Op::kGreaterEqual},
        {"<=", Op::kLessEqual}, {"=<", Op::kLessEqual},    {"~>", Op::kTilde},
        {"=", Op::kEqual},      {">", Op::kGreater},       {"<", Op::kLess},
        {"~", Op::kTilde},      {"^", Op::kCaret}};
    for (const auto& [token, op] : kOps) {
      if (text_.compare(pos_, token.size(), token) == 0) {
        pos_ += token.size();
        return op;
      }
    }
    return std::nullopt;
  }

  // [v]MAJOR[.MINOR[.PATCH]] where any part may be x, X or *, then [-pre-release][+build].
  // Parts after the first wildcard are read but do not count, as in Masterminds (1.x.3 is 1.x).
  Result<Comparison> ReadVersion(Op op) {
    Comparison c{op, {}, 0};
    if (Peek() == 'v') ++pos_;
    uint64_t* parts[] = {&c.version.major, &c.version.minor, &c.version.patch};
    bool wildcard = false;
    for (int i = 0; i < 3; ++i) {
      if (i > 0 && (Peek() != '.' || !(IsSemverDigit(Peek(1)) || IsSemverWildcard(Peek(1))))) break;
      if (i > 0) ++pos_;
      if (IsSemverWildcard(Peek())) {
        ++pos_;
        wildcard = true;
        continue;
      }
      BATON_ASSIGN_OR_RETURN(uint64_t n, ReadNumber());
      if (!wildcard) {
        *parts[i] = n;
        c.given = i + 1;
      }
    }
    if (Peek() == '-') {
      ++pos_;
      BATON_ASSIGN_OR_RETURN(c.version.prerelease, ReadIdentifiers("pre-release", true));
    }
    if (Peek() == '+') {
      ++pos_;
      BATON_RETURN_IF_ERROR(ReadIdentifiers("build metadata", false).status());
    }
    return c;
  }

  Result<uint64_t> ReadNumber() {
    const size_t start = pos_;
    while (IsSemverDigit(Peek())) ++pos_;
    if (pos_ == start) return Fail("expected a version");
    uint64_t n = 0;
    if (std::from_chars(text_.data() + start, text_.data() + pos_, n).ec != std::errc()) {
      pos_ = start;
      return Fail("version number too large");
    }
    return n;
  }

  // Dot-separated identifiers of [0-9A-Za-z-], none empty; in a pre-release, no numeric one
  // with a leading zero (semver.org §9).
  Result<std::string> ReadIdentifiers(const char* what, bool is_prerelease) {
    const size_t start = pos_;
    while (true) {
      const size_t id_start = pos_;
      while (IsSemverIdentifierChar(Peek())) ++pos_;
      if (pos_ == id_start) return Fail(std::string("expected a ") + what + " identifier");
      const std::string_view id(text_.data() + id_start, pos_ - id_start);
      if (is_prerelease && id.size() > 1 && id[0] == '0' &&
          id.find_first_not_of("0123456789") == std::string_view::npos) {
        pos_ = id_start;
        return Fail("numeric pre-release identifier with a leading zero");
      }
      if (Peek() != '.') return text_.substr(start, pos_ - start);
      ++pos_;
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

// The first `parts` of major, minor, patch of `a` against those of `b`.
int ComparePrefix(const SemanticVersion& a, const SemanticVersion& b, int parts) {
  const uint64_t x[] = {a.major, a.minor, a.patch}, y[] = {b.major, b.minor, b.patch};
  for (int i = 0; i < parts; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

bool SamePrerelease(const SemanticVersion& a, const SemanticVersion& b) {
  SemanticVersion x, y;
  x.prerelease = a.prerelease;
  y.prerelease = b.prerelease;
  return CompareVersions(x, y) == 0;
}

// ~ (and = with a partial version): at least the version, with the same major and, when the
// minor was given, the same minor. ~* and (as in Masterminds) ~0.0.0 take any version.
bool TildeMatches(const SemanticVersion& v, const Comparison& c) {
  if (CompareVersions(v, c.version) < 0) return false;
  const SemanticVersion& o = c.version;
  if (c.given == 0 || (c.given == 3 && o.major == 0 && o.minor == 0 && o.patch == 0)) return true;
  return ComparePrefix(v, o, std::min(c.given, 2)) == 0;
}

// ^: at least the version, with the same major; below 1.0.0 the same minor, below 0.1.0 the
// same patch, unless that part was left out (^0 is 0.x, ^0.0 is 0.0.x). ^* takes any version.
bool CaretMatches(const SemanticVersion& v, const Comparison& c) {
  if (CompareVersions(v, c.version) < 0) return false;
  if (c.given == 0) return true;
  const SemanticVersion& o = c.version;
  const int parts = (o.major > 0 || c.given == 1) ? 1 : (o.minor > 0 || c.given == 2) ? 2 : 3;
  return ComparePrefix(v, o, parts) == 0;
}

// !=: outside the version, or outside the range a partial one names (!=1.2 is not 1.2.x); with
// a pre-release on 1.2-beta, a 1.2.x with another pre-release is outside too, as in Masterminds.
bool NotEqualMatches(const SemanticVersion& v, const Comparison& c) {
  if (c.given == 3) return CompareVersions(v, c.version) != 0;
  if (c.given == 0) return false;
  if (ComparePrefix(v, c.version, c.given) != 0) return true;
  return c.given == 2 && !SamePrerelease(v, c.version);
}

bool ComparisonMatches(const SemanticVersion& v, const Comparison& c) {
  const int order = CompareVersions(v, c.version);
  const int prefix = ComparePrefix(v, c.version, c.given);
  switch (c.op) {
    case Op::kEqual:
      return c.given == 3 ? order == 0 : TildeMatches(v, c);
    case Op::kNotEqual:
      return NotEqualMatches(v, c);
    case Op::kGreater:  // >1.2 is past every 1.2.x
      return (c.given == 1 || c.given == 2) ? prefix > 0 : order > 0;
    case Op::kGreaterEqual:  // >=1.2 is >=1.2.0
      return order >= 0;
    case Op::kLess:  // <1.2 is <1.2.0
      return order < 0;
    case Op::kLessEqual:  // <=1.2 takes in every 1.2.x
      return c.given == 3 ? order <= 0 : prefix <= 0;
    case Op::kTilde:
      return TildeMatches(v, c);
    case Op::kCaret:
      return CaretMatches(v, c);
  }
  return false;
}

}  // namespace

Result<SemverConstraint> SemverConstraint::Parse(const std::string& text) {
  if (std::all_of(text.begin(), text.end(), IsSemverSpace))
    return InvalidArgument("semver constraint \"" + text + "\" is empty");
  SemverConstraintReader reader(text);
  BATON_ASSIGN_OR_RETURN(std::vector<ComparisonGroup> groups, reader.ReadAlternatives());
  SemverConstraint constraint;
  for (ComparisonGroup& group : groups) {
    Alternative alternative;
    alternative.names_prerelease = std::any_of(group.begin(), group.end(), [](const Comparison& c) {
      return !c.version.prerelease.empty();
    });
    alternative.comparisons = std::move(group);
    constraint.alternatives_.push_back(std::move(alternative));
  }
  return constraint;
}

bool SemverConstraint::Matches(const SemanticVersion& version) const {
  for (const Alternative& alternative : alternatives_) {
    if (!version.prerelease.empty() && !alternative.names_prerelease) continue;
    const auto matches = [&](const Comparison& c) { return ComparisonMatches(version, c); };
    if (std::all_of(alternative.comparisons.begin(), alternative.comparisons.end(), matches))
      return true;
  }
  return false;
}

}  // namespace baton::workers::resources
