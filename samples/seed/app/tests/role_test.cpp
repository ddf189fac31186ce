#include "role.h"

#include <gtest/gtest.h>

namespace seed {
namespace {

TEST(Role, ParsesTheThreeRoleNames) {
  EXPECT_EQ(ParseRole("api"), Role::kApi);
  EXPECT_EQ(ParseRole("admin"), Role::kAdmin);
  EXPECT_EQ(ParseRole("user"), Role::kUser);
}

TEST(Role, RejectsUnknownOrMisspelledNames) {
  EXPECT_FALSE(ParseRole("API").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
  EXPECT_FALSE(ParseRole("users").has_value());
}

TEST(Role, NameRoundTripsThroughParse) {
  for (Role role : {Role::kApi, Role::kAdmin, Role::kUser}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
}

}  // namespace
}  // namespace seed
