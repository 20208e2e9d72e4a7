#include "telephony/sdp.h"

#include <gtest/gtest.h>

namespace switchboard::telephony {
namespace {

constexpr char kOffer[] =
    "v=0\r\no=phone 1 1 IN IP4 192.0.2.10\r\ns=call\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
    "m=video 0 RTP/AVP 31\r\n";

TEST(Sdp, BlackHoleAnswerHoldsEveryStream) {
  auto a = BlackHoleAnswer(kOffer, 77);
  ASSERT_TRUE(a.has_value()) << a.status().ToString();
  EXPECT_EQ(*a,
            "v=0\r\no=switchboard 77 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
            "m=audio 9 RTP/AVP 96\r\na=inactive\r\na=rtpmap:96 opus/48000/2\r\n"
            "m=video 0 RTP/AVP 31\r\n");
}

TEST(Sdp, OfferFromAnswerKeepsMediaUnderOurOriginAndDropsFreeText) {
  constexpr char kAnswer[] =
      "v=0\no=+447700900123 5 5 IN IP4 198.51.100.7\ns=+447700900123\ni=info\n"
      "c=IN IP4 198.51.100.7\nt=0 0\nm=audio 5000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";
  auto o = OfferFromAnswer(kAnswer, 77, 2);
  ASSERT_TRUE(o.has_value()) << o.status().ToString();
  EXPECT_EQ(*o,
            "v=0\r\no=switchboard 77 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n"
            "t=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
  EXPECT_EQ(o->find("7700900"), std::string::npos);
}

TEST(Sdp, RefusesWhatIsNotSdp) {
  EXPECT_FALSE(BlackHoleAnswer("", 1).has_value());
  EXPECT_FALSE(BlackHoleAnswer("hello", 1).has_value());
  EXPECT_FALSE(BlackHoleAnswer("v=0\r\nc=IN IP4 1.2.3.4\r\n", 1).has_value());  // no media
  EXPECT_FALSE(BlackHoleAnswer("v=0\r\nm=audio x RTP/AVP 0\r\n", 1).has_value());
  EXPECT_FALSE(BlackHoleAnswer("v=0\r\nm=audio 4000 RTP/AVP\r\n", 1).has_value());
  EXPECT_FALSE(
      BlackHoleAnswer(std::string("v=0\r\nm=audio 4000 RTP/AVP 0\r\na=x\0y", 36), 1).has_value());
  EXPECT_FALSE(
      BlackHoleAnswer("v=0\r\nm=audio 4000 RTP/AVP 0\r\n" + std::string(kMaxSdpBytes, 'a'), 1)
          .has_value());
  EXPECT_FALSE(
      OfferFromAnswer("v=0\r\nm=audio 4000 RTP/AVP 0\r\n", 1, 2).has_value());  // no origin
  EXPECT_FALSE(
      OfferFromAnswer("v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n", 1, 2)
          .has_value());
}

TEST(Sdp, AnAnswerNeverOutgrowsWhatItsOwnReaderAccepts) {
  // The answer copies the chosen format's rtpmap and adds a=inactive: an
  // offer just under the limit can make an answer over it, which is refused
  // rather than sent.
  std::string offer = "v=0\r\no=p 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";
  offer += "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000";
  offer += std::string(kMaxSdpBytes - offer.size() - 2, 'x') + "\r\n";
  ASSERT_EQ(offer.size(), kMaxSdpBytes);
  auto a = BlackHoleAnswer(offer, 1);
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.error().message().find("too large"), std::string::npos);
}

TEST(Sdp, MoreMediaLinesThanACallUsesAreRefused) {
  // Found by sip_fuzz: 331 media lines under the size limit made a re-offer
  // whose own black-hole answer was over it. A call has one or two.
  std::string sdp = "v=0\r\no=p 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
  for (int i = 0; i < kMaxMediaLines; ++i) {
    sdp += "m=audio " + std::to_string(4000 + 2 * i) + " RTP/AVP 0\r\n";
  }
  EXPECT_TRUE(BlackHoleAnswer(sdp, 1).has_value());
  EXPECT_TRUE(OfferFromAnswer(sdp, 1, 2).has_value());
  sdp += "m=audio 5000 RTP/AVP 0\r\n";
  for (const auto& r : {BlackHoleAnswer(sdp, 1), OfferFromAnswer(sdp, 1, 2)}) {
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("more than 16 media lines"), std::string::npos);
  }
}

}  // namespace
}  // namespace switchboard::telephony
