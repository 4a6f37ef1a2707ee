// Prints the route table of fcgi/routes.cpp, one row per line: METHOD PATTERN PERMISSION, where
// PERMISSION is a permission name, `public`, `authenticated` (any valid token), `admin` or `repo:read|repo:write` (git's info/refs,
// whose permission follows `?service=`). Read by tests/docs/check_openapi_routes.py.
#include <iostream>

#include "fcgi/router.h"

int main() {
  using kod::fcgi::Guard;
  for (const kod::fcgi::Route& r : kod::fcgi::Routes()) {
    std::string permission;
    switch (r.guard) {
      case Guard::Public: permission = "public"; break;
      case Guard::Token: permission = "authenticated"; break;
      case Guard::Admin: permission = "admin"; break;
      case Guard::GitService: permission = "repo:read|repo:write"; break;
      case Guard::Permission: permission = r.permission ? kod::auth::PermissionName(*r.permission) : "none"; break;
    }
    std::cout << r.method << ' ' << r.pattern << ' ' << permission << '\n';
  }
  return 0;
}
