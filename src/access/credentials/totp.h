// TOTP second factor (RFC 6238, computed with liboath): secrets, base32
// (RFC 4648), the otpauth:// enrolment URI and its QR code (libqrencode).
//
// A secret is raw bytes (std::string); it is shown to the person once, as
// base32 in the URI and QR code, and stored sealed by the caller. All functions
// are pure and thread-safe. Replay protection needs the caller's help: it keeps
// the last accepted time step per account and passes it to VerifyTotp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace switchboard::access {

constexpr std::size_t kTotpSecretBytes = 20;  // 160 bits, RFC 4226 §4 recommendation
// The stored last-used step of an account that has not used a code yet.
constexpr std::int64_t kNoTotpStepUsed = -1;
// Steps either side of now that VerifyTotp accepts by default (±30 s of clock skew).
constexpr int kDefaultTotpWindow = 1;

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// Authenticator apps expect the defaults; the others exist for test vectors.
struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;
  int digits = 6;           // 6, 7 or 8
  int period_seconds = 30;  // the time step
};

// kTotpSecretBytes random bytes.
std::string GenerateTotpSecret();

// RFC 4648 base32 without padding ("foobar" -> "MZXW6YTBOI").
std::string Base32Encode(std::string_view bytes);
// Decodes base32, case-insensitively, ignoring spaces and trailing '='
// padding. Fails with kInvalidArgument on any other character or an
// impossible length.
Result<std::string> Base32Decode(std::string_view text);

// "otpauth://totp/Issuer:label?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30"
// with issuer and label percent-encoded (RFC 3986 unreserved characters kept).
std::string OtpauthUri(std::string_view issuer, std::string_view account_label,
                       std::string_view secret);

// The time step containing `now` (floor(seconds / period)).
std::int64_t TotpStep(Micros now, int period_seconds = 30);

// The code for `now`. Fails with kInvalidArgument on an empty secret or
// unsupported params.
Result<std::string> GenerateTotp(std::string_view secret, Micros now,
                                 const TotpParams& params = {});

// Checks `code` against the steps within `window` of now (every candidate is
// generated and compared in constant time). `*last_used_step` is the last step
// this account had accepted (kNoTotpStepUsed for none); a code from that step or an earlier
// one is refused, so a code works once. On success returns true and sets
// `*last_used_step` to the matched step, which the caller stores. Returns false
// for a wrong, expired or replayed code. Fails with kInvalidArgument when
// `code` is not params.digits ASCII digits (after removing spaces) or the
// window is outside 0..10.
Result<bool> VerifyTotp(std::string_view secret, std::string_view code, Micros now, int window,
                        std::int64_t* last_used_step, const TotpParams& params = {});

// An SVG image of the QR code of `text` (error correction M), black <rect>
// modules on a white background with a 4-module quiet zone; `module_px` user
// units per module. Fails with kInvalidArgument when `text` is too long.
Result<std::string> QrSvg(std::string_view text, int module_px = 4);

// The QR code drawn with Unicode half blocks, two modules per character row,
// with a 2-module quiet zone: light modules are drawn in the foreground colour,
// so it scans on a terminal with a dark background. One line per row, each
// ending in '\n'.
Result<std::string> QrText(std::string_view text);

// Side length of the QR symbol (without quiet zone) for `text`, in modules.
Result<int> QrWidth(std::string_view text);

}  // namespace switchboard::access
