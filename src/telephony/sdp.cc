#include "telephony/sdp.h"

#include <vector>

namespace switchboard::telephony {
namespace {

struct Line {
  char type;
  std::string_view value;
};

// Splits a description into its `x=value` lines; refuses anything else.
Result<std::vector<Line>> Lines(std::string_view sdp) {
  if (sdp.size() > kMaxSdpBytes) return Status::InvalidArgument("session description too large");
  std::vector<Line> out;
  while (!sdp.empty()) {
    std::size_t end = sdp.find('\n');
    std::string_view line = sdp.substr(0, end);
    sdp = end == std::string_view::npos ? std::string_view() : sdp.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return Status::InvalidArgument("session description line is not of the form x=value");
    }
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 && c != '\t') {
        return Status::InvalidArgument("session description holds a control character");
      }
    }
    out.push_back({line[0], line.substr(2)});
  }
  if (out.empty() || out.front().type != 'v' || out.front().value != "0") {
    return Status::InvalidArgument("session description does not start with v=0");
  }
  return out;
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    const std::size_t end = s.find(' ');
    out.push_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  }
  return out;
}

bool IsNumber(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string Origin(std::uint64_t session_id, std::uint64_t version) {
  return "o=switchboard " + std::to_string(session_id) + " " + std::to_string(version) +
         " IN IP4 0.0.0.0\r\n";
}

}  // namespace

Result<std::string> BlackHoleAnswer(std::string_view offer, std::uint64_t session_id) {
  SB_ASSIGN_OR_RETURN(std::vector<Line> lines, Lines(offer));
  std::string out = "v=0\r\n" + Origin(session_id, 1) + "s=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n";
  int media = 0;
  std::string rtpmap_prefix;  // "a=rtpmap:<fmt> " of the format chosen for the current line
  for (const Line& l : lines) {
    if (l.type == 'm') {
      const std::vector<std::string_view> w = Words(l.value);
      // m=<media> <port>[/<n>] <proto> <fmt> ...
      if (w.size() < 4) return Status::InvalidArgument("media line without a format");
      const std::string_view port = w[1].substr(0, w[1].find('/'));
      if (!IsNumber(port)) return Status::InvalidArgument("media line with a bad port");
      if (++media > kMaxMediaLines) {
        return Status::InvalidArgument("session description with more than " +
                                       std::to_string(kMaxMediaLines) + " media lines");
      }
      const bool rejected = port == "0";
      out += "m=" + std::string(w[0]) + (rejected ? " 0 " : " 9 ") + std::string(w[2]) + " " +
             std::string(w[3]) + "\r\n";
      if (!rejected) out += "a=inactive\r\n";
      rtpmap_prefix = "rtpmap:" + std::string(w[3]) + " ";
    } else if (l.type == 'a' && media > 0 && !rtpmap_prefix.empty() &&
               l.value.substr(0, rtpmap_prefix.size()) == rtpmap_prefix) {
      out += "a=" + std::string(l.value) + "\r\n";
    }
  }
  if (media == 0) return Status::InvalidArgument("session description without media");
  if (out.size() > kMaxSdpBytes) return Status::InvalidArgument("session description too large");
  return out;
}

Result<std::string> OfferFromAnswer(std::string_view answer, std::uint64_t session_id,
                                    std::uint64_t version) {
  SB_ASSIGN_OR_RETURN(std::vector<Line> lines, Lines(answer));
  // Only what routes media is copied: the rest (s=, i=, u=, e=, p=) is the
  // member's side's free text and must not reach the caller's phone.
  std::string out = "v=0\r\n" + Origin(session_id, version) + "s=-\r\n";
  int media = 0;
  bool origin = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.type == 'v') return Status::InvalidArgument("session description with two v= lines");
    if (l.type == 'o') {
      origin = true;
      continue;
    }
    if (l.type != 'c' && l.type != 'b' && l.type != 't' && l.type != 'm' && l.type != 'a') {
      continue;
    }
    if (l.type == 'm') {
      const std::vector<std::string_view> w = Words(l.value);
      if (w.size() < 4) return Status::InvalidArgument("media line without a format");
      if (!IsNumber(w[1].substr(0, w[1].find('/')))) {
        return Status::InvalidArgument("media line with a bad port");
      }
      if (++media > kMaxMediaLines) {
        return Status::InvalidArgument("session description with more than " +
                                       std::to_string(kMaxMediaLines) + " media lines");
      }
    }
    out += l.type;
    out += '=';
    out += l.value;
    out += "\r\n";
  }
  if (!origin) return Status::InvalidArgument("session description without an origin line");
  if (media == 0) return Status::InvalidArgument("session description without media");
  if (out.size() > kMaxSdpBytes) return Status::InvalidArgument("session description too large");
  return out;
}

}  // namespace switchboard::telephony
