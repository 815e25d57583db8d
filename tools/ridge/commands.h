// The CLI's subcommands. Each lives in cmd_<name>.cc and defines Register<Name>(), listed in
// commands.def; main.cc registers them all, parses, and runs the one chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/status.h"

namespace ridge::cli {

// Runs the parsed subcommand; returns the process exit code.
using CommandRunner = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;  // the subcommand added to the parent app
  CommandRunner run;
};

#define RIDGE_COMMAND(name) Command Register##name(CLI::App& parent);
#include "commands.def"

// Documented exit codes (docs/cli.md): 0 success, 1 internal error, 2 usage error,
// 3 invalid model/file, 4 unsupported, 5 not found / I/O, 6 limit exceeded, 7 corrupt data,
// 8 a check the command performs failed (e.g. results differ).
int ExitCodeFor(const Status& status);
// Prints "ridge <command>: error: <status>" to stderr and returns ExitCodeFor(status).
int ReportError(const std::string& command, const Status& status);

// Folder holding data/devices etc.: $RIDGE_DATA_DIR, else the build-time source path.
std::string DataDir();

}  // namespace ridge::cli
