#include "cli/access_commands.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "access/credentials/password.h"
#include "access/credentials/totp.h"
#include "access/store/access_service.h"
#include "access/store/access_store.h"
#include "access/store/auth_service.h"
#include "audit/audit_log.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "server/app.h"

namespace switchboard::cli {

namespace {
constexpr int kOk = kExitOk, kRuntime = kExitRuntime;
int Fail(const Status& st) { return ExitFor(st); }
}  // namespace

ParsedTime ParseWhen(const std::string& text, long long now) {
  auto t = ParseTimeOrOffset(text, now);
  if (!t) return {};
  return {true, *t};
}

struct AccessCommands::State {
  std::string data_dir = server::DefaultDataDir();
  std::string store;
  // account
  CLI::App *acc_add, *acc_list, *acc_suspend, *acc_reinstate, *acc_totp, *acc_password;
  std::string login, name, reason;
  std::int64_t member = 0;
  bool staff = false, password_stdin = false, json = false;
  // grant
  CLI::App *gr_bootstrap, *gr_add, *gr_list, *gr_approve, *gr_revoke;
  std::string as, to, also_to, role, scope, purpose, from = "now", until, totp, account_filter;
  std::int64_t grant_id = 0;
  bool active_only = false;
  // access explain
  CLI::App* explain;
  std::string capability, unit, at = "now";

  void Common(CLI::App* c) {
    c->add_option("--data-dir", data_dir,
                  "Data directory (default $SWITCHBOARD_DATA_DIR, else ./switchboard-data)");
    c->add_option("--store", store, "Store URL overriding the configured one");
  }
  void Acting(CLI::App* c) {
    c->add_option("--as", as, "Your login: the account acting")->required();
    c->add_flag("--password-stdin", password_stdin,
                "Read your password from the first line of standard input")
        ->required();
    c->add_option("--totp", totp, "A current code from your authenticator (privileged roles)");
  }
};

AccessCommands::AccessCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  State& s = *s_;
  auto* account = app.add_subcommand("account", "Accounts: people who log in to Switchboard");
  account->require_subcommand(1);
  s.acc_add = account->add_subcommand("add", "Create an account (by the operator; recorded)");
  s.acc_add->add_option("LOGIN", s.login, "Login name")->required();
  s.acc_add->add_option("--name", s.name, "Display name")->required();
  s.acc_add->add_flag("--staff", s.staff, "Employed staff (neutrality rules apply)");
  s.acc_add->add_option("--member", s.member, "Member id this account belongs to");
  s.acc_add->add_flag("--password-stdin", s.password_stdin,
                      "Set the password from the first line of standard input");
  s.acc_list = account->add_subcommand("list", "List accounts");
  s.acc_list->add_flag("--json", s.json, "JSON lines");
  s.acc_suspend = account->add_subcommand("suspend", "Suspend an account at once");
  s.acc_reinstate = account->add_subcommand("reinstate", "Reinstate a suspended account");
  for (auto* c : {s.acc_suspend, s.acc_reinstate}) {
    c->add_option("LOGIN", s.login, "Login name")->required();
    c->add_option("--reason", s.reason, "Why (recorded)")->required();
  }
  s.acc_password = account->add_subcommand(
      "password", "Set an account's password from standard input (checked against the policy)");
  s.acc_password->add_option("LOGIN", s.login, "Login name")->required();
  s.acc_totp = account->add_subcommand(
      "totp", "Enrol a second factor: prints the secret once, as text and as a QR code");
  s.acc_totp->add_option("LOGIN", s.login, "Login name")->required();
  s.acc_totp
      ->add_flag("--password-stdin", s.password_stdin, "The account's password, on standard input")
      ->required();
  for (auto* c :
       {s.acc_add, s.acc_list, s.acc_suspend, s.acc_reinstate, s.acc_password, s.acc_totp}) {
    s.Common(c);
  }

  auto* grant =
      app.add_subcommand("grant", "Grants: a role over a scope, for a purpose, until an end");
  grant->require_subcommand(1);
  s.gr_bootstrap = grant->add_subcommand(
      "bootstrap", "The first grant of a new deployment: role owner over the whole tree");
  s.gr_bootstrap->add_option("--to", s.to, "Login of the owner")->required();
  s.gr_bootstrap->add_option("--and", s.also_to,
                             "A second founding owner, so each can approve the other's "
                             "privileged grants");
  s.gr_bootstrap->add_option("--until", s.until, "End (ISO 8601 or +30d)")->required();
  s.gr_bootstrap->add_option("--reason", s.reason, "Why (recorded)")->required();
  s.gr_add = grant->add_subcommand("add", "Grant a role (pending a second approver if privileged)");
  s.Acting(s.gr_add);
  s.gr_add->add_option("--to", s.to, "Login receiving the grant")->required();
  s.gr_add->add_option("--role", s.role, "Role from the policy")->required();
  s.gr_add->add_option("--scope", s.scope, "Unit code or name")->required();
  s.gr_add->add_option("--purpose", s.purpose, "What it is for")->required();
  s.gr_add->add_option("--reason", s.reason, "Why (recorded)")->required();
  s.gr_add->add_option("--from", s.from, "Start (default now)");
  s.gr_add->add_option("--until", s.until, "End: ISO 8601 or relative (+8h, +30d)")->required();
  s.gr_list = grant->add_subcommand("list", "List grants");
  s.gr_list->add_option("--account", s.account_filter, "Only this login's grants");
  s.gr_list->add_flag("--active", s.active_only, "Only grants in force now");
  s.gr_approve = grant->add_subcommand("approve", "Approve a pending privileged grant");
  s.Acting(s.gr_approve);
  s.gr_approve->add_option("ID", s.grant_id, "Grant id")->required();
  s.gr_revoke = grant->add_subcommand("revoke", "Revoke a grant at once");
  s.Acting(s.gr_revoke);
  s.gr_revoke->add_option("ID", s.grant_id, "Grant id")->required();
  s.gr_revoke->add_option("--reason", s.reason, "Why (recorded)")->required();
  for (auto* c : {s.gr_bootstrap, s.gr_add, s.gr_list, s.gr_approve, s.gr_revoke}) s.Common(c);

  auto* access = app.add_subcommand("access", "Ask the decision point");
  access->require_subcommand(1);
  s.explain = access->add_subcommand("explain",
                                     "Why could (or couldn't) an account do something at a time?");
  s.explain->add_option("--account", s.login, "Login")->required();
  s.explain->add_option("--capability", s.capability, "e.g. member.view")->required();
  s.explain->add_option("--unit", s.unit, "Unit code or name")->required();
  s.explain->add_option("--at", s.at, "When (ISO 8601 or relative; default now)");
  s.Common(s.explain);
}

AccessCommands::~AccessCommands() = default;

namespace {

std::string ReadPasswordLine() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Authenticates the acting account the way the web sign-in does (throttles,
// password, state, second factor when enrolled), recorded as "auth.cli".
// Returns the account and whether a second factor was proven.
Result<std::pair<access::Account, bool>> Authenticate(server::App& app, const std::string& login,
                                                      const std::string& totp_code) {
  access::AuthService auth(app.store(), app.policy(), app.sealer(), app.clock(),
                           app.auth_options());
  access::Credentials c;
  c.login = login;
  c.password = ReadPasswordLine();
  c.totp = totp_code;
  SB_ASSIGN_OR_RETURN(access::LoginOutcome out, auth.Authenticate(c, "auth.cli"));
  if (out.refusal == access::LoginRefusal::kThrottled) {
    return Status::ResourceExhausted(out.message);
  }
  if (!out.ok()) return Status::PermissionDenied(out.message);
  return std::make_pair(out.who.account, out.who.second_factor);
}

Result<access::Account> Lookup(server::App& app, const std::string& login) {
  access::Account out;
  SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(out, access::FindAccount(tx, login));
    return Status::Ok();
  }));
  return out;
}

Result<UnitId> Unit(server::App& app, const std::string& text) {
  const members::Unit* u = app.tree().FindByCodeOrName(text);
  if (!u) return Status::InvalidArgument("no unit has the code or name '" + text + "'");
  return u->id;
}

// What each subcommand works with once the data directory is open.
struct Ctx {
  AccessCommands::State& s;
  server::App& app;
  access::AccessService& service;
  Micros now;
};

// account add, account password: the password from standard input, checked
// against the policy and hashed.
int AccountAddOrPassword(Ctx& x) {
  AccessCommands::State& s = x.s;
  std::string hash;
  if (s.acc_password->parsed() || s.password_stdin) {
    const std::string password = ReadPasswordLine();
    Status policy = access::CheckPasswordPolicy(password, s.login);
    if (!policy.ok()) return Fail(policy);
    auto h = access::HashPassword(password);
    if (!h) return Fail(h.error());
    hash = *h;
  }
  if (s.acc_password->parsed()) {
    auto acc = Lookup(x.app, s.login);
    if (!acc) return Fail(acc.error());
    Status st = x.service.SetPassword(acc->id, hash);
    if (!st.ok()) return Fail(st);
    std::printf("password set for %s\n", s.login.c_str());
    return kOk;
  }
  auto id = x.service.AddAccount({s.login, s.name, MemberId(s.member), s.staff}, hash);
  if (!id) return Fail(id.error());
  std::printf("account %s created (id %lld)%s\n", s.login.c_str(),
              static_cast<long long>(id->value()),
              hash.empty() ? "; set a password with `switchboard account password`" : "");
  return kOk;
}

int AccountList(Ctx& x) {
  const bool json = x.s.json;
  Status st = x.app.store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto accounts, access::ListAccounts(tx));
    for (const auto& a : accounts) {
      if (json) {
        std::printf("%s\n", nlohmann::json{{"id", a.id.value()},
                                           {"login", a.login},
                                           {"name", a.display_name},
                                           {"staff", a.staff},
                                           {"state", access::AccountStateName(a.state)}}
                                .dump()
                                .c_str());
      } else {
        std::printf("%-6lld %-28s %-10s %s%s\n", static_cast<long long>(a.id.value()),
                    a.login.c_str(), std::string(access::AccountStateName(a.state)).c_str(),
                    a.display_name.c_str(), a.staff ? " (staff)" : "");
      }
    }
    return Status::Ok();
  });
  return st.ok() ? kOk : Fail(st);
}

// account suspend, account reinstate.
int AccountSetState(Ctx& x) {
  AccessCommands::State& s = x.s;
  auto acc = Lookup(x.app, s.login);
  if (!acc) return Fail(acc.error());
  const auto state =
      s.acc_suspend->parsed() ? access::AccountState::kSuspended : access::AccountState::kActive;
  Status st = x.service.SetState(acc->id, state, s.reason);
  if (!st.ok()) return Fail(st);
  std::printf("%s is now %s\n", s.login.c_str(),
              std::string(access::AccountStateName(state)).c_str());
  return kOk;
}

int AccountTotp(Ctx& x) {
  AccessCommands::State& s = x.s;
  server::App& app = x.app;
  const std::string password = ReadPasswordLine();
  auto acc = Lookup(app, s.login);
  if (!acc) return Fail(acc.error());
  auto ok = acc->password_hash.empty() ? Result<bool>(false)
                                       : access::VerifyPassword(password, acc->password_hash);
  if (!ok || !*ok) return Fail(Status::PermissionDenied("login or password not accepted"));
  const std::string secret = access::GenerateTotpSecret();
  const crypto::Sealed sealed = app.sealer().Seal(secret, "totp");
  Status st = x.service.EnrolTotp(acc->id, {sealed.key_id, sealed.bytes, -1});
  if (!st.ok()) return Fail(st);
  const std::string uri = access::OtpauthUri(app.config().organisation.name, s.login, secret);
  auto qr = access::QrText(uri);
  access::AuthService auth(app.store(), app.policy(), app.sealer(), app.clock(),
                           app.auth_options());
  auto codes = auth.IssueRecoveryCodes(acc->id);
  if (!codes) return Fail(codes.error());
  std::printf(
      "Second factor enrolled for %s. Add it to an authenticator app now; it is shown "
      "only once.\n\n%s\nSecret: %s\n\nRecovery codes (each works once, instead of a code "
      "from the app; print them and keep them somewhere safe):\n",
      s.login.c_str(), qr ? qr->c_str() : "", access::Base32Encode(secret).c_str());
  for (const std::string& c : *codes) std::printf("  %s\n", c.c_str());
  return kOk;
}

int GrantBootstrap(Ctx& x) {
  AccessCommands::State& s = x.s;
  std::vector<std::string> logins{s.to};
  if (!s.also_to.empty()) logins.push_back(s.also_to);
  std::vector<AccountId> owners;
  for (const std::string& login : logins) {
    auto acc = Lookup(x.app, login);
    if (!acc) return Fail(acc.error());
    owners.push_back(acc->id);
  }
  ParsedTime until = ParseWhen(s.until, x.now);
  if (!until.ok) return Fail(Status::InvalidArgument("--until: use ISO 8601 or +30d"));
  auto ids = x.service.BootstrapOwners(owners, until.micros, s.reason);
  if (!ids) return Fail(ids.error());
  for (std::size_t i = 0; i < ids->size(); ++i) {
    std::printf("grant %lld: %s is owner of the whole organisation until %s\n",
                static_cast<long long>((*ids)[i].value()), logins[i].c_str(),
                FormatTimestamp(until.micros).c_str());
  }
  return kOk;
}

int GrantAdd(Ctx& x, AccountId actor, bool second) {
  AccessCommands::State& s = x.s;
  server::App& app = x.app;
  auto to = Lookup(app, s.to);
  if (!to) return Fail(to.error());
  auto unit = Unit(app, s.scope);
  if (!unit) return Fail(unit.error());
  ParsedTime from = ParseWhen(s.from, x.now), until = ParseWhen(s.until, x.now);
  if (!from.ok || !until.ok) {
    return Fail(Status::InvalidArgument("--from/--until: use ISO 8601 or +8h, +30d, +2w"));
  }
  access::GrantRequest r{to->id,       s.role,   *unit,    s.purpose, from.micros,
                         until.micros, s.reason, "direct", 0};
  auto id = x.service.AddGrant(actor, second, r);
  if (!id) return Fail(id.error());
  const access::Role* role = app.policy().FindRole(s.role);
  std::printf("grant %lld: %s is %s over %s until %s%s\n", static_cast<long long>(id->value()),
              s.to.c_str(), s.role.c_str(), app.tree().Find(*unit)->name.c_str(),
              FormatTimestamp(until.micros).c_str(),
              role && role->privileged ? " (privileged: pending a second approver)" : "");
  return kOk;
}

// grant add, approve, revoke: by an account that signs in first.
int GrantAsActor(Ctx& x) {
  AccessCommands::State& s = x.s;
  auto who = Authenticate(x.app, s.as, s.totp);
  if (!who) return Fail(who.error());
  const AccountId actor = who->first.id;
  const bool second = who->second;
  if (s.gr_approve->parsed()) {
    Status st = x.service.Approve(actor, second, access::GrantId(s.grant_id));
    if (!st.ok()) return Fail(st);
    std::printf("grant %lld approved\n", static_cast<long long>(s.grant_id));
    return kOk;
  }
  if (s.gr_revoke->parsed()) {
    Status st = x.service.Revoke(actor, second, access::GrantId(s.grant_id), s.reason);
    if (!st.ok()) return Fail(st);
    std::printf("grant %lld revoked\n", static_cast<long long>(s.grant_id));
    return kOk;
  }
  return GrantAdd(x, actor, second);
}

int GrantList(Ctx& x) {
  AccessCommands::State& s = x.s;
  server::App& app = x.app;
  const Micros now = x.now;
  access::GrantFilter f;
  if (!s.account_filter.empty()) {
    auto acc = Lookup(app, s.account_filter);
    if (!acc) return Fail(acc.error());
    f.account = acc->id;
  }
  f.include_ended = !s.active_only;
  Status st = app.store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto grants, access::ListGrants(tx, f, now));
    for (const auto& g : grants) {
      const members::Unit* u = app.tree().Find(g.scope);
      const char* state = !g.approved          ? "pending"
                          : g.revoked_at != 0  ? "revoked"
                          : now >= g.not_after ? "ended"
                          : now < g.not_before ? "future"
                                               : "in force";
      std::printf("%-5lld account %-5lld %-18s %-28s %s -> %s  %s  purpose: %s\n",
                  static_cast<long long>(g.id.value()), static_cast<long long>(g.account.value()),
                  g.role.c_str(), u ? u->name.c_str() : "?", FormatTimestamp(g.not_before).c_str(),
                  FormatTimestamp(g.not_after).c_str(), state, g.purpose.c_str());
    }
    return Status::Ok();
  });
  return st.ok() ? kOk : Fail(st);
}

int AccessExplain(Ctx& x) {
  AccessCommands::State& s = x.s;
  auto acc = Lookup(x.app, s.login);
  if (!acc) return Fail(acc.error());
  auto unit = Unit(x.app, s.unit);
  if (!unit) return Fail(unit.error());
  ParsedTime at = ParseWhen(s.at, x.now);
  if (!at.ok) return Fail(Status::InvalidArgument("--at: use ISO 8601 or a relative time"));
  auto d = x.service.Explain(acc->id, s.capability, *unit, at.micros);
  if (!d) return Fail(d.error());
  std::string fields;
  for (const auto& f : d->fields()) fields += (fields.empty() ? "" : ", ") + f;
  std::printf("%s: %s (rule %s)\n%s\n", d->allow ? "ALLOW" : "DENY", s.capability.c_str(),
              d->rule.c_str(), d->reason().c_str());
  if (d->allow) std::printf("fields: %s\n", fields.empty() ? "none" : fields.c_str());
  return d->allow ? kOk : kRuntime;
}

}  // namespace

std::optional<int> AccessCommands::Run(OpenedApps& opened_apps) {
  State& s = *s_;
  const bool any = s.acc_add->parsed() || s.acc_list->parsed() || s.acc_suspend->parsed() ||
                   s.acc_reinstate->parsed() || s.acc_totp->parsed() || s.acc_password->parsed() ||
                   s.gr_bootstrap->parsed() || s.gr_add->parsed() || s.gr_list->parsed() ||
                   s.gr_approve->parsed() || s.gr_revoke->parsed() || s.explain->parsed();
  if (!any) return std::nullopt;
  auto opened = opened_apps.Open(s.data_dir, s.store);
  if (!opened) return Fail(opened.error());
  server::App& app = **opened;
  access::AccessService service(app.store(), app.policy(), app.tree(), app.clock());
  Ctx x{s, app, service, app.clock().Now()};
  if (s.acc_add->parsed() || s.acc_password->parsed()) return AccountAddOrPassword(x);
  if (s.acc_list->parsed()) return AccountList(x);
  if (s.acc_suspend->parsed() || s.acc_reinstate->parsed()) return AccountSetState(x);
  if (s.acc_totp->parsed()) return AccountTotp(x);
  if (s.gr_bootstrap->parsed()) return GrantBootstrap(x);
  if (s.gr_add->parsed() || s.gr_approve->parsed() || s.gr_revoke->parsed()) {
    return GrantAsActor(x);
  }
  if (s.gr_list->parsed()) return GrantList(x);
  return AccessExplain(x);
}

}  // namespace switchboard::cli
