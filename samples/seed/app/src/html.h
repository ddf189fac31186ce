// Escaping for the two kinds of text the service writes: HTML pages and JSON documents.
#pragma once

#include <string>
#include <string_view>

namespace seed {

// & < > " ' become entities, so text can go into element content and quoted attributes.
std::string EscapeHtml(std::string_view text);
// The inside of a JSON string: quotes, backslashes and control characters escaped.
std::string EscapeJson(std::string_view text);

}  // namespace seed
