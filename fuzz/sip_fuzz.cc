// Fuzzes what Switchboard's own code reads from SIP peers: the session
// descriptions the caller's phone offers and the member's phone answers
// (telephony/sdp.h), and a stored leg as Reconcile reads it back. Besides
// not crashing: whatever is accepted is rewritten into a description that
// is itself accepted, holds no control characters but CRLF, and the
// re-offer never copies the peer's free text (s=, i=, u=, e=, p=).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "telephony/sdp.h"
#include "telephony/sip_engine.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "sip_fuzz: %s\n", what);
    std::abort();
  }
}

void CheckClean(const std::string& sdp) {
  for (std::size_t i = 0; i < sdp.size(); ++i) {
    const auto c = static_cast<unsigned char>(sdp[i]);
    if (c == '\r') {
      Require(i + 1 < sdp.size() && sdp[i + 1] == '\n', "a CR not followed by LF");
    } else if (c == '\n') {
      Require(i > 0 && sdp[i - 1] == '\r', "an LF without CR");
    } else {
      Require(c >= 0x20 || c == '\t', "a control character in the output");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace switchboard::telephony;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto a = BlackHoleAnswer(in, 42)) {
    CheckClean(*a);
    Require(a->find("a=inactive") != std::string::npos || a->find(" 0 ") != std::string::npos,
            "a black-hole answer that is not on hold");
    Require(OfferFromAnswer(*a, 42, 2).has_value(), "our own answer is not re-offerable");
  }
  if (auto o = OfferFromAnswer(in, 42, 2)) {
    CheckClean(*o);
    for (const char* free_text : {"\r\ni=", "\r\nu=", "\r\ne=", "\r\np="}) {
      Require(o->find(free_text) == std::string::npos, "the re-offer copies free text");
    }
    Require(BlackHoleAnswer(*o, 7).has_value(), "a re-offer that is not a valid offer");
  }
  if (auto leg = LegRecord::Decode(in)) {
    auto again = LegRecord::Decode(leg->Encode());
    Require(again.has_value() && again->Encode() == leg->Encode(), "a leg does not round-trip");
  }
  return 0;
}
