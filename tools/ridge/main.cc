// `ridge`: the command-line entry point. Each subcommand lives in its own cmd_<name>.cc and
// registers itself through the table in commands.h.
#include <CLI/CLI.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"ridge: deploy ONNX models on NVIDIA GPUs and CPUs, and see where the time goes"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
