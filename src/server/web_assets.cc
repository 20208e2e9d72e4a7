#include "server/web_assets.h"

#include <string>

namespace switchboard::server {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

HttpResponse WebFileResponse(const EmbeddedFile& file) {
  HttpResponse r;
  r.content_type = std::string(WebContentType(file.path));
  r.body = std::string(file.bytes);
  return r;
}

const EmbeddedFile* FindDocFile(std::string_view name) {
  for (const EmbeddedFile& f : EmbeddedDocFiles()) {
    if (f.path == name) return &f;
  }
  return nullptr;
}

const EmbeddedFile* FindWebFile(std::string_view path) {
  for (const EmbeddedFile& f : EmbeddedWebFiles()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::string_view WebContentType(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
      {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(path, ext)) return type;
  }
  return "";
}

}  // namespace switchboard::server
