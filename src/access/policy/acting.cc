#include "access/policy/acting.h"

namespace switchboard::access {

namespace {

audit::Event Base(const Acting& a, std::string_view action) {
  audit::Event e;
  e.at = a.now;
  e.action = std::string(action);
  if (a.account.valid()) e.actor = a.account.value();
  e.request_id = a.request_id;
  e.client = a.client;
  return e;
}

}  // namespace

audit::Event Acting::Allow(std::string_view action) const {
  audit::Event e = Base(*this, action);
  e.decision = "allow";
  if (decision) {
    e.rule = decision->rule;
    if (decision->grant.valid()) e.grant_id = decision->grant.value();
  } else {
    e.rule = "self";
  }
  return e;
}

audit::Event Acting::Deny(std::string_view action, std::string_view rule) const {
  audit::Event e = Base(*this, action);
  e.decision = "deny";
  e.rule = std::string(rule);
  return e;
}

}  // namespace switchboard::access
