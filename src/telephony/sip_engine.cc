#include "telephony/sip_engine.h"

#include <re.h>
#define DEBUG_MODULE "switchboard"
#define DEBUG_LEVEL 0
#include <re_dbg.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/json.h"
#include "core/log.h"
#include "core/mutex.h"
#include "telephony/dtmf.h"
#include "telephony/sdp.h"

namespace switchboard::telephony {

std::string MemberEndFor(int status) {
  switch (status) {
    case 486:
    case 600:
    case 603:
      return "busy";
    case 404:
    case 484:
    case 604:
      return "wrong_number";
    case 408:
    case 480:
    case 487:
      return "no_answer";
    default:
      return "failed";
  }
}

std::string CallerEndFor(int status) {
  switch (status) {
    case 486:
    case 600:
      return "caller_busy";
    case 603:
      return "caller_declined";
    case 408:
    case 480:
    case 487:
      return "caller_no_answer";
    default:
      return "failed";
  }
}

std::string LegRecord::Encode() const {
  nlohmann::json j = {{"call_id", call_id},
                      {"local_tag", local_tag},
                      {"remote_tag", remote_tag},
                      {"local_uri", local_uri},
                      {"remote_uri", remote_uri},
                      {"target", target},
                      {"cseq", cseq}};
  return j.dump();
}

Result<LegRecord> LegRecord::Decode(std::string_view text) {
  Result<nlohmann::json> parsed = ParseJson(text);
  if (!parsed || !parsed->is_object()) {
    return Status::InvalidArgument("a stored SIP leg is not a JSON object");
  }
  const nlohmann::json& j = *parsed;
  LegRecord r;
  for (auto [key, out] :
       std::initializer_list<std::pair<const char*, std::string*>>{{"call_id", &r.call_id},
                                                                   {"local_tag", &r.local_tag},
                                                                   {"remote_tag", &r.remote_tag},
                                                                   {"local_uri", &r.local_uri},
                                                                   {"remote_uri", &r.remote_uri},
                                                                   {"target", &r.target}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Status::InvalidArgument(std::string("a stored SIP leg lacks ") + key);
    }
    *out = it->get<std::string>();
  }
  auto it = j.find("cseq");
  if (it == j.end() || !it->is_number_unsigned()) {
    return Status::InvalidArgument("a stored SIP leg lacks cseq");
  }
  r.cseq = it->get<std::uint32_t>();
  return r;
}

namespace {

std::string Str(const pl& p) { return std::string(p.p ? p.p : "", p.l); }

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

enum class Phase { kCallingCaller, kCallingMember, kConnected, kEnded };

enum CommandId {
  kPlace = 1,
  kHangup,
  kHangupAll,
  kEndLegs,
  kProbe,
  kText,
  kStop,
  kVerify,
  kEndVerify
};

struct TextState {
  std::promise<Status> done;
  std::string uri;
  std::string text;
  std::string tag;
  std::string call_id;
  std::uint32_t cseq = 1;
  bool challenged = false;
  struct sip_auth* auth = nullptr;  // engine thread only
  Engine::Impl* impl = nullptr;
  ~TextState() {
    Wipe(uri);
    mem_deref(auth);
  }
};

struct ProbeState {
  std::mutex mu;
  std::promise<ProbeResult> done;
  ProbeResult result;
  bool do_register = false;
  int pending = 0;
  bool finished = false;
  struct sipreg* reg = nullptr;  // engine thread only
  struct tmr drop;
};

struct Command {
  CallRequest place;
  std::int64_t call = 0;
  std::string end;
  std::vector<LegRecord> legs;
  std::shared_ptr<ProbeState> probe;
  std::shared_ptr<TextState> text;
  VerifyRequest verify;
};

}  // namespace

struct Call;
struct VerifyCall;

struct Engine::Impl {
  EngineOptions opt;
  EventHandler on_event;
  std::thread thread;
  std::atomic<int> active{0};
  std::atomic<std::int64_t> rejected{0};
  std::string local;  // set before Start returns

  // Owned by the engine's thread.
  struct sip* sip = nullptr;
  struct sipsess_sock* sock = nullptr;
  struct mqueue* mq = nullptr;
  struct dnsc* dnsc = nullptr;
  struct sip_lsnr* requests = nullptr;
  struct sip_lsnr* responses = nullptr;
  sip_transp tp = SIP_TRANSP_UDP;
  std::string trunk_host;  // host[:port]
  std::string uri_params;  // ";transport=tcp" or empty
  std::string from_uri;    // sip:<caller id>@trunk
  std::string proxy;       // outbound proxy URI or empty
  std::map<std::int64_t, Call*> calls;
  std::map<std::int64_t, VerifyCall*> verifies;
  struct tmr stop_timer;

  void Emit(CallEvent e) {
    if (on_event) on_event(e);
  }
  // A kLegUp event with the leg's record sealed by the owner's hook; the
  // plaintext is wiped here.
  void EmitLeg(std::int64_t call, const char* leg, LegRecord record) {
    CallEvent e{call, CallEvent::Kind::kLegUp, "", 0, leg};
    std::string text = record.Encode();
    if (opt.seal_leg) e.sealed_leg = opt.seal_leg(text);
    Wipe(text);
    Wipe(record.remote_uri);
    Wipe(record.target);
    Emit(e);
  }
  std::string FromUri(std::string_view caller_id) const {
    return "sip:" + std::string(caller_id) + "@" + trunk_host + uri_params;
  }
  std::string NumberUri(std::string_view number) const {
    return "sip:" + std::string(number) + "@" + trunk_host + ";user=phone" + uri_params;
  }
  int Connect(Call* c, struct sipsess** sess, const std::string& to, struct mbuf* offer);
  void Finish(Call* c, std::string end);
  void EndLeg(const LegRecord& leg);
  void StartProbe(std::shared_ptr<ProbeState> p);
  int SendText(std::shared_ptr<TextState> t);
  void StartVerify(VerifyRequest& r);
  void FinishVerify(VerifyCall* v, std::string end);
};

struct Call {
  Engine::Impl* eng = nullptr;
  std::int64_t id = 0;
  Phase phase = Phase::kCallingCaller;
  std::string caller_uri;
  std::string member_uri;
  std::string from_uri;  // the caller ID both legs present
  int member_ring_seconds = 0;
  struct sipsess* caller = nullptr;
  struct sipsess* member = nullptr;
  std::string caller_offer;  // the caller's phone's offer (RFC 3725 offer1)
  std::string member_answer;
  std::uint64_t session_id = 0;
  int member_tries = 0;
  bool bridged = false;
  std::chrono::steady_clock::time_point connected_at;
  struct tmr ring_timer;
  struct tmr cleanup_timer;
};

namespace {

Call* CallOf(void* arg) { return static_cast<Call*>(arg); }

int AuthHandler(char** user, char** pass, const char*, void* arg) {
  auto* impl = static_cast<Engine::Impl*>(arg);
  if (impl->opt.username.empty()) return EAUTH;
  int err = str_dup(user, impl->opt.username.c_str());
  err |= str_dup(pass, impl->opt.password.c_str());
  return err;
}

std::string Body(const sip_msg* msg) {
  if (!msg || !msg->mb) return {};
  return std::string(reinterpret_cast<const char*>(mbuf_buf(msg->mb)), mbuf_get_left(msg->mb));
}

struct mbuf* ToMbuf(const std::string& s) {
  struct mbuf* mb = mbuf_alloc(s.size() + 1);
  if (!mb) return nullptr;
  mbuf_write_mem(mb, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  mb->pos = 0;
  return mb;
}

// What a leg's 2xx says about its dialog.
LegRecord RecordOf(const sip_msg* msg, struct sipsess* sess, const std::string& local_uri,
                   const std::string& remote_uri) {
  LegRecord r;
  r.call_id = Str(msg->callid);
  r.local_tag = Str(msg->from.tag);
  r.remote_tag = Str(msg->to.tag);
  r.local_uri = local_uri;
  r.remote_uri = remote_uri;
  if (const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_CONTACT)) {
    sip_addr addr;
    if (sip_addr_decode(&addr, &h->val) == 0) r.target = Str(addr.auri);
  }
  if (r.target.empty()) r.target = remote_uri;
  r.cseq = sip_dialog_lseq(sipsess_dialog(sess)) + 1;
  return r;
}

void CleanupHandler(void* arg) {
  Call* c = CallOf(arg);
  // Dereferencing a session hangs it up: BYE when established, CANCEL
  // while it rings; libre finishes those transactions on its own.
  mem_deref(c->caller);
  mem_deref(c->member);
  tmr_cancel(&c->ring_timer);
  Wipe(c->member_uri);
  Wipe(c->caller_uri);
  delete c;
}

void MemberRingTimeout(void* arg) { CallOf(arg)->eng->Finish(CallOf(arg), "no_answer"); }
void CallerRingTimeout(void* arg) { CallOf(arg)->eng->Finish(CallOf(arg), "caller_no_answer"); }

// The caller's leg.
int CallerOffer(struct mbuf** descp, const sip_msg* msg, void* arg) {
  Call* c = CallOf(arg);
  c->caller_offer = Body(msg);
  Result<std::string> answer = BlackHoleAnswer(c->caller_offer, c->session_id);
  if (!answer) return EPROTO;
  *descp = ToMbuf(*answer);
  return *descp ? 0 : ENOMEM;
}

// The caller's phone accepted the member's media: the bridge is made.
int CallerAnswer(const sip_msg*, void* arg) {
  Call* c = CallOf(arg);
  c->bridged = true;
  tmr_cancel(&c->ring_timer);
  return 0;
}

void BridgeTimeout(void* arg) {
  if (!CallOf(arg)->bridged) CallOf(arg)->eng->Finish(CallOf(arg), "failed");
}
void CallerProgress(const sip_msg*, void*) {}

void MemberProgress(const sip_msg*, void*) {}
int MemberOfferUnexpected(struct mbuf**, const sip_msg*, void*) { return EPROTO; }

int MemberAnswer(const sip_msg* msg, void* arg) {
  CallOf(arg)->member_answer = Body(msg);
  return 0;
}

void MemberEstablished(const sip_msg* msg, void* arg) {
  Call* c = CallOf(arg);
  if (c->phase != Phase::kCallingMember) return;
  tmr_cancel(&c->ring_timer);
  c->eng->EmitLeg(c->id, "member", RecordOf(msg, c->member, c->from_uri, c->member_uri));
  // Flow IV: the member's answer becomes the re-offer to the caller's phone.
  Result<std::string> offer = OfferFromAnswer(c->member_answer, c->session_id, 2);
  struct mbuf* mb = offer ? ToMbuf(*offer) : nullptr;
  const int err = mb ? sipsess_modify(c->caller, mb) : EPROTO;
  mem_deref(mb);
  if (err) {
    c->eng->Finish(c, "failed");
    return;
  }
  c->phase = Phase::kConnected;
  c->connected_at = std::chrono::steady_clock::now();
  c->eng->Emit({c->id, CallEvent::Kind::kConnected});
  // libre reports no refusal of a re-INVITE (it keeps the session as it
  // was), so a bridge not made in time is given up.
  tmr_start(&c->ring_timer, static_cast<uint64_t>(c->eng->opt.bridge_seconds) * 1000, BridgeTimeout,
            c);
}

void MemberClosed(int err, const sip_msg* msg, void* arg) {
  Call* c = CallOf(arg);
  if (c->phase == Phase::kEnded) return;
  if (c->phase == Phase::kConnected) {
    c->eng->Finish(c, "completed");  // the member hung up
    return;
  }
  const int status = (!err && msg && !msg->req) ? msg->scode : 0;
  std::string end = status ? MemberEndFor(status) : (err == ETIMEDOUT ? "no_answer" : "failed");
  if (end == "wrong_number" && c->member_tries < 2) {
    // A wrong number is tried once more before it is believed.
    c->member = static_cast<struct sipsess*>(mem_deref(c->member));
    if (c->eng->Connect(c, &c->member, c->member_uri, ToMbuf(c->caller_offer)) == 0) return;
    end = "failed";
  }
  c->eng->Finish(c, end);
}

void CallerEstablished(const sip_msg* msg, void* arg) {
  Call* c = CallOf(arg);
  if (c->phase != Phase::kCallingCaller) return;
  tmr_cancel(&c->ring_timer);
  c->phase = Phase::kCallingMember;
  c->eng->EmitLeg(c->id, "caller", RecordOf(msg, c->caller, c->from_uri, c->caller_uri));
  c->eng->Emit({c->id, CallEvent::Kind::kCallingMember});
  if (c->eng->Connect(c, &c->member, c->member_uri, ToMbuf(c->caller_offer)) != 0) {
    c->eng->Finish(c, "failed");
    return;
  }
  tmr_start(&c->ring_timer, static_cast<uint64_t>(c->member_ring_seconds) * 1000, MemberRingTimeout,
            c);
}

void CallerClosed(int err, const sip_msg* msg, void* arg) {
  Call* c = CallOf(arg);
  switch (c->phase) {
    case Phase::kEnded:
      return;
    case Phase::kConnected:
      c->eng->Finish(c, "completed");  // the caller hung up
      return;
    case Phase::kCallingMember:
      // The caller gave up while the member's phone rang.
      c->eng->Finish(c, "no_answer");
      return;
    case Phase::kCallingCaller: {
      const int status = (!err && msg && !msg->req) ? msg->scode : 0;
      c->eng->Finish(
          c, status ? CallerEndFor(status) : (err == ETIMEDOUT ? "caller_no_answer" : "failed"));
      return;
    }
  }
}

void ConnHandler(const sip_msg* msg, void* arg) {
  // Nobody calls in: the server only places calls.
  auto* impl = static_cast<Engine::Impl*>(arg);
  impl->rejected.fetch_add(1);
  (void)sip_treply(nullptr, impl->sip, msg, 603, "Decline");
}

bool RequestHandler(const sip_msg* msg, void* arg) {
  auto* impl = static_cast<Engine::Impl*>(arg);
  if (!pl_strcmp(&msg->met, "OPTIONS")) {
    (void)sip_treply(nullptr, impl->sip, msg, 200, "OK");
    return true;
  }
  impl->rejected.fetch_add(1);
  if (!pl_strcmp(&msg->met, "ACK")) return true;
  (void)sip_treply(nullptr, impl->sip, msg, 481, "Call/Transaction Does Not Exist");
  return true;
}

void IgnoreResponse(int, const sip_msg*, void*) {}

// A 2xx to an INVITE this process no longer knows (it was placed before a
// restart, or answered after it was abandoned): acknowledged and hung up.
bool ResponseHandler(const sip_msg* msg, void* arg) {
  auto* impl = static_cast<Engine::Impl*>(arg);
  impl->rejected.fetch_add(1);
  if (msg->scode < 200 || msg->scode >= 300 || pl_strcmp(&msg->cseq.met, "INVITE")) return true;
  LegRecord leg;
  leg.call_id = Str(msg->callid);
  leg.local_tag = Str(msg->from.tag);
  leg.remote_tag = Str(msg->to.tag);
  leg.local_uri = Str(msg->from.auri);
  leg.remote_uri = Str(msg->to.auri);
  if (const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_CONTACT)) {
    sip_addr addr;
    if (sip_addr_decode(&addr, &h->val) == 0) leg.target = Str(addr.auri);
  }
  if (leg.target.empty()) return true;
  const std::string headers = "To: <" + leg.remote_uri + ">;tag=" + leg.remote_tag + "\r\nFrom: <" +
                              leg.local_uri + ">;tag=" + leg.local_tag +
                              "\r\nCall-ID: " + leg.call_id + "\r\n";
  (void)sip_requestf(nullptr, impl->sip, false, "ACK", leg.target.c_str(), nullptr, nullptr,
                     nullptr, nullptr, nullptr, "%sCSeq: %u ACK\r\nContent-Length: 0\r\n\r\n",
                     headers.c_str(), msg->cseq.num);
  leg.cseq = msg->cseq.num + 1;
  impl->EndLeg(leg);
  return true;
}

void TextResponse(int err, const sip_msg* msg, void* arg) {
  auto* holder = static_cast<std::shared_ptr<TextState>*>(arg);
  std::shared_ptr<TextState> t = *holder;
  delete holder;
  if (err || !msg) {
    t->done.set_value(Status::Unavailable("the trunk did not answer the text message"));
    return;
  }
  if ((msg->scode == 401 || msg->scode == 407) && !t->challenged) {
    t->challenged = true;
    ++t->cseq;
    if (sip_auth_authenticate(t->auth, msg) == 0 && t->impl->SendText(t) == 0) return;
  }
  if (msg->scode >= 200 && msg->scode < 300) {
    t->done.set_value(Status::Ok());
  } else {
    t->done.set_value(Status::Unavailable("the trunk refused the text message (SIP " +
                                          std::to_string(msg->scode) + ")"));
  }
}

void ProbeFinish(ProbeState* p) {
  std::lock_guard<std::mutex> lock(p->mu);
  if (--p->pending > 0 || p->finished) return;
  p->finished = true;
  p->done.set_value(p->result);
}

void OptionsResponse(int err, const sip_msg* msg, void* arg) {
  auto* p = static_cast<std::shared_ptr<ProbeState>*>(arg);
  if (!err && msg) {
    std::lock_guard<std::mutex> lock((*p)->mu);
    (*p)->result.options_status = msg->scode;
    (*p)->result.options_reason = Str(msg->reason);
    const sip_hdr* h = sip_msg_hdr(msg, SIP_HDR_SERVER);
    if (!h) h = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
    if (h) (*p)->result.server = Str(h->val).substr(0, 200);
  }
  ProbeFinish(p->get());
  delete p;
}

// Unregisters and lets the probe go, outside the registration's handler.
void DropRegistration(void* arg) {
  auto* p = static_cast<std::shared_ptr<ProbeState>*>(arg);
  (*p)->reg = static_cast<struct sipreg*>(mem_deref((*p)->reg));
  delete p;
}

void RegisterResponse(int err, const sip_msg* msg, void* arg) {
  auto* p = static_cast<std::shared_ptr<ProbeState>*>(arg);
  {
    std::lock_guard<std::mutex> lock((*p)->mu);
    if ((*p)->result.register_status != 0) return;
    tmr_start(&(*p)->drop, 0, DropRegistration, arg);
    if (!err && msg) {
      (*p)->result.register_status = msg->scode;
      (*p)->result.register_reason = Str(msg->reason);
    } else {
      (*p)->result.register_status = -1;
      (*p)->result.register_reason = err ? std::strerror(err) : "no answer";
    }
  }
  ProbeFinish(p->get());
}

}  // namespace

// A call that verifies a caller's own phone: its keys arrive here.
struct VerifyCall {
  static constexpr int kEventPayloadType = 101;
  Engine::Impl* eng = nullptr;
  std::int64_t id = 0;
  std::string uri;
  std::size_t code_length = 6;
  struct sipsess* sess = nullptr;
  struct udp_sock* rtp = nullptr;
  DtmfReceiver receiver{kEventPayloadType, 64};
  std::size_t seen = 0;    // receiver.digits() taken into `keys`
  std::string keys;        // the current group's keys so far
  std::size_t groups = 0;  // groups reported
  std::int64_t packets = 0;
  bool answered = false;
  bool ended = false;
  struct tmr timer;
  struct tmr cleanup_timer;
};

namespace {

VerifyCall* VerifyOf(void* arg) { return static_cast<VerifyCall*>(arg); }

void VerifyCleanup(void* arg) {
  VerifyCall* v = VerifyOf(arg);
  mem_deref(v->sess);
  mem_deref(v->rtp);
  tmr_cancel(&v->timer);
  if (!v->keys.empty()) sodium_memzero(v->keys.data(), v->keys.size());
  Wipe(v->uri);
  delete v;
}

// One key from either source: digits gather into groups of code_length.
void VerifyKey(VerifyCall* v, char key) {
  if (v->ended) return;
  if (key == '*') {
    v->keys.clear();  // start the code again
    return;
  }
  if (key < '0' || key > '9') return;
  if (v->groups >= kMaxVerifyAttempts) {
    v->eng->FinishVerify(v, "too_many_keys");
    return;
  }
  v->keys.push_back(key);
  if (v->keys.size() < v->code_length) return;
  CallEvent e{v->id, CallEvent::Kind::kVerifyKeys};
  e.keys = std::move(v->keys);
  v->keys.clear();
  ++v->groups;
  v->eng->Emit(e);
  sodium_memzero(e.keys.data(), e.keys.size());
}

void VerifyRtp(const struct sa*, struct mbuf* mb, void* arg) {
  VerifyCall* v = VerifyOf(arg);
  if (v->ended || ++v->packets > kMaxVerifyPackets) return;
  const std::span<const std::uint8_t> datagram(mbuf_buf(mb), mbuf_get_left(mb));
  if (v->receiver.Feed(datagram) == DtmfReceiver::Fed::kIgnored) return;
  const std::string& d = v->receiver.digits();
  while (v->seen < d.size() && !v->ended) VerifyKey(v, d[v->seen++]);
  if (v->receiver.full()) {
    // The receiver keeps a bounded number; start it afresh for more.
    v->receiver = DtmfReceiver(VerifyCall::kEventPayloadType, 64);
    v->seen = 0;
  }
}

void VerifyInfo(struct sip* sip, const sip_msg* msg, void* arg) {
  VerifyCall* v = VerifyOf(arg);
  const sip_hdr* ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
  Result<char> key = ParseDtmfInfo(ct ? std::string_view(ct->val.p, ct->val.l) : "", Body(msg));
  if (!key) {
    v->eng->rejected.fetch_add(1);
    (void)sip_reply(sip, msg, 415, "Unsupported Media Type");
    return;
  }
  (void)sip_reply(sip, msg, 200, "OK");
  VerifyKey(v, *key);
}

void VerifyTimeout(void* arg) {
  VerifyCall* v = VerifyOf(arg);
  v->eng->FinishVerify(v, v->answered ? "timeout" : "no_answer");
}

int VerifyAnswer(const sip_msg*, void*) { return 0; }
void VerifyProgress(const sip_msg*, void*) {}
int VerifyOfferUnexpected(struct mbuf**, const sip_msg*, void*) { return EPROTO; }

void VerifyEstablished(const sip_msg*, void* arg) {
  VerifyCall* v = VerifyOf(arg);
  if (v->ended || v->answered) return;
  v->answered = true;
  tmr_start(&v->timer, static_cast<uint64_t>(v->eng->opt.verify_seconds) * 1000, VerifyTimeout, v);
  v->eng->Emit({v->id, CallEvent::Kind::kVerifyAnswered});
}

void VerifyClosed(int err, const sip_msg* msg, void* arg) {
  VerifyCall* v = VerifyOf(arg);
  if (v->ended) return;
  if (v->answered) {
    v->eng->FinishVerify(v, "hung_up");
    return;
  }
  const int status = (!err && msg && !msg->req) ? msg->scode : 0;
  std::string end = status ? CallerEndFor(status) : (err == ETIMEDOUT ? "no_answer" : "failed");
  if (end == "caller_busy") end = "busy";
  if (end == "caller_declined") end = "declined";
  if (end == "caller_no_answer") end = "no_answer";
  v->eng->FinishVerify(v, end);
}

// The offer of a verification call: receive-only audio on the server's own
// port, G.711 and telephone-events.
std::string VerifyOffer(const struct sa& at, std::uint64_t session_id) {
  char ip[64] = "";
  sa_ntop(&at, ip, sizeof(ip));
  const std::string family = sa_af(&at) == AF_INET6 ? "IP6 " : "IP4 ";
  return "v=0\r\no=switchboard " + std::to_string(session_id) + " 1 IN " + family + ip +
         "\r\ns=-\r\nc=IN " + family + ip + "\r\nt=0 0\r\nm=audio " + std::to_string(sa_port(&at)) +
         " RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
         "a=recvonly\r\n";
}

bool IsE164(std::string_view n) {
  return n.size() >= 8 && n.size() <= 16 && n[0] == '+' &&
         n.find_first_not_of("0123456789", 1) == std::string_view::npos;
}

void CommandHandler(int id, void* data, void* arg) {
  auto* impl = static_cast<Engine::Impl*>(arg);
  std::unique_ptr<Command> cmd(static_cast<Command*>(data));
  switch (id) {
    case kPlace: {
      CallRequest& r = cmd->place;
      if (impl->calls.count(r.call)) break;
      auto* c = new Call;
      c->eng = impl;
      c->id = r.call;
      c->caller_uri = impl->NumberUri(r.caller_number);
      c->member_uri = impl->NumberUri(r.member_number);
      // A caller ID that is not a plain E.164 number (it goes into headers)
      // fails the call rather than reach the trunk.
      c->from_uri = r.caller_id.empty()   ? impl->from_uri
                    : IsE164(r.caller_id) ? impl->FromUri(r.caller_id)
                                          : "";
      c->member_ring_seconds =
          r.member_ring_seconds > 0 ? r.member_ring_seconds : impl->opt.member_ring_seconds;
      Wipe(r.member_number);
      Wipe(r.caller_number);
      c->session_id = rand_u64() >> 1;
      tmr_init(&c->ring_timer);
      tmr_init(&c->cleanup_timer);
      impl->calls[c->id] = c;
      impl->active.fetch_add(1);
      if (c->from_uri.empty() || impl->Connect(c, &c->caller, c->caller_uri, nullptr) != 0) {
        impl->Finish(c, "failed");
        break;
      }
      tmr_start(&c->ring_timer, static_cast<uint64_t>(impl->opt.caller_ring_seconds) * 1000,
                CallerRingTimeout, c);
      break;
    }
    case kHangup: {
      auto it = impl->calls.find(cmd->call);
      if (it != impl->calls.end()) impl->Finish(it->second, cmd->end);
      break;
    }
    case kHangupAll: {
      std::vector<Call*> all;
      for (auto& [_, c] : impl->calls) all.push_back(c);
      for (Call* c : all) impl->Finish(c, "killed");
      break;
    }
    case kEndLegs:
      for (const LegRecord& leg : cmd->legs) impl->EndLeg(leg);
      break;
    case kProbe:
      impl->StartProbe(cmd->probe);
      break;
    case kText: {
      auto t = cmd->text;
      t->impl = impl;
      if (const int err = impl->SendText(t)) {
        t->done.set_value(
            Status::Unavailable(std::string("cannot send the text: ") + std::strerror(err)));
      }
      break;
    }
    case kVerify:
      impl->StartVerify(cmd->verify);
      break;
    case kEndVerify: {
      auto it = impl->verifies.find(cmd->call);
      if (it != impl->verifies.end()) impl->FinishVerify(it->second, cmd->end);
      break;
    }
    case kStop: {
      std::vector<Call*> all;
      for (auto& [_, c] : impl->calls) all.push_back(c);
      for (Call* c : all) impl->Finish(c, "killed");
      std::vector<VerifyCall*> verifying;
      for (auto& [_, v] : impl->verifies) verifying.push_back(v);
      for (VerifyCall* v : verifying) impl->FinishVerify(v, "failed");
      // Let the BYEs go out before the loop stops.
      const bool any = !all.empty() || !verifying.empty();
      tmr_start(
          &impl->stop_timer, any ? 200 : 0, [](void*) { re_cancel(); }, nullptr);
      break;
    }
  }
}

Status ParseTrunk(Engine::Impl* impl) {
  const EngineOptions& o = impl->opt;
  if (o.transport == "udp") {
    impl->tp = SIP_TRANSP_UDP;
  } else if (o.transport == "tcp") {
    impl->tp = SIP_TRANSP_TCP;
    impl->uri_params = ";transport=tcp";
  } else {
    return Status::InvalidArgument("telephony transport must be udp or tcp");
  }
  pl p;
  pl_set_str(&p, o.trunk_uri.c_str());
  struct uri u;
  if (o.trunk_uri.rfind("sip:", 0) != 0 || uri_decode(&u, &p) != 0 || !pl_isset(&u.host)) {
    return Status::InvalidArgument("telephony trunk_uri must look like sip:host[:port]");
  }
  impl->trunk_host = Str(u.host);
  if (u.af == AF_INET6) impl->trunk_host = "[" + impl->trunk_host + "]";
  if (u.port) impl->trunk_host += ":" + std::to_string(u.port);
  if (!o.outbound_proxy.empty()) {
    pl_set_str(&p, o.outbound_proxy.c_str());
    if (o.outbound_proxy.rfind("sip:", 0) != 0 || uri_decode(&u, &p) != 0) {
      return Status::InvalidArgument("telephony outbound_proxy must look like sip:host[:port]");
    }
    impl->proxy = o.outbound_proxy + impl->uri_params;
  }
  if (!IsE164(o.caller_id)) {
    return Status::InvalidArgument(
        "telephony caller_id must be an E.164 number such as +441632960000");
  }
  impl->from_uri = impl->FromUri(o.caller_id);
  return Status::Ok();
}

std::once_flag g_libre_once;

}  // namespace

int Engine::Impl::Connect(Call* c, struct sipsess** sess, const std::string& to,
                          struct mbuf* offer) {
  const bool member = sess == &c->member;
  if (member) ++c->member_tries;
  const char* routev[1] = {proxy.c_str()};
  const std::string pai = "P-Asserted-Identity: <" + c->from_uri + ">\r\n";
  const std::string ua = "User-Agent: " + opt.user_agent + "\r\n";
  const int err = sipsess_connect(
      sess, sock, to.c_str(), nullptr, c->from_uri.c_str(), "switchboard",
      proxy.empty() ? nullptr : routev, proxy.empty() ? 0 : 1, "application/sdp", offer,
      AuthHandler, this, false, member ? MemberOfferUnexpected : CallerOffer,
      member ? MemberAnswer : CallerAnswer, member ? MemberProgress : CallerProgress,
      member ? MemberEstablished : CallerEstablished, nullptr, nullptr,
      member ? MemberClosed : CallerClosed, c, "%s%s", pai.c_str(), ua.c_str());
  mem_deref(offer);
  return err;
}

void Engine::Impl::Finish(Call* c, std::string end) {
  if (c->phase == Phase::kEnded) return;
  std::int64_t duration = 0;
  if (c->phase == Phase::kConnected) {
    duration = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                c->connected_at)
                   .count();
  }
  c->phase = Phase::kEnded;
  tmr_cancel(&c->ring_timer);
  calls.erase(c->id);
  active.fetch_sub(1);
  Emit({c->id, CallEvent::Kind::kEnded, end, duration});
  // The sessions are released outside their own handlers.
  tmr_start(&c->cleanup_timer, 0, CleanupHandler, c);
}

void Engine::Impl::StartVerify(VerifyRequest& r) {
  const std::string number = r.number;
  Wipe(r.number);
  if (verifies.count(r.id) || r.code_length == 0 || r.code_length > 16) return;
  auto* v = new VerifyCall;
  v->eng = this;
  v->id = r.id;
  v->uri = NumberUri(number);
  v->code_length = r.code_length;
  tmr_init(&v->timer);
  tmr_init(&v->cleanup_timer);
  verifies[v->id] = v;
  // The media port: on the address the SIP transport is bound to.
  struct sa at;
  int err = sip_transp_laddr(sip, &at, tp, nullptr);
  if (!err) {
    sa_set_port(&at, 0);
    err = udp_listen(&v->rtp, &at, VerifyRtp, v);
  }
  if (!err) err = udp_local_get(v->rtp, &at);
  if (err) {
    FinishVerify(v, "failed");
    return;
  }
  struct mbuf* offer = ToMbuf(VerifyOffer(at, rand_u64() >> 1));
  const char* routev[1] = {proxy.c_str()};
  const std::string pai = "P-Asserted-Identity: <" + from_uri + ">\r\n";
  const std::string ua = "User-Agent: " + opt.user_agent + "\r\n";
  err = offer ? sipsess_connect(&v->sess, sock, v->uri.c_str(), nullptr, from_uri.c_str(),
                                "switchboard", proxy.empty() ? nullptr : routev,
                                proxy.empty() ? 0 : 1, "application/sdp", offer, AuthHandler, this,
                                false, VerifyOfferUnexpected, VerifyAnswer, VerifyProgress,
                                VerifyEstablished, VerifyInfo, nullptr, VerifyClosed, v, "%s%s",
                                pai.c_str(), ua.c_str())
              : ENOMEM;
  mem_deref(offer);
  if (err) {
    FinishVerify(v, "failed");
    return;
  }
  tmr_start(&v->timer, static_cast<uint64_t>(opt.caller_ring_seconds) * 1000, VerifyTimeout, v);
}

void Engine::Impl::FinishVerify(VerifyCall* v, std::string end) {
  if (v->ended) return;
  v->ended = true;
  tmr_cancel(&v->timer);
  verifies.erase(v->id);
  CallEvent e{v->id, CallEvent::Kind::kVerifyEnded, std::move(end)};
  Emit(e);
  // Released outside the session's own handlers: BYE, or CANCEL if ringing.
  tmr_start(&v->cleanup_timer, 0, VerifyCleanup, v);
}

void Engine::Impl::EndLeg(const LegRecord& leg) {
  if (leg.target.empty() || leg.call_id.empty()) return;
  std::string route_hdr;
  if (!proxy.empty()) route_hdr = "Route: <" + proxy + ";lr>\r\n";
  struct uri route;
  pl rp;
  const std::string& next = proxy.empty() ? leg.target : proxy;
  pl_set_str(&rp, next.c_str());
  if (uri_decode(&route, &rp) != 0) return;
  (void)sip_requestf(nullptr, sip, true, "BYE", leg.target.c_str(), &route, nullptr, nullptr,
                     IgnoreResponse, nullptr,
                     "%sTo: <%s>;tag=%s\r\nFrom: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %u BYE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     route_hdr.c_str(), leg.remote_uri.c_str(), leg.remote_tag.c_str(),
                     leg.local_uri.c_str(), leg.local_tag.c_str(), leg.call_id.c_str(), leg.cseq);
}

int Engine::Impl::SendText(std::shared_ptr<TextState> t) {
  int err = 0;
  if (!t->auth) err = sip_auth_alloc(&t->auth, AuthHandler, this, false);
  if (err) return err;
  struct uri route;
  pl rp;
  const std::string& next = proxy.empty() ? t->uri : proxy;
  pl_set_str(&rp, next.c_str());
  if ((err = uri_decode(&route, &rp))) return err;
  const std::string route_hdr = proxy.empty() ? "" : "Route: <" + proxy + ";lr>\r\n";
  auto* arg = new std::shared_ptr<TextState>(t);
  err = sip_requestf(nullptr, sip, true, "MESSAGE", t->uri.c_str(), &route, t->auth, nullptr,
                     TextResponse, arg,
                     "To: <%s>\r\nFrom: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %u MESSAGE\r\n"
                     "%sContent-Type: text/plain;charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
                     t->uri.c_str(), from_uri.c_str(), t->tag.c_str(), t->call_id.c_str(), t->cseq,
                     route_hdr.c_str(), t->text.size(), t->text.c_str());
  if (err) delete arg;
  return err;
}

void Engine::Impl::StartProbe(std::shared_ptr<ProbeState> p) {
  const std::string target = "sip:" + trunk_host + uri_params;
  p->pending = p->do_register ? 2 : 1;
  struct uri route;
  pl rp;
  const std::string& next = proxy.empty() ? target : proxy;
  pl_set_str(&rp, next.c_str());
  char callid[32];
  rand_str(callid, sizeof(callid));
  char tag[16];
  rand_str(tag, sizeof(tag));
  auto* arg = new std::shared_ptr<ProbeState>(p);
  int err = uri_decode(&route, &rp);
  if (!err) {
    err = sip_requestf(nullptr, sip, true, "OPTIONS", target.c_str(), &route, nullptr, nullptr,
                       OptionsResponse, arg,
                       "To: <%s>\r\nFrom: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                       "Accept: application/sdp\r\nContent-Length: 0\r\n\r\n",
                       target.c_str(), from_uri.c_str(), tag, callid);
  }
  if (err) {
    {
      std::lock_guard<std::mutex> lock(p->mu);
      p->result.options_status = -1;
      p->result.options_reason = std::strerror(err);
    }
    ProbeFinish(p.get());
    delete arg;
  }
  if (p->do_register) {
    const std::string aor = "sip:" + opt.username + "@" + trunk_host + uri_params;
    const char* routev[1] = {proxy.c_str()};
    // The registration lives in the probe state until the probe is dropped.
    err = sipreg_register(&p->reg, sip, target.c_str(), aor.c_str(), nullptr, aor.c_str(), 60,
                          "switchboard", proxy.empty() ? nullptr : routev, proxy.empty() ? 0 : 1, 0,
                          AuthHandler, this, false, RegisterResponse,
                          new std::shared_ptr<ProbeState>(p), nullptr, "");
    if (err) {
      {
        std::lock_guard<std::mutex> lock(p->mu);
        p->result.register_status = -1;
        p->result.register_reason = std::strerror(err);
      }
      ProbeFinish(p.get());
    }
  }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  if (impl_->mq) mqueue_push(impl_->mq, kStop, new Command);
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<Engine>> Engine::Start(EngineOptions options, EventHandler on_event) {
  std::call_once(g_libre_once, [] {
    libre_init();
    // libre's own diagnostics could quote a URI: silenced.
    dbg_init(DBG_EMERG, DBG_NONE);
    dbg_handler_set([](int, const char*, size_t, void*) {}, nullptr);
  });
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->on_event = std::move(on_event);
  if (impl->opt.caller_ring_seconds < 1 || impl->opt.member_ring_seconds < 1) {
    return Status::InvalidArgument("telephony ring times must be at least one second");
  }
  SB_RETURN_IF_ERROR(ParseTrunk(impl.get()));
  std::promise<Status> ready;
  std::future<Status> started = ready.get_future();
  Impl* raw = impl.get();
  tmr_init(&raw->stop_timer);
  impl->thread = std::thread([raw, &ready] {
    re_thread_init();
    auto fail = [&](const char* what, int err) {
      ready.set_value(
          Status::Unavailable(std::string("SIP engine: ") + what + ": " + std::strerror(err)));
    };
    int err = 0;
    struct sa laddr;
    struct sa nsv[4];
    uint32_t nsn = 4;
    char domain[64] = "";
    if (dns_srv_get(domain, sizeof(domain), nsv, &nsn) != 0 || nsn == 0) {
      nsn = 1;
      sa_set_str(&nsv[0], "127.0.0.1", 53);
    }
    if ((err = dnsc_alloc(&raw->dnsc, nullptr, nsv, nsn))) {
      fail("DNS resolver", err);
    } else if ((err = sip_alloc(&raw->sip, raw->dnsc, 32, 32, 32, raw->opt.user_agent.c_str(),
                                nullptr, nullptr))) {
      fail("SIP stack", err);
    } else if ((err = sa_set_str(&laddr, raw->opt.listen_address.c_str(),
                                 static_cast<uint16_t>(raw->opt.listen_port)))) {
      fail("listen address", err);
    } else if ((err = sip_transp_add(raw->sip, raw->tp, &laddr))) {
      fail("listen", err);
    } else if ((err = sipsess_listen(&raw->sock, raw->sip, 32, ConnHandler, raw))) {
      fail("sessions", err);
    } else if ((err = sip_listen(&raw->requests, raw->sip, true, RequestHandler, raw)) ||
               (err = sip_listen(&raw->responses, raw->sip, false, ResponseHandler, raw))) {
      fail("listeners", err);
    } else if ((err = mqueue_alloc(&raw->mq, CommandHandler, raw))) {
      fail("command queue", err);
    } else {
      struct sa bound;
      sip_transp_laddr(raw->sip, &bound, raw->tp, nullptr);
      char buf[64];
      re_snprintf(buf, sizeof(buf), "%J", &bound);
      raw->local = buf;
      ready.set_value(Status::Ok());
      re_main(nullptr);
    }
    raw->mq = static_cast<struct mqueue*>(mem_deref(raw->mq));
    raw->requests = static_cast<struct sip_lsnr*>(mem_deref(raw->requests));
    raw->responses = static_cast<struct sip_lsnr*>(mem_deref(raw->responses));
    if (raw->sock) sipsess_close_all(raw->sock);
    raw->sock = static_cast<struct sipsess_sock*>(mem_deref(raw->sock));
    if (raw->sip) sip_close(raw->sip, true);
    raw->sip = static_cast<struct sip*>(mem_deref(raw->sip));
    raw->dnsc = static_cast<struct dnsc*>(mem_deref(raw->dnsc));
    tmr_cancel(&raw->stop_timer);
    re_thread_close();
  });
  Status st = started.get();
  if (!st.ok()) {
    impl->thread.join();
    return st;
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

void Engine::Place(CallRequest request) {
  auto* cmd = new Command;
  cmd->place = std::move(request);
  if (mqueue_push(impl_->mq, kPlace, cmd) != 0) {
    const std::int64_t call = cmd->place.call;
    delete cmd;
    impl_->Emit({call, CallEvent::Kind::kEnded, "failed"});
  }
}

void Engine::Hangup(std::int64_t call, std::string end) {
  auto* cmd = new Command;
  cmd->call = call;
  cmd->end = std::move(end);
  if (mqueue_push(impl_->mq, kHangup, cmd) != 0) delete cmd;
}

void Engine::HangupAll() {
  auto* cmd = new Command;
  if (mqueue_push(impl_->mq, kHangupAll, cmd) != 0) delete cmd;
}

void Engine::PlaceVerify(VerifyRequest request) {
  auto* cmd = new Command;
  cmd->verify = std::move(request);
  if (mqueue_push(impl_->mq, kVerify, cmd) != 0) {
    const std::int64_t id = cmd->verify.id;
    Wipe(cmd->verify.number);
    delete cmd;
    impl_->Emit({id, CallEvent::Kind::kVerifyEnded, "failed"});
  }
}

void Engine::EndVerify(std::int64_t id, std::string end) {
  auto* cmd = new Command;
  cmd->call = id;
  cmd->end = std::move(end);
  if (mqueue_push(impl_->mq, kEndVerify, cmd) != 0) delete cmd;
}

void Engine::EndLegs(std::vector<LegRecord> legs) {
  auto* cmd = new Command;
  cmd->legs = std::move(legs);
  if (mqueue_push(impl_->mq, kEndLegs, cmd) != 0) delete cmd;
}

Result<ProbeResult> Engine::Probe(bool do_register, int timeout_ms) {
  auto probe = std::make_shared<ProbeState>();
  tmr_init(&probe->drop);
  probe->do_register = do_register;
  std::future<ProbeResult> done = probe->done.get_future();
  auto* cmd = new Command;
  cmd->probe = probe;
  if (mqueue_push(impl_->mq, kProbe, cmd) != 0) {
    delete cmd;
    return Status::Unavailable("the SIP engine is not running");
  }
  if (done.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
    std::lock_guard<std::mutex> lock(probe->mu);
    probe->finished = true;
    return probe->result;
  }
  return done.get();
}

Status Engine::SendText(std::string number, std::string text, int timeout_ms) {
  auto t = std::make_shared<TextState>();
  t->uri = impl_->NumberUri(number);
  Wipe(number);
  t->text = std::move(text);
  char tag[16];
  char callid[32];
  rand_str(tag, sizeof(tag));
  rand_str(callid, sizeof(callid));
  t->tag = tag;
  t->call_id = callid;
  std::future<Status> done = t->done.get_future();
  auto* cmd = new Command;
  cmd->text = t;
  if (mqueue_push(impl_->mq, kText, cmd) != 0) {
    delete cmd;
    return Status::Unavailable("the SIP engine is not running");
  }
  if (done.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
    return Status::Unavailable("the trunk did not answer the text message in time");
  }
  return done.get();
}

std::string Engine::local_address() const { return impl_->local; }
int Engine::active_calls() const { return impl_->active.load(); }
std::int64_t Engine::rejected_messages() const { return impl_->rejected.load(); }

}  // namespace switchboard::telephony
