// The subcommands of the `inference-service` binary. Each Add*Command registers one subcommand on
// the CLI11 app; when the user picks it, its callback runs and stores the process exit code in
// *exit_code (0 success, 1 runtime error such as a bad file, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>

namespace isv {

void AddInfoCommand(CLI::App& app, int* exit_code);
void AddTemplateCommand(CLI::App& app, int* exit_code);
void AddTokenizeCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddRunCommand(CLI::App& app, int* exit_code);
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddPerplexityCommand(CLI::App& app, int* exit_code);
void AddQuantizeCommand(CLI::App& app, int* exit_code);
void AddSynthCommand(CLI::App& app, int* exit_code);
void AddBenchCommand(CLI::App& app, int* exit_code);
void AddBenchServeCommand(CLI::App& app, int* exit_code);
void AddVisionEmbedCommand(CLI::App& app, int* exit_code);

}  // namespace isv
