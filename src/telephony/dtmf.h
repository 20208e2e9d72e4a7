// Keys pressed on a phone's keypad, as the phone sends them: RFC 4733
// telephone-events in RTP (the usual way), or SIP INFO bodies
// (application/dtmf-relay, application/dtmf) for trunks that relay DTMF out
// of band. Used only on the short call that verifies a caller's own phone
// (docs/telephony.md); a bridged call's media never reaches the server.
//
// Both readers take untrusted bytes from the network: every length is
// checked before it is read, and the receiver keeps a bounded number of
// digits and of remembered events, whatever it is fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"

namespace switchboard::telephony {

// The key an RFC 4733 event code names (0-9, *, #, A-D), or nothing for the
// other events (flash, tones).
std::optional<char> DtmfKey(int event);

class DtmfReceiver {
 public:
  // `payload_type`: the telephone-event payload type agreed in the SDP
  // (commonly 101). At most `max_digits` are kept; later keys are ignored.
  explicit DtmfReceiver(int payload_type, std::size_t max_digits = 16)
      : payload_type_(payload_type), max_digits_(max_digits) {}

  enum class Fed {
    kIgnored,   // not RTP, another payload type, or not a DTMF key
    kAccepted,  // part of an event already counted, or one still going on
    kDigit,     // completed a key press: digits() grew by one
  };
  // One UDP datagram as it arrived.
  Fed Feed(std::span<const std::uint8_t> datagram);

  const std::string& digits() const { return digits_; }
  bool full() const { return digits_.size() >= max_digits_; }

 private:
  // An event is one key press: its sender and the RTP timestamp of its
  // start, which every packet of the event repeats (RFC 4733 §2.5.1.3).
  using EventKey = std::pair<std::uint32_t, std::uint32_t>;  // SSRC, timestamp
  void Count(const EventKey& key, char key_char);
  bool Counted(const EventKey& key) const;

  int payload_type_;
  std::size_t max_digits_;
  std::string digits_;
  // The event under way whose end has not been seen yet, and its key.
  std::optional<std::pair<EventKey, char>> open_;
  // Events already counted, the most recent few: the end packet is sent
  // three times, and late or reordered packets of a counted event must not
  // count again.
  std::deque<EventKey> counted_;
};

// The key in a SIP INFO body: "Signal=5\r\nDuration=160" for
// application/dtmf-relay, or "5" for application/dtmf. kInvalidArgument for
// another content type, an oversized body or no key.
Result<char> ParseDtmfInfo(std::string_view content_type, std::string_view body);

}  // namespace switchboard::telephony
