// `ridge`: the command-line entry point. Registers every subcommand from commands.def, parses,
// runs the chosen one, and maps its Status to a documented exit code.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "commands.h"

namespace ridge::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInternal:
      return 1;
    case StatusCode::kInvalidArgument:
      return 2;
    case StatusCode::kInvalidModel:
      return 3;
    case StatusCode::kUnsupported:
      return 4;
    case StatusCode::kNotFound:
    case StatusCode::kIoError:
      return 5;
    case StatusCode::kLimitExceeded:
      return 6;
    case StatusCode::kDataLoss:
      return 7;
  }
  return 1;
}

int ReportError(const std::string& command, const Status& status) {
  std::fprintf(stderr, "ridge %s: error: %s\n", command.c_str(), status.ToString().c_str());
  return ExitCodeFor(status);
}

std::string DataDir() {
  if (const char* env = std::getenv("RIDGE_DATA_DIR"); env && *env) return env;
  return RIDGE_DATA_DIR;
}

Command RegisterVersion(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("version", "Print Ridgeline's version");
  return {app, [] {
            std::printf("ridge %s\n", RIDGE_VERSION);
            return 0;
          }};
}

}  // namespace ridge::cli

int main(int argc, char** argv) {
  using namespace ridge::cli;
  CLI::App app{
      "ridge: deploy ONNX models on NVIDIA GPUs and CPUs, and see where the time goes.\n"
      "Run `ridge <command> --help` for a command's options. Exit codes: docs/cli.md."};
  app.require_subcommand(1);
  std::vector<Command> commands;
#define RIDGE_COMMAND(name) commands.push_back(Register##name(app));
#include "commands.def"
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2
  }
  try {
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge: internal error: %s\n", e.what());
    return 1;
  }
  return 2;
}
