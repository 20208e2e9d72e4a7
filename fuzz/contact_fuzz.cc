// Fuzzes the contact-point validators with the same input. Besides not
// crashing: an accepted value normalises to itself, and failure reasons are
// fixed phrases (a reason built from the input would grow the set without
// bound).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "core/text.h"
#include "members/contact.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "contact_fuzz: %s\n", what);
    std::abort();
  }
}

void NoteReason(const switchboard::Status& status) {
  static std::set<std::string>* reasons = new std::set<std::string>();
  reasons->insert(status.message());
  Require(reasons->size() < 100, "failure reasons depend on the input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using switchboard::Result;
  using switchboard::members::Email;
  using switchboard::members::NormaliseEmail;
  using switchboard::members::NormaliseName;
  using switchboard::members::NormalisePhone;
  using switchboard::members::NormalisePostcode;
  using switchboard::members::Phone;
  using switchboard::members::PostcodeDistrict;
  namespace text = switchboard::text;
  std::string_view input(reinterpret_cast<const char*>(bytes), size);

  if (Result<Phone> phone = NormalisePhone(input); phone.has_value()) {
    Result<Phone> again = NormalisePhone(phone->e164);
    Require(again.has_value() && again->e164 == phone->e164, "phone is not stable");
    Require(again->reserved_drama_range == phone->reserved_drama_range, "drama flag changed");
  } else {
    NoteReason(phone.error());
  }
  (void)NormalisePhone(input, "US");

  if (Result<Email> email = NormaliseEmail(input); email.has_value()) {
    Require(text::IsValidUtf8(email->address), "email is not UTF-8");
    Result<Email> again = NormaliseEmail(email->address);
    Require(again.has_value() && again->address == email->address, "email is not stable");
  } else {
    NoteReason(email.error());
  }

  if (Result<std::string> name = NormaliseName(input); name.has_value()) {
    Result<std::string> again = NormaliseName(*name);
    Require(again.has_value() && *again == *name, "name is not stable");
  } else {
    NoteReason(name.error());
  }

  if (Result<std::string> postcode = NormalisePostcode(input); postcode.has_value()) {
    Result<std::string> again = NormalisePostcode(*postcode);
    Require(again.has_value() && *again == *postcode, "postcode is not stable");
    Require(!PostcodeDistrict(*postcode).empty(), "postcode has no district");
  } else {
    NoteReason(postcode.error());
  }

  (void)text::FoldForMatch(input);
  (void)text::CaseFold(input);
  return 0;
}
