// Fuzzes the leak trace's reader (privacy::Trace): any bytes — a CSV, pasted
// rows, binary junk — must be read to the end without a crash, and a file
// can only be traced to an export whose canary it really holds. Three
// canaries of two exports are known; the input is the "leaked file".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "privacy/leak.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  namespace privacy = switchboard::privacy;
  static const privacy::CanaryIndex* index = [] {
    auto* i = new privacy::CanaryIndex();
    i->Add({1, privacy::ExportId(1), "oliver", "smith"}, "oliver.smith.k3x9q2@example.net",
           "+447700900123");
    i->Add({2, privacy::ExportId(1), "amelia", "jones"}, "amelia.jones.b7d2aa@example.org",
           "+441134960001");
    i->Add({3, privacy::ExportId(2), "zoë", "ó súilleabháin"},
           "zo.osuilleabhain.q0q0q0@example.com", "+447700900123");
    return i;
  }();
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const privacy::TraceReport r = privacy::Trace(*index, data);
  Require(r.bad_records <= r.records);
  for (const auto& e : r.exports) {
    Require(e.id.value() == 1 || e.id.value() == 2);
    Require(e.sufficient == (!e.by_email.empty() || e.by_phone_name.size() >= 2));
    // Export 2 has one canary: only its e-mail address can name it.
    if (e.id.value() == 2 && e.sufficient) Require(e.by_email.size() == 1);
  }
  return 0;
}
