// Acting: who acts in a request and under which decision. Every service
// operation that reads member data or changes state takes one, so that it
// records its own audit event in the transaction that does the work: the
// action and its record commit together by construction.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "access/policy/decision.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"

namespace switchboard::access {

struct Acting {
  AccountId account;  // invalid for a member acting through a link
  bool staff = false;
  std::string display_name;  // the account's, never a member's
  // The decision that allowed the request; null for routes that need only a
  // signed-in account acting for itself (joining, its own calls, its stats).
  const Decision* decision = nullptr;
  // The account's grants as the deciding transaction read them (set by the
  // gate; empty otherwise): an operation may look a grant up here instead
  // of reading it again.
  std::span<const Grant> grants;
  Micros now = 0;
  std::string request_id;
  std::string client;  // truncated address

  // An "allow" event for `action`: actor, time, request, client, and the
  // decision's rule and grant ("self" when there was no decision).
  audit::Event Allow(std::string_view action) const;
  // A "deny" event for `action` under `rule`.
  audit::Event Deny(std::string_view action, std::string_view rule) const;
};

}  // namespace switchboard::access
