// OpenAI image_url content parts on a real pair: a synth tiny-llama language model and a matching
// synth clip-tiny mmproj (projection width = the model's n_embd), written at test time. Greedy
// generation through the HTTP API must equal greedy generation run here directly on the engine,
// with the prompt tokenized and the image embedded and spliced by this test (ChatML written out,
// Batch::AddEmbedding); the prefix cache must hit on the same image and not across images.
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/server_testutil.h"
#include "core/thread_pool.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/synth/synth_mmproj.h"
#include "engine/synth/synth_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/vision/clip_encoder.h"
#include "engine/vision/clip_model.h"
#include "engine/vision/image.h"
#include "serving/engine_loader.h"

namespace isv {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A w x h RGB PNG (libpng's simplified writer) with a pattern that depends on `seed`.
std::string MakePng(int w, int h, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) px[(static_cast<size_t>(y) * w + x) * 3 + c] = uint8_t((x * 7 + y * 13 + c * 50) * seed);
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr)) return {};
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr)) return {};
  out.resize(size);
  return out;
}

class VisionChat : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(std::string(ISV_SHARED_DIR) + "/testdata/models/stories260K.gguf")) return;
    dir_ = new fs::path(fs::temp_directory_path() / ("isv_vision_pair_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    SynthOptions o;
    o.shape = "tiny-llama";
    o.out_path = (*dir_ / "lm.gguf").string();
    o.vocab_search_dirs = {ISV_SHARED_DIR};
    o.n_threads = 1;
    StatusOr<SynthResult> r = WriteSynthModel(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    SynthMmprojOptions mo;
    mo.shape = "clip-tiny";
    mo.type = GgmlType::kF32;
    mo.n_embd_text = 256;
    Status s = WriteSynthMmproj(mo, (*dir_ / "mmproj.gguf").string());
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::ofstream(*dir_ / "bad_mmproj.gguf") << "not a gguf file";
    fs::create_directories(*dir_ / "images");
    std::ofstream(*dir_ / "images" / "a.png", std::ios::binary) << MakePng(40, 30, 3);
    std::ofstream(*dir_ / "secret.png", std::ios::binary) << MakePng(40, 30, 3);
    fs::create_symlink(*dir_ / "secret.png", *dir_ / "images" / "link.png");
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { StartServer("vlm", ""); }
  void StartServer(const std::string& vision_id, const std::string& image_dir) {
    if (dir_ == nullptr) GTEST_SKIP() << "../shared/testdata absent";
    const std::string yaml = "models:\n  vlm:\n    file: " + (*dir_ / "lm.gguf").string() + "\n    mmproj: " +
                             (*dir_ / "mmproj.gguf").string() +
                             "\n    context_length: 256\n    parallel: 2\n  text:\n    file: " +
                             (*dir_ / "lm.gguf").string() + "\n    context_length: 256\n  broken:\n    file: " +
                             (*dir_ / "lm.gguf").string() + "\n    mmproj: " + (*dir_ / "bad_mmproj.gguf").string() +
                             "\n    context_length: 256\n";
    EngineOptions eo;
    eo.threads = 1;
    server_.reset();
    server_ = std::make_unique<TestServer>("vision_chat", std::vector<std::string>{}, yaml, "",
                                           std::make_unique<EngineLoader>(eo), [&](ServeConfig& c) {
                                             c.vision_model_id = vision_id;
                                             c.vision_image_dir = image_dir;
                                           });
    ASSERT_TRUE(server_->ok()) << server_->error();
    // Listening before anything else (a server shut down before it listens would never return).
    for (int i = 0; i < 200 && !server_->client().Get("/health"); ++i) usleep(10000);
  }

  static json ChatBody(const std::string& model, const std::string& url, int max_tokens = 8) {
    return {{"model", model},
            {"temperature", 0},
            {"max_tokens", max_tokens},
            {"messages",
             {{{"role", "user"},
               {"content",
                {{{"type", "text"}, {"text", "What is in this picture?"}},
                 {{"type", "image_url"}, {"image_url", {{"url", url}}}}}}}}}};
  }

  // Greedy generation straight on the engine: ChatML written out, text pieces tokenized around
  // the image, the image's rows fed with Batch::AddEmbedding. Returns the text and prompt length.
  static std::pair<std::string, int> DirectGreedy(const std::string& png, int max_tokens,
                                                  const std::string& before_text =
                                                      "<|im_start|>user\nWhat is in this picture?\n",
                                                  const std::string& after_text =
                                                      "<|im_end|>\n<|im_start|>assistant\n") {
    auto model = Model::Load((*dir_ / "lm.gguf").string());
    EXPECT_TRUE(model.ok());
    auto tok = Tokenizer::FromGguf((*model)->file());
    auto clip = ClipVisionModel::Open((*dir_ / "mmproj.gguf").string());
    EXPECT_TRUE(tok.ok() && clip.ok());
    auto image = DecodeImage(png);
    EXPECT_TRUE(image.ok());
    ThreadPool pool(1);
    auto emb = EmbedImage(**clip, *image, pool);
    EXPECT_TRUE(emb.ok());
    std::vector<int32_t> before = (*tok)->Encode(before_text, true, true);
    std::vector<int32_t> after = (*tok)->Encode(after_text, false, true);
    auto ctx = Context::Create(**model, {.n_ctx = 256, .n_threads = 1});
    EXPECT_TRUE(ctx.ok());
    Batch b;
    int32_t pos = 0;
    for (int32_t t : before) b.Add(t, pos++, 0, false);
    for (int r = 0; r < emb->n_tokens; ++r)
      b.AddEmbedding(emb->data.data() + static_cast<size_t>(r) * emb->n_embd, emb->n_embd, pos++, 0, false);
    for (int32_t t : after) b.Add(t, pos++, 0, false);
    b.want_logits.back() = 1;
    const int n_prompt = pos;
    std::vector<int32_t> out;
    for (int i = 0; i < max_tokens; ++i) {
      EXPECT_TRUE((*ctx)->Forward(b).ok());
      std::span<const float> l = (*ctx)->Logits(0);
      int32_t best = 0;
      for (size_t v = 1; v < l.size(); ++v) {
        if (l[v] > l[best]) best = static_cast<int32_t>(v);
      }
      if ((*tok)->IsEog(best)) break;
      out.push_back(best);
      b.Clear();
      b.Add(best, pos++, 0, true);
    }
    // The server sends JSON, where bytes that are not UTF-8 become U+FFFD: compare that form.
    const std::string raw = (*tok)->Decode(out, true, false);
    return {json::parse(json(raw).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>(), n_prompt};
  }

  static fs::path* dir_;
  std::unique_ptr<TestServer> server_;
};

fs::path* VisionChat::dir_ = nullptr;

TEST_F(VisionChat, GreedyAnswerEqualsEngineWithSplicedEmbeddings) {
  const std::string png = MakePng(40, 30, 3);
  ASSERT_FALSE(png.empty());
  auto res = server_->Post("/v1/chat/completions", ChatBody("vlm", "data:image/png;base64," + Base64(png)).dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  auto [text, n_prompt] = DirectGreedy(png, 8);
  EXPECT_EQ(j["choices"][0]["message"]["content"].get<std::string>(), text);
  EXPECT_EQ(j["usage"]["prompt_tokens"].get<int>(), n_prompt);  // 16 image rows included
  EXPECT_GT(n_prompt, 16);
}

TEST_F(VisionChat, SameImageHitsPrefixCacheOtherImageDoesNot) {
  const std::string a = MakePng(32, 32, 1), b = MakePng(32, 32, 5);
  const std::string body_a = ChatBody("vlm", "data:image/png;base64," + Base64(a)).dump();
  auto r1 = server_->Post("/v1/chat/completions", body_a);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->status, 200) << r1->body;
  auto r2 = server_->Post("/v1/chat/completions", body_a);
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200) << r2->body;
  json j1 = json::parse(r1->body), j2 = json::parse(r2->body);
  EXPECT_EQ(j1["choices"][0]["message"]["content"], j2["choices"][0]["message"]["content"]);
  EXPECT_EQ(j1["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
  const int n_prompt = j2["usage"]["prompt_tokens"].get<int>();
  const int cached_same = j2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>();
  EXPECT_GE(cached_same, (n_prompt - 1) / 16 * 16);  // every full block but the last token's
  EXPECT_GT(cached_same, 16);

  // Image b: the text before the image is shared, the image's blocks are not.
  auto r3 = server_->Post("/v1/chat/completions", ChatBody("vlm", "data:image/png;base64," + Base64(b)).dump());
  ASSERT_TRUE(r3);
  ASSERT_EQ(r3->status, 200) << r3->body;
  json j3 = json::parse(r3->body);
  auto [text_b, n_b] = DirectGreedy(b, 8);
  std::vector<int32_t> before;  // length of the text before the image
  {
    auto model = Model::Load((*dir_ / "lm.gguf").string());
    auto tok = Tokenizer::FromGguf((*model)->file());
    before = (*tok)->Encode("<|im_start|>user\nWhat is in this picture?\n", true, true);
  }
  EXPECT_LE(j3["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(),
            static_cast<int>(before.size()) / 16 * 16);
  EXPECT_EQ(j3["choices"][0]["message"]["content"].get<std::string>(), text_b);
  EXPECT_EQ(n_b, n_prompt);
}

TEST_F(VisionChat, Errors) {
  const std::string png = MakePng(8, 8, 2);
  struct Case {
    std::string model, url, param, message_part;
  } cases[] = {
      {"vlm", "https://example.com/cat.png", "messages[0].content[1].image_url.url", "remote"},
      {"text", "data:image/png;base64," + Base64(png), "messages[0].content[1]", "no mmproj"},
      {"vlm", "data:image/png;base64," + Base64("this is not an image at all"), "messages[0].content[1]",
       "messages[0].content[1]"},
      {"vlm", "data:image/png;base64,@@@", "messages[0].content[1].image_url.url", "base64"},
  };
  for (const Case& c : cases) {
    auto res = server_->Post("/v1/chat/completions", ChatBody(c.model, c.url).dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.url << " " << res->body;
    json j = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(j.contains("error")) << res->body;
    EXPECT_EQ(j["error"]["param"], c.param) << res->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.message_part), std::string::npos) << res->body;
  }
}

// --- the seed's /api/v1/vision/* ---

const char kPromptAfter[] = "\nIs it technical?<|im_end|>\n<|im_start|>assistant\n";

TEST_F(VisionChat, ClassifyBase64AndPathGiveTheEngineAnswerInTheSeedSchema) {
  StartServer("vlm", (*dir_ / "images").string());
  const std::string png = MakePng(40, 30, 3);
  auto [text, n_prompt] = DirectGreedy(png, 6, "<|im_start|>user\n", kPromptAfter);
  for (const json& body : {json{{"image_base64", Base64(png)}, {"prompt", "Is it technical?"}, {"max_tokens", 6},
                                {"temperature", 0}},
                           json{{"image_path", "a.png"}, {"prompt", "Is it technical?"}, {"max_tokens", 6},
                                {"temperature", 0}},
                           json{{"image_path", (*dir_ / "images" / "a.png").string()},
                                {"prompt", "Is it technical?"}, {"max_tokens", 6}, {"temperature", 0}}}) {
    auto res = server_->Post("/api/v1/vision/classify", body.dump());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json j = json::parse(res->body);
    EXPECT_EQ(j["raw_response"].get<std::string>(), text);
    const std::string label = j["classification"].get<std::string>();
    EXPECT_TRUE(label == "technical" || label == "discard") << label;
    EXPECT_GE(j["confidence"].get<double>(), 0.0);
    EXPECT_LE(j["confidence"].get<double>(), 1.0);
    EXPECT_EQ(j["model_id"], "vlm");
    EXPECT_EQ(j["usage"]["prompt_tokens"].get<int>(), n_prompt);
    EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
              j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
  }
}

TEST_F(VisionChat, ImagePathOnlyInsideTheImageDir) {
  StartServer("vlm", (*dir_ / "images").string());
  struct Case {
    std::string path;
    int status;
  } cases[] = {{"../secret.png", 403}, {(*dir_ / "secret.png").string(), 403}, {"link.png", 403},
               {"/etc/passwd", 403}, {"missing.png", 404}};
  for (const Case& c : cases) {
    auto res = server_->Post("/api/v1/vision/classify", json{{"image_path", c.path}}.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.path << " " << res->body;
    EXPECT_EQ(json::parse(res->body)["error"]["param"], "image_path") << res->body;
  }
  StartServer("vlm", "");  // no INFERENCE_VISION_IMAGE_DIR: image_path refused
  auto res = server_->Post("/api/v1/vision/classify", json{{"image_path", "a.png"}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403) << res->body;
  EXPECT_NE(res->body.find("INFERENCE_VISION_IMAGE_DIR"), std::string::npos) << res->body;
}

TEST_F(VisionChat, HealthLoadUnloadAndBatch) {
  StartServer("vlm", (*dir_ / "images").string());
  auto h = server_->client().Get("/api/v1/vision/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200) << h->body;
  json hj = json::parse(h->body);
  EXPECT_EQ(hj["status"], "healthy");
  EXPECT_EQ(hj["model_loaded"], false);
  auto l = server_->Post("/api/v1/vision/load", "");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->status, 200) << l->body;
  EXPECT_EQ(json::parse(l->body), (json{{"status", "loaded"}, {"model_id", "vlm"}}));
  EXPECT_EQ(json::parse(server_->client().Get("/api/v1/vision/health")->body)["model_loaded"], true);

  auto b = server_->Post("/api/v1/vision/classify/batch",
                         json{{"image_paths", {"a.png", "missing.png"}}, {"max_tokens", 2}}.dump());
  ASSERT_TRUE(b);
  ASSERT_EQ(b->status, 200) << b->body;
  json bj = json::parse(b->body);
  EXPECT_EQ(bj["total_images"], 2);
  EXPECT_EQ(bj["successful"], 1);
  EXPECT_EQ(bj["failed"], 1);
  EXPECT_EQ(bj["model_id"], "vlm");
  EXPECT_TRUE(bj["results"][0]["error"].is_null());
  EXPECT_TRUE(bj["results"][0]["classification"].is_string());
  EXPECT_TRUE(bj["results"][1]["error"].is_string());
  EXPECT_EQ(bj["results"][1]["image_path"], "missing.png");
  EXPECT_GE(bj["processing_time_seconds"].get<double>(), 0.0);

  auto u = server_->Post("/api/v1/vision/unload", "");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, 200);
  EXPECT_EQ(json::parse(u->body), (json{{"status", "unloaded"}}));
  EXPECT_EQ(json::parse(server_->client().Get("/api/v1/vision/health")->body)["model_loaded"], false);
}

TEST_F(VisionChat, VisionModelProblemsAre503WithSpecificCodes) {
  const std::string png_body = json{{"image_base64", Base64(MakePng(8, 8, 1))}}.dump();
  struct Case {
    std::string id, code;
  } cases[] = {{"vikhyatk/moondream2", "vision_model_not_configured"},
               {"text", "vision_model_without_mmproj"},
               {"broken", "vision_model_load_failed"}};
  for (const Case& c : cases) {
    StartServer(c.id, "");
    auto res = server_->Post("/api/v1/vision/classify", png_body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503) << c.id << " " << res->body;
    EXPECT_EQ(json::parse(res->body)["error"]["code"], c.code) << res->body;
    auto load = server_->Post("/api/v1/vision/load", "");
    EXPECT_EQ(load->status, 503) << load->body;
    EXPECT_EQ(json::parse(load->body)["error"]["code"], c.code) << load->body;
  }
  StartServer("vikhyatk/moondream2", "");
  EXPECT_EQ(server_->client().Get("/api/v1/vision/health")->status, 503);
}

TEST_F(VisionChat, ClassifyRequestErrors) {
  StartServer("vlm", "");
  struct Case {
    json body;
    std::string param;
  } cases[] = {{json::object(), "image_path"},
               {{{"image_path", "a"}, {"image_base64", "b"}}, "image_path"},
               {{{"image_base64", "@@@"}}, "image_base64"},
               {{{"image_base64", "aGVsbG8="}, {"max_tokens", 0}}, "max_tokens"},
               {{{"image_base64", "aGVsbG8="}, {"temperature", 3}}, "temperature"},
               {{{"image_base64", Base64("not an image")}}, "image"}};
  for (const Case& c : cases) {
    auto res = server_->Post("/api/v1/vision/classify", c.body.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.body.dump() << " " << res->body;
    EXPECT_EQ(json::parse(res->body)["error"]["param"], c.param) << res->body;
  }
}

}  // namespace
}  // namespace isv
