// Fuzzes the DTMF readers (telephony/dtmf.h), which read datagrams and SIP
// INFO bodies from the network. The first byte picks what the rest is:
//   0  datagrams, each a 2-byte big-endian length and its bytes, fed in turn
//      to one receiver (telephone-event payload type 101, at most 8 keys)
//   1  a SIP INFO: the content type up to the first newline, then the body
// Besides not crashing or reading past the end (ASan):
//   - the receiver keeps at most its 8 keys, each one a keypad key;
//   - an INFO gives a keypad key or kInvalidArgument.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "telephony/dtmf.h"

namespace tel = switchboard::telephony;

namespace {

bool IsKey(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

void Fail(const char* what) {
  std::fprintf(stderr, "dtmf_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  if (mode == 0) {
    tel::DtmfReceiver r(101, 8);
    while (rest.size() >= 2) {
      const std::size_t n = std::size_t{rest[0]} << 8 | rest[1];
      rest = rest.subspan(2);
      const std::span<const std::uint8_t> d = rest.first(n < rest.size() ? n : rest.size());
      rest = rest.subspan(d.size());
      const std::size_t before = r.digits().size();
      const tel::DtmfReceiver::Fed fed = r.Feed(d);
      if (fed != tel::DtmfReceiver::Fed::kDigit && r.digits().size() != before) {
        Fail("keys grew without a digit reported");
      }
    }
    if (r.digits().size() > 8) Fail("more keys kept than the limit");
    for (char c : r.digits()) {
      if (!IsKey(c)) Fail("a key that is not on a keypad");
    }
  } else if (mode == 1) {
    const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
    const std::size_t nl = text.find('\n');
    const std::string_view type = text.substr(0, nl);
    const std::string_view body =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const auto key = tel::ParseDtmfInfo(type, body);
    if (key.has_value()) {
      if (!IsKey(*key)) Fail("an INFO key that is not on a keypad");
    } else if (key.error().code() != switchboard::StatusCode::kInvalidArgument) {
      Fail("an INFO refused with a code other than kInvalidArgument");
    }
  }
  return 0;
}
