// The DTMF readers against the RFC 2833/4733 captures Debian's sip-tester
// ships (/usr/share/sip-tester/dtmf_2833_*.pcap: one key press each, as a
// phone sent it), and against the ways a network mangles them.
#include "telephony/dtmf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace switchboard::telephony {
namespace {

using Datagram = std::vector<std::uint8_t>;

const char kCaptures[] = "/usr/share/sip-tester";

std::uint32_t Le32(const std::string& d, std::size_t at) {
  return std::uint32_t{static_cast<std::uint8_t>(d[at])} |
         std::uint32_t{static_cast<std::uint8_t>(d[at + 1])} << 8 |
         std::uint32_t{static_cast<std::uint8_t>(d[at + 2])} << 16 |
         std::uint32_t{static_cast<std::uint8_t>(d[at + 3])} << 24;
}

// The UDP payloads of a classic pcap file of Ethernet/IPv4/UDP frames.
std::vector<Datagram> UdpPayloads(const std::string& name) {
  const std::string path = std::string(kCaptures) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path << " is missing: scripts/setup.sh installs sip-tester";
  const std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Datagram> out;
  if (d.size() < 24 || Le32(d, 0) != 0xa1b2c3d4) {
    ADD_FAILURE() << path << " is not a little-endian pcap file";
    return out;
  }
  for (std::size_t at = 24; at + 16 <= d.size();) {
    const std::size_t len = Le32(d, at + 8);
    const std::size_t frame = at + 16;
    at = frame + len;
    if (at > d.size() || len < 14 + 20 + 8) break;
    const std::size_t ip = frame + 14;
    const std::size_t ihl = (static_cast<std::uint8_t>(d[ip]) & 0x0f) * 4u;
    const std::size_t udp = ip + ihl;
    if (static_cast<std::uint8_t>(d[ip + 9]) != 17 || udp + 8 > at) continue;
    out.emplace_back(d.begin() + static_cast<std::ptrdiff_t>(udp + 8),
                     d.begin() + static_cast<std::ptrdiff_t>(at));
  }
  return out;
}

std::string FeedAll(DtmfReceiver& r, const std::vector<Datagram>& packets) {
  for (const Datagram& p : packets) r.Feed(p);
  return r.digits();
}

struct Capture {
  const char* file;
  char key;
};
const Capture kAll[] = {
    {"dtmf_2833_0.pcap", '0'}, {"dtmf_2833_1.pcap", '1'},    {"dtmf_2833_2.pcap", '2'},
    {"dtmf_2833_3.pcap", '3'}, {"dtmf_2833_4.pcap", '4'},    {"dtmf_2833_5.pcap", '5'},
    {"dtmf_2833_6.pcap", '6'}, {"dtmf_2833_7.pcap", '7'},    {"dtmf_2833_8.pcap", '8'},
    {"dtmf_2833_9.pcap", '9'}, {"dtmf_2833_star.pcap", '*'}, {"dtmf_2833_pound.pcap", '#'}};

TEST(DtmfReceiverTest, EachCaptureIsOneKeyPress) {
  for (const Capture& c : kAll) {
    const std::vector<Datagram> packets = UdpPayloads(c.file);
    ASSERT_GE(packets.size(), 4u) << c.file;
    DtmfReceiver r(101);
    EXPECT_EQ(FeedAll(r, packets), std::string(1, c.key)) << c.file;
  }
}

TEST(DtmfReceiverTest, AKeySequenceArrivesInOrder) {
  DtmfReceiver r(101);
  for (const char* f : {"dtmf_2833_4.pcap", "dtmf_2833_0.pcap", "dtmf_2833_9.pcap",
                        "dtmf_2833_star.pcap", "dtmf_2833_2.pcap", "dtmf_2833_pound.pcap"}) {
    FeedAll(r, UdpPayloads(f));
  }
  EXPECT_EQ(r.digits(), "409*2#");
}

TEST(DtmfReceiverTest, RepeatedEndPacketsCountOnce) {
  // The capture's end packet is sent three times already; send them all
  // again, and the whole event once more (a duplicating network).
  const std::vector<Datagram> p = UdpPayloads("dtmf_2833_7.pcap");
  DtmfReceiver r(101);
  FeedAll(r, p);
  FeedAll(r, p);
  EXPECT_EQ(r.digits(), "7");
}

TEST(DtmfReceiverTest, LostEndPacketsStillCountWhenTheNextKeyStarts) {
  DtmfReceiver r(101);
  for (const char* f : {"dtmf_2833_3.pcap", "dtmf_2833_8.pcap"}) {
    std::vector<Datagram> p = UdpPayloads(f);
    // Drop every packet with the E bit: no end ever arrives.
    std::erase_if(p, [](const Datagram& d) { return d.size() >= 14 && (d[13] & 0x80); });
    FeedAll(r, p);
  }
  EXPECT_EQ(r.digits(), "3") << "the open event counts when the next one starts";
  EXPECT_EQ(r.Feed(UdpPayloads("dtmf_2833_1.pcap").back()), DtmfReceiver::Fed::kDigit);
  EXPECT_EQ(r.digits(), "381");
}

TEST(DtmfReceiverTest, ReorderedPacketsOfACountedEventDoNotCountAgain) {
  std::vector<Datagram> p = UdpPayloads("dtmf_2833_5.pcap");
  std::mt19937 rng(4733);
  for (int trial = 0; trial < 200; ++trial) {
    std::shuffle(p.begin(), p.end(), rng);
    DtmfReceiver r(101);
    EXPECT_EQ(FeedAll(r, p), "5") << "trial " << trial;
  }
}

TEST(DtmfReceiverTest, OtherPayloadTypesAndNonRtpAreIgnored) {
  DtmfReceiver r(96);  // the SDP agreed another payload type
  EXPECT_EQ(FeedAll(r, UdpPayloads("dtmf_2833_1.pcap")), "");
  DtmfReceiver audio(101);
  // G.711 audio from the same kind of capture is not an event.
  for (const Datagram& d : UdpPayloads("g711a.pcap")) {
    EXPECT_NE(audio.Feed(d), DtmfReceiver::Fed::kDigit);
  }
  EXPECT_EQ(audio.digits(), "");
}

TEST(DtmfReceiverTest, TruncatedAndMalformedHeadersAreIgnoredWithoutReadingPastTheEnd) {
  const Datagram good = UdpPayloads("dtmf_2833_6.pcap").back();
  DtmfReceiver r(101);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const Datagram cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(r.Feed(cut), DtmfReceiver::Fed::kIgnored) << n << " bytes";
  }
  Datagram csrcs = good;
  csrcs[0] |= 0x0f;  // claims 15 CSRCs it does not carry
  EXPECT_EQ(r.Feed(csrcs), DtmfReceiver::Fed::kIgnored);
  Datagram ext = good;
  ext[0] |= 0x10;  // an extension header whose length runs past the end
  EXPECT_EQ(r.Feed(ext), DtmfReceiver::Fed::kIgnored);
  Datagram pad = good;
  pad[0] |= 0x20;
  pad.back() = 0xff;  // more padding than packet
  EXPECT_EQ(r.Feed(pad), DtmfReceiver::Fed::kIgnored);
  Datagram v1 = good;
  v1[0] = static_cast<std::uint8_t>((v1[0] & 0x3f) | 0x40);  // RTP version 1
  EXPECT_EQ(r.Feed(v1), DtmfReceiver::Fed::kIgnored);
  EXPECT_EQ(r.digits(), "");
  EXPECT_EQ(r.Feed(good), DtmfReceiver::Fed::kDigit);
  EXPECT_EQ(r.digits(), "6");
}

TEST(DtmfReceiverTest, NonKeyEventsAreIgnored) {
  Datagram flash = UdpPayloads("dtmf_2833_2.pcap").back();
  flash[12] = 16;  // "flash", not a key
  DtmfReceiver r(101);
  EXPECT_EQ(r.Feed(flash), DtmfReceiver::Fed::kIgnored);
  EXPECT_EQ(DtmfKey(15), 'D');
  EXPECT_EQ(DtmfKey(12), 'A');
  EXPECT_EQ(DtmfKey(16), std::nullopt);
  EXPECT_EQ(DtmfKey(-1), std::nullopt);
}

TEST(DtmfReceiverTest, KeepsAtMostMaxDigits) {
  DtmfReceiver r(101, 3);
  for (const Capture& c : kAll) FeedAll(r, UdpPayloads(c.file));
  EXPECT_EQ(r.digits(), "012");
  EXPECT_TRUE(r.full());
}

TEST(DtmfInfoTest, ReadsDtmfRelayAndPlainBodies) {
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n").value(), '5');
  EXPECT_EQ(
      ParseDtmfInfo("Application/DTMF-Relay; charset=x", "Duration=100\nsignal = #\n").value(),
      '#');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=11\r\n").value(), '#');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "*").value(), '*');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "b\r\n").value(), 'B');
}

TEST(DtmfInfoTest, RefusesOtherBodiesWithAReason) {
  EXPECT_EQ(ParseDtmfInfo("application/sdp", "Signal=5").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Duration=160").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=55").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "").error().code(), StatusCode::kInvalidArgument);
  const Status big = ParseDtmfInfo("application/dtmf-relay", std::string(5000, 'x')).error();
  EXPECT_NE(big.message().find("longer than"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::telephony
