#include "role.h"

namespace seed {

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "api") return Role::kApi;
  if (text == "admin") return Role::kAdmin;
  if (text == "user") return Role::kUser;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kApi:
      return "api";
    case Role::kAdmin:
      return "admin";
    case Role::kUser:
      return "user";
  }
  return "unknown";
}

}  // namespace seed
