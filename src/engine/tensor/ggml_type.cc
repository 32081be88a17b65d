#include "engine/tensor/ggml_type.h"

#include <array>
#include <cctype>
#include <string>

namespace isv {
namespace {

struct Entry {
  uint32_t id;
  GgmlTypeTraits traits;
};

// Block sizes and bytes per block as in ggml.c's type_traits table.
constexpr std::array<Entry, 32> kTypes = {{
    {0, {"f32", 1, 4, false, true}},
    {1, {"f16", 1, 2, false, true}},
    {2, {"q4_0", 32, 18, true, true}},
    {3, {"q4_1", 32, 20, true, true}},
    {6, {"q5_0", 32, 22, true, true}},
    {7, {"q5_1", 32, 24, true, true}},
    {8, {"q8_0", 32, 34, true, true}},
    {9, {"q8_1", 32, 36, true, true}},
    {10, {"q2_K", 256, 84, true, true}},
    {11, {"q3_K", 256, 110, true, true}},
    {12, {"q4_K", 256, 144, true, true}},
    {13, {"q5_K", 256, 176, true, true}},
    {14, {"q6_K", 256, 210, true, true}},
    {15, {"q8_K", 256, 292, true, true}},
    {16, {"iq2_xxs", 256, 66, true, false}},
    {17, {"iq2_xs", 256, 74, true, false}},
    {18, {"iq3_xxs", 256, 98, true, false}},
    {19, {"iq1_s", 256, 50, true, false}},
    {20, {"iq4_nl", 32, 18, true, true}},
    {21, {"iq3_s", 256, 110, true, false}},
    {22, {"iq2_s", 256, 82, true, false}},
    {23, {"iq4_xs", 256, 136, true, true}},
    {24, {"i8", 1, 1, false, false}},
    {25, {"i16", 1, 2, false, false}},
    {26, {"i32", 1, 4, false, false}},
    {27, {"i64", 1, 8, false, false}},
    {28, {"f64", 1, 8, false, false}},
    {29, {"iq1_m", 256, 56, true, false}},
    {30, {"bf16", 1, 2, false, true}},
    {34, {"tq1_0", 256, 54, true, false}},
    {35, {"tq2_0", 256, 66, true, false}},
    {39, {"mxfp4", 32, 17, true, false}},
}};

}  // namespace

std::optional<GgmlTypeTraits> GetTypeTraits(uint32_t raw_type) {
  for (const Entry& e : kTypes) {
    if (e.id == raw_type) return e.traits;
  }
  return std::nullopt;
}

const GgmlTypeTraits& TypeTraits(GgmlType t) {
  for (const Entry& e : kTypes) {
    if (e.id == static_cast<uint32_t>(t)) return e.traits;
  }
  return kTypes[0].traits;  // unreachable for valid enum values
}

std::string_view TypeName(GgmlType t) { return TypeTraits(t).name; }

std::optional<GgmlType> TypeFromName(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Entry& e : kTypes) {
    std::string n;
    for (char c : e.traits.name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n == lower) return static_cast<GgmlType>(e.id);
  }
  return std::nullopt;
}

}  // namespace isv
