// MemberDraft: a member as read from a file or made by the generator, with
// contact points still in plaintext. SealDraft turns it into a MemberRecord
// (contacts encrypted, blind indexes and content hash computed). Holds
// personal data: no formatter exists; never log one.
#pragma once

#include <optional>
#include <string>

#include "crypto/sealer.h"
#include "members/contact.h"
#include "members/register.h"

namespace switchboard::members {

struct MemberDraft {
  MemberRecord base;  // everything but contacts and content_hash
  std::optional<Email> email;
  std::optional<Phone> phone;  // landline or only number
  std::optional<Phone> mobile;
  std::string address_line1;
  std::string address_line2;
  std::string town;
  std::string postcode;  // normalised
};

MemberRecord SealDraft(MemberDraft draft, const crypto::Sealer& sealer);

// The external id used when a file gives none: derived from the email's blind
// index, so the same person re-imported matches, and nothing readable leaks.
std::string DerivedExternalId(const Email& email, const crypto::Sealer& sealer);

}  // namespace switchboard::members
