// Per-recipient unsubscribe/preferences tokens (RFC 8058 one-click links).
// A token names one member and the message that carried it, and is signed
// with a key derived from the keyring (crypto::Sealer::DeriveKey), so it
// cannot be forged or moved to another member. It holds no personal data:
// base64url(member id, message id, 16-byte MAC), about 43 characters.
// Tokens do not expire: an unsubscribe link must keep working.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "crypto/sealer.h"
#include "messaging/messaging.h"

namespace switchboard::messaging {

struct TokenClaims {
  MemberId member;
  MessageId message;  // 0 when made outside a message (e.g. a preferences link)
};

class TokenSigner {
 public:
  explicit TokenSigner(const crypto::Sealer& sealer);
  std::string Make(const TokenClaims& c) const;
  std::optional<TokenClaims> Verify(std::string_view token) const;

 private:
  crypto::Key key_;
};

}  // namespace switchboard::messaging
