// The session descriptions the third-party call controller writes
// (docs/telephony.md, "The call flow"). It reads SDP from the network (the
// caller's offer, the member's answer) and only rewrites it: media flows
// phone to phone and the server never opens an RTP port.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::telephony {

// The longest description accepted from a peer, and the most media lines
// (a phone call has one or two; a black-hole answer adds a line per media
// line, so without a count it could outgrow the size limit).
inline constexpr std::size_t kMaxSdpBytes = 16 * 1024;
inline constexpr int kMaxMediaLines = 16;

// An answer to `offer` that holds the caller's phone on hold while the
// member rings: every media line accepted with its first format, port 9,
// connection 0.0.0.0 and a=inactive (RFC 3725's "black hole").
Result<std::string> BlackHoleAnswer(std::string_view offer, std::uint64_t session_id);

// The member's answer turned into this controller's next offer to the
// caller: the member's media lines and addresses under the controller's own
// origin line (session `session_id`, `version`), as RFC 3264 requires of a
// re-offer on the caller's dialog.
Result<std::string> OfferFromAnswer(std::string_view answer, std::uint64_t session_id,
                                    std::uint64_t version);

}  // namespace switchboard::telephony
