#include "baton/runner/redactor.h"

#include <algorithm>

#include "baton/common/strings.h"

namespace baton::runner {

void Redactor::Add(const std::vector<std::string>& values) {
  bool added = false;
  for (const auto& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find('\n', start);
      if (end == std::string::npos) end = value.size();
      std::string line(Trim(std::string_view(value).substr(start, end - start)));
      if (!line.empty() && std::find(secrets_.begin(), secrets_.end(), line) == secrets_.end()) {
        secrets_.push_back(std::move(line));
        added = true;
      }
      start = end + 1;
    }
  }
  if (!added) return;
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const auto& x, const auto& y) { return x.size() > y.size(); });
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out(text);
  if (secrets_.empty()) return out;
  const std::string mask = kMask;
  for (const auto& secret : secrets_) {
    for (size_t pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + mask.size())) {
      out.replace(pos, secret.size(), mask);
    }
  }
  return out;
}

Json Redactor::RedactJson(const Json& value) const {
  if (secrets_.empty()) return value;
  if (value.is_string()) return Redact(std::string_view(value.get_ref<const std::string&>()));
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(RedactJson(item));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) {
      out[Redact(std::string_view(key))] = RedactJson(item);
    }
    return out;
  }
  return value;
}

StepInfo Redactor::RedactStep(const StepInfo& step) const {
  if (secrets_.empty()) return step;
  StepInfo out = step;
  out.name = Redact(std::string_view(step.name));
  for (auto& [var, value] : out.across) value = RedactJson(value);
  return out;
}

}  // namespace baton::runner
