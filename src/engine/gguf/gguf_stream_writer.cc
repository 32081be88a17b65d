#include "engine/gguf/gguf_stream_writer.h"

#include "engine/gguf/gguf_writer.h"

namespace isv {
namespace {
constexpr size_t kAlignment = 32;
}  // namespace

GgufStreamWriter::~GgufStreamWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void GgufStreamWriter::AddTensorInfo(std::string name, GgmlType type, std::vector<int64_t> ne) {
  int64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  const size_t n_bytes = RowSize(type, ne.empty() ? 0 : ne[0]) * static_cast<size_t>(rows);
  tensors_.push_back({std::move(name), type, std::move(ne), n_bytes});
}

Status GgufStreamWriter::WriteRaw(const void* data, size_t n) {
  if (n == 0) return OkStatus();
  if (std::fwrite(data, 1, n, file_) != n) return InternalError(path_ + ": write failed");
  pos_ += n;
  return OkStatus();
}

Status GgufStreamWriter::Pad() {
  static const char kZeros[kAlignment] = {};
  return WriteRaw(kZeros, (kAlignment - pos_ % kAlignment) % kAlignment);
}

Status GgufStreamWriter::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return InvalidArgumentError(path + ": cannot open for writing");
  std::string head;
  GgufWriter::PutU32(head, 0x46554747);
  GgufWriter::PutU32(head, 3);
  GgufWriter::PutU64(head, tensors_.size());
  GgufWriter::PutU64(head, kv_.size());
  for (const auto& [key, value] : kv_) {
    GgufWriter::PutString(head, key);
    GgufWriter::PutU32(head, static_cast<uint32_t>(value.type()));
    GgufWriter::PutValue(head, value);
  }
  uint64_t offset = 0;
  for (const Info& t : tensors_) {
    GgufWriter::PutString(head, t.name);
    GgufWriter::PutU32(head, static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) GgufWriter::PutU64(head, static_cast<uint64_t>(n));
    GgufWriter::PutU32(head, static_cast<uint32_t>(t.type));
    GgufWriter::PutU64(head, offset);
    offset += (t.n_bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  ISV_RETURN_IF_ERROR(WriteRaw(head.data(), head.size()));
  ISV_RETURN_IF_ERROR(Pad());
  current_ = 0;
  written_ = 0;
  return OkStatus();
}

Status GgufStreamWriter::Append(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    while (current_ < tensors_.size() && tensors_[current_].n_bytes == 0) ++current_;
    if (current_ >= tensors_.size()) return InternalError(path_ + ": more tensor data than the directory holds");
    const size_t room = tensors_[current_].n_bytes - written_;
    const size_t take = n < room ? n : room;
    ISV_RETURN_IF_ERROR(WriteRaw(p, take));
    p += take;
    n -= take;
    written_ += take;
    if (written_ == tensors_[current_].n_bytes) {
      ISV_RETURN_IF_ERROR(Pad());
      ++current_;
      written_ = 0;
    }
  }
  return OkStatus();
}

Status GgufStreamWriter::Close() {
  // Zero-sized tensors at the end are complete without any Append().
  while (current_ < tensors_.size() && tensors_[current_].n_bytes == 0) ++current_;
  if (current_ != tensors_.size())
    return InternalError(path_ + ": tensor " + tensors_[current_].name + " is missing data");
  const bool ok = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) return InternalError(path_ + ": write failed");
  return OkStatus();
}

}  // namespace isv
