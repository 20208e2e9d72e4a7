#include "access/credentials/totp.h"

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include <cerrno>
#include <memory>
#include <string>

namespace switchboard::access {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kMaxWindow = 10;

void EnsureLibraries() {
  static const bool ok = sodium_init() >= 0 && oath_init() == OATH_OK;
  SB_CHECK(ok);
}

Status CheckParams(std::string_view secret, const TotpParams& params) {
  if (secret.empty()) return Status::InvalidArgument("the TOTP secret is empty");
  if (params.digits < 6 || params.digits > 8) {
    return Status::InvalidArgument("TOTP codes have 6, 7 or 8 digits");
  }
  if (params.period_seconds <= 0) {
    return Status::InvalidArgument("the TOTP period must be positive");
  }
  return Status::Ok();
}

int OathFlags(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return 0;
    case TotpAlgorithm::kSha256:
      return OATH_TOTP_HMAC_SHA256;
    case TotpAlgorithm::kSha512:
      return OATH_TOTP_HMAC_SHA512;
  }
  return 0;
}

std::string_view AlgorithmName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

// The code for one time step; params already checked.
Result<std::string> CodeForStep(std::string_view secret, std::int64_t step,
                                const TotpParams& params) {
  char out[16] = {};
  const int rc = oath_totp_generate2(
      secret.data(), secret.size(), static_cast<time_t>(step * params.period_seconds),
      static_cast<unsigned>(params.period_seconds), OATH_TOTP_DEFAULT_START_TIME,
      static_cast<unsigned>(params.digits), OathFlags(params.algorithm), out);
  if (rc != OATH_OK) {
    return Status::Internal(std::string("liboath: ") + oath_strerror(rc));
  }
  return std::string(out);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPtr = std::unique_ptr<QRcode, QrFree>;

Result<QrPtr> Encode(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("a QR code cannot hold a NUL character");
  }
  const std::string s(text);
  QrPtr code(QRcode_encodeString(s.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (code == nullptr) {
    if (errno == ERANGE) return Status::InvalidArgument("the text is too long for a QR code");
    return Status::Internal("libqrencode could not encode the text");
  }
  return code;
}

bool Dark(const QRcode& code, int x, int y) {
  if (x < 0 || y < 0 || x >= code.width || y >= code.width) return false;  // quiet zone
  return (code.data[y * code.width + x] & 1) != 0;
}

}  // namespace

std::string GenerateTotpSecret() {
  EnsureLibraries();
  std::string secret(kTotpSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32Alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;
  for (char ch : text) {
    if (ch == ' ') continue;
    int v;
    if (ch >= 'A' && ch <= 'Z') {
      v = ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
      v = ch - 'a';
    } else if (ch >= '2' && ch <= '7') {
      v = ch - '2' + 26;
    } else {
      return Status::InvalidArgument("not base32: only letters A-Z and digits 2-7 are allowed");
    }
    ++symbols;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  // Whole bytes leave 0, 2, 4, 5 or 7 symbols in the last group of 8.
  const std::size_t rest = symbols % 8;
  if (rest == 1 || rest == 3 || rest == 6) {
    return Status::InvalidArgument("not base32: the length is impossible");
  }
  return out;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account_label,
                       std::string_view secret) {
  const TotpParams params;
  const std::string enc_issuer = PercentEncode(issuer);
  std::string uri = "otpauth://totp/" + enc_issuer + ":" + PercentEncode(account_label);
  uri += "?secret=" + Base32Encode(secret);
  uri += "&issuer=" + enc_issuer;
  uri += "&algorithm=" + std::string(AlgorithmName(params.algorithm));
  uri += "&digits=" + std::to_string(params.digits);
  uri += "&period=" + std::to_string(params.period_seconds);
  return uri;
}

std::int64_t TotpStep(Micros now, int period_seconds) {
  const Micros period = Micros{period_seconds} * kMicrosPerSecond;
  std::int64_t step = now / period;
  if (now % period < 0) --step;  // floor for times before the epoch
  return step;
}

Result<std::string> GenerateTotp(std::string_view secret, Micros now, const TotpParams& params) {
  EnsureLibraries();
  SB_RETURN_IF_ERROR(CheckParams(secret, params));
  const std::int64_t step = TotpStep(now, params.period_seconds);
  if (step < 0) return Status::InvalidArgument("TOTP is undefined before 1970");
  return CodeForStep(secret, step, params);
}

Result<bool> VerifyTotp(std::string_view secret, std::string_view code, Micros now, int window,
                        std::int64_t* last_used_step, const TotpParams& params) {
  EnsureLibraries();
  SB_CHECK(last_used_step != nullptr);
  SB_RETURN_IF_ERROR(CheckParams(secret, params));
  if (window < 0 || window > kMaxWindow) {
    return Status::InvalidArgument("the TOTP window must be between 0 and 10 steps");
  }
  std::string digits;
  for (char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return Status::InvalidArgument("enter the code as digits only");
    digits += c;
  }
  if (digits.size() != static_cast<std::size_t>(params.digits)) {
    return Status::InvalidArgument("enter the " + std::to_string(params.digits) +
                                   "-digit code from your authenticator app");
  }
  const std::int64_t now_step = TotpStep(now, params.period_seconds);
  std::int64_t matched = -1;
  for (std::int64_t step = now_step - window; step <= now_step + window; ++step) {
    if (step < 0) continue;
    SB_ASSIGN_OR_RETURN(std::string expected, CodeForStep(secret, step, params));
    const bool equal = sodium_memcmp(expected.data(), digits.data(), digits.size()) == 0;
    // No early exit: every candidate costs the same; the latest match wins.
    matched = equal ? step : matched;
  }
  if (matched < 0 || matched <= *last_used_step) return false;
  *last_used_step = matched;
  return true;
}

Result<int> QrWidth(std::string_view text) {
  SB_ASSIGN_OR_RETURN(QrPtr code, Encode(text));
  return code->width;
}

Result<std::string> QrSvg(std::string_view text, int module_px) {
  if (module_px <= 0) return Status::InvalidArgument("the QR module size must be positive");
  SB_ASSIGN_OR_RETURN(QrPtr code, Encode(text));
  constexpr int kQuiet = 4;
  const int size = (code->width + 2 * kQuiet) * module_px;
  const std::string dim = std::to_string(size);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + dim +
                    "\" height=\"" + dim + "\" viewBox=\"0 0 " + dim + " " + dim +
                    "\" shape-rendering=\"crispEdges\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + dim + "\" height=\"" + dim + "\" fill=\"#fff\"/>\n";
  svg += "<g fill=\"#000\">\n";
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width;) {
      if (!Dark(*code, x, y)) {
        ++x;
        continue;
      }
      int run = 1;  // one rect per horizontal run of dark modules
      while (Dark(*code, x + run, y)) ++run;
      svg += "<rect x=\"" + std::to_string((x + kQuiet) * module_px) + "\" y=\"" +
             std::to_string((y + kQuiet) * module_px) + "\" width=\"" +
             std::to_string(run * module_px) + "\" height=\"" + std::to_string(module_px) +
             "\"/>\n";
      x += run;
    }
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

Result<std::string> QrText(std::string_view text) {
  SB_ASSIGN_OR_RETURN(QrPtr code, Encode(text));
  constexpr int kQuiet = 2;
  std::string out;
  for (int y = -kQuiet; y < code->width + kQuiet; y += 2) {
    for (int x = -kQuiet; x < code->width + kQuiet; ++x) {
      // Light modules are ink: the terminal background shows the dark ones.
      const bool top = !Dark(*code, x, y);
      const bool bottom = y + 1 < code->width + kQuiet && !Dark(*code, x, y + 1);
      if (top && bottom) {
        out += "\u2588";  // full block
      } else if (top) {
        out += "\u2580";  // upper half block
      } else if (bottom) {
        out += "\u2584";  // lower half block
      } else {
        out += ' ';
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace switchboard::access
