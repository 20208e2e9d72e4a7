// Boost's assertions in the fuzz build, where fuzz/CMakeLists.txt defines
// BOOST_ENABLE_ASSERT_HANDLER: a failed one ends the run as assert() would
// (production builds define NDEBUG and skip them), except one that Beast
// 1.74 states wrongly. basic_parser::parse_chunk_header asserts n >= 5 when
// it re-enters after the final chunk's "0\r\n" with fewer bytes; 3 are
// valid there and the code that follows asks for more (boostorg/beast#2861,
// fixed after the Debian version). A client that sends a chunked body in
// small pieces meets it, so http_fuzz does within seconds.
#include <boost/assert.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool EndsWith(const char* s, const char* suffix) {
  const size_t n = std::strlen(s), k = std::strlen(suffix);
  return n >= k && std::strcmp(s + n - k, suffix) == 0;
}

}  // namespace

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (EndsWith(file, "boost/beast/http/impl/basic_parser.ipp") &&
      std::strcmp(expr, "n >= 5") == 0) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
