// Records of processing activities (UK GDPR Art. 30(1)), generated from what
// the deployment actually does: the policy file (roles, their capabilities
// and field classes, sessions, links, retention), the purposes grants and
// campaigns were given for (read from the store), and the recipients that
// carry member data out (the SMTP relay, the telephony connector). As
// Markdown for the DPO to keep and edit, and as a self-contained HTML
// document.
#pragma once

#include <string>
#include <vector>

#include "access/policy/policy.h"
#include "access/store/holdings.h"
#include "core/clock.h"
#include "members/org_tree.h"
#include "phonebank/holdings.h"
#include "store/store.h"

namespace switchboard::privacy {

// Someone outside the party that member data goes to.
struct Recipient {
  std::string name;     // "SMTP relay"
  std::string where;    // "smtp.example.org:587", or "not configured"
  std::string carries;  // what of the member's data it receives
};

struct ProcessingRecords {
  std::string organisation;
  Micros generated_at = 0;
  const access::Policy* policy = nullptr;
  std::vector<access::GrantPurpose> grant_purposes;
  std::vector<phonebank::CampaignPurpose> campaign_purposes;
  std::vector<Recipient> recipients;
};

// The SMTP relay (host:port from [mail] relay, empty: not configured) and
// the telephony connector (its name; `simulated`: nothing leaves).
std::vector<Recipient> StandardRecipients(const std::string& mail_relay,
                                          const std::string& telephony, bool simulated);

// Reads the purposes in `tx`.
Result<ProcessingRecords> GatherRecords(store::Tx& tx, const access::Policy& policy,
                                        std::string organisation, std::vector<Recipient> recipients,
                                        Micros now);

std::string RecordsMarkdown(const ProcessingRecords& r, const members::OrgTree& tree);
std::string RecordsHtml(const ProcessingRecords& r, const members::OrgTree& tree);

}  // namespace switchboard::privacy
