// A SIP user agent that bridges two phones through a trunk by third-party
// call control (RFC 3725, flow IV; docs/telephony.md has the diagram). It
// runs libre on a thread of its own; every other thread talks to it through
// a command queue, and it reports what happens through a callback keyed by
// the call's id. It handles no RTP for bridged calls: media flows phone to
// phone. Only a call that verifies a caller's own phone (PlaceVerify) has
// its media, the keys pressed, sent to the server.
//
// The member's number goes only into the member leg's Request-URI and To
// header. It is dropped when the call ends and never logged; events carry
// the call id only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace switchboard::telephony {

struct EngineOptions {
  // The carrier's SIP trunk: "sip:host[:port]". Calls go to
  // sip:<E.164 number>@host[:port];user=phone.
  std::string trunk_uri;
  std::string username;
  std::string password;
  // Every request goes through this proxy when set ("sip:host[:port]").
  std::string outbound_proxy;
  // "udp", "tcp" or "tls".
  std::string transport = "udp";
  // E.164: From and P-Asserted-Identity on both legs.
  std::string caller_id;
  std::string listen_address = "127.0.0.1";
  int listen_port = 0;  // 0: any free port
  // How long each phone may ring before the call gives up.
  int caller_ring_seconds = 30;
  int member_ring_seconds = 30;
  // How long the caller's phone may take to accept the member's media (the
  // re-INVITE); a phone that refuses it (e.g. 488) ends the call as failed
  // rather than leaving two silent phones. 32 s is the transaction's own
  // limit (64 x T1).
  int bridge_seconds = 32;
  std::string user_agent = "Switchboard";
  // A call that verifies a caller's own phone (PlaceVerify): how long the
  // phone may take, once answered, to key the code before it is hung up.
  int verify_seconds = 90;
  // Turns an established leg's record (LegRecord::Encode, which may name a
  // phone number) into the opaque value a kLegUp event carries, e.g. by
  // sealing it; called on the engine's thread. Unset: events carry none.
  std::function<std::string(std::string_view plaintext)> seal_leg;
};

// Enough of an established leg to hang it up with no other state (after a
// restart): its dialog identifiers and the remote URIs. The URIs may name a
// phone number and must be stored sealed.
struct LegRecord {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_uri;   // our From on this leg
  std::string remote_uri;  // the To of our INVITE
  std::string target;      // the remote Contact
  std::uint32_t cseq = 0;  // the next CSeq to use
  std::string Encode() const;
  static Result<LegRecord> Decode(std::string_view text);
};

struct CallEvent {
  enum class Kind {
    kCallingMember,  // the caller answered; the member's phone is being rung
    kConnected,      // the member answered; both phones up
    kLegUp,          // a leg was established (`leg`, `sealed_leg`): store it
    kEnded,          // over (`end`, `duration_seconds`)
    // A verification call (PlaceVerify; `call` is its id):
    kVerifyAnswered,  // the phone answered; keys are awaited
    kVerifyKeys,      // `keys`: as many keys as the code has, in order
    kVerifyEnded,     // over: `end` (VerifyRequest says which)
  };
  std::int64_t call = 0;
  Kind kind = Kind::kEnded;
  // kEnded: completed, caller_busy, caller_no_answer, caller_declined, busy,
  // no_answer, wrong_number, killed or failed (phonebank/connector.h).
  std::string end;
  std::int64_t duration_seconds = 0;
  std::string leg;  // kLegUp: "caller" or "member"
  // kLegUp: the leg's record as EngineOptions::seal_leg made it; never a
  // number in the clear.
  std::string sealed_leg;
  // kVerifyKeys: the digits keyed, from RTP telephone-events (RFC 4733) or
  // SIP INFO; never logged.
  std::string keys;
};

// A call to a caller's own phone that verifies it: the only leg whose media
// reaches the server. Its offer names an RTP port of the server's (on the
// transport's address) with telephone-event/8000 as payload type 101; the
// keys the phone sends there, or as SIP INFO, are reported in groups of
// `code_length` (at most kMaxVerifyAttempts groups; '*' drops the keys of an
// unfinished group). The call ends, reported kVerifyEnded, with `end`:
//   no_answer, busy, declined   the phone did not answer (ring time)
//   hung_up                     the phone hung up
//   timeout                     not done within verify_seconds of answering
//   too_many_keys               keys after the last group
//   failed                      the trunk refused the call, or no RTP port
//   or the `end` EndVerify gave.
struct VerifyRequest {
  std::int64_t id = 0;
  std::string number;  // E.164
  std::size_t code_length = 6;
};
inline constexpr std::size_t kMaxVerifyAttempts = 3;
// RTP datagrams read per verification call; later ones are dropped unread.
inline constexpr std::int64_t kMaxVerifyPackets = 20000;

struct CallRequest {
  std::int64_t call = 0;
  std::string caller_number;  // E.164
  std::string member_number;  // E.164
  // The number both legs present (E.164); empty: EngineOptions::caller_id.
  std::string caller_id;
  // How long the member's phone rings; 0: EngineOptions::member_ring_seconds.
  int member_ring_seconds = 0;
};

// What `Probe` found at the trunk.
struct ProbeResult {
  int options_status = 0;  // the final answer to OPTIONS, 0 if none
  std::string options_reason;
  std::string server;       // the Server or User-Agent header
  int register_status = 0;  // 0 when not registering
  std::string register_reason;
};

class Engine {
 public:
  using EventHandler = std::function<void(const CallEvent&)>;
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Binds the local transport and starts the thread. `on_event` is called on
  // the engine's thread; it must not block for long.
  static Result<std::unique_ptr<Engine>> Start(EngineOptions options, EventHandler on_event);

  // Each returns at once; the work happens on the engine's thread.
  void Place(CallRequest request);
  // Ends both legs of `call`, reported as `end` (completed or killed).
  void Hangup(std::int64_t call, std::string end);
  // Ends every call, reported as killed.
  void HangupAll();
  // Sends BYE on legs recorded before a restart.
  void EndLegs(std::vector<LegRecord> legs);

  // Rings a caller's own phone to verify it (VerifyRequest); a request with
  // the id of one still going on is ignored.
  void PlaceVerify(VerifyRequest request);
  // Ends verification call `id` (BYE, or CANCEL while it rings), reported
  // kVerifyEnded with `end`.
  void EndVerify(std::int64_t id, std::string end);

  // Texts `text` to `number` as a SIP MESSAGE (RFC 3428) through the trunk
  // and waits for its final answer, `timeout_ms` at the longest. For the
  // caller's own phone only (verification codes).
  Status SendText(std::string number, std::string text, int timeout_ms);

  // Sends OPTIONS (and REGISTER when `do_register`) to the trunk and waits
  // for the answers, `timeout_ms` at the longest.
  Result<ProbeResult> Probe(bool do_register, int timeout_ms);

  // The local address the transport is bound to ("ip:port").
  std::string local_address() const;
  // Calls in progress on the engine's thread.
  int active_calls() const;
  // Messages refused as malformed or out of dialog since start.
  std::int64_t rejected_messages() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The SIP status of a member leg's final answer as an end reason.
std::string MemberEndFor(int status);
// The same for the caller's own phone.
std::string CallerEndFor(int status);

}  // namespace switchboard::telephony
