// The three roles one seed-server binary can play, as Cloud Foundry pushes it three times.
#pragma once

#include <optional>
#include <string_view>

namespace seed {

enum class Role { kApi, kAdmin, kUser };

// "api", "admin" or "user" (exactly, lower case); nullopt for anything else.
std::optional<Role> ParseRole(std::string_view text);
std::string_view RoleName(Role role);

}  // namespace seed
