// What the load drivers of the real `switchboard serve` share (phonebank_load,
// P3; sip_load, P9): options, processes, the set-up of D/template through
// the API, the checks after a run and what /proc says.
#pragma once
// clang-format off
#include <utility>  // first: Asio 1.74 uses std::exchange without including it
// clang-format on
#include <sys/types.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "phonebank/phonebank.h"

namespace switchboard::bench {

// Names the tool in Die()'s messages and the usage line; call it first.
void SetToolName(const char* name);
[[noreturn]] void Die(const std::string& what);
void Check(const Status& st, const std::string& what);

// ---- options -------------------------------------------------------------------

// The options both tools take, with each tool's defaults.
struct LoadOptions {
  LoadOptions(std::uint64_t members_, int callers_, double rate_, double seconds_, double warmup_)
      : members(members_), callers(callers_), rate(rate_), seconds(seconds_), warmup(warmup_) {}
  std::string mode;  // prepare or run
  std::string dir;
  std::string bin = "build/release/switchboard";
  // prepare: a postgresql:// URL of an existing, empty database to hold the
  // template's data instead of SQLite; each run then gets a copy of it
  // (CREATE DATABASE ... TEMPLATE), named after it with "_run".
  std::string store;
  std::uint64_t members = 0;
  int callers = 0;
  double rate = 0;
  double seconds = 0;
  double warmup = 0;
};

// Handles a tool's own option: false when `key` is unknown. `value` reads
// its value (Dies when there is none).
using MoreOptions =
    std::function<bool(const std::string& key, const std::function<std::string()>& value)>;

// `prepare|run` and --key value or --key=value into `o`, other keys to
// `more`; Dies on a bad command line. Makes `o.bin` absolute.
void ParseLoadArgs(int argc, char** argv, LoadOptions& o, const MoreOptions& more);

// ---- processes -----------------------------------------------------------------

// Starts `args` (found in PATH) with stdin from /dev/null, stdout to
// `stdout_fd` or else the file `stdout_path`, stderr to `stderr_path`; an
// empty path (or -1) keeps this process's.
pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path,
            const std::string& stderr_path, int stdout_fd = -1);
// Waits for `pid`; its exit code, or 128 + the signal that ended it.
int Wait(pid_t pid);
int RunCommand(const std::vector<std::string>& args, const std::string& stdout_path = "");

// `switchboard serve --port 0`; its JSON log goes to a file.
class Server {
 public:
  Server(const std::string& bin, const std::string& data_dir, const std::string& log_path);
  ~Server();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then the exit code (0 when it stopped cleanly).
  int Stop();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
};

// ---- a small synchronous client for set-up ---------------------------------------

class SyncClient {
 public:
  explicit SyncClient(int port);
  std::pair<int, nlohmann::json> Call(boost::beast::http::verb method, const std::string& path,
                                      const nlohmann::json& body, const std::string& token = "");

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

// ---- configuration -------------------------------------------------------------

// Sets each key inside `[section]` of the data directory's switchboard.toml.
void SetConfigValue(const std::string& data_dir, const std::string& section,
                    const std::vector<std::pair<std::string, std::string>>& values);
// [server] threads and [store] readers.
void WriteServerConfig(const std::string& data_dir, int threads, int readers);

// ---- prepare -------------------------------------------------------------------

// How a tool's D/template differs from the other's.
struct TemplateSpec {
  std::string marker;        // D/<marker> shows that the tool made D
  int threads = 64;          // [server] threads
  int readers = 64;          // [store] readers
  std::string login_prefix;  // callers' accounts: the prefix and four digits
  std::string campaign_name;
  std::vector<phonebank::SurveyQuestion> survey;
  int enrol_connections = 1;  // callers enrolled at once
  bool progress = false;      // progress lines on stderr
  // The campaign's recall interval and passes, set past Validate's limits
  // like its pace; -1 keeps the defaults. The soak (bench/soak.py) uses 0
  // and a very large number so that no_answer members come straight back.
  int recall_minutes = -1;
  int max_passes = -1;
};

struct Prepared {
  std::int64_t campaign = 0;
  std::int64_t targets = 0;
  std::string invite_token;
  std::string password;
};

// Builds D/template (not measured): `init`, the demo's policy, o.members
// generated members, an organiser with an officer grant over the whole
// organisation, a live campaign over it whose pace is beyond what the API
// accepts, an invitation and o.callers accounts sharing one Argon2id hash.
// Then, through the API of a server on the template, each caller signs in,
// joins and verifies the sandbox phone 07700 900iii; D/tokens.txt holds the
// campaign and the bearer tokens.
Prepared PrepareTemplate(const LoadOptions& o, const TemplateSpec& spec);

// ---- run -----------------------------------------------------------------------

struct RunStart {
  std::int64_t campaign = 0;
  std::vector<std::string> tokens;  // o.callers of them
  std::string run_dir;              // D/run, a fresh copy of D/template
};

// Reads D/tokens.txt, raises the open-file limit and copies the template;
// when the template's store is PostgreSQL, copies its database too and
// points the copy's configuration at it.
RunStart StartRun(const LoadOptions& o);
// Removes D/run and drops its PostgreSQL database, if it has one.
void EndRun(const std::string& run_dir);
// The same without the copy, for a server someone else started.
RunStart ReadTokens(const LoadOptions& o);

// A request as the callers send it, with the caller's bearer token.
std::string PostRequest(const std::string& path, const std::string& token, const std::string& body);
// The first "id" in a JSON body, -1 when there is none.
std::int64_t FindId(const std::string& body);

// The q-quantile of sorted samples, as the reports count it.
template <typename T>
const T& Quantile(const std::vector<T>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

// What the database holds after a run, and `audit verify`'s exit code.
struct Recorded {
  std::int64_t outcomes = 0;                   // the campaign's calls with an outcome
  std::map<std::string, std::int64_t> events;  // its allowed audit events by action
  std::int64_t active = 0;                     // with count_active: calls still active
  int audit_verify_exit = 0;                   // its report: D/audit-verify.json
};

Recorded ReadRecorded(const LoadOptions& o, const std::string& data_dir, std::int64_t campaign,
                      bool count_active);

// ---- the machine ---------------------------------------------------------------

double LoadAverage();
// CPU seconds (user + system) a process has used so far.
double ProcessCpuSeconds(pid_t pid);
// CPU seconds the whole machine has been busy (all but idle and iowait).
double MachineBusySeconds();
// A process's peak resident memory (VmHWM), in MiB.
double PeakRssMiB(pid_t pid);

}  // namespace switchboard::bench
