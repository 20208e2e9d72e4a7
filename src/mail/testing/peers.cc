#include "mail/testing/peers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace switchboard::mail::testing {
namespace {

namespace fs = std::filesystem;

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Status::Unavailable("cannot write " + path);
  return Status::Ok();
}

std::vector<char*> ArgvOf(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string SourceDir() {
  if (const char* dir = std::getenv("SB_SOURCE_DIR"); dir && *dir) return dir;
#ifdef SB_SOURCE_DIR_DEFAULT
  return SB_SOURCE_DIR_DEFAULT;
#else
  return ".";
#endif
}

Result<std::string> RunProgram(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("no program");
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::Internal(Errno("pipe"));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Status::Internal(Errno("pipe"));
  }
  std::vector<char*> args = ArgvOf(argv);
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal(Errno("fork"));
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  std::string out;
  std::string err;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  const int code = WaitFor(pid);
  if (code != 0) {
    if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
    return Status::Internal(argv[0] + " exited with " + std::to_string(code) + ": " + err +
                            (out.empty() ? "" : " (stdout: " + out.substr(0, 2000) + ")"));
  }
  return out;
}

Result<std::unique_ptr<TempDir>> TempDir::Create(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (tmp && *tmp) ? tmp : "/tmp";
  pattern += "/" + std::string(prefix) + "-XXXXXX";
  if (!mkdtemp(pattern.data())) return Status::Unavailable(Errno("mkdtemp " + pattern));
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

Result<RsaKeyPair> GenerateRsaKeyPair() {
  SB_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create("sb-dkim-key"));
  const std::string key = dir->Join("key.pem");
  const std::string pub = dir->Join("pub.der");
  SB_RETURN_IF_ERROR(RunProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                 "rsa_keygen_bits:2048", "-out", key}));
  SB_RETURN_IF_ERROR(RunProgram(
      {"/usr/bin/openssl", "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", pub}));
  SB_ASSIGN_OR_RETURN(std::string b64,
                      RunProgram({"/usr/bin/openssl", "base64", "-A", "-in", pub}));
  while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
  SB_ASSIGN_OR_RETURN(std::string pem, ReadFile(key));
  return RsaKeyPair{std::move(pem), std::move(b64)};
}

Result<std::unique_ptr<SmtpSink>> SmtpSink::Start(SinkOptions options) {
  std::unique_ptr<SmtpSink> sink(new SmtpSink());
  SB_ASSIGN_OR_RETURN(sink->dir_, TempDir::Create("sb-smtp-sink"));
  sink->messages_dir_ = sink->dir_->Join("messages");
  if (mkdir(sink->messages_dir_.c_str(), 0700) != 0) return Status::Internal(Errno("mkdir"));
  sink->tls_ = options.tls;

  std::vector<std::string> argv = {kSystemPython, SourceDir() + "/tests/mail/smtp_sink.py",
                                   sink->messages_dir_};
  if (options.tls != SinkOptions::Tls::kNone) {
    const std::string cert = sink->dir_->Join("cert.pem");
    const std::string key = sink->dir_->Join("key.pem");
    SB_RETURN_IF_ERROR(RunProgram({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                                   cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                                   "subjectAltName=IP:127.0.0.1,DNS:localhost"}));
    sink->ca_file_ = cert;
    argv.insert(argv.end(),
                {"--tls", options.tls == SinkOptions::Tls::kStartTls ? "starttls" : "implicit",
                 "--cert", cert, "--key", key});
  }
  if (!options.username.empty()) {
    argv.insert(argv.end(), {"--auth", options.username + ":" + options.password});
  }
  for (const auto& [address, code] : options.reject_rcpt) {
    argv.insert(argv.end(), {"--reject-rcpt", address + "=" + std::to_string(code)});
  }
  if (options.idle_timeout_s != 300) {
    argv.insert(argv.end(), {"--idle-timeout", std::to_string(options.idle_timeout_s)});
  }
  for (const auto& [address, code] : options.reject_data) {
    argv.insert(argv.end(), {"--reject-data", address + "=" + std::to_string(code)});
  }

  const std::string log = sink->dir_->Join("sink.log");
  int port_pipe[2];
  if (pipe2(port_pipe, O_CLOEXEC) != 0) return Status::Internal(Errno("pipe"));
  std::vector<char*> args = ArgvOf(argv);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal(Errno("fork"));
  if (pid == 0) {
    // Dies with the test, even when the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    const int null_fd = open("/dev/null", O_RDONLY);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(null_fd, 0);
    dup2(port_pipe[1], 1);
    dup2(log_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  sink->pid_ = pid;
  close(port_pipe[1]);
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd = {port_pipe[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) == 0) break;
    char buf[64];
    const ssize_t n = read(port_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(port_pipe[0]);
  sink->port_ = std::atoi(line.c_str());
  if (sink->port_ <= 0) {
    Result<std::string> text = ReadFile(log);
    return Status::Unavailable("the SMTP sink did not start: " + text.value_or(std::string()));
  }
  return sink;
}

SmtpSink::~SmtpSink() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      WaitFor(pid_);
    }
  }
}

std::string SmtpSink::url() const {
  return std::string(tls_ == SinkOptions::Tls::kImplicit ? "smtps" : "smtp") +
         "://127.0.0.1:" + std::to_string(port_);
}

std::vector<ReceivedMessage> SmtpSink::Messages() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(messages_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("msg-") && name.ends_with(".json")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<ReceivedMessage> out;
  for (const std::string& name : names) {
    const std::string stem = messages_dir_ + "/" + name.substr(0, name.size() - 5);
    Result<std::string> meta = ReadFile(stem + ".json");
    Result<std::string> data = ReadFile(stem + ".eml");
    if (!meta.has_value() || !data.has_value()) continue;
    const nlohmann::json j = nlohmann::json::parse(*meta, nullptr, false);
    if (j.is_discarded()) continue;
    ReceivedMessage m;
    m.connection = j.value("connection", 0);
    m.mail_from = j.value("mail_from", "");
    for (const auto& r : j.value("rcpt_tos", nlohmann::json::array())) {
      m.rcpt_tos.push_back(r.get<std::string>());
    }
    if (j.contains("auth_user") && j["auth_user"].is_string()) {
      m.auth_user = j["auth_user"].get<std::string>();
    }
    m.tls = j.value("tls", false);
    m.data = std::move(*data);
    m.path = stem + ".eml";
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<ReceivedMessage>> SmtpSink::WaitForMessages(size_t n, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::vector<ReceivedMessage> messages = Messages();
    if (messages.size() >= n) return messages;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("the SMTP sink has " + std::to_string(messages.size()) +
                                 " messages, not " + std::to_string(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

int LinesIn(const std::string& path) {
  Result<std::string> log = ReadFile(path);
  if (!log.has_value()) return 0;
  return static_cast<int>(std::count(log->begin(), log->end(), '\n'));
}

}  // namespace

int SmtpSink::Connections() const { return LinesIn(messages_dir_ + "/connections.log"); }

Result<int> SmtpSink::WaitForClosedConnections(int n, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    const int closed = LinesIn(messages_dir_ + "/closed.log");
    if (closed >= n) return closed;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("the SMTP sink closed " + std::to_string(closed) +
                                 " connections, not " + std::to_string(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::string> VerifyDkim(std::string_view message, std::string_view dns_name,
                               std::string_view txt_record) {
  SB_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create("sb-dkim-verify"));
  const std::string file = dir->Join("message.eml");
  SB_RETURN_IF_ERROR(WriteFile(file, message));
  Result<std::string> out = RunProgram({kSystemPython, SourceDir() + "/tests/mail/dkim_verify.py",
                                        file, std::string(dns_name), std::string(txt_record)});
  if (!out.has_value()) return Status::FailedPrecondition(out.error().message());
  return out;
}

Result<int> VerifyDkimAll(std::string_view message,
                          const std::vector<std::pair<std::string, std::string>>& records) {
  SB_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create("sb-dkim-verify"));
  const std::string file = dir->Join("message.eml");
  SB_RETURN_IF_ERROR(WriteFile(file, message));
  std::vector<std::string> argv = {kSystemPython, SourceDir() + "/tests/mail/dkim_verify.py", file};
  for (const auto& [name, txt] : records) {
    argv.push_back(name);
    argv.push_back(txt);
  }
  Result<std::string> out = RunProgram(argv);
  if (!out.has_value()) return Status::FailedPrecondition(out.error().message());
  const size_t at = out->rfind("signatures=");
  if (at == std::string::npos) return Status::Internal("dkim_verify.py printed no count");
  return std::stoi(out->substr(at + 11));
}

Result<std::string> InspectMessage(std::string_view message) {
  SB_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create("sb-inspect"));
  const std::string file = dir->Join("message.eml");
  SB_RETURN_IF_ERROR(WriteFile(file, message));
  return RunProgram({kSystemPython, SourceDir() + "/tests/mail/inspect_message.py", file});
}

}  // namespace switchboard::mail::testing
