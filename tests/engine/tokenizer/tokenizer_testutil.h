// Helpers shared by the tokenizer tests: locating ../shared/testdata, loading a tokenizer from a
// GGUF file, reading files, and printing id lists.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace isv::testing {

// "<ISV_SHARED_DIR>/testdata/<rel>".
std::string TestdataPath(const std::string& rel);
bool TestdataPresent();
// Loads the tokenizer of a GGUF file; nullptr (with a gtest failure) on error.
std::unique_ptr<Tokenizer> LoadTokenizer(const std::string& path);
// Whole file as bytes; "" when unreadable.
std::string ReadFile(const std::string& path);
std::string IdsToString(const std::vector<int32_t>& ids);
std::string Hex(const std::string& bytes);
// Printable form of a test string (non-printable bytes as \xNN).
std::string Escape(const std::string& s);

}  // namespace isv::testing
