// The web app (web/ in the source tree), compiled into the binary so that
// `switchboard serve` needs no files at run time. The build embeds every file
// listed in src/server/CMakeLists.txt (SB_WEB_FILES); AddWebRoutes
// (routes.h) serves them under /app/, and the app's page at / and at
// /join/{token} (an invitation link opens the app, which asks the API about
// the token).
//
// Everything here is immutable after start-up and safe from any thread. The
// pages hold no data: they fetch it from /api/v1 with the caller's session,
// and the server's Content-Security-Policy forbids inline script and style.
#pragma once

#include <span>
#include <string_view>

#include "server/http_server.h"

namespace switchboard::server {

// One embedded file: its path relative to web/ and its bytes.
struct EmbeddedFile {
  std::string_view path;
  std::string_view bytes;
};

// Every embedded file, in SB_WEB_FILES order (generated at build time).
std::span<const EmbeddedFile> EmbeddedWebFiles();

// The file at `path` (relative to web/, e.g. "app.js"), or nullptr.
const EmbeddedFile* FindWebFile(std::string_view path);

// Documents shipped in the binary (docs/openapi.yaml), by file name.
std::span<const EmbeddedFile> EmbeddedDocFiles();
const EmbeddedFile* FindDocFile(std::string_view name);

// The Content-Type for a file name by its extension; "" for an extension the
// server does not serve (the build test checks every embedded file has one).
std::string_view WebContentType(std::string_view path);

// The app's page (index.html).
inline constexpr std::string_view kWebIndex = "index.html";

// A 200 response with the file's bytes and its Content-Type.
HttpResponse WebFileResponse(const EmbeddedFile& file);

}  // namespace switchboard::server
