// Sipp: runs SIPp (Debian's sip-tester) on loopback as the carrier's trunk
// for a test, with a scenario from tests/telephony/, the way the store's
// tests start their own PostgreSQL. The process is killed when the object
// goes away.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace switchboard::telephony::testing {

// tests/telephony under the source tree.
std::string ScenarioDir();

class Sipp {
 public:
  struct Options {
    std::string scenario;            // file name inside tests/telephony, or an absolute path
    std::string transport = "u1";    // SIPp's -t: u1 (UDP) or t1 (TCP)
    int calls = 1;                   // -m: exit after this many incoming calls
    std::vector<std::string> extra;  // further arguments (e.g. -set name value)
    bool trace = false;              // -trace_msg into message_log()
  };
  static Result<Sipp> Start(Options options);
  Sipp(Sipp&& other) noexcept;
  Sipp& operator=(Sipp&&) = delete;
  ~Sipp();

  int port() const { return port_; }
  // "sip:127.0.0.1:<port>"
  std::string uri() const;
  // Waits for SIPp to finish its calls; its exit status (0: every call
  // followed the scenario), or -1 when it had to be killed after
  // `timeout_seconds`.
  int Wait(int timeout_seconds);
  // What SIPp printed, and the -trace_msg log.
  std::string output() const;
  std::string message_log() const;

 private:
  Sipp() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// A UDP or TCP port on 127.0.0.1 free at the time of asking.
Result<int> FreePort(bool tcp);
// True while something holds that port on 127.0.0.1 (SIPp has bound it).
bool PortTaken(int port, bool tcp);

// tests/telephony/verify.xml with its KEYS marker replaced by `keys` (digits,
// '*' and '#'): each played from sip-tester's RFC 2833 capture of that key
// (`info` false) or sent as a SIP INFO application/dtmf-relay request (`info`
// true), a quarter of a second apart. Written to a file of its own under
// `dir`; returns the file's path.
Result<std::string> VerifyScenario(std::string_view keys, bool info, const std::string& dir);

}  // namespace switchboard::telephony::testing
