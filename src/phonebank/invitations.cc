// Invitations (phonebank.h, "invitations"): links that let accounts join a
// campaign as callers, and the grants joining makes.
#include <optional>
#include <string>

#include "access/credentials/token.h"
#include "access/store/access_store.h"
#include "phonebank/phonebank.h"

namespace switchboard::phonebank {

namespace {

constexpr const char* kInviteColumns =
    "id, campaign_id, label, created_by, created_at, expires_at, max_joins, joins, revoked_at";

Invite ReadInvite(const store::Row& r) {
  Invite i;
  i.id = InviteId(r.Int(0));
  i.campaign = CampaignId(r.Int(1));
  i.label = std::string(r.Text(2));
  i.created_by = AccountId(r.Int(3));
  i.created_at = r.Int(4);
  i.expires_at = r.Int(5);
  i.max_joins = static_cast<int>(r.Int(6));
  i.joins = static_cast<int>(r.Int(7));
  i.revoked_at = r.IntOr(8, 0);
  return i;
}

}  // namespace

Result<NewInvite> CreateInvite(store::Tx& tx, const Campaign& c, AccountId by,
                               std::string_view label, Micros expires_at, int max_joins,
                               Micros now) {
  if (c.state == CampaignState::kEnded || c.state == CampaignState::kKilled || now >= c.ends_at) {
    return Status::FailedPrecondition("the campaign has ended; it takes no new callers");
  }
  if (label.empty() || label.size() > 100) {
    return Status::InvalidArgument("label: 1 to 100 characters, e.g. where the link was shared");
  }
  if (max_joins < 1 || max_joins > 10000) {
    return Status::InvalidArgument("max_joins: 1 to 10,000");
  }
  if (expires_at == 0 || expires_at > c.ends_at) expires_at = c.ends_at;
  if (expires_at <= now) return Status::InvalidArgument("expires_at: must be in the future");
  access::IssuedToken token = access::IssueToken();
  NewInvite out;
  SB_RETURN_IF_ERROR(
      tx.Query("INSERT INTO campaign_invites (campaign_id, token_hash, label, created_by, "
               "created_at, expires_at, max_joins) VALUES ($1, $2, $3, $4, $5, $6, $7) "
               "RETURNING id",
               {c.id.value(), token.hash, label, by.value(), now, expires_at, max_joins},
               [&](const store::Row& r) {
                 out.invite.id = InviteId(r.Int(0));
                 return false;
               }));
  out.invite.campaign = c.id;
  out.invite.label = std::string(label);
  out.invite.created_by = by;
  out.invite.created_at = now;
  out.invite.expires_at = expires_at;
  out.invite.max_joins = max_joins;
  out.token = token.secret;
  return out;
}

Result<std::vector<Invite>> ListInvites(store::Tx& tx, CampaignId campaign) {
  std::vector<Invite> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kInviteColumns +
                                  " FROM campaign_invites WHERE campaign_id = $1 ORDER BY id",
                              {campaign.value()}, [&](const store::Row& r) {
                                out.push_back(ReadInvite(r));
                                return true;
                              }));
  return out;
}

Result<std::vector<Joined>> ListJoined(store::Tx& tx, CampaignId campaign) {
  std::vector<Joined> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT c.account_id, a.display_name, c.invite_id, c.joined_at FROM campaign_callers c "
      "JOIN accounts a ON a.id = c.account_id WHERE c.campaign_id = $1 ORDER BY c.joined_at",
      {campaign.value()}, [&](const store::Row& r) {
        out.push_back(
            {AccountId(r.Int(0)), std::string(r.Text(1)), InviteId(r.IntOr(2, 0)), r.Int(3)});
        return true;
      }));
  return out;
}

Status RevokeInvite(store::Tx& tx, CampaignId campaign, InviteId invite, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE campaign_invites SET revoked_at = $3 WHERE id = $1 AND "
                              "campaign_id = $2 AND revoked_at IS NULL",
                              {invite.value(), campaign.value(), now}));
  if (n == 0) return Status::NotFound("no open invitation with that id in this campaign");
  return Status::Ok();
}

Result<Invite> FindInvite(store::Tx& tx, std::string_view token) {
  std::optional<Invite> out;
  if (!access::LooksLikeToken(token)) return Status::NotFound("this link is not valid");
  SB_RETURN_IF_ERROR(tx.Query(
      std::string("SELECT ") + kInviteColumns + " FROM campaign_invites WHERE token_hash = $1",
      {access::HashToken(token)}, [&](const store::Row& r) {
        out = ReadInvite(r);
        return false;
      }));
  if (!out) return Status::NotFound("this link is not valid");
  return *out;
}

Status CheckJoin(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                 const Invite& invite, AccountId account, Micros now) {
  if (now >= c.ends_at || c.state == CampaignState::kEnded) {
    return Status::FailedPrecondition("this campaign ended on " + FormatTimestamp(c.ends_at) +
                                      "; the link no longer works");
  }
  if (c.state == CampaignState::kKilled) {
    return Status::FailedPrecondition("this campaign was stopped; the link no longer works");
  }
  if (c.state == CampaignState::kDraft) {
    return Status::FailedPrecondition("this campaign has not started yet");
  }
  if (invite.revoked_at != 0) {
    return Status::FailedPrecondition("this link was withdrawn by the organiser");
  }
  if (now >= invite.expires_at) {
    return Status::FailedPrecondition("this link expired on " + FormatTimestamp(invite.expires_at));
  }
  SB_ASSIGN_OR_RETURN(access::Account a, access::GetAccount(tx, account));
  if (a.state != access::AccountState::kActive) {
    return Status::PermissionDenied("this account is not active");
  }
  if (c.eligibility.members_in_scope_only || c.eligibility.min_membership_years > 0) {
    if (!a.member.valid()) {
      return Status::PermissionDenied("this campaign is for members of " +
                                      tree.Find(c.scope)->name +
                                      "; your account is not linked to a membership");
    }
    bool ok = false;
    std::string why = "this campaign is for current members of " + tree.Find(c.scope)->name;
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT unit_id, status, joined_on FROM members WHERE id = $1", {a.member.value()},
        [&](const store::Row& r) {
          const bool inside = tree.IsWithin(UnitId(r.Int(0)), c.scope);
          const bool current = r.Text(1) == "current";
          const std::int64_t years = r.IsNull(2) ? 0 : (now / kMicrosPerDay - r.Int(2)) / 365;
          ok = inside && current && years >= c.eligibility.min_membership_years;
          if (inside && current && !ok) {
            why = "this campaign is for members of at least " +
                  std::to_string(c.eligibility.min_membership_years) + " years";
          }
          return false;
        }));
    if (!ok) return Status::PermissionDenied(why);
  }
  return Status::Ok();
}

Result<JoinResult> Join(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                        const Invite& invite, AccountId account, Micros now) {
  SB_RETURN_IF_ERROR(CheckJoin(tx, tree, c, invite, account, now));
  JoinResult out;
  std::optional<std::int64_t> existing;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT grant_id FROM campaign_callers WHERE campaign_id = $1 AND account_id = $2",
               {c.id.value(), account.value()}, [&](const store::Row& r) {
                 existing = r.Int(0);
                 return false;
               }));
  if (existing) {
    out.grant = access::GrantId(*existing);
    out.not_after = c.ends_at;
    out.already = true;
    return out;
  }
  if (invite.joins >= invite.max_joins) {
    return Status::FailedPrecondition("this link has been used by as many people as it allows");
  }
  SB_ASSIGN_OR_RETURN(std::int64_t claimed,
                      tx.Exec("UPDATE campaign_invites SET joins = joins + 1 WHERE id = $1 AND "
                              "joins < max_joins AND revoked_at IS NULL",
                              {invite.id.value()}));
  if (claimed == 0) {
    return Status::FailedPrecondition("this link has been used by as many people as it allows");
  }
  access::GrantRequest g;
  g.account = account;
  g.role = "caller";
  g.scope = c.scope;
  g.purpose = "phone bank: " + c.name.substr(0, 100);
  g.not_before = now;
  g.not_after = c.ends_at;
  g.reason = "joined through invitation " + invite.id.ToString();
  g.source = "campaign:" + c.id.ToString();
  g.source_end = c.ends_at;
  SB_ASSIGN_OR_RETURN(out.grant,
                      access::InsertGrant(tx, g, invite.created_by, /*approved=*/true, now));
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO campaign_callers (campaign_id, account_id, invite_id, "
              "grant_id, joined_at) VALUES ($1, $2, $3, $4, $5)",
              {c.id.value(), account.value(), invite.id.value(), out.grant.value(), now})
          .status());
  out.not_after = c.ends_at;
  return out;
}

}  // namespace switchboard::phonebank
