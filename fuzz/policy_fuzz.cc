// Fuzzes the TOML files the server reads: the access policy (ParsePolicy),
// the configuration (ParseConfig) and, under both, core/toml_reader.h with
// toml++. The first byte picks what the rest is:
//   0  a whole policy file          1  the default policy, then the rest
//   2  a whole switchboard.toml     3  the default configuration, then the rest
//   4  any TOML, walked with TomlReader's typed reads on every key
// (1 and 3 reach the validation behind a valid file sooner; a key repeated
// after the defaults is a duplicate). Besides not crashing:
//   - every refusal is kInvalidArgument naming the file;
//   - an accepted policy keeps its own rules: known capabilities and field
//     classes only, contact access privileged, calling hours in order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy/policy.h"
#include "core/config.h"
#include "core/toml_reader.h"

namespace sb = switchboard;

namespace {

void Require(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "policy_fuzz: %s\n%s\n", what, detail.substr(0, 2000).c_str());
    std::abort();
  }
}

void RequireNamed(const sb::Status& st, std::string_view source) {
  Require(st.code() == sb::StatusCode::kInvalidArgument, "a refusal that is not InvalidArgument",
          st.ToString());
  Require(st.message().rfind(std::string(source) + ":", 0) == 0,
          "a refusal that does not name the file", st.message());
}

void CheckPolicy(const sb::access::Policy& p) {
  Require(!p.roles.empty(), "a policy without roles");
  for (const auto& [name, role] : p.roles) {
    Require(name == role.name, "a role filed under another name", name);
    for (const auto& c : role.capabilities) {
      Require(sb::access::KnownCapabilities().count(c) == 1, "an unknown capability", c);
    }
    for (const auto& f : role.fields) {
      Require(sb::access::KnownFieldClasses().count(f) == 1, "an unknown field class", f);
    }
    if (role.fields.count("contact") || role.capabilities.count("member.contact.view") ||
        role.capabilities.count("member.export")) {
      Require(role.privileged, "contact access that is not privileged", name);
    }
    if (role.fields.count("contact")) {
      Require(role.capabilities.count("member.contact.view") == 1,
              "the contact field class without member.contact.view", name);
    }
    for (const auto& [cap, q] : role.quotas) {
      Require(role.capabilities.count(cap) == 1, "a quota for a capability the role lacks", cap);
      Require(q.per_day >= 0 && q.per_hour >= 0, "a negative quota", cap);
    }
    Require(role.max_grant_days >= 1 && role.max_grant_days <= 3660, "max_grant_days out of range");
  }
  Require(p.calling_start_minute < p.calling_end_minute, "calling hours out of order");
  Require(p.source_hash.size() == 64, "a policy without its hash");
}

// Every key of every table through the typed reads, without recursion (the
// input decides the depth).
void Walk(const sb::TomlReader& rd, const toml::table& root) {
  std::vector<const toml::node*> todo{&root};
  while (!todo.empty()) {
    const toml::node* n = todo.back();
    todo.pop_back();
    (void)rd.Bad(*n, "x");
    if (const toml::table* t = n->as_table()) {
      (void)rd.OnlyKeys(*t, {"a", "b"}, "t");
      for (const auto& [k, v] : *t) {
        bool b = false;
        std::string s;
        std::int64_t i = 0;
        (void)rd.Bool(*t, k.str(), &b);
        (void)rd.String(*t, k.str(), &s);
        (void)rd.Int<std::int64_t>(*t, k.str(), -5, 5, &i);
        todo.push_back(&v);
      }
    } else if (const toml::array* a = n->as_array()) {
      for (const toml::node& v : *a) todo.push_back(&v);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
    case 1: {
      const std::string text =
          (data[0] % 5 == 1 ? sb::access::DefaultPolicyToml() : std::string()) + std::string(rest);
      auto p = sb::access::ParsePolicy(text, "policy.toml");
      if (p) {
        CheckPolicy(*p);
      } else {
        RequireNamed(p.error(), "policy.toml");
      }
      break;
    }
    case 2:
    case 3: {
      const std::string text =
          (data[0] % 5 == 3 ? sb::DefaultConfigToml() : std::string()) + std::string(rest);
      auto c = sb::ParseConfig(text, "switchboard.toml");
      if (c) {
        Require(c->server.max_body_bytes > 0, "a configuration without a body limit");
      } else {
        RequireNamed(c.error(), "switchboard.toml");
      }
      break;
    }
    default: {
      const sb::TomlReader rd("any.toml");
      auto t = rd.Parse(rest);
      if (t) {
        Walk(rd, *t);
      } else {
        RequireNamed(t.error(), "any.toml");
      }
    }
  }
  return 0;
}
