// Runs one hostile-input case in a forked child under a wall-time and memory cap, and classifies
// what happened: loaded, refused cleanly (a Status error), or a failure (crash, timeout, out of
// memory). The child reports through its exit code, so a crash cannot be mistaken for a refusal.
#pragma once

#include <functional>
#include <string>

namespace ridge::fuzz {

enum class Outcome { kLoaded, kRefused, kCrashed, kTimedOut, kOutOfMemory, kBadMessage };
const char* OutcomeName(Outcome o);

struct CaseLimits {
  int wall_seconds = 2;
  long memory_bytes = 512L << 20;
};

// `body` runs in the child and returns: 0 loaded, 1 refused with a message that names a place,
// 3 refused with an unhelpful (empty) message. Anything else (signal, timeout) is a failure.
Outcome RunCase(const std::function<int()>& body, const CaseLimits& limits, std::string* detail);

}  // namespace ridge::fuzz
