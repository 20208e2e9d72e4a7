#include "mail/dkim_canon.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <unordered_map>

namespace switchboard::mail::dkim {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Result<SplitMessageResult> SplitMessage(std::string_view m) {
  SplitMessageResult out;
  size_t pos = 0;
  while (true) {
    const size_t eol = m.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      return Status::InvalidArgument("the message to sign has no header block");
    }
    if (eol == pos) {  // the empty line
      if (out.fields.empty()) {
        return Status::InvalidArgument("the message to sign has no header block");
      }
      out.body = m.substr(eol + 2);
      return out;
    }
    if (IsBlank(m[pos])) {
      if (out.fields.empty()) {
        return Status::InvalidArgument("the message to sign starts with a continuation line");
      }
      HeaderField& last = out.fields.back();
      last.raw = std::string_view(last.raw.data(), eol - (last.raw.data() - m.data()));
    } else {
      const std::string_view line = m.substr(pos, eol - pos);
      const size_t colon = line.find(':');
      size_t name_end = colon;
      while (name_end != std::string_view::npos && name_end > 0 && IsBlank(line[name_end - 1])) {
        --name_end;
      }
      if (colon == std::string_view::npos || name_end == 0) {
        return Status::InvalidArgument("the message to sign has a header line without a name");
      }
      HeaderField field;
      field.raw = line;
      field.name.reserve(name_end);
      for (size_t i = 0; i < name_end; ++i) {
        const auto u = static_cast<unsigned char>(line[i]);
        if (u < 33 || u > 126) {  // RFC 5322 §2.2: printable ASCII
          return Status::InvalidArgument(
              "the message to sign has a header field name that is not printable ASCII");
        }
        field.name += Lower(line[i]);
      }
      out.fields.push_back(std::move(field));
    }
    pos = eol + 2;
  }
}

void AppendRelaxedHeader(std::string_view raw, std::string* out) {
  const size_t colon = raw.find(':');
  size_t name_end = colon == std::string_view::npos ? raw.size() : colon;
  while (name_end > 0 && IsBlank(raw[name_end - 1])) --name_end;
  for (size_t i = 0; i < name_end; ++i) *out += Lower(raw[i]);
  *out += ':';
  if (colon != std::string_view::npos) {
    // Unfold (drop CRLFs), make every blank run one space, trim both ends.
    bool pending_space = false;
    bool any = false;
    for (size_t i = colon + 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
        ++i;
        continue;
      }
      if (IsBlank(c)) {
        pending_space = any;
        continue;
      }
      if (pending_space) *out += ' ';
      pending_space = false;
      *out += c;
      any = true;
    }
  }
  *out += "\r\n";
}

void AppendRelaxedBody(std::string_view body, std::string* out) {
  const size_t start = out->size();
  size_t keep = start;  // the end of the last non-empty line written
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    const size_t next = eol == std::string_view::npos ? body.size() : eol + 2;
    if (eol == std::string_view::npos) eol = body.size();
    bool pending_space = false;
    bool any = false;
    for (size_t i = pos; i < eol; ++i) {
      const char c = body[i];
      if (IsBlank(c)) {
        pending_space = true;
        continue;
      }
      if (pending_space) *out += ' ';
      pending_space = false;
      *out += c;
      any = true;
    }
    // A last line without CRLF keeps its blanks (as one space): they are
    // not at a line end. libopendkim and Python's dkim agree.
    if (pending_space && next == body.size() && eol == body.size()) {
      *out += ' ';
      any = true;
    }
    *out += "\r\n";
    if (any) keep = out->size();
    pos = next;
  }
  out->resize(keep);
}

std::string SignedHeaderData(const std::vector<HeaderField>& fields,
                             const std::vector<std::string>& h, std::string_view signature_field) {
  std::string out;
  out.reserve(1024);
  // Per name, its instances from the bottom up, and how many h= has used.
  struct Instances {
    std::vector<size_t> bottom_up;
    size_t used = 0;
  };
  std::unordered_map<std::string_view, Instances> by_name;
  for (const std::string& name : h) by_name.try_emplace(name);
  for (size_t i = fields.size(); i-- > 0;) {
    auto it = by_name.find(fields[i].name);
    if (it != by_name.end()) it->second.bottom_up.push_back(i);
  }
  for (const std::string& name : h) {
    Instances& in = by_name[name];
    if (in.used < in.bottom_up.size()) AppendRelaxedHeader(fields[in.bottom_up[in.used]].raw, &out);
    ++in.used;
  }
  AppendRelaxedHeader(signature_field, &out);
  out.resize(out.size() - 2);  // without the final CRLF
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string BodyHash(std::string_view body) {
  std::string canonical;
  canonical.reserve(body.size() + 2);
  AppendRelaxedBody(body, &canonical);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return Base64(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace switchboard::mail::dkim
