#include "engine/gguf/gguf_writer.h"

#include <cstring>
#include <fstream>

namespace isv {

void GgufWriter::PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void GgufWriter::PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void GgufWriter::PutString(std::string& out, std::string_view s) {
  PutU64(out, s.size());
  out += s;
}

void GgufWriter::PutValue(std::string& out, const GgufValue& v) {
  switch (v.type()) {
    case GgufType::kString: PutString(out, v.AsString()); break;
    case GgufType::kArray: {
      const GgufArray& a = v.AsArray();
      PutU32(out, static_cast<uint32_t>(a.element_type()));
      PutU64(out, a.size());
      if (a.element_type() == GgufType::kString) {
        for (size_t i = 0; i < a.size(); ++i) PutString(out, a.string_at(i));
      } else if (a.element_type() == GgufType::kArray) {
        for (size_t i = 0; i < a.size(); ++i) PutValue(out, a.at(i));
      } else {
        out += a.encoded();  // numbers and bools are held in their file encoding already
      }
      break;
    }
    default: AppendGgufScalar(v, out); break;
  }
}

void GgufWriter::AddKv(std::string key, GgufValue value) { kv_.emplace_back(std::move(key), std::move(value)); }

void GgufWriter::AddStringArray(std::string key, const std::vector<std::string>& v) {
  GgufArray a(GgufType::kString);
  a.reserve(v.size());
  for (const auto& s : v) a.push_back(GgufValue(GgufType::kString, s));
  AddKv(std::move(key), GgufValue(GgufType::kArray, std::move(a)));
}

void GgufWriter::AddFloat32Array(std::string key, const std::vector<float>& v) {
  GgufArray a(GgufType::kFloat32);
  a.reserve(v.size());
  for (float f : v) a.push_back(GgufValue(GgufType::kFloat32, double{f}));
  AddKv(std::move(key), GgufValue(GgufType::kArray, std::move(a)));
}

void GgufWriter::AddInt32Array(std::string key, const std::vector<int32_t>& v) {
  GgufArray a(GgufType::kInt32);
  a.reserve(v.size());
  for (int32_t i : v) a.push_back(GgufValue(GgufType::kInt32, int64_t{i}));
  AddKv(std::move(key), GgufValue(GgufType::kArray, std::move(a)));
}

void GgufWriter::AddTensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::string data) {
  tensors_.push_back({std::move(name), type, std::move(ne), std::move(data)});
}

std::string GgufWriter::Serialize() const {
  std::string out;
  PutU32(out, 0x46554747);
  PutU32(out, version_);
  PutU64(out, tensors_.size());
  const bool write_alignment = alignment_ != 32;
  PutU64(out, kv_.size() + (write_alignment ? 1 : 0));
  if (write_alignment) {
    PutString(out, "general.alignment");
    PutU32(out, static_cast<uint32_t>(GgufType::kUint32));
    PutU32(out, alignment_);
  }
  for (const auto& [key, value] : kv_) {
    PutString(out, key);
    PutU32(out, static_cast<uint32_t>(value.type()));
    PutValue(out, value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    PutString(out, t.name);
    PutU32(out, static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) PutU64(out, static_cast<uint64_t>(n));
    PutU32(out, static_cast<uint32_t>(t.type));
    PutU64(out, offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, '\0');
  for (const Tensor& t : tensors_) {
    out += t.data;
    out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, '\0');
  }
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return InvalidArgumentError(path + ": cannot open for writing");
  const std::string bytes = Serialize();
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) return InternalError(path + ": write failed");
  return OkStatus();
}

}  // namespace isv
