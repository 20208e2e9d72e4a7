#include "phonebank/connector.h"

#include <sodium.h>

#include "access/credentials/token.h"

namespace switchboard::phonebank {

namespace {

Result<std::string> OpenPhone(store::Tx& tx, const crypto::Sealer& sealer, MemberId member) {
  std::optional<crypto::Sealed> sealed;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT key_id, sealed FROM contact_points WHERE member_id = $1 AND kind = 'phone' AND "
      "valid = 1 ORDER BY label LIMIT 1",
      {member.value()}, [&](const store::Row& r) {
        sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
        return false;
      }));
  if (!sealed) return Status::FailedPrecondition("the member has no valid phone number");
  return sealer.Open(*sealed, "phone");
}

}  // namespace

Result<bool> Connector::RecordEnd(store::Tx& tx, CallId call, std::string_view end, Micros now) {
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE calls SET state = 'ended', end_reason = $2, ended_at = $3, "
              "duration_seconds = CASE WHEN answered_at IS NULL THEN 0 ELSE ($3 - answered_at) / "
              "1000000 END WHERE id = $1 AND state IN ('calling_you', 'calling_member', "
              "'connected', 'ringing', 'answered')",
              {call.value(), std::string(end), now}));
  return n == 1;
}

Result<std::vector<CallId>> Connector::ActiveCalls(store::Tx& tx,
                                                   std::optional<CampaignId> campaign) {
  std::vector<CallId> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id FROM calls WHERE state IN ('calling_you', 'calling_member', 'connected', "
               "'ringing', 'answered') AND ($1 = 0 OR campaign_id = $1) ORDER BY id",
               {campaign ? campaign->value() : std::int64_t{0}}, [&](const store::Row& r) {
                 out.emplace_back(r.Int(0));
                 return true;
               }));
  return out;
}

Result<CallState> SandboxConnector::Connect(store::Tx& tx, const Campaign& campaign,
                                            AccountId caller, const Lease& lease, Micros now) {
  SB_ASSIGN_OR_RETURN(bool verified, EndpointVerified(tx, caller));
  if (!verified) {
    return Status::FailedPrecondition(
        "register and verify your own phone first (the number the platform rings you on)");
  }
  // Resolve the number here, as a real connector must; it goes nowhere else.
  SB_ASSIGN_OR_RETURN(std::string number, OpenPhone(tx, sealer_, lease.member));
  sodium_memzero(number.data(), number.size());
  // The lease wrote a call row; this connection is that call.
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE calls SET connector = 'sandbox', state = 'ringing', "
                              "connected_at = $2 WHERE id = $1 AND campaign_id = $3 AND "
                              "caller_id = $4 AND outcome IS NULL",
                              {lease.call.value(), now, campaign.id.value(), caller.value()}));
  if (n != 1) return Status::FailedPrecondition("the call for this contact has already ended");
  return CallState{lease.call, "ringing", "", "", 0, true};
}

Result<CallState> SandboxConnector::Status(store::Tx& tx, CallId call, AccountId caller,
                                           Micros now) {
  std::optional<CallState> out;
  Micros connected = 0;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT connected_at, connector FROM calls WHERE id = $1 AND caller_id = $2",
               {call.value(), caller.value()}, [&](const store::Row& r) {
                 connected = r.IntOr(0, 0);
                 out = CallState{call, "ringing", "", "", 0, r.Text(1) == "sandbox"};
                 return false;
               }));
  if (!out || !out->simulated || connected == 0) {
    return switchboard::Status::NotFound("no call of yours has that id");
  }
  const std::int64_t elapsed = (now - connected) / kMicrosPerSecond;
  const bool answers = call.value() % 3 != 0;
  if (elapsed < kRingSeconds) {
    out->state = "ringing";
  } else if (!answers) {
    out->state = "failed";
  } else if (elapsed < kRingSeconds + kTalkSeconds) {
    out->state = "answered";
    out->duration_seconds = elapsed - kRingSeconds;
  } else {
    out->state = "completed";
    out->duration_seconds = kTalkSeconds;
  }
  return *out;
}

Status SandboxConnector::Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t mine,
                      tx.QueryInt("SELECT COUNT(*) FROM calls WHERE id = $1 AND caller_id = $2",
                                  {call.value(), caller.value()}));
  if (mine == 0) return switchboard::Status::NotFound("no call of yours has that id");
  return RecordEnd(tx, call, "completed", now).status();
}

Result<int> SandboxConnector::EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                                       Micros now) {
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended = 0;
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, campaign));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "killed", now));
      ended += did ? 1 : 0;
    }
    return switchboard::Status::Ok();
  }));
  return ended;
}

Result<int> SandboxConnector::Reconcile(store::Store& store, Micros now) {
  // A simulated call has no legs to hang up; what was active is lost.
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended = 0;
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, std::nullopt));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "lost", now));
      ended += did ? 1 : 0;
    }
    return switchboard::Status::Ok();
  }));
  return ended;
}

Result<EndpointVerification> RegisterEndpoint(store::Tx& tx, const crypto::Sealer& sealer,
                                              AccountId account, std::string_view e164,
                                              Micros now) {
  const crypto::Sealed sealed = sealer.Seal(e164, "caller-endpoint");
  EndpointVerification v;
  v.code = std::to_string(100000 + randombytes_uniform(900000));
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO caller_endpoints (account_id, key_id, sealed, verify_hash, "
              "verified_at, created_at) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT "
              "(account_id) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, "
              "verify_hash = excluded.verify_hash, verified_at = NULL, created_at = "
              "excluded.created_at",
              {account.value(), static_cast<std::int64_t>(sealed.key_id),
               store::Value::Bytes(sealed.bytes), access::HashToken(v.code), now})
          .status());
  return v;
}

Status VerifyEndpoint(store::Tx& tx, AccountId account, std::string_view code, Micros now) {
  std::optional<std::string> hash;
  SB_RETURN_IF_ERROR(tx.Query("SELECT verify_hash FROM caller_endpoints WHERE account_id = $1",
                              {account.value()}, [&](const store::Row& r) {
                                hash = r.TextOr(0);
                                return false;
                              }));
  if (!hash) return Status::NotFound("register your phone first");
  if (hash->empty() || !access::ConstantTimeEquals(access::HashToken(code), *hash)) {
    return Status::InvalidArgument("that code is not the one we sent");
  }
  return tx
      .Exec(
          "UPDATE caller_endpoints SET verified_at = $2, verify_hash = NULL WHERE account_id = $1",
          {account.value(), now})
      .status();
}

Result<bool> EndpointVerified(store::Tx& tx, AccountId account) {
  bool verified = false;
  SB_RETURN_IF_ERROR(tx.Query("SELECT verified_at FROM caller_endpoints WHERE account_id = $1",
                              {account.value()}, [&](const store::Row& r) {
                                verified = !r.IsNull(0);
                                return false;
                              }));
  return verified;
}

}  // namespace switchboard::phonebank
