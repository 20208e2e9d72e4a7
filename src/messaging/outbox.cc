#include "messaging/outbox.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "audit/audit_log.h"
#include "core/log.h"
#include "mail/address.h"
#include "mail/mime.h"
#include "members/contact.h"
#include "members/preferences.h"
#include "members/register.h"
#include "messaging/suppressions.h"
#include "messaging/tokens.h"

namespace switchboard::messaging {

struct Outbox::Cached {
  Message message;
  Template subject, text, html;
  bool has_html = false;
  FooterFacts footer;
};

struct Outbox::Row {
  std::int64_t id = 0;
  MessageId message;
  MemberId member;
  int attempts = 0;
};

Result<std::map<std::string, std::int64_t>> CountOutbox(store::Tx& tx, bool pending_only) {
  std::map<std::string, std::int64_t> out;
  const std::string sql = std::string("SELECT state, COUNT(*) FROM outbox") +
                          (pending_only ? " WHERE state IN ('queued', 'handed', 'deferred')" : "") +
                          " GROUP BY state";
  SB_RETURN_IF_ERROR(tx.Query(sql, {}, [&](const store::Row& r) {
    out[std::string(r.Text(0))] = r.Int(1);
    return true;
  }));
  return out;
}

Outbox::Outbox(store::Store& store, const members::OrgTree& tree, const crypto::Sealer& sealer,
               const Clock& clock, DeliveryConfig config)
    : store_(store),
      tree_(tree),
      sealer_(sealer),
      signer_(sealer),
      clock_(clock),
      cfg_(std::move(config)) {
  cfg_.workers = std::clamp(cfg_.workers, 1, 64);
}

Outbox::~Outbox() { Stop(); }

Result<std::int64_t> Outbox::Recover() {
  std::int64_t n = 0;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        n, tx.Exec("UPDATE outbox SET state = 'queued', detail = 'sent again after a restart "
                   "(the relay may have had it already; same Message-ID)', updated_at = $1 "
                   "WHERE state = 'handed'",
                   {clock_.Now()}));
    SB_ASSIGN_OR_RETURN(std::int64_t mails,
                        tx.Exec("UPDATE account_mail SET state = 'queued', updated_at = $1 "
                                "WHERE state = 'handed'",
                                {clock_.Now()}));
    n += mails;
    return Status::Ok();
  }));
  if (n > 0) {
    log::Info("outbox", "recovered", {{"rows", n}});
  }
  return n;
}

Result<std::shared_ptr<const Outbox::Cached>> Outbox::MessageFor(MessageId id) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(id.value());
    if (it != cache_.end()) return it->second;
  }
  auto c = std::make_shared<Cached>();
  std::vector<Approval> approvals;
  std::string sender_name;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c->message, GetMessage(tx, tree_, id));
    SB_ASSIGN_OR_RETURN(approvals, CurrentApprovals(tx, c->message));
    sender_name.clear();
    SB_RETURN_IF_ERROR(tx.Query("SELECT display_name FROM accounts WHERE id = $1",
                                {c->message.sent_by.value()}, [&](const store::Row& r) {
                                  sender_name = std::string(r.Text(0));
                                  return false;
                                }));
    return Status::Ok();
  }));
  const Message& m = c->message;
  SB_ASSIGN_OR_RETURN(c->subject, Template::Compile(m.subject, BodyKind::kText, "subject"));
  SB_ASSIGN_OR_RETURN(c->text, Template::Compile(m.text_body, BodyKind::kText, "text_body"));
  if (!m.html_body.empty()) {
    SB_ASSIGN_OR_RETURN(c->html, Template::Compile(m.html_body, BodyKind::kHtml, "html_body"));
    c->has_html = true;
  }
  c->footer.sender_name = sender_name;
  c->footer.sender_role = m.sent_role;
  switch (m.from.kind) {
    case FromKind::kOrganisation:
      c->footer.identity = cfg_.organisation_name;
      break;
    case FromKind::kUnit:
      if (const members::Unit* u = tree_.Find(m.from.unit)) c->footer.identity = u->name;
      break;
    case FromKind::kCandidate:
    case FromKind::kPerson:
      c->footer.identity = m.from.name;
      break;
  }
  for (const Approval& a : approvals) {
    if (a.kind == ApprovalKind::kSecond) {
      c->footer.approver += (c->footer.approver.empty() ? "" : " and ") + a.account_name;
    }
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_[id.value()] = c;
  return std::shared_ptr<const Cached>(c);
}

void Outbox::Throttle() {
  if (cfg_.rate_per_second <= 0) return;
  for (;;) {
    Micros wait = 0;
    {
      std::lock_guard<std::mutex> lock(rate_mu_);
      const Micros now = clock_.Now();
      if (last_refill_ == 0) last_refill_ = now, tokens_ = 1;
      tokens_ = std::min(cfg_.rate_per_second,
                         tokens_ + (now - last_refill_) * cfg_.rate_per_second / 1e6);
      last_refill_ = now;
      if (tokens_ >= 1) {
        tokens_ -= 1;
        return;
      }
      wait = static_cast<Micros>((1 - tokens_) * 1e6 / cfg_.rate_per_second) + 1;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(wait));
  }
}

Status Outbox::Finish(const Row& row, std::string_view state, int code, std::string detail,
                      Micros next) {
  const Micros now = clock_.Now();
  return store_.Write([&](store::Tx& tx) -> Status {
    return tx
        .Exec(
            "UPDATE outbox SET state = $2, smtp_code = $3, detail = $4, next_attempt_at = $5, "
            "updated_at = $6 WHERE id = $1",
            {row.id, std::string(state),
             code > 0 ? store::Value(std::int64_t{code}) : store::Value(), detail, next, now})
        .status();
  });
}

// One delivery of one row, as Deliver's steps pass it along.
struct Outbox::Attempt {
  const Row& row;
  std::uint32_t need;  // the consents the message's kind requires
  std::uint32_t excl;  // the suppressions that exclude a member
  DeliveryStats& stats;
};

struct Outbox::Recipient {
  std::string first_name;
  UnitId unit;
  std::string address;      // SMTP's form; opened in ReadRecipient and nowhere else
  std::string email_index;  // the address's blind index (CanaryCheck)
  std::string why_not;      // set: not eligible now (suppressed)
  std::string cannot;       // set: an address SMTP cannot carry (failed)
};

void Outbox::Deliver(mail::SmtpClient* smtp, const Row& row, DeliveryStats& stats) {
  auto cached = MessageFor(row.message);
  if (!cached) {
    log::Error("outbox", "message_unreadable",
               {{"message", row.message.value()}, {"error", cached.status().message()}});
    (void)Finish(row, "failed", 0, "the message could not be read", 0);
    ++stats.failed;
    return;
  }
  const Cached& c = **cached;
  Attempt a{row, RequiredConsents(c.message.kind), ExcludingSuppressions(), stats};
  std::optional<Recipient> to = Eligible(a);
  if (!to) return;
  std::optional<std::string> data = Render(a, c, *to);
  if (!data) return;
  Throttle();
  bool handed = false;
  const mail::SmtpResult res = Send(a, smtp, *to, *data, handed);
  const Micros now = clock_.Now();
  if (!handed && SettledWithoutHandOff(a, res)) return;
  Record(a, res, handed, now);
}

// The member as of now, and their address (opened here and nowhere else).
Result<Outbox::Recipient> Outbox::ReadRecipient(const Attempt& a) {
  Recipient to;
  const Row& row = a.row;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    to = Recipient{};
    std::uint32_t consents = 0, suppressions = 0;
    bool found = false;
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT first_name, unit_id, consents, suppressions FROM members WHERE id = $1",
                 {row.member.value()}, [&](const store::Row& r) {
                   found = true;
                   to.first_name = std::string(r.Text(0));
                   to.unit = UnitId(r.Int(1));
                   consents = static_cast<std::uint32_t>(r.Int(2));
                   suppressions = static_cast<std::uint32_t>(r.Int(3));
                   return false;
                 }));
    if (!found) {
      to.why_not = "the member is no longer in the register";
      return Status::Ok();
    }
    if ((consents & a.need) != a.need) {
      to.why_not = "the member no longer consents to this kind of message";
      return Status::Ok();
    }
    if (suppressions & a.excl) {
      to.why_not = "the member is suppressed (unsubscribed, moved, deceased or do not contact)";
      return Status::Ok();
    }
    std::optional<crypto::Sealed> sealed;
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT key_id, sealed, blind_index FROM contact_points WHERE member_id = $1 AND "
        "kind = 'email' AND valid = 1 ORDER BY label LIMIT 1",
        {row.member.value()}, [&](const store::Row& r) {
          sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
          to.email_index = std::string(r.Bytes(2));
          return false;
        }));
    if (!sealed) {
      to.why_not = "the member has no valid e-mail address";
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(to.address, sealer_.Open(*sealed, "email"));
    auto email = members::NormaliseEmail(to.address);
    if (!email) {
      to.why_not = "the member's e-mail address is not valid";
      return Status::Ok();
    }
    // SMTP's form of it: an internationalised domain as A-labels.
    // (If it has none, the checks below still decide first: a suppressed
    // member is suppressed, whatever their address.)
    auto smtp_form = mail::ToSmtpAddress(email->address);
    if (smtp_form) {
      to.address = std::move(*smtp_form);
    } else {
      to.cannot = smtp_form.error().message();
    }
    SB_ASSIGN_OR_RETURN(bool listed, OnSuppressionList(tx, sealer_, email->match_key));
    if (listed) {
      to.why_not = "the address is on the suppression list carried over from a previous provider";
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(std::int64_t bounces,
                        tx.QueryInt("SELECT COALESCE(MAX(hard_count), 0) FROM email_bounces "
                                    "WHERE member_id = $1",
                                    {row.member.value()}));
    if (bounces >= cfg_.hard_bounce_limit) {
      to.why_not = "the address bounced " + std::to_string(bounces) + " times";
    }
    return Status::Ok();
  }));
  return to;
}

std::optional<Outbox::Recipient> Outbox::Eligible(Attempt& a) {
  auto to = ReadRecipient(a);
  if (!to) {
    log::Error("outbox", "read_failed", {{"row", a.row.id}, {"error", to.status().message()}});
    return std::nullopt;  // stays queued; retried next round
  }
  if (!to->why_not.empty()) {
    (void)Finish(a.row, "suppressed", 0, to->why_not, 0);
    ++a.stats.suppressed;
    return std::nullopt;
  }
  if (!to->cannot.empty()) {
    // Our limit, not the recipient's: failed, and not counted as a bounce.
    to->address.clear();
    (void)Finish(a.row, "failed", 0, to->cannot, 0);
    ++a.stats.failed;
    return std::nullopt;
  }
  return std::move(*to);
}

std::optional<std::string> Outbox::Render(Attempt& a, const Cached& c, const Recipient& to) {
  const Row& row = a.row;
  const std::string token = signer_.Make({row.member, row.message});
  MergeValues v;
  v.first_name = to.first_name;
  if (const members::Unit* u = tree_.Find(to.unit)) v.unit_name = u->name;
  v.unsubscribe_url = cfg_.public_base_url + "/u/" + token;
  v.preferences_url = cfg_.public_base_url + "/preferences/" + token;
  FooterFacts facts = c.footer;
  facts.unit_name = v.unit_name;

  mail::OutgoingMessage out;
  out.from = {c.footer.identity, cfg_.from_address};
  out.to = {"", to.address};
  out.subject = c.subject.Render(v);
  out.text_body = c.text.Render(v) + FooterText(facts, v.unsubscribe_url, v.preferences_url);
  if (c.has_html) {
    out.html_body = c.html.Render(v) + FooterHtml(facts, v.unsubscribe_url, v.preferences_url);
  }
  out.message_id = "<" + std::to_string(row.message.value()) + "." + std::to_string(row.id) + "@" +
                   cfg_.message_id_domain + ">";
  // The Date is when the sender sent it, the same for every recipient and
  // every attempt, so a repeat after a crash is the same message.
  out.date = c.message.queued_at;
  out.extra_headers = {
      {"List-Unsubscribe", "<" + v.unsubscribe_url + ">"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
      {"List-Id", cfg_.organisation_name + " members <members." + cfg_.message_id_domain + ">"},
      {"X-Switchboard-Message", std::to_string(row.message.value())},
  };
  auto rendered = mail::RenderMessage(out);
  if (!rendered) {
    (void)Finish(row, "failed", 0, "the message could not be built: " + rendered.status().message(),
                 0);
    ++a.stats.failed;
    return std::nullopt;
  }
  std::string data = std::move(*rendered);
  if (cfg_.dkim) {
    auto signed_msg = cfg_.dkim->Sign(data);
    if (!signed_msg) {
      log::Error("outbox", "dkim_failed",
                 {{"row", row.id}, {"error", signed_msg.status().message()}});
      (void)Finish(row, "deferred", 0, "DKIM signing failed", clock_.Now() + cfg_.retry_base);
      ++a.stats.deferred;
      return std::nullopt;
    }
    data = std::move(*signed_msg);
  }
  return data;
}

mail::SmtpResult Outbox::Send(const Attempt& a, mail::SmtpClient* smtp, Recipient& to,
                              const std::string& data, bool& handed) {
  // The point of no return: durable, and re-checking eligibility atomically.
  auto before_end = [&]() -> bool {
    const Micros now = clock_.Now();
    std::int64_t n = 0;
    Status st = store_.Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          n, tx.Exec("UPDATE outbox SET state = 'handed', attempts = attempts + 1, updated_at = $3 "
                     "WHERE id = $1 AND state IN ('queued', 'deferred') AND EXISTS (SELECT 1 FROM "
                     "members m WHERE m.id = $2 AND (m.consents & $4) = $4 AND "
                     "(m.suppressions & $5) = 0)",
                     {a.row.id, a.row.member.value(), now, static_cast<std::int64_t>(a.need),
                      static_cast<std::int64_t>(a.excl)}));
      if (n != 1 || !cfg_.canary_check) return Status::Ok();
      return cfg_.canary_check(tx, OutboundMail{a.row.message, a.row.member, to.email_index, now});
    });
    if (!st.ok()) {
      log::Error("outbox", "hand_off_failed", {{"row", a.row.id}, {"error", st.message()}});
    }
    handed = st.ok() && n == 1;
    return handed;
  };
  mail::SmtpResult res = smtp->Send(cfg_.bounce_address, to.address, data, before_end);
  to.address.clear();
  return res;
}

bool Outbox::SettledWithoutHandOff(Attempt& a, const mail::SmtpResult& res) {
  // Aborted before the end-of-data marker: nothing was delivered. Either
  // the member became ineligible a moment ago, the row was cancelled, or
  // the relay failed before we got that far.
  const Row& row = a.row;
  std::string state;
  (void)store_.Read([&](store::Tx& tx) -> Status {
    state.clear();
    return tx.Query("SELECT state FROM outbox WHERE id = $1", {row.id}, [&](const store::Row& r) {
      state = std::string(r.Text(0));
      return false;
    });
  });
  if (state == "cancelled") return true;
  if (res.kind == mail::SmtpResult::Kind::kPermanent) {
    // Refused at RCPT (e.g. 550 no such user): a hard bounce.
    return false;
  }
  // Either the hand-off write refused it (member no longer eligible) or a
  // temporary failure before the end of data.
  bool eligible = true;
  (void)store_.Read([&](store::Tx& tx) -> Status {
    auto n = tx.QueryInt(
        "SELECT COUNT(*) FROM members m WHERE m.id = $1 AND (m.consents & $2) = $2 AND "
        "(m.suppressions & $3) = 0",
        {row.member.value(), static_cast<std::int64_t>(a.need), static_cast<std::int64_t>(a.excl)});
    eligible = n.has_value() && *n > 0;
    return Status::Ok();
  });
  if (!eligible) {
    (void)Finish(row, "suppressed", 0,
                 "the member unsubscribed or withdrew consent before "
                 "the message was handed to the relay",
                 0);
    ++a.stats.suppressed;
    return true;
  }
  ++a.stats.aborted;
  return false;
}

void Outbox::Record(Attempt& a, const mail::SmtpResult& res, bool handed, Micros now) {
  switch (res.kind) {
    case mail::SmtpResult::Kind::kAccepted:
      if (handed) {
        (void)Finish(a.row, "sent", res.code, "", 0);
        ++a.stats.sent;
        return;
      }
      [[fallthrough]];
    case mail::SmtpResult::Kind::kTransient:
      RecordRetry(a, res, now);
      return;
    case mail::SmtpResult::Kind::kPermanent:
      if (res.stage == mail::SmtpResult::Stage::kInput) {
        // Refused before connecting (the address or message is not one SMTP
        // can carry): our failure, not a bounce from the recipient's side.
        (void)Finish(a.row, "failed", 0, "not sent: " + res.detail, 0);
        ++a.stats.failed;
        return;
      }
      RecordBounce(a, res, now);
      return;
  }
}

void Outbox::RecordRetry(Attempt& a, const mail::SmtpResult& res, Micros now) {
  const Row& row = a.row;
  const int attempts = row.attempts + 1;
  if (attempts >= cfg_.max_attempts) {
    (void)Finish(row, "failed", res.code,
                 "gave up after " + std::to_string(attempts) + " attempts: " + res.detail, 0);
    ++a.stats.failed;
    return;
  }
  Micros backoff = cfg_.retry_base;
  for (int i = 1; i < attempts && backoff < cfg_.retry_max; ++i) backoff *= 2;
  backoff = std::min(backoff, cfg_.retry_max);
  // Handed rows get their attempt counted by the hand-off write; others here.
  const Status st = store_.Write([&](store::Tx& tx) -> Status {
    return tx
        .Exec(
            "UPDATE outbox SET state = 'deferred', attempts = $2, smtp_code = $3, "
            "detail = $4, next_attempt_at = $5, updated_at = $6 WHERE id = $1",
            {row.id, static_cast<std::int64_t>(attempts),
             res.code > 0 ? store::Value(std::int64_t{res.code}) : store::Value(),
             "temporary: " + res.detail, now + backoff, now})
        .status();
  });
  (void)st;
  ++a.stats.deferred;
}

void Outbox::RecordBounce(Attempt& a, const mail::SmtpResult& res, Micros now) {
  // A hard bounce: counted per member; at the limit the member gets the
  // no-e-mail suppression, recorded like any other.
  const Row& row = a.row;
  const int limit = cfg_.hard_bounce_limit;
  const Status st = store_.Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE outbox SET state = 'bounced', smtp_code = $2, detail = $3, "
                "updated_at = $4 WHERE id = $1",
                {row.id, static_cast<std::int64_t>(res.code), "permanent: " + res.detail, now})
            .status());
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO email_bounces (member_id, hard_count, last_at, last_code) VALUES "
                "($1, 1, $2, $3) ON CONFLICT (member_id) DO UPDATE SET hard_count = "
                "email_bounces.hard_count + 1, last_at = $2, last_code = $3",
                {row.member.value(), now, static_cast<std::int64_t>(res.code)})
            .status());
    SB_ASSIGN_OR_RETURN(std::int64_t count,
                        tx.QueryInt("SELECT hard_count FROM email_bounces WHERE member_id = $1",
                                    {row.member.value()}));
    if (count < limit) return Status::Ok();
    SB_ASSIGN_OR_RETURN(bool suppressed, members::AddSuppressions(tx, row.member, members::kNoEmail,
                                                                  "hard-bounces", now));
    if (!suppressed) return Status::Ok();
    audit::Event e;
    e.at = now;
    e.action = "member.suppress";
    e.decision = "allow";
    e.rule = "messaging.hard_bounces";
    e.members = {row.member.value()};
    e.message = row.message.value();
    return audit::AuditLog::Append(tx, e).status();
  });
  (void)st;
  ++a.stats.failed;
}

Result<DeliveryStats> Outbox::DeliverDue() {
  DeliveryStats round_total;
  while (clients_.size() < static_cast<size_t>(cfg_.workers)) {
    SB_ASSIGN_OR_RETURN(auto client, mail::SmtpClient::Create(cfg_.smtp));
    clients_.push_back(std::move(client));
  }
  // Links people are waiting for go first.
  DeliverAccountMail(clients_[0].get(), round_total);
  for (;;) {
    std::vector<Row> rows;
    const Micros now = clock_.Now();
    SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
      rows.clear();
      return tx.Query(
          "SELECT o.id, o.message_id, o.member_id, o.attempts FROM outbox o WHERE o.state IN "
          "('queued', 'deferred') AND o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2",
          {now, static_cast<std::int64_t>(cfg_.batch)}, [&](const store::Row& r) {
            rows.push_back(
                {r.Int(0), MessageId(r.Int(1)), MemberId(r.Int(2)), static_cast<int>(r.Int(3))});
            return true;
          });
    }));
    if (rows.empty()) break;
    std::atomic<size_t> next{0};
    std::vector<DeliveryStats> per(clients_.size());
    std::vector<std::thread> threads;
    for (size_t w = 0; w < clients_.size(); ++w) {
      threads.emplace_back([&, w] {
        for (size_t i; (i = next.fetch_add(1)) < rows.size();) {
          {
            std::lock_guard<std::mutex> lock(wake_mu_);
            if (stop_) return;
          }
          Deliver(clients_[w].get(), rows[i], per[w]);
        }
      });
    }
    for (auto& t : threads) t.join();
    DeliveryStats round;
    for (const auto& s : per) {
      round.sent += s.sent;
      round.deferred += s.deferred;
      round.failed += s.failed;
      round.suppressed += s.suppressed;
      round.aborted += s.aborted;
    }
    round_total.sent += round.sent;
    round_total.deferred += round.deferred;
    round_total.failed += round.failed;
    round_total.suppressed += round.suppressed;
    round_total.aborted += round.aborted;
    {
      std::lock_guard<std::mutex> lock(totals_mu_);
      totals_.sent += round.sent;
      totals_.deferred += round.deferred;
      totals_.failed += round.failed;
      totals_.suppressed += round.suppressed;
      totals_.aborted += round.aborted;
    }
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stop_) break;
    }
    // Rows that could neither go nor be recorded (relay down): stop for now.
    if (round.sent + round.deferred + round.failed + round.suppressed == 0) break;
  }
  // Messages with nobody left to try are finished. Each gets one audit event:
  // the outbox opened its recipients' addresses (field class "contact") to
  // deliver it. Who they were, and what became of each, is in its outbox rows
  // (the report), not repeated in the log half a million times.
  const Micros now = clock_.Now();
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    std::vector<std::int64_t> finished;
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT id FROM messages WHERE state = 'sending' AND NOT EXISTS (SELECT 1 FROM outbox o "
        "WHERE o.message_id = messages.id AND o.state IN ('queued', 'deferred', 'handed'))",
        {}, [&](const store::Row& r) {
          finished.push_back(r.Int(0));
          return true;
        }));
    for (std::int64_t id : finished) {
      SB_ASSIGN_OR_RETURN(std::int64_t n,
                          tx.Exec("UPDATE messages SET state = 'sent', completed_at = $2 WHERE "
                                  "id = $1 AND state = 'sending'",
                                  {id, now}));
      if (n != 1) continue;
      audit::Event e;
      e.at = now;
      e.action = "message.deliver";
      e.decision = "allow";
      e.rule = "messaging.outbox";
      e.field_classes = {"contact"};
      e.message = id;
      SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    }
    return Status::Ok();
  }));
  return round_total;
}

void Outbox::Start(Micros poll) {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, poll] {
    for (;;) {
      auto r = DeliverDue();
      if (!r) log::Error("outbox", "round_failed", {{"error", r.status().message()}});
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, std::chrono::microseconds(poll), [&] { return wake_ || stop_; });
      wake_ = false;
      if (stop_) return;
    }
  });
}

void Outbox::Wake() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  wake_ = true;
  wake_cv_.notify_all();
}

void Outbox::Stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
    wake_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

DeliveryStats Outbox::totals() const {
  std::lock_guard<std::mutex> lock(totals_mu_);
  return totals_;
}

}  // namespace switchboard::messaging
