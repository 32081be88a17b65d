// GgufFile: a validated GGUF (v2/v3) file in memory: metadata, tensor directory, tensor data.
// The bytes are either the file's mmap (GgufMemory::kMap) or a copy in anonymous memory advised for
// transparent huge pages (GgufMemory::kHugePages, what inference uses: see below).
//
//   ISV_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::Open("model.gguf"));
//   int64_t n_layer = f->GetInt("llama.block_count").value();
//   const TensorView* w = f->FindTensor("blk.0.attn_q.weight");
//
// Open() checks everything before anything is used: magic, version (1 refused), counts that fit in
// the file, string lengths, value types, array nesting, dims and element counts without overflow,
// known tensor types with whole blocks per row, data offsets aligned, inside the file and not
// overlapping. Any violation is a Status "<file>: offset <n>: <key or tensor>: <problem>" (see
// docs/gguf.md for the full list of checks).
// Nothing is read outside the mapping, whatever the file says.
//
// Thread-safety: immutable after Open(); safe to share. Views and pointers it returns stay valid
// while the GgufFile lives.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_value.h"
#include "engine/tensor/tensor.h"

namespace isv {

class GgufCursor;

struct GgufTensorInfo {
  std::string name;
  GgmlType type;
  int n_dims;
  int64_t ne[4];
  uint64_t offset;  // relative to the start of the data section
  size_t n_bytes;
};

// How Open() makes a file's bytes addressable.
enum class GgufMemory {
  // mmap the file: nothing is read before it is used, pages are the page cache's (shared, evictable).
  // For tools that look at a few tensors (info, tokenize, quantize) and for INFERENCE_MMAP=1.
  kMap,
  // Read the whole file into private anonymous memory, 2 MiB-aligned and advised for transparent
  // huge pages (madvise). Decode streams every weight once per token: from this copy it measured
  // 15-25% more tokens/s than from the page cache's scattered 4 KiB pages (docs/performance.md: most
  // of it from the private copy, huge pages add to it on larger models — fewer, cheaper TLB misses).
  // Costs the read at load and the pages are private: RSS = file size as with a fully touched mmap,
  // but not shared with other processes nor droppable by the kernel. Falls back to kMap where THP is
  // disabled ("never").
  kHugePages,
};

class GgufFile {
 public:
  // Opens and validates the file at `path`.
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path, GgufMemory memory = GgufMemory::kMap);
  // Parses and validates an in-memory image (tests); the bytes are copied.
  static StatusOr<std::unique_ptr<GgufFile>> FromBytes(std::string bytes, std::string name = "<memory>");

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t file_size() const { return size_; }
  uint64_t data_offset() const { return data_offset_; }
  // Whether the bytes are a copy in huge-page-advised memory (kHugePages and THP available).
  bool huge_pages() const { return huge_pages_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  // nullptr when absent.
  const GgufValue* Find(std::string_view key) const;

  // Typed getters: NotFound when absent, InvalidArgument (naming the key) when of the wrong type.
  StatusOr<int64_t> GetInt(std::string_view key) const;
  StatusOr<double> GetFloat(std::string_view key) const;  // accepts integers too
  StatusOr<bool> GetBool(std::string_view key) const;
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;
  StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;
  // Defaults for absent keys (a present key of the wrong type is still an error).
  StatusOr<int64_t> GetIntOr(std::string_view key, int64_t fallback) const;
  StatusOr<double> GetFloatOr(std::string_view key, double fallback) const;
  StatusOr<bool> GetBoolOr(std::string_view key, bool fallback) const;
  StatusOr<std::string> GetStringOr(std::string_view key, std::string fallback) const;

  // "general.architecture", or "" when absent.
  std::string architecture() const;

  const std::vector<GgufTensorInfo>& tensor_infos() const { return tensors_; }
  // nullptr when absent. The view's data points into the mapping.
  const TensorView* FindTensor(std::string_view name) const;
  const std::vector<TensorView>& tensors() const { return views_; }
  // The view of `name` with its bytes writable, for rewriting them in place into another layout (Model
  // repacks matrices at load; it then sets the view's layout, so that FindTensor tells the truth). nullptr
  // where the name is absent or the bytes are not a private copy (GgufMemory::kMap: the file's pages).
  TensorView* MutableTensor(std::string_view name);
  // Whether the bytes are a private copy (kHugePages, FromBytes): MutableTensor gives writable views.
  bool writable() const { return writable_; }

 private:
  GgufFile() = default;
  // Parse() runs the steps below in file order; each returns the first violation it finds.
  Status Parse();
  Status ParseHeader(GgufCursor& c, uint64_t* n_tensors, uint64_t* n_kv);
  Status ParseMetadata(GgufCursor& c, uint64_t n_kv);  // also validates general.alignment
  Status ParseTensorInfos(GgufCursor& c, uint64_t n_tensors);
  // Places the data section after the tensor directory (ending at `infos_end`) and checks every
  // tensor's bytes lie inside the file without overlapping another's.
  Status CheckTensorData(size_t infos_end);

  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;        // the mapping to munmap (file or anonymous), nullptr for FromBytes
  size_t map_len_ = 0;
  bool huge_pages_ = false;
  bool writable_ = false;      // the bytes are this object's private copy
  std::string owned_;          // backing store for FromBytes
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::vector<TensorView> views_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace isv
