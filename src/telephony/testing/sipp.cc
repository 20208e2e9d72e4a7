#include "telephony/testing/sipp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace switchboard::telephony::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string ScenarioDir() {
  if (const char* dir = std::getenv("SB_SOURCE_DIR"); dir && *dir) {
    return std::string(dir) + "/tests/telephony";
  }
#ifdef SB_SOURCE_DIR_DEFAULT
  return std::string(SB_SOURCE_DIR_DEFAULT) + "/tests/telephony";
#else
  return "tests/telephony";
#endif
}

Result<int> FreePort(bool tcp) {
  const int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (fd < 0) return Status::Unavailable(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return Status::Unavailable(std::string("bind: ") + std::strerror(errno));
  }
  close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

bool PortTaken(int port, bool tcp) {
  const int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool taken = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0;
  close(fd);
  return taken;
}

Result<Sipp> Sipp::Start(Options o) {
  const bool tcp = o.transport[0] == 't';
  Sipp s;
  char dir[] = "/tmp/sb-sipp-XXXXXX";
  if (!mkdtemp(dir)) return Status::Unavailable(std::string("mkdtemp: ") + std::strerror(errno));
  s.dir_ = dir;
  for (int attempt = 0; attempt < 5; ++attempt) {
    SB_ASSIGN_OR_RETURN(s.port_, FreePort(tcp));
    std::vector<std::string> argv = {
        "sipp",
        "-sf",
        o.scenario.rfind('/', 0) == 0 ? o.scenario : ScenarioDir() + "/" + o.scenario,
        "-i",
        "127.0.0.1",
        "-p",
        std::to_string(s.port_),
        "-t",
        o.transport,
        "-m",
        std::to_string(o.calls),
        "-nostdin",
        "-timeout",
        "120s",
        "-timeout_error",
        "-max_recv_loops",
        "10000",
        "-buff_size",
        "8388608",
        "-trace_err",
        "-error_file",
        s.dir_ + "/errors.log",
        "-trace_screen",
        "-screen_file",
        s.dir_ + "/screen.log"};
    if (o.trace) {
      argv.insert(argv.end(), {"-trace_msg", "-message_file", s.dir_ + "/messages.log"});
    }
    argv.insert(argv.end(), o.extra.begin(), o.extra.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const std::string out_path = s.dir_ + "/output.log";
    const pid_t pid = fork();
    if (pid < 0) return Status::Unavailable(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int null = open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (null >= 0) dup2(null, 0);
      execvp("sipp", cargv.data());
      _exit(127);
    }
    s.pid_ = pid;
    // Ready once its port is bound; gone if it exited (say, the port was taken).
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        s.pid_ = -1;
        break;
      }
      if (PortTaken(s.port_, tcp)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (s.pid_ > 0) {
      kill(s.pid_, SIGKILL);
      waitpid(s.pid_, nullptr, 0);
      s.pid_ = -1;
    }
  }
  return Status::Unavailable("SIPp did not start: " + s.output());
}

Sipp::Sipp(Sipp&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), port_(other.port_), dir_(std::move(other.dir_)) {
  other.dir_.clear();
}

Sipp::~Sipp() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Result<std::string> VerifyScenario(std::string_view keys, bool info, const std::string& dir) {
  std::string text = Slurp(ScenarioDir() + "/verify.xml");
  const std::string marker = "<!-- KEYS -->";
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) return Status::NotFound("verify.xml has no KEYS marker");
  std::string steps;
  int cseq = 1;
  for (char k : keys) {
    const std::string name = k == '*' ? "star" : k == '#' ? "pound" : std::string(1, k);
    if (!info) {
      // A pause between keys, none after the last: the call may end then.
      if (!steps.empty()) steps += "<pause milliseconds=\"250\"/>\n";
      steps += "<nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_" + name +
               ".pcap\"/></action></nop>\n";
      continue;
    }
    const std::string body = "Signal=" + std::string(1, k) + "\n      Duration=160";
    steps +=
        "<send retrans=\"500\"><![CDATA[\n\n"
        "      INFO [$contact] SIP/2.0\n"
        "      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "      From: [$to_hdr];tag=[pid]SIPpTag01[call_number]\n"
        "      To: [$from_hdr]\n"
        "      [last_Call-ID:]\n"
        "      CSeq: " +
        std::to_string(++cseq) +
        " INFO\n"
        "      Max-Forwards: 70\n"
        "      Content-Type: application/dtmf-relay\n"
        "      Content-Length: [len]\n\n"
        "      " +
        body +
        "\n"
        "]]></send>\n<recv response=\"200\"/>\n";
  }
  text.replace(at, marker.size(), steps);
  const std::string path = dir + "/verify-" + std::to_string(getpid()) + "-" +
                           std::to_string(std::hash<std::string>{}(steps)) + ".xml";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::Unavailable("cannot write " + path);
  return path;
}

std::string Sipp::uri() const { return "sip:127.0.0.1:" + std::to_string(port_); }

int Sipp::Wait(int timeout_seconds) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Sipp::output() const {
  return Slurp(dir_ + "/output.log") + Slurp(dir_ + "/errors.log") + Slurp(dir_ + "/screen.log");
}

std::string Sipp::message_log() const { return Slurp(dir_ + "/messages.log"); }

}  // namespace switchboard::telephony::testing
