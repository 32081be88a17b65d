// inference-service: one binary, several subcommands (like `git` or `ollama`).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"inference-service: local GGUF language models behind an OpenAI-compatible API"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  int exit_code = 0;
  isv::AddInfoCommand(app, &exit_code);
  isv::AddTemplateCommand(app, &exit_code);
  isv::AddTokenizeCommand(app, &exit_code);
  isv::AddServeCommand(app, &exit_code);
  isv::AddRunCommand(app, &exit_code);
  isv::AddEvalCommand(app, &exit_code);
  isv::AddPerplexityCommand(app, &exit_code);
  isv::AddQuantizeCommand(app, &exit_code);
  isv::AddSynthCommand(app, &exit_code);
  isv::AddBenchCommand(app, &exit_code);
  isv::AddBenchServeCommand(app, &exit_code);
  isv::AddVisionEmbedCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
