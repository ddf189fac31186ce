#include "baton/runner/redactor.h"

#include <algorithm>
#include <cctype>

#include "baton/common/base64.h"
#include "baton/common/strings.h"

namespace baton::runner {
namespace {

// Standard base64 without its padding: just the characters the bytes determine.
std::string Base64(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

// The base64 characters that depend on `secret` alone when it starts `offset` bytes (0-2) into
// a 3-byte group of a longer encoded text: the first characters share bits with the bytes
// before it, and the last one with the bytes after it, unless the secret ends a group.
std::string Base64Core(std::string_view secret, size_t offset) {
  std::string encoded = Base64(std::string(offset, '\0') + std::string(secret));
  size_t lead = offset == 0 ? 0 : offset + 1;  // 1 byte before: 2 chars; 2 bytes: 3 chars
  size_t trail = (offset + secret.size()) % 3 == 0 ? 0 : 1;
  if (encoded.size() < lead + trail) return {};
  return encoded.substr(lead, encoded.size() - lead - trail);
}

std::string JsonEscaped(std::string_view secret, bool ascii) {
  std::string quoted =
      Json(std::string(secret)).dump(-1, ' ', ascii, Json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

std::string UrlEncoded(std::string_view secret, bool lower, bool plus_for_space) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  const char* hex = lower ? kLower : kUpper;
  std::string out;
  for (unsigned char c : secret) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> Redactor::EncodedForms(std::string_view secret) {
  std::vector<std::string> forms;
  if (secret.size() < kMinEncodedSecret) return forms;
  auto add = [&](std::string form) {
    if (form.size() >= kMinEncodedForm && form != secret &&
        std::find(forms.begin(), forms.end(), form) == forms.end()) {
      forms.push_back(std::move(form));
    }
  };
  add(JsonEscaped(secret, false));
  add(JsonEscaped(secret, true));
  for (bool lower : {false, true}) {
    for (bool plus : {false, true}) add(UrlEncoded(secret, lower, plus));
  }
  for (size_t offset = 0; offset < 3; ++offset) {
    std::string core = Base64Core(secret, offset);
    std::string url_safe = core;
    std::replace(url_safe.begin(), url_safe.end(), '+', '-');
    std::replace(url_safe.begin(), url_safe.end(), '/', '_');
    add(std::move(core));
    add(std::move(url_safe));
  }
  return forms;
}

void Redactor::AddForm(std::string form, bool& added) {
  if (form.empty() || std::find(secrets_.begin(), secrets_.end(), form) != secrets_.end()) return;
  secrets_.push_back(std::move(form));
  added = true;
}

void Redactor::Add(const std::vector<std::string>& values) {
  bool added = false;
  for (const auto& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find('\n', start);
      if (end == std::string::npos) end = value.size();
      std::string line(Trim(std::string_view(value).substr(start, end - start)));
      for (auto& form : EncodedForms(line)) AddForm(std::move(form), added);
      AddForm(std::move(line), added);
      start = end + 1;
    }
    // A multi-line secret encoded whole (a key file piped through base64) matches no line.
    if (value.find('\n') != std::string::npos) {
      for (auto& form : EncodedForms(value)) AddForm(std::move(form), added);
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
