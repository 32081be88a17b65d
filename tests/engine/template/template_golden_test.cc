// Every template x case of ../shared/testdata/templates renders byte-identically to Hugging Face's
// apply_chat_template (Jinja2 3.1.6), or fails where the reference raised.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/template/template.h"

namespace isv::jinja {
namespace {

const std::string kDir = std::string(ISV_SHARED_DIR) + "/testdata/templates";

struct GoldenCase {
  std::string template_name;
  std::string case_id;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.template_name << "/" << c.case_id; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<GoldenCase> ListCases() {
  std::vector<GoldenCase> out;
  std::ifstream in(kDir + "/index.json");
  if (!in) return out;
  nlohmann::ordered_json index = nlohmann::ordered_json::parse(in, nullptr, false);
  if (index.is_discarded()) return out;
  for (const auto& [name, entry] : index.items()) {
    for (const auto& c : entry["cases_ok"]) out.push_back({name, c.get<std::string>()});
    for (const auto& [c, _] : entry["cases_error"].items()) out.push_back({name, c});
  }
  return out;
}

class TemplateGoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(TemplateGoldenTest, MatchesReference) {
  const GoldenCase& gc = GetParam();
  nlohmann::ordered_json expected =
      nlohmann::ordered_json::parse(ReadFile(kDir + "/expected/" + gc.template_name + ".json"));
  const nlohmann::ordered_json* the_case = nullptr;
  for (const auto& c : expected["cases"]) {
    if (c["id"] == gc.case_id) the_case = &c;
  }
  ASSERT_NE(the_case, nullptr);
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = (*the_case)["messages"];
  ctx["tools"] = (*the_case)["tools"];
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = (*the_case)["add_generation_prompt"];
  for (const auto& [k, v] : expected["special_tokens"].items()) ctx[k] = v;
  for (const auto& [k, v] : (*the_case)["template_kwargs"].items()) ctx[k] = v;

  StatusOr<Template> t = Template::Parse(ReadFile(kDir + "/" + expected["template"].get<std::string>()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  StatusOr<std::string> out = t->Render(ctx, RenderOptions{});
  if (the_case->contains("error")) {
    EXPECT_FALSE(out.ok()) << "reference failed with " << (*the_case)["error"] << " but we rendered:\n" << *out;
    return;
  }
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, (*the_case)["output"].get<std::string>());
}

std::string CaseName(const testing::TestParamInfo<GoldenCase>& info) {
  std::string s = info.param.template_name + "__" + info.param.case_id;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllTemplates, TemplateGoldenTest, testing::ValuesIn(ListCases()), CaseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TemplateGoldenTest);

}  // namespace
}  // namespace isv::jinja
