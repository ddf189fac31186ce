// The HTTP values a client and a server share: Headers, query strings, percent-encoding and
// reason phrases.
//
// Plain values with no knowledge of sockets or of Beast. Not thread-safe to mutate concurrently
// (they are values).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace baton::net {

// Orders header names case-insensitively ("Content-Type" == "content-type").
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// HTTP header fields; names compare case-insensitively, a name may repeat (Set-Cookie).
class Headers {
 public:
  // The first value of `name`, if present.
  std::optional<std::string> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return fields_.find(name) != fields_.end(); }
  // Replaces every value of `name` with `value`.
  void Set(std::string_view name, std::string value);
  // Adds another value of `name`, keeping existing ones.
  void Add(std::string_view name, std::string value);
  void Remove(std::string_view name);

  using Fields = std::multimap<std::string, std::string, CaseInsensitiveLess>;
  const Fields& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }

 private:
  Fields fields_;
};

// Decoded query string: `?a=1&b=x%20y&a=2` holds a=1, a=2, b="x y" in arrival order per name.
using QueryParams = std::multimap<std::string, std::string, std::less<>>;

// The standard reason phrase ("Not Found") for `status`, or "" if unknown.
std::string_view ReasonPhrase(int status);

// Percent-decodes `text`; `plus_is_space` turns '+' into ' ' (query strings). Returns nullopt on
// a malformed escape ("%G1", truncated "%4").
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Percent-encodes everything except unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view text);

// Parses "a=1&b=x%20y"; returns nullopt if an escape is malformed.
std::optional<QueryParams> ParseQuery(std::string_view query);

}  // namespace baton::net
