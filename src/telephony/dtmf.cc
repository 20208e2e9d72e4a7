#include "telephony/dtmf.h"

#include <algorithm>

namespace switchboard::telephony {

namespace {

// Remembered counted events; a phone's end packets arrive within a few
// packets of each other, so a handful is plenty.
constexpr std::size_t kRememberEvents = 8;
// An INFO body worth reading is a few dozen bytes.
constexpr std::size_t kMaxInfoBody = 1024;

std::uint16_t Be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t Be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

std::optional<char> KeyFromText(std::string_view s) {
  s = Trim(s);
  if (s.size() == 1) {
    const char c = s[0];
    if ((c >= '0' && c <= '9') || c == '*' || c == '#') return c;
    if (c >= 'A' && c <= 'D') return c;
    if (c >= 'a' && c <= 'd') return static_cast<char>(c - 'a' + 'A');
  }
  // Some gateways send the event code instead: 10 for *, 11 for #.
  if (s == "10") return '*';
  if (s == "11") return '#';
  return std::nullopt;
}

}  // namespace

std::optional<char> DtmfKey(int event) {
  if (event >= 0 && event <= 9) return static_cast<char>('0' + event);
  if (event == 10) return '*';
  if (event == 11) return '#';
  if (event >= 12 && event <= 15) return static_cast<char>('A' + event - 12);
  return std::nullopt;
}

bool DtmfReceiver::Counted(const EventKey& key) const {
  return std::find(counted_.begin(), counted_.end(), key) != counted_.end();
}

void DtmfReceiver::Count(const EventKey& key, char key_char) {
  counted_.push_back(key);
  if (counted_.size() > kRememberEvents) counted_.pop_front();
  if (!full()) digits_.push_back(key_char);
}

DtmfReceiver::Fed DtmfReceiver::Feed(std::span<const std::uint8_t> d) {
  // RTP fixed header (RFC 3550 §5.1): 12 bytes, then CSRCs, an extension
  // and padding, each checked against what arrived.
  if (d.size() < 12 || (d[0] >> 6) != 2) return Fed::kIgnored;
  const bool padding = d[0] & 0x20;
  const bool extension = d[0] & 0x10;
  const std::size_t csrcs = d[0] & 0x0f;
  const int payload_type = d[1] & 0x7f;
  if (payload_type != payload_type_) return Fed::kIgnored;
  const std::uint32_t timestamp = Be32(&d[4]);
  const std::uint32_t ssrc = Be32(&d[8]);
  std::size_t at = 12 + 4 * csrcs;
  std::size_t end = d.size();
  if (at > end) return Fed::kIgnored;
  if (extension) {
    if (end - at < 4) return Fed::kIgnored;
    const std::size_t words = Be16(&d[at + 2]);
    at += 4;
    if ((end - at) / 4 < words) return Fed::kIgnored;
    at += 4 * words;
  }
  if (padding) {
    const std::size_t pad = d[end - 1];
    if (pad == 0 || pad > end - at) return Fed::kIgnored;
    end -= pad;
  }
  // The event payload (RFC 4733 §2.3): event, E|R|volume, duration. A packet
  // may carry more than one block (redundancy); the first is this one.
  if (end - at < 4) return Fed::kIgnored;
  const std::optional<char> key = DtmfKey(d[at]);
  if (!key) return Fed::kIgnored;
  const bool ended = d[at + 1] & 0x80;
  const EventKey event{ssrc, timestamp};
  if (Counted(event)) return Fed::kAccepted;
  // A new event while another's end never arrived: that one is over.
  Fed fed = Fed::kAccepted;
  if (open_ && open_->first != event) {
    Count(open_->first, open_->second);
    open_.reset();
    fed = Fed::kDigit;
  }
  if (ended) {
    Count(event, *key);
    open_.reset();
    return Fed::kDigit;
  }
  open_ = std::make_pair(event, *key);
  return fed;
}

Result<char> ParseDtmfInfo(std::string_view content_type, std::string_view body) {
  if (body.size() > kMaxInfoBody) {
    return Status::InvalidArgument("the DTMF INFO body is longer than " +
                                   std::to_string(kMaxInfoBody) + " bytes");
  }
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (EqualsIgnoreCase(type, "application/dtmf")) {
    if (auto k = KeyFromText(body.substr(0, body.find('\n')))) return *k;
    return Status::InvalidArgument("the application/dtmf body names no key");
  }
  if (!EqualsIgnoreCase(type, "application/dtmf-relay")) {
    return Status::InvalidArgument(
        "not a DTMF INFO body (content type is not "
        "application/dtmf-relay or application/dtmf)");
  }
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (EqualsIgnoreCase(Trim(line.substr(0, eq)), "Signal")) {
      if (auto k = KeyFromText(line.substr(eq + 1))) return *k;
      return Status::InvalidArgument("the dtmf-relay Signal names no key");
    }
  }
  return Status::InvalidArgument("the dtmf-relay body has no Signal line");
}

}  // namespace switchboard::telephony
