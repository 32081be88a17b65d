// Option and argument checks shared by the subcommands: the --threads option, the context-size
// bound, reading a whole input file, and the check that a context's KV cache fits in this machine's memory before it is
// allocated (so an absurd --ctx is an error message, not an out-of-memory crash).
// Stateless functions; thread-safe.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace isv {

class Model;

// The largest context size (tokens) the tools accept.
inline constexpr int32_t kMaxContext = 1 << 24;
// The largest --threads value the tools accept.
inline constexpr int32_t kMaxThreads = 1024;

// Adds `--threads,-t` (0, the default: all cores; 1..kMaxThreads otherwise) bound to *threads.
void AddThreadsOption(CLI::App* cmd, int32_t* threads);

// Returns ResourceExhausted (naming the size and the memory) when the KV cache of `model` for n_ctx
// tokens would not fit in the machine's physical memory, InvalidArgument when n_ctx is not in
// [1, kMaxContext]; OK otherwise.
Status CheckContextFits(const Model& model, int64_t n_ctx);

// Returns the bytes of the regular file at `path`; NotFound / InvalidArgument naming the path when it
// is missing, unreadable, or not a regular file (a directory would otherwise read as empty).
StatusOr<std::string> ReadWholeFile(const std::string& path);

// Prints "error: <message>" on stderr and returns the commands' failure exit code, 1.
int ReportError(const Status& s);

}  // namespace isv
