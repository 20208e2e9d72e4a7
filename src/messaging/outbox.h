// The durable outbox's delivery side (RULEBOOK §7): each recipient row of a
// sending message is rendered, DKIM-signed and submitted over SMTP once.
//
// States of an outbox row: queued -> handed -> sent; or deferred (a
// temporary refusal: retried with exponential backoff until max_attempts),
// failed (a permanent refusal; a hard bounce counts towards the policy's
// limit, after which the member gets the no-e-mail suppression), suppressed
// (no longer eligible when its turn came: unsubscribed, consent withdrawn,
// on the carried-over list, bounced too often) or cancelled.
//
// Exactly once across crashes, and what that can mean over SMTP. SMTP has no
// idempotency key and cannot make a hand-off atomic: a relay may accept a
// message whose reply the sender never reads (RFC 1047), or drop one whose
// sender vanished just after the end-of-data marker. So the outbox keeps
// one stable Message-ID per row (its idempotency key) and guarantees:
//  - a recipient never gets two *different* messages, and never a message
//    that was cancelled or that they unsubscribed from: the row becomes
//    `handed` in a durable write made after the whole message has gone to
//    the relay and *before* the end-of-data marker, and that write re-checks
//    consent and suppressions atomically (if it fails, the transfer is
//    aborted without the marker and the relay discards it);
//  - nothing is lost: after a crash (kill -9), rows left `handed` are sent
//    again with the same Message-ID, as are rows still `queued` (those never
//    reached the end-of-data marker, so the relay discarded them).
// The only duplicates possible are transfers that were in flight at the
// crash (at most one per worker), the same message (same Date, body and
// Message-ID; only the DKIM signature and the MIME boundary differ), which receiving systems
// collapse. tests/integration/ email_test.py kills the server during a 50,000-recipient send and
// checks this (docs/email.md gives the figures).
//
// One delivery process per database (the `serve` that has [mail] relay set).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "mail/dkim.h"
#include "mail/smtp.h"
#include "members/org_tree.h"
#include "messaging/messaging.h"
#include "messaging/tokens.h"
#include "store/store.h"

namespace switchboard::messaging {

// Called in the hand-off write of each message (the durable decision to send
// it, see above) with the recipient and the blind index of the address it goes
// to, so a check above this module (the canaries of exports, privacy/leak.h)
// records what it finds in that same transaction. An error stops the hand-off:
// the transfer is aborted and the row tried again next round.
struct OutboundMail {
  MessageId message;
  MemberId member;
  std::string_view email_index;  // contact_points.blind_index of the address
  Micros now = 0;
};
using CanaryCheck = std::function<Status(store::Tx&, const OutboundMail&)>;

struct DeliveryConfig {
  mail::SmtpConfig smtp;
  std::string from_address = "members@example.org";    // header From (identity's name + this)
  std::string bounce_address = "bounces@example.org";  // envelope MAIL FROM
  std::string message_id_domain = "example.org";
  std::string public_base_url = "http://127.0.0.1:8080";  // links in messages
  std::string organisation_name = "Example Party";
  std::shared_ptr<const mail::DkimSigner> dkim;  // null: unsigned (development only)
  int workers = 4;                               // SMTP connections in parallel
  double rate_per_second = 0;                    // 0: unlimited
  int max_attempts = 8;
  Micros retry_base = 60 * kMicrosPerSecond;
  Micros retry_max = 6 * 3600 * kMicrosPerSecond;
  int hard_bounce_limit = 2;
  int batch = 2000;          // rows claimed per round
  CanaryCheck canary_check;  // null: no check
};

struct DeliveryStats {
  std::int64_t sent = 0, deferred = 0, failed = 0, suppressed = 0, aborted = 0;
};

// Outbox rows by state (queued, handed, deferred, sent, failed, suppressed,
// cancelled); with `pending_only`, only the rows still to deliver (queued,
// handed, deferred), which an index answers without reading the rest.
Result<std::map<std::string, std::int64_t>> CountOutbox(store::Tx& tx, bool pending_only);

class Outbox {
 public:
  Outbox(store::Store& store, const members::OrgTree& tree, const crypto::Sealer& sealer,
         const Clock& clock, DeliveryConfig config);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Rows a crash left `handed` are queued again (same Message-ID). Run
  // before delivery.
  Result<std::int64_t> Recover();
  // Delivers every row due now (several rounds until none is due) and
  // returns what happened; marks finished messages sent.
  Result<DeliveryStats> DeliverDue();
  // Runs DeliverDue in the background, waking every `poll` or on Wake().
  void Start(Micros poll = kMicrosPerSecond);
  void Wake();
  void Stop();
  DeliveryStats totals() const;

 private:
  struct Cached;
  struct Row;
  struct Attempt;
  struct Recipient;
  Result<std::shared_ptr<const Cached>> MessageFor(MessageId id);
  void Deliver(mail::SmtpClient* smtp, const Row& row, DeliveryStats& stats);
  // Deliver's steps. Those returning optional or bool settle the row (its
  // state and a count in the attempt's stats) when they stop it.
  Result<Recipient> ReadRecipient(const Attempt& a);
  std::optional<Recipient> Eligible(Attempt& a);
  std::optional<std::string> Render(Attempt& a, const Cached& c, const Recipient& to);
  mail::SmtpResult Send(const Attempt& a, mail::SmtpClient* smtp, Recipient& to,
                        const std::string& data, bool& handed);
  bool SettledWithoutHandOff(Attempt& a, const mail::SmtpResult& res);
  void Record(Attempt& a, const mail::SmtpResult& res, bool handed, Micros now);
  void RecordRetry(Attempt& a, const mail::SmtpResult& res, Micros now);
  void RecordBounce(Attempt& a, const mail::SmtpResult& res, Micros now);
  Status Finish(const Row& row, std::string_view state, int code, std::string detail, Micros next);
  // account_mail (account_mail.cc): sign-up and password-reset links.
  void DeliverAccountMail(mail::SmtpClient* smtp, DeliveryStats& stats);
  Status FinishAccountMail(std::int64_t id, std::string_view state, int code, std::string detail,
                           Micros next, bool forget);
  void Throttle();

  store::Store& store_;
  const members::OrgTree& tree_;
  const crypto::Sealer& sealer_;
  const TokenSigner signer_;  // unsubscribe links (key derived once)
  const Clock& clock_;
  DeliveryConfig cfg_;
  std::mutex cache_mu_;
  std::map<std::int64_t, std::shared_ptr<const Cached>> cache_;
  std::vector<std::unique_ptr<mail::SmtpClient>> clients_;
  std::mutex rate_mu_;
  double tokens_ = 0;
  Micros last_refill_ = 0;
  mutable std::mutex totals_mu_;
  DeliveryStats totals_;
  std::thread thread_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false, stop_ = false;
};

}  // namespace switchboard::messaging
