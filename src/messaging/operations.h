// Member e-mail operations as the API calls them (RULEBOOK §7). Each runs in
// the caller's transaction after the gate (access/guard/gate.h) allowed it,
// decides what is left (authorship, the identity's own approval, the send
// checks), acts, and appends its own audit event in that same transaction.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "members/org_tree.h"
#include "members/preferences.h"
#include "messaging/messaging.h"
#include "store/store.h"

namespace switchboard::messaging {

// The scope of message `id` (what the gate decides on); kNotFound when no
// message has it.
Result<UnitId> MessageScope(store::Tx& tx, MessageId id);

// A preview with a made-up sample recipient: never a real member.
struct Preview {
  std::string sample_first_name, sample_unit_name;
  std::string from_name, subject, text, html;  // html empty when the message has none
};

// An account a message could speak for, as a drafter picks it: its display
// name only.
struct Speaker {
  AccountId account;
  std::string name;
};
struct SpeakerPage {
  std::vector<Speaker> speakers;
  bool more = false;  // another page follows
};
// The most speakers one page lists, and the furthest a search pages.
constexpr int kSpeakersPageMax = 20;
constexpr int kSpeakersOffsetMax = 200;

// A member acting through the signed link in a message (messaging/tokens.h):
// no account, no grant; the token is the right to act on these choices.
struct MemberLink {
  MemberId member;
  MessageId message;  // the message the link came in, if any
  std::string request_id;
  Micros now = 0;
};
// One-click unsubscribe (RFC 8058): a service message's link stops all
// e-mail, any other link the e-mail consent. Recorded ("member.unsubscribe")
// with the unsubscribe row. nullopt when the member no longer exists.
Result<std::optional<members::Preferences>> Unsubscribe(store::Tx& tx, const MemberLink& link);
// The member's choices, read on their token: recorded like any read
// ("member.preferences.view").
Result<std::optional<members::Preferences>> ReadPreferences(store::Tx& tx, const MemberLink& link);
// Saves the choices `choose` makes from the current ones ("member.preferences").
Result<std::optional<members::Preferences>> SavePreferences(
    store::Tx& tx, const MemberLink& link,
    const std::function<members::Preferences(members::Preferences)>& choose);

class Operations {
 public:
  // `hooks`: the contest rules (src/contest), borrowed.
  Operations(const access::Policy& policy, const members::OrgTree& tree,
             const SendHooks& hooks = NoContestHooks());

  // Stores a new draft by `who` ("message.draft").
  Status Draft(store::Tx& tx, const access::Acting& who, Message& m) const;
  // Applies `edit` to the stored draft and saves it; only its author edits
  // a draft ("message.edit").
  Status Edit(store::Tx& tx, const access::Acting& who, MessageId id,
              const std::function<Status(Message&)>& edit, Message& m) const;
  // What sending `m` as `who` would need now.
  Result<Requirements> RequirementsOf(store::Tx& tx, const access::Acting& who,
                                      const Message& m) const;
  // A second person's approval of exactly `version` ("message.approve").
  Status ApproveSecond(store::Tx& tx, const access::Acting& who, MessageId id, int version) const;
  // The approval of the person a draft speaks for, by that person; kNotFound
  // for anyone else, who learns nothing about the message.
  // A contest rule's refusal (staff neutrality binds the named person too)
  // is recorded in `tx` and returned in `refused`, and nothing is approved;
  // without `refused` it is kPermissionDenied.
  Status ApproveInOwnName(store::Tx& tx, const access::Acting& who, MessageId id, int version,
                          access::Decision* refused = nullptr) const;
  // Runs the send checks and queues the message when all pass; a refusal is
  // recorded too ("message.send" or "message.send_refused").
  Result<SendResult> SendAs(store::Tx& tx, const access::Acting& who, MessageId id,
                            int version) const;
  // Stops a sending message ("message.cancel"); returns the rows cancelled.
  Result<std::int64_t> CancelAs(store::Tx& tx, const access::Acting& who, MessageId id) const;
  // The preview of message `id` as `who` would send it.
  Result<Preview> PreviewAs(store::Tx& tx, const access::Acting& who, MessageId id,
                            std::string_view public_base_url,
                            std::string_view organisation_name) const;
  // The preview of `m` for the person it speaks for, `who`, before anyone
  // sends it: the same rendering as PreviewAs, the author standing in as the
  // sender. kNotFound when `m` does not speak for `who`.
  Result<Preview> PreviewInOwnName(store::Tx& tx, const access::Acting& who, const Message& m,
                                   std::string_view public_base_url,
                                   std::string_view organisation_name) const;
  // Active accounts a message inside `scope` could speak for, whose display
  // name contains `query` (at least 2 characters, ASCII case ignored): those
  // linked to a member whose unit lies within the scope, and those holding
  // a grant in force on a unit within it. By name, `limit` (at most
  // kSpeakersPageMax) from `offset` (at most kSpeakersOffsetMax). Recorded
  // as a read ("message.speakers"): the names found are people's names.
  Result<SpeakerPage> Speakers(store::Tx& tx, const access::Acting& who, UnitId scope,
                               std::string_view query, int limit, int offset) const;
  // Messages `who` may open: its own, those naming it, and those within the
  // scopes where a decision on `capability` allows it, newest first.
  Result<std::vector<Message>> Visible(store::Tx& tx, const access::Principal& who,
                                       std::string_view capability, Micros now, int limit) const;

 private:
  Result<Preview> Render(store::Tx& tx, const Message& m, const FooterFacts& sender,
                         std::string_view public_base_url,
                         std::string_view organisation_name) const;

  const access::Policy& policy_;
  const members::OrgTree& tree_;
  const SendHooks& hooks_;
};

}  // namespace switchboard::messaging
