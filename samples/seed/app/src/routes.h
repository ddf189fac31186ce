// What each role answers: a pure function from a request to a reply, so it is tested without
// sockets. The api role serves JSON; admin and user serve small HTML front ends.
#pragma once

#include <string>
#include <string_view>

#include "role.h"

namespace seed {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // "/api/v1/seeds?x=1"
};

struct Reply {
  int status = 200;
  std::string content_type;
  std::string body;
};

// Facts about this running instance, shown by every role.
struct ServiceInfo {
  Role role = Role::kApi;
  std::string version;   // the app's version
  std::string instance;  // CF_INSTANCE_INDEX, "0" when not on Cloud Foundry
};

// The reply to `request`: 200 for a known page, 404 for an unknown one, 405 for a method other
// than GET or HEAD (HEAD gets GET's status and headers; the server drops the body).
Reply Route(const ServiceInfo& info, const Request& request);

}  // namespace seed
