// The outbox's transactional side: account_mail rows (sign-up and password
// reset links, access/store/enrolment.h). They need no consent (the person
// asked for the mail a moment ago) but go only to the address the row was
// sealed with, which enrolment took from the register or from the person's
// own proof. Same transport, DKIM signature and crash rule as member mail:
// the row is `handed` in a durable write before the end-of-data marker, and
// a crash sends it again with the same Message-ID. Once handed to the relay
// (or given up) the sealed mail is emptied, so the link is not kept.
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "mail/address.h"
#include "mail/mime.h"
#include "messaging/outbox.h"

namespace switchboard::messaging {

namespace {
using json = nlohmann::json;
}  // namespace

Status Outbox::FinishAccountMail(std::int64_t id, std::string_view state, int code,
                                 std::string detail, Micros next, bool forget) {
  const Micros now = clock_.Now();
  return store_.Write([&](store::Tx& tx) -> Status {
    return tx
        .Exec(std::string("UPDATE account_mail SET state = $2, smtp_code = $3, detail = $4, "
                          "next_attempt_at = $5, updated_at = $6") +
                  (forget ? ", sealed = $7" : "") + " WHERE id = $1",
              forget ? std::vector<store::Value>{id, std::string(state),
                                                 code > 0 ? store::Value(std::int64_t{code})
                                                          : store::Value(),
                                                 detail, next, now, store::Value::Bytes("")}
                     : std::vector<store::Value>{id, std::string(state),
                                                 code > 0 ? store::Value(std::int64_t{code})
                                                          : store::Value(),
                                                 detail, next, now})
        .status();
  });
}

void Outbox::DeliverAccountMail(mail::SmtpClient* smtp, DeliveryStats& stats) {
  struct Due {
    std::int64_t id;
    int attempts;
    crypto::Sealed sealed;
    Micros created_at;
  };
  std::vector<Due> due;
  const Status read = store_.Read([&](store::Tx& tx) -> Status {
    due.clear();
    return tx.Query(
        "SELECT id, attempts, key_id, sealed, created_at FROM account_mail WHERE state IN "
        "('queued', 'deferred') AND next_attempt_at <= $1 ORDER BY id LIMIT 200",
        {clock_.Now()}, [&](const store::Row& r) {
          due.push_back({r.Int(0),
                         static_cast<int>(r.Int(1)),
                         {static_cast<std::uint32_t>(r.Int(2)), std::string(r.Bytes(3))},
                         r.Int(4)});
          return true;
        });
  });
  if (!read.ok()) {
    log::Error("outbox", "account_mail_read_failed", {{"error", read.message()}});
    return;
  }
  for (const Due& d : due) {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stop_) return;
    }
    auto opened = sealer_.Open(d.sealed, "account-mail");
    json m = opened ? json::parse(*opened, nullptr, false) : json();
    if (!m.is_object() || !m["to"].is_string() || !m["subject"].is_string() ||
        !m["text"].is_string()) {
      (void)FinishAccountMail(d.id, "failed", 0, "the mail could not be read", 0, true);
      ++stats.failed;
      continue;
    }
    auto to = mail::ToSmtpAddress(m["to"].get<std::string>());
    if (!to) {
      (void)FinishAccountMail(d.id, "failed", 0, to.error().message(), 0, true);
      ++stats.failed;
      continue;
    }
    mail::OutgoingMessage out;
    out.from = {cfg_.organisation_name, cfg_.from_address};
    out.to = {"", *to};
    out.subject = m["subject"].get<std::string>();
    out.text_body = m["text"].get<std::string>();
    out.message_id = "<account." + std::to_string(d.id) + "@" + cfg_.message_id_domain + ">";
    out.date = d.created_at;
    out.extra_headers = {{"Auto-Submitted", "auto-generated"}};
    auto rendered = mail::RenderMessage(out);
    if (!rendered) {
      (void)FinishAccountMail(d.id, "failed", 0, "the mail could not be built", 0, true);
      ++stats.failed;
      continue;
    }
    std::string data = std::move(*rendered);
    if (cfg_.dkim) {
      auto signed_msg = cfg_.dkim->Sign(data);
      if (!signed_msg) {
        (void)FinishAccountMail(d.id, "deferred", 0, "DKIM signing failed",
                                clock_.Now() + cfg_.retry_base, false);
        ++stats.deferred;
        continue;
      }
      data = std::move(*signed_msg);
    }
    Throttle();
    bool handed = false;
    auto before_end = [&]() -> bool {
      std::int64_t n = 0;
      const Status st = store_.Write([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(n, tx.Exec("UPDATE account_mail SET state = 'handed', attempts = "
                                       "attempts + 1, updated_at = $2 WHERE id = $1 AND state "
                                       "IN ('queued', 'deferred')",
                                       {d.id, clock_.Now()}));
        return Status::Ok();
      });
      handed = st.ok() && n == 1;
      return handed;
    };
    std::string address = std::move(*to);
    const mail::SmtpResult res = smtp->Send(cfg_.bounce_address, address, data, before_end);
    address.clear();
    data.clear();
    if (res.kind == mail::SmtpResult::Kind::kAccepted && handed) {
      (void)FinishAccountMail(d.id, "sent", res.code, "", 0, true);
      ++stats.sent;
    } else if (res.kind == mail::SmtpResult::Kind::kPermanent) {
      (void)FinishAccountMail(d.id, "failed", res.code, "permanent: " + res.detail, 0, true);
      ++stats.failed;
    } else {
      const int attempts = d.attempts + 1;
      if (attempts >= cfg_.max_attempts) {
        (void)FinishAccountMail(d.id, "failed", res.code, "gave up: " + res.detail, 0, true);
        ++stats.failed;
        continue;
      }
      Micros backoff = cfg_.retry_base;
      for (int i = 1; i < attempts && backoff < cfg_.retry_max; ++i) backoff *= 2;
      backoff = std::min(backoff, cfg_.retry_max);
      (void)store_.Write([&](store::Tx& tx) -> Status {
        return tx
            .Exec(
                "UPDATE account_mail SET state = 'deferred', attempts = $2, detail = $3, "
                "next_attempt_at = $4, updated_at = $5 WHERE id = $1",
                {d.id, static_cast<std::int64_t>(attempts), "temporary: " + res.detail,
                 clock_.Now() + backoff, clock_.Now()})
            .status();
      });
      ++stats.deferred;
    }
  }
}

}  // namespace switchboard::messaging
