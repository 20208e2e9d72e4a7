#include "messaging/migrations.h"

namespace switchboard::messaging {
namespace {

// Version 9: member e-mail (RULEBOOK §7). A message is versioned; approvals
// bind to one version and its content hash, so any edit voids them. The
// outbox holds one row per (message, recipient): the idempotency key. Rows
// move queued -> handed (committed just before the end-of-data marker goes to
// the relay, re-checking consent) -> sent, or deferred / failed / bounced /
// suppressed / cancelled. Suppression-list entries are blind indexes (from plain
// addresses) or a previous provider's SHA-256 hashes, never addresses. The
// audit log's `message` column came with this version (audit/migrations.cc).
constexpr const char* kV9 = R"sql(
CREATE TABLE messages (
  id {{pk}},
  author_id {{int}} NOT NULL REFERENCES accounts(id),
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  from_kind TEXT NOT NULL,
  from_unit {{int}} REFERENCES units(id),
  from_account {{int}} REFERENCES accounts(id),
  from_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  audience TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  version {{int}} NOT NULL,
  content_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  sent_by {{int}} REFERENCES accounts(id),
  sent_role TEXT,
  queued_at {{int}},
  completed_at {{int}},
  recipients {{int}}
);
CREATE INDEX messages_author ON messages(author_id);
CREATE INDEX messages_from_account ON messages(from_account);

CREATE TABLE message_approvals (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  version {{int}} NOT NULL,
  content_hash TEXT NOT NULL,
  kind TEXT NOT NULL,
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  at {{int}} NOT NULL,
  UNIQUE (message_id, version, kind, account_id)
);

CREATE TABLE message_checks (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  version {{int}} NOT NULL,
  rule TEXT NOT NULL,
  passed {{int}} NOT NULL,
  detail TEXT NOT NULL,
  at {{int}} NOT NULL
);
CREATE INDEX message_checks_message ON message_checks(message_id);

CREATE TABLE outbox (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  member_id {{int}} NOT NULL REFERENCES members(id),
  state TEXT NOT NULL,
  attempts {{int}} NOT NULL DEFAULT 0,
  next_attempt_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  smtp_code {{int}},
  detail TEXT,
  UNIQUE (message_id, member_id)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_message ON outbox(message_id, state);

CREATE TABLE email_suppressions (
  id {{pk}},
  hash_kind TEXT NOT NULL,
  hash {{blob}} NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_at {{int}} NOT NULL,
  UNIQUE (hash_kind, hash)
);

CREATE TABLE email_bounces (
  member_id {{int}} PRIMARY KEY REFERENCES members(id),
  hard_count {{int}} NOT NULL,
  last_at {{int}} NOT NULL,
  last_code {{int}}
);

CREATE TABLE unsubscribes (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id),
  message_id {{int}},
  at {{int}} NOT NULL,
  how TEXT NOT NULL
);
CREATE INDEX unsubscribes_message ON unsubscribes(message_id);
)sql";

constexpr store::Migration kSteps[] = {
    {9, "messaging", "member e-mail: messages, approvals, outbox, suppressions", kV9},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::messaging
