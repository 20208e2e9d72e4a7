#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "core/config.h"
#include "server/routes.h"

namespace switchboard::server {
namespace {

TEST(WebAssetsTest, EveryFileIsEmbeddedWithAContentType) {
  ASSERT_FALSE(EmbeddedWebFiles().empty());
  for (const EmbeddedFile& f : EmbeddedWebFiles()) {
    EXPECT_FALSE(f.bytes.empty()) << f.path;
    EXPECT_FALSE(WebContentType(f.path).empty()) << f.path;
  }
  ASSERT_NE(FindWebFile(kWebIndex), nullptr);
  EXPECT_EQ(FindWebFile("no-such.js"), nullptr);
  EXPECT_EQ(WebContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(WebContentType("x.exe"), "");
}

// The server's Content-Security-Policy allows no inline script or style, so
// the pages must not need any: a page that did would break in the browser.
TEST(WebAssetsTest, PagesNeedNoInlineScriptOrStyle) {
  const std::regex inline_script("<script(?![^>]*\\bsrc=)[^>]*>", std::regex::icase);
  const std::regex handler("<[^>]*\\son[a-z]+\\s*=", std::regex::icase);
  const std::regex style("<style|\\sstyle\\s*=", std::regex::icase);
  for (const EmbeddedFile& f : EmbeddedWebFiles()) {
    if (!f.path.ends_with(".html")) continue;
    const std::string text(f.bytes);
    EXPECT_FALSE(std::regex_search(text, inline_script)) << f.path;
    EXPECT_FALSE(std::regex_search(text, handler)) << f.path;
    EXPECT_FALSE(std::regex_search(text, style)) << f.path;
  }
  // Scripts build the page from text nodes, never from markup strings.
  for (const EmbeddedFile& f : EmbeddedWebFiles()) {
    if (!f.path.ends_with(".js")) continue;
    const std::string text(f.bytes);
    EXPECT_EQ(text.find("innerHTML"), std::string::npos) << f.path;
    EXPECT_EQ(text.find("insertAdjacentHTML"), std::string::npos) << f.path;
    EXPECT_EQ(text.find("document.write"), std::string::npos) << f.path;
    EXPECT_EQ(text.find("eval("), std::string::npos) << f.path;
  }
}

TEST(WebAssetsTest, RoutesServeThePageAndFiles) {
  ServerConfig config;
  HttpServer http(config);
  AddWebRoutes(http);
  for (const char* path : {"/", "/join/abcDEF123"}) {
    HttpRequest req = MakeRequest("GET", path);
    HttpResponse r = http.Dispatch(req);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.body, FindWebFile(kWebIndex)->bytes) << path;
  }
  HttpRequest js = MakeRequest("GET", "/app/app.js");
  HttpResponse r = http.Dispatch(js);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  for (const char* path : {"/app/nope.js", "/app/index.html", "/app/..", "/app/a/b"}) {
    HttpRequest req = MakeRequest("GET", path);
    EXPECT_EQ(http.Dispatch(req).status, 404) << path;
  }
  HttpRequest post = MakeRequest("POST", "/app/app.js");
  EXPECT_EQ(http.Dispatch(post).status, 405);
}

}  // namespace
}  // namespace switchboard::server
