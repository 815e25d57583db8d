#include "case_runner.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ridge::fuzz {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kLoaded:
      return "loaded";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kCrashed:
      return "CRASHED";
    case Outcome::kTimedOut:
      return "TIMED OUT";
    case Outcome::kOutOfMemory:
      return "OUT OF MEMORY";
    case Outcome::kBadMessage:
      return "UNHELPFUL ERROR";
  }
  return "?";
}

namespace {
bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}
}  // namespace

Outcome RunCase(const std::function<int()>& body, const CaseLimits& limits, std::string* detail) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // ASan reserves terabytes of address space, so RLIMIT_AS would kill it at start: under a
    // sanitizer the memory cap is its own allocator limit (set through ASAN_OPTIONS by ctest).
    if (!UnderSanitizer()) {
      rlimit mem{static_cast<rlim_t>(limits.memory_bytes),
                 static_cast<rlim_t>(limits.memory_bytes)};
      setrlimit(RLIMIT_AS, &mem);
    }
    alarm(static_cast<unsigned>(limits.wall_seconds));
    int code = body();
    std::fflush(nullptr);
    _exit(code);
  }
  if (pid < 0) {
    *detail = "fork failed";
    return Outcome::kCrashed;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case 0:
        return Outcome::kLoaded;
      case 1:
        return Outcome::kRefused;
      case 3:
        return Outcome::kBadMessage;
      case 4:
        return Outcome::kOutOfMemory;  // bad_alloc reached the case body
      default:
        *detail = "exit code " + std::to_string(WEXITSTATUS(status));
        return Outcome::kCrashed;
    }
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) return Outcome::kTimedOut;
    *detail = std::string("signal ") + strsignal(sig);
    return Outcome::kCrashed;
  }
  return Outcome::kCrashed;
}

}  // namespace ridge::fuzz
