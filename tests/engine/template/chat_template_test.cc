// RenderChatTemplate (context defaults, --now date, errors), the ChatML fallback and the GGUF helpers.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/template/chat_template.h"

namespace isv {
namespace {

using Json = nlohmann::ordered_json;

Json Conversation() {
  return Json::parse(R"({"messages": [{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Hi"}]})");
}

TEST(ChatTemplateTest, ChatmlFallbackRendersChatml) {
  Json ctx = Conversation();
  ctx["add_generation_prompt"] = true;
  StatusOr<std::string> out = RenderChatTemplate(ChatmlFallback(), ctx, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  ctx["add_generation_prompt"] = false;
  out = RenderChatTemplate(ChatmlFallback(), ctx, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, DefaultsLikeHuggingFace) {
  // tools and documents are passed as None, add_generation_prompt as False, when the caller omits them.
  StatusOr<std::string> out = RenderChatTemplate(
      "{{ tools is defined }}{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}"
      "{{ bos_token is defined }}",
      Conversation(), {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "TrueTrueTrueFalseFalse");
}

TEST(ChatTemplateTest, ExtraKeysReachTheTemplate) {
  Json ctx = Conversation();
  ctx["enable_thinking"] = false;
  ctx["bos_token"] = "<s>";
  StatusOr<std::string> out =
      RenderChatTemplate("{{ bos_token }}{% if not enable_thinking %}/no_think{% endif %}", ctx, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "<s>/no_think");
}

TEST(ChatTemplateTest, NowDateDrivesStrftimeNow) {
  ChatTemplateOptions o;
  o.now_date = "2025-01-02";
  StatusOr<std::string> out = RenderChatTemplate("{{ strftime_now('%d %b %Y') }}", Conversation(), o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "02 Jan 2025");
  o.now_date = "02/01/2025";
  EXPECT_FALSE(RenderChatTemplate("x", Conversation(), o).ok());
}

TEST(ChatTemplateTest, BadContextIsInvalidArgument) {
  StatusOr<std::string> out = RenderChatTemplate("x", Json::parse(R"({"messages": "hi"})"), {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(RenderChatTemplate("x", Json::array(), {}).ok());
}

TEST(ChatTemplateTest, TemplateErrorsAreStatuses) {
  StatusOr<std::string> out =
      RenderChatTemplate("{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}",
                         Conversation(), {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("TemplateError: System role not supported", 0), 0u) << out.status().ToString();
  EXPECT_FALSE(RenderChatTemplate("{% for %}", Conversation(), {}).ok());
}

TEST(ChatTemplateTest, ParsedTemplateRendersConcurrently) {
  const std::string dir = std::string(ISV_SHARED_DIR) + "/testdata/templates";
  std::ifstream in(dir + "/Qwen-Qwen2.5-7B-Instruct.jinja", std::ios::binary);
  if (!in) GTEST_SKIP() << "testdata absent";
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<jinja::Template> t = jinja::Template::Parse(ss.str());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Json ctx = Conversation();
  ctx["add_generation_prompt"] = true;
  StatusOr<std::string> reference = RenderChatTemplate(ss.str(), ctx, {});
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  EXPECT_NE(reference->find("<|im_start|>user\nHi<|im_end|>"), std::string::npos) << *reference;
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        StatusOr<std::string> out = RenderChatTemplate(*t, ctx, {});
        if (!out.ok() || *out != *reference) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_FALSE(jinja::Template().Render(ctx, {}).ok());  // never parsed: an error, not a crash
}

std::unique_ptr<GgufFile> MakeGguf(bool with_template) {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  if (with_template) {
    w.AddString("tokenizer.chat_template", "{{ bos_token }}{{ messages[0].content }}");
    w.AddString("tokenizer.chat_template.tool_use", "tools!");
  }
  w.AddStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hi"});
  w.AddUint32("tokenizer.ggml.bos_token_id", 1);
  w.AddUint32("tokenizer.ggml.eos_token_id", 2);
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::FromBytes(w.Serialize());
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(*f) : nullptr;
}

TEST(ChatTemplateTest, TemplateAndSpecialTokensFromGguf) {
  std::unique_ptr<GgufFile> f = MakeGguf(true);
  ASSERT_NE(f, nullptr);
  StatusOr<std::string> t = ChatTemplateFromGguf(*f);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "{{ bos_token }}{{ messages[0].content }}");
  StatusOr<std::string> named = ChatTemplateFromGguf(*f, "tool_use");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, "tools!");
  Json tokens = SpecialTokensFromGguf(*f);
  EXPECT_EQ(tokens.dump(), R"({"bos_token":"<s>","eos_token":"</s>"})");

  Json ctx = Conversation();
  for (const auto& [k, v] : tokens.items()) ctx[k] = v;
  StatusOr<std::string> out = RenderChatTemplate(*t, ctx, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "<s>Be brief.");
}

TEST(ChatTemplateTest, MissingGgufTemplateIsNotFound) {
  std::unique_ptr<GgufFile> f = MakeGguf(false);
  ASSERT_NE(f, nullptr);
  StatusOr<std::string> t = ChatTemplateFromGguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace isv
