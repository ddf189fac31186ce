// HttpResponse::Header (http_transport.h).
#include <strings.h>

#include "baton/workers/http_transport.h"

namespace baton::workers {

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace baton::workers
