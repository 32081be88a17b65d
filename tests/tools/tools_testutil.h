// Helpers shared by the tools tests: a temporary folder deleted at the end of the test, paths of
// the shared test data, and running the built binary.
#pragma once

#include <string>

namespace isv::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ../shared/testdata/<relative>, or "" when that file does not exist.
std::string TestdataFile(const std::string& relative);

// Runs the inference-service binary with `args` (shell words), stdout and stderr captured into
// *output. Returns the exit status.
int RunBinary(const std::string& args, std::string* output);

// The whole content of a file ("" when unreadable).
std::string ReadAll(const std::string& path);

}  // namespace isv::testing
