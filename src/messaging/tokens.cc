#include "messaging/tokens.h"

#include <sodium.h>

#include <cstring>

namespace switchboard::messaging {

namespace {
constexpr size_t kMacBytes = 16;
constexpr size_t kRawBytes = 8 + 8 + kMacBytes;

void PutU64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}
std::uint64_t GetU64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

TokenSigner::TokenSigner(const crypto::Sealer& sealer) : key_(sealer.DeriveKey("unsubscribe")) {}

std::string TokenSigner::Make(const TokenClaims& c) const {
  unsigned char raw[kRawBytes];
  PutU64(raw, static_cast<std::uint64_t>(c.member.value()));
  PutU64(raw + 8, static_cast<std::uint64_t>(c.message.value()));
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, raw, 16, key_.data());
  std::memcpy(raw + 16, mac, kMacBytes);
  char out[sodium_base64_ENCODED_LEN(kRawBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, kRawBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::optional<TokenClaims> TokenSigner::Verify(std::string_view token) const {
  if (token.size() > 64) return std::nullopt;
  unsigned char raw[kRawBytes + 4];
  size_t len = 0;
  if (sodium_base642bin(raw, sizeof raw, token.data(), token.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != kRawBytes) {
    return std::nullopt;
  }
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, raw, 16, key_.data());
  if (sodium_memcmp(mac, raw + 16, kMacBytes) != 0) return std::nullopt;
  const std::uint64_t member = GetU64(raw), message = GetU64(raw + 8);
  if (member == 0 || member > (1ULL << 62) || message > (1ULL << 62)) return std::nullopt;
  return TokenClaims{MemberId(static_cast<std::int64_t>(member)),
                     MessageId(static_cast<std::int64_t>(message))};
}

}  // namespace switchboard::messaging
