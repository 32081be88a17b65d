#include "engine/gguf/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

namespace isv {

// Bounds-checked little-endian reader over the file image. Every read either succeeds inside the
// image or records an error with the offset where it happened; later reads then fail too.
class GgufCursor {
 public:
  GgufCursor(const uint8_t* data, size_t size, const std::string& file) : data_(data), size_(size), file_(file) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

  // A DATA_LOSS status "<file>: offset <at>: <what>".
  Status ErrorAt(size_t at, const std::string& what) const {
    return DataLossError(file_ + ": offset " + std::to_string(at) + ": " + what);
  }
  // Records the first error; reads after it fail.
  void FailAt(size_t at, const std::string& what) {
    if (status_.ok()) status_ = ErrorAt(at, what);
  }
  void Fail(const std::string& what) { FailAt(pos_, what); }

  bool Read(void* dst, size_t n, const char* what) {
    if (!ok()) return false;
    if (n > remaining()) {
      Fail(std::string("file truncated while reading ") + what + " (need " + std::to_string(n) +
           " bytes, " + std::to_string(remaining()) + " left)");
      return false;
    }
    std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  T Get(const char* what) {
    T v{};
    Read(&v, sizeof(T), what);
    return v;
  }
  bool ReadString(std::string* out, const char* what) {
    const size_t at = pos_;
    const uint64_t len = Get<uint64_t>(what);
    if (!ok()) return false;
    if (len > remaining()) {
      FailAt(at, std::string(what) + ": string length " + std::to_string(len) + " exceeds the " +
           std::to_string(remaining()) + " bytes left in the file");
      return false;
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
  Status status_;
};

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;
constexpr int kMaxDims = 4;
constexpr uint64_t kMinKvBytes = 13;
constexpr uint64_t kMinTensorInfoBytes = 32;
// Counts come from the file: reserve at most this many entries up front, grow beyond as data arrives.
constexpr uint64_t kMaxReserve = 1 << 16;

// Smallest number of bytes one element of the type can occupy (used to reject lying counts).
size_t MinEncodedSize(GgufType t) {
  if (t == GgufType::kString) return 8;  // the length
  if (t == GgufType::kArray) return 12;  // element type + count
  return std::max<size_t>(1, GgufFixedSize(t));
}

bool KnownValueType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

bool ReadValue(GgufCursor& c, GgufType type, int depth, const std::string& key, GgufValue* out) {
  switch (type) {
    case GgufType::kUint8: *out = GgufValue(type, uint64_t{c.Get<uint8_t>("uint8 value")}); break;
    case GgufType::kInt8: *out = GgufValue(type, int64_t{c.Get<int8_t>("int8 value")}); break;
    case GgufType::kUint16: *out = GgufValue(type, uint64_t{c.Get<uint16_t>("uint16 value")}); break;
    case GgufType::kInt16: *out = GgufValue(type, int64_t{c.Get<int16_t>("int16 value")}); break;
    case GgufType::kUint32: *out = GgufValue(type, uint64_t{c.Get<uint32_t>("uint32 value")}); break;
    case GgufType::kInt32: *out = GgufValue(type, int64_t{c.Get<int32_t>("int32 value")}); break;
    case GgufType::kUint64: *out = GgufValue(type, c.Get<uint64_t>("uint64 value")); break;
    case GgufType::kInt64: *out = GgufValue(type, c.Get<int64_t>("int64 value")); break;
    case GgufType::kFloat32: *out = GgufValue(type, double{c.Get<float>("float32 value")}); break;
    case GgufType::kFloat64: *out = GgufValue(type, c.Get<double>("float64 value")); break;
    case GgufType::kBool: {
      const size_t at = c.pos();
      const uint8_t b = c.Get<uint8_t>("bool value");
      if (c.ok() && b > 1) {
        c.FailAt(at, "key '" + key + "': bool value " + std::to_string(b) + " is neither 0 nor 1");
        return false;
      }
      *out = GgufValue(type, b != 0);
      break;
    }
    case GgufType::kString: {
      std::string s;
      if (!c.ReadString(&s, ("value of key '" + key + "'").c_str())) return false;
      *out = GgufValue(type, std::move(s));
      break;
    }
    case GgufType::kArray: {
      if (depth >= kMaxArrayDepth) {
        c.Fail("key '" + key + "': arrays nested deeper than " + std::to_string(kMaxArrayDepth));
        return false;
      }
      const size_t type_at = c.pos();
      const uint32_t elem_raw = c.Get<uint32_t>("array element type");
      if (!c.ok()) return false;
      if (!KnownValueType(elem_raw)) {
        c.FailAt(type_at, "key '" + key + "': unknown array element type " + std::to_string(elem_raw));
        return false;
      }
      const GgufType elem = static_cast<GgufType>(elem_raw);
      const size_t length_at = c.pos();
      const uint64_t n = c.Get<uint64_t>("array length");
      if (!c.ok()) return false;
      if (n > c.remaining() / MinEncodedSize(elem)) {
        c.FailAt(length_at, "key '" + key + "': array length " + std::to_string(n) + " of " +
               std::string(GgufTypeName(elem)) + " cannot fit in the " + std::to_string(c.remaining()) +
               " bytes left in the file");
        return false;
      }
      GgufArray arr(elem);
      arr.reserve(std::min<uint64_t>(n, kMaxReserve));
      GgufValue item;
      for (uint64_t i = 0; i < n; ++i) {
        if (!ReadValue(c, elem, depth + 1, key, &item)) return false;
        arr.push_back(item);
      }
      *out = GgufValue(type, std::move(arr));
      break;
    }
  }
  return c.ok();
}

}  // namespace

GgufFile::~GgufFile() {
  if (map_ != nullptr) munmap(map_, map_len_);
}

namespace {

// Whether transparent huge pages can back an madvise(MADV_HUGEPAGE) region ("always" or "madvise").
bool TransparentHugePagesAvailable() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return false;
  return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
}

constexpr size_t kHugePageBytes = size_t{2} << 20;

}  // namespace

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path, GgufMemory memory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ == 0) {
    ::close(fd);
    return DataLossError(path + ": offset 0: empty file, not a GGUF model");
  }
  if (memory == GgufMemory::kHugePages && TransparentHugePagesAvailable()) {
    // One extra huge page so that the copy can start on a 2 MiB boundary (THP backs aligned 2 MiB
    // ranges only).
    f->map_len_ = (f->size_ + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes + kHugePageBytes;
    void* p = mmap(nullptr, f->map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return ResourceExhaustedError(path + ": cannot allocate " + std::to_string(f->map_len_) +
                                    " bytes for the weights: " + std::strerror(errno));
    }
    f->map_ = p;
    const uintptr_t at = (reinterpret_cast<uintptr_t>(p) + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    uint8_t* dst = reinterpret_cast<uint8_t*>(at);
    madvise(dst, f->map_len_ - kHugePageBytes, MADV_HUGEPAGE);  // advisory: a failure only costs speed
    size_t done = 0;
    while (done < f->size_) {
      const ssize_t n = pread(fd, dst + done, f->size_ - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? std::strerror(errno) : "file shrank while being read";
        ::close(fd);
        return DataLossError(path + ": offset " + std::to_string(done) + ": read failed: " + why);
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    f->base_ = dst;
    f->huge_pages_ = true;
    f->writable_ = true;
  } else {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return InternalError(path + ": mmap failed: " + std::strerror(errno));
    f->map_ = p;
    f->map_len_ = f->size_;
    f->base_ = static_cast<const uint8_t*>(p);
  }
  ISV_RETURN_IF_ERROR(f->Parse());
  return f;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::FromBytes(std::string bytes, std::string name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = std::move(name);
  f->owned_ = std::move(bytes);
  f->base_ = reinterpret_cast<const uint8_t*>(f->owned_.data());
  f->writable_ = true;
  f->size_ = f->owned_.size();
  ISV_RETURN_IF_ERROR(f->Parse());
  return f;
}

Status GgufFile::Parse() {
  GgufCursor c(base_, size_, path_);
  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  ISV_RETURN_IF_ERROR(ParseHeader(c, &n_tensors, &n_kv));
  ISV_RETURN_IF_ERROR(ParseMetadata(c, n_kv));
  ISV_RETURN_IF_ERROR(ParseTensorInfos(c, n_tensors));
  ISV_RETURN_IF_ERROR(CheckTensorData(c.pos()));

  views_.reserve(tensors_.size());
  for (const GgufTensorInfo& t : tensors_) {
    TensorView v;
    v.name = t.name;
    v.type = t.type;
    v.n_dims = t.n_dims;
    for (int d = 0; d < kMaxDims; ++d) v.ne[d] = t.ne[d];
    v.data = base_ + data_offset_ + t.offset;
    views_.push_back(std::move(v));
  }
  return OkStatus();
}

Status GgufFile::ParseHeader(GgufCursor& c, uint64_t* n_tensors, uint64_t* n_kv) {
  const uint32_t magic = c.Get<uint32_t>("magic");
  if (!c.ok()) return c.status();
  if (magic != kGgufMagic) {
    return DataLossError(path_ + ": offset 0: not a GGUF file (bad magic)");
  }
  version_ = c.Get<uint32_t>("version");
  if (!c.ok()) return c.status();
  if (version_ == 1) {
    return UnimplementedError(path_ + ": offset 4: GGUF version 1 is not supported (files from before "
                                      "August 2023); convert the model again with a current tool");
  }
  if (version_ != 2 && version_ != 3) {
    // A big-endian writer stores the version as 00 00 00 0v, which reads as 0x0v000000 here.
    if ((version_ & 0xFFFF) == 0 && (version_ >> 24) <= 3)
      return UnimplementedError(path_ + ": offset 4: big-endian GGUF files are not supported");
    return UnimplementedError(path_ + ": offset 4: unknown GGUF version " + std::to_string(version_));
  }
  const size_t counts_at = c.pos();
  *n_tensors = c.Get<uint64_t>("tensor count");
  *n_kv = c.Get<uint64_t>("metadata count");
  if (!c.ok()) return c.status();
  // Each metadata entry takes at least 13 bytes (key length, type, one-byte value) and each tensor
  // entry at least 32 (name length, n_dims, one dim, type, offset).
  if (*n_kv > c.remaining() / kMinKvBytes) {
    return DataLossError(path_ + ": offset " + std::to_string(counts_at + 8) + ": metadata count " +
                         std::to_string(*n_kv) + " cannot fit in the file");
  }
  if (*n_tensors > (c.remaining() - *n_kv * kMinKvBytes) / kMinTensorInfoBytes) {
    return DataLossError(path_ + ": offset " + std::to_string(counts_at) + ": tensor count " +
                         std::to_string(*n_tensors) + " cannot fit in the file");
  }
  return OkStatus();
}

Status GgufFile::ParseMetadata(GgufCursor& c, uint64_t n_kv) {
  kv_.reserve(std::min<uint64_t>(n_kv, kMaxReserve));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t at = c.pos();
    std::string key;
    if (!c.ReadString(&key, "metadata key")) return c.status();
    const size_t type_at = c.pos();
    const uint32_t raw_type = c.Get<uint32_t>("metadata value type");
    if (!c.ok()) return c.status();
    if (!KnownValueType(raw_type)) {
      return c.ErrorAt(type_at, "key '" + key + "': unknown metadata value type " + std::to_string(raw_type));
    }
    GgufValue value;
    if (!ReadValue(c, static_cast<GgufType>(raw_type), 0, key, &value)) return c.status();
    const std::string where = path_ + ": offset " + std::to_string(at) + ": key '" + key + "': ";
    if (kv_index_.count(key)) return DataLossError(where + "duplicate metadata key");
    if (key == "general.alignment") {
      if (value.type() != GgufType::kUint32) {
        return DataLossError(where + "expected uint32, got " + std::string(GgufTypeName(value.type())));
      }
      alignment_ = value.AsUint();
      if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) {
        return DataLossError(where + std::to_string(alignment_) + " is not a power of two");
      }
    }
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(value));
  }
  return OkStatus();
}

Status GgufFile::ParseTensorInfos(GgufCursor& c, uint64_t n_tensors) {
  tensors_.reserve(std::min<uint64_t>(n_tensors, kMaxReserve));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const size_t at = c.pos();
    GgufTensorInfo t;
    if (!c.ReadString(&t.name, "tensor name")) return c.status();
    const std::string where = path_ + ": offset " + std::to_string(at) + ": tensor '" + t.name + "': ";
    const uint32_t n_dims = c.Get<uint32_t>("tensor dimension count");
    if (!c.ok()) return c.status();
    if (n_dims == 0 || n_dims > kMaxDims) {
      return DataLossError(where + "dimension count " + std::to_string(n_dims) + " is not in 1.." +
                           std::to_string(kMaxDims));
    }
    t.n_dims = static_cast<int>(n_dims);
    for (int d = 0; d < kMaxDims; ++d) t.ne[d] = 1;
    // Overflow is checked on the product of the dims with 0 counted as 1, so that no partial
    // product (rows = ne1*ne2*ne3, used by TensorView) can overflow either.
    int64_t bound = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t ne = c.Get<int64_t>("tensor dimension");
      if (!c.ok()) return c.status();
      if (ne < 0) return DataLossError(where + "negative dimension " + std::to_string(ne));
      if (ne != 0 && bound > std::numeric_limits<int64_t>::max() / ne) {
        return DataLossError(where + "element count overflows 64 bits");
      }
      t.ne[d] = ne;
      if (ne != 0) bound *= ne;
    }
    const int64_t n_elements = t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3];
    const uint32_t raw_type = c.Get<uint32_t>("tensor type");
    t.offset = c.Get<uint64_t>("tensor data offset");
    if (!c.ok()) return c.status();
    const std::optional<GgmlTypeTraits> traits = GetTypeTraits(raw_type);
    if (!traits) return DataLossError(where + "unknown tensor type " + std::to_string(raw_type));
    t.type = static_cast<GgmlType>(raw_type);
    if (t.ne[0] % traits->block_size != 0) {
      return DataLossError(where + "row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                           std::string(traits->name) + " block size " + std::to_string(traits->block_size));
    }
    const uint64_t blocks = static_cast<uint64_t>(n_elements / traits->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / traits->type_size) {
      return DataLossError(where + "byte size overflows 64 bits");
    }
    t.n_bytes = blocks * traits->type_size;
    if (t.offset % alignment_ != 0) {
      return DataLossError(where + "data offset " + std::to_string(t.offset) +
                           " is not a multiple of the alignment " + std::to_string(alignment_));
    }
    if (tensor_index_.count(t.name)) return DataLossError(where + "duplicate tensor name");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  return OkStatus();
}

Status GgufFile::CheckTensorData(size_t infos_end) {
  // The data section starts at the next multiple of the alignment.
  data_offset_ = (infos_end + alignment_ - 1) / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > size_) {
    return DataLossError(path_ + ": offset " + std::to_string(infos_end) +
                         ": file ends before its tensor data section (which would start at offset " +
                         std::to_string(data_offset_) + ")");
  }
  const uint64_t data_size = size_ > data_offset_ ? size_ - data_offset_ : 0;
  // Sorted by (offset, size) so that an empty tensor never counts as overlapping its neighbour.
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(tensors_[a].offset, tensors_[a].n_bytes) < std::pair(tensors_[b].offset, tensors_[b].n_bytes);
  });
  const GgufTensorInfo* prev = nullptr;
  for (size_t i : order) {
    const GgufTensorInfo& t = tensors_[i];
    if (t.offset > data_size) {
      return DataLossError(path_ + ": offset " + std::to_string(data_offset_) + ": tensor '" + t.name +
                           "': data offset " + std::to_string(t.offset) + " is past the end of the " +
                           std::to_string(data_size) + "-byte data section");
    }
    const std::string where =
        path_ + ": offset " + std::to_string(data_offset_ + t.offset) + ": tensor '" + t.name + "': ";
    if (t.n_bytes > data_size - t.offset) {
      return DataLossError(where + "its " + std::to_string(t.n_bytes) + " bytes of data extend past the end of the file (" +
                           std::to_string(size_) + " bytes)");
    }
    if (prev != nullptr && t.offset < prev->offset + prev->n_bytes) {
      return DataLossError(where + "data overlaps tensor '" + prev->name + "' (bytes " +
                           std::to_string(data_offset_ + prev->offset) + ".." +
                           std::to_string(data_offset_ + prev->offset + prev->n_bytes) + ")");
    }
    prev = &t;
  }
  return OkStatus();
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorView* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &views_[it->second];
}

TensorView* GgufFile::MutableTensor(std::string_view name) {
  if (!writable_) return nullptr;
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &views_[it->second];
}

std::string GgufFile::architecture() const {
  const GgufValue* v = Find("general.architecture");
  return v != nullptr && v->is_string() ? v->AsString() : "";
}

namespace {
Status WrongType(const std::string& path, std::string_view key, const char* want, const GgufValue& v) {
  return InvalidArgumentError(path + ": key '" + std::string(key) + "': expected " + want + ", got " +
                              std::string(GgufTypeName(v.type())));
}
Status Missing(const std::string& path, std::string_view key) {
  return NotFoundError(path + ": required key '" + std::string(key) + "' is missing");
}
}  // namespace

StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_integer()) return WrongType(path_, key, "an integer", *v);
  return v->AsInt();
}

StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_float() && !v->is_integer()) return WrongType(path_, key, "a number", *v);
  return v->AsDouble();
}

StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_bool()) return WrongType(path_, key, "a bool", *v);
  return v->AsBool();
}

StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_string()) return WrongType(path_, key, "a string", *v);
  return v->AsString();
}

StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_array() || v->AsArray().element_type() != GgufType::kString)
    return WrongType(path_, key, "an array of strings", *v);
  const GgufArray& a = v->AsArray();
  std::vector<std::string> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.emplace_back(a.string_at(i));
  return out;
}

StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_array()) return WrongType(path_, key, "an array of numbers", *v);
  const GgufArray& a = v->AsArray();
  const GgufType et = a.element_type();
  if (et == GgufType::kString || et == GgufType::kArray || et == GgufType::kBool)
    return WrongType(path_, key, "an array of numbers", *v);
  std::vector<float> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(static_cast<float>(a.at(i).AsDouble()));
  return out;
}

StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (!v->is_array()) return WrongType(path_, key, "an array of integers", *v);
  const GgufArray& a = v->AsArray();
  const GgufType et = a.element_type();
  if (et == GgufType::kString || et == GgufType::kArray || et == GgufType::kFloat32 || et == GgufType::kFloat64)
    return WrongType(path_, key, "an array of integers", *v);
  std::vector<int64_t> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a.at(i).AsInt());
  return out;
}

StatusOr<int64_t> GgufFile::GetIntOr(std::string_view key, int64_t fallback) const {
  return Find(key) == nullptr ? StatusOr<int64_t>(fallback) : GetInt(key);
}
StatusOr<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  return Find(key) == nullptr ? StatusOr<double>(fallback) : GetFloat(key);
}
StatusOr<bool> GgufFile::GetBoolOr(std::string_view key, bool fallback) const {
  return Find(key) == nullptr ? StatusOr<bool>(fallback) : GetBool(key);
}
StatusOr<std::string> GgufFile::GetStringOr(std::string_view key, std::string fallback) const {
  return Find(key) == nullptr ? StatusOr<std::string>(std::move(fallback)) : GetString(key);
}

}  // namespace isv
