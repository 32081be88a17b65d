#include "engine/tokenizer/vocab.h"

#include <algorithm>
#include <cctype>

#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/pretokenizer.h"

namespace isv {
namespace {

uint32_t AttrFromType(int64_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;
  }
}

// Reads an optional integer key into *id when present and in range.
Status ReadId(const GgufFile& f, const char* key, int32_t n_tokens, int32_t* id) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return OkStatus();
  if (!v->is_integer()) return InvalidArgumentError(std::string(key) + ": expected an integer");
  int64_t x = v->AsInt();
  if (x >= 0 && x < n_tokens) *id = static_cast<int32_t>(x);
  return OkStatus();
}

Status ReadBool(const GgufFile& f, const char* key, bool* out) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return OkStatus();
  if (!v->is_bool()) return InvalidArgumentError(std::string(key) + ": expected a bool");
  *out = v->AsBool();
  return OkStatus();
}

Status LoadMerges(const GgufFile& f, Vocab* v) {
  const GgufValue* merges = f.Find("tokenizer.ggml.merges");
  if (merges == nullptr) return InvalidArgumentError("tokenizer.ggml.merges: missing (required for gpt2 vocabularies)");
  if (!merges->is_array() || merges->AsArray().element_type() != GgufType::kString) {
    return InvalidArgumentError("tokenizer.ggml.merges: expected an array of strings");
  }
  const GgufArray& items = merges->AsArray();
  v->merge_rank.Reserve(items.size(), items.size() * 8);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string_view m = items.string_at(i);
    const bool has_space = m.find(' ', 1) != std::string_view::npos;
    v->merge_rank.Insert(has_space ? m : std::string_view(" "), static_cast<int32_t>(i),  // " ": "" + ' ' + ""
                         StringIndex::OnDuplicate::kKeepFirst);
  }
  return OkStatus();
}

// Marks `id` CONTROL (llama.cpp overrides control-looking tokens that were typed otherwise).
void MakeControl(Vocab* v, int32_t id) { v->attr[id] |= kAttrControl; }

// Lowest id whose text is one of `names`, or -1 (llama.cpp takes whichever its hash map yields
// first; the lowest id is our deterministic choice).
int32_t FirstOf(const Vocab& v, std::initializer_list<const char*> names) {
  int32_t best = -1;
  for (const char* n : names) {
    int32_t id = v.Find(n);
    if (id >= 0 && (best < 0 || id < best)) best = id;
  }
  return best;
}

// Sets *id (when still unset) to the first token named in `names` and makes it CONTROL.
void Detect(Vocab* v, int32_t* id, std::initializer_list<const char*> names) {
  if (*id >= 0) return;
  *id = FirstOf(*v, names);
  if (*id >= 0) MakeControl(v, *id);
}

// End-of-turn, end-of-message and fill-in-the-middle tokens recognised by their text, as llama.cpp
// does (the texts are its list); fim = {pre, suf, mid, pad, rep, sep}.
void DetectSpecialTokens(Vocab* v, int32_t fim[6]) {
  Detect(v, &v->eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                      "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                      "<end_of_utterance>"});
  Detect(v, &v->eom, {"<|eom_id|>"});
  Detect(v, &fim[0], {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
                      "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"});
  Detect(v, &fim[1], {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
                      "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"});
  Detect(v, &fim[2], {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
                      "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"});
  Detect(v, &fim[3], {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
  Detect(v, &fim[4], {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
  Detect(v, &fim[5], {"<|file_sep|>"});
}

void BuildEogSet(Vocab* v, int32_t fim_pad, int32_t fim_rep, int32_t fim_sep) {
  for (int32_t id : {fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) v->eog.insert(id);
  }
  for (const char* name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                           "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                           "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                           "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~["}) {
    int32_t id = v->Find(name);
    if (id < 0) continue;
    v->eog.insert(id);
    MakeControl(v, id);
  }
  for (const char* name : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {  // gpt-oss: always rendered
    int32_t id = v->Find(name);
    if (id >= 0) v->attr[id] = kAttrUserDefined;
  }
  for (int32_t id : {v->eos, v->eot, v->eom}) {
    if (id >= 0) v->eog.insert(id);
  }
  // o200k_harmony / solar-open: "<|end|>" is not an end token when these are present.
  auto has = [&](const char* s) {
    for (int32_t id : v->eog) {
      if (v->text[id] == s) return id;
    }
    return -1;
  };
  int32_t end_id = has("<|end|>");
  bool calls = has("<|call|>") >= 0 || has("<|calls|>") >= 0;
  if (end_id >= 0 && calls && (has("<|return|>") >= 0 || has("<|flush|>") >= 0)) {
    v->eog.erase(end_id);
    v->attr[end_id] = kAttrUserDefined;
  }
  int32_t s_id = has("</s>");
  if (s_id >= 0 && has("<|tool_response>") >= 0) {
    v->eog.erase(s_id);
    v->attr[s_id] = kAttrNormal;
  }
}

void ApplyModelAttrs(const GgufFile& f, Vocab* v) {
  StatusOr<std::string> name_or = f.GetStringOr("general.name", "");
  std::string name = name_or.ok() ? *name_or : "";
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string arch = f.architecture();
  auto set = [&](const char* text, uint32_t bit, bool on) {
    int32_t id = v->Find(text);
    if (id < 0) return;
    v->attr[id] = on ? (v->attr[id] | bit) : (v->attr[id] & ~bit);
  };
  auto contains = [](const std::string& s, std::initializer_list<const char*> subs) {
    for (const char* x : subs) {
      if (s.find(x) != std::string::npos) return true;
    }
    return false;
  };
  if (contains(v->pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) || contains(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    set("<mask>", kAttrLstrip, true);
  } else if (contains(name, {"phi-3", "phi3"})) {
    for (int32_t id : v->special_tokens) v->attr[id] |= kAttrRstrip;
    set("</s>", kAttrRstrip, true);
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) set(t, kAttrRstrip, false);
  } else if (contains(name, {"modern-bert"})) {
    set("[MASK]", kAttrLstrip, true);
  }
}

Status LoadTokens(const GgufFile& f, Vocab* v) {
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr) return InvalidArgumentError("tokenizer.ggml.tokens: missing");
  if (!tokens->is_array() || tokens->AsArray().element_type() != GgufType::kString) {
    return InvalidArgumentError("tokenizer.ggml.tokens: expected an array of strings");
  }
  const GgufArray& items = tokens->AsArray();
  const size_t n = items.size();
  if (n == 0 || n > 0x7FFFFFFF) return InvalidArgumentError("tokenizer.ggml.tokens: bad token count");
  std::vector<float> scores;
  if (f.Find("tokenizer.ggml.scores") != nullptr) {
    ISV_ASSIGN_OR_RETURN(scores, f.GetFloatArray("tokenizer.ggml.scores"));
    if (scores.size() < n) return InvalidArgumentError("tokenizer.ggml.scores: fewer entries than tokens");
  }
  std::vector<int64_t> types;
  if (f.Find("tokenizer.ggml.token_type") != nullptr) {
    ISV_ASSIGN_OR_RETURN(types, f.GetIntArray("tokenizer.ggml.token_type"));
    if (types.size() < n) return InvalidArgumentError("tokenizer.ggml.token_type: fewer entries than tokens");
  }
  v->text.resize(n);
  v->score.assign(n, 0.0f);
  v->type.assign(n, TokenType::kNormal);
  v->attr.assign(n, kAttrNormal);
  v->text_to_id.Reserve(n, n * 8);
  for (size_t i = 0; i < n; ++i) {
    std::string word(items.string_at(i));
    if (word.empty()) word = "[EMPTY_" + std::to_string(i) + "]";
    v->max_token_len = std::max(v->max_token_len, word.size());
    v->text_to_id.Insert(word, static_cast<int32_t>(i), StringIndex::OnDuplicate::kKeepLast);
    v->text[i] = std::move(word);
    if (!scores.empty()) v->score[i] = scores[i];
    if (!types.empty()) {
      v->attr[i] = AttrFromType(types[i]);
      v->type[i] = (types[i] >= 0 && types[i] <= 6) ? static_cast<TokenType>(types[i]) : TokenType::kUndefined;
    }
  }
  return OkStatus();
}

}  // namespace

int32_t Vocab::MergeRank(std::string_view left, std::string_view right) const {
  if (left.find(' ', 1) != std::string_view::npos) return -1;  // could not come from a merge line
  return merge_rank.Find(left, ' ', right);
}

StatusOr<Vocab> Vocab::Load(const GgufFile& f) {
  Vocab v;
  v.lowercase = true;  // llama.cpp's BertNormalizer defaults
  ISV_ASSIGN_OR_RETURN(std::string model, f.GetString("tokenizer.ggml.model"));
  ISV_ASSIGN_OR_RETURN(v.pre, f.GetStringOr("tokenizer.ggml.pre", ""));
  if (model == "llama") {
    v.kind = VocabKind::kSpm;
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_space_prefix = true, v.clean_spaces = false, v.add_bos = true, v.add_eos = false;
  } else if (model == "bert") {
    v.kind = VocabKind::kWpm;
    v.bos = 101, v.unk = 100, v.sep = 102, v.pad = 0, v.mask = 103;
    v.add_sep = true, v.add_space_prefix = false, v.clean_spaces = true, v.add_bos = true;
  } else if (model == "gpt2") {
    v.kind = VocabKind::kBpe;
    v.bos = 11, v.eos = 11;
    ISV_RETURN_IF_ERROR(LoadMerges(f, &v));
    ISV_ASSIGN_OR_RETURN(PreTokenizerInfo info, ResolvePreTokenizer(v.pre));
    v.clean_spaces = info.clean_spaces;
    v.ignore_merges = info.ignore_merges;
    if (info.force_add_bos) v.add_bos = true;
    if (info.drop_bos) v.bos = -1;
  } else {
    return Status(StatusCode::kUnimplemented, "tokenizer.ggml.model: unsupported tokenizer '" + model + "'");
  }
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.add_space_prefix", &v.add_space_prefix));
  ISV_RETURN_IF_ERROR(LoadTokens(f, &v));

  const int32_t n = v.n_tokens();
  int32_t fim[6] = {-1, -1, -1, -1, -1, -1};  // pre, suf, mid, pad, rep, sep
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.bos_token_id", n, &v.bos));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.eos_token_id", n, &v.eos));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.eot_token_id", n, &v.eot));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.eom_token_id", n, &v.eom));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.unknown_token_id", n, &v.unk));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.seperator_token_id", n, &v.sep));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.padding_token_id", n, &v.pad));
  ISV_RETURN_IF_ERROR(ReadId(f, "tokenizer.ggml.mask_token_id", n, &v.mask));
  const char* fim_keys[6] = {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id",
                             "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_pad_token_id",
                             "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id"};
  const char* old_fim_keys[3] = {"tokenizer.ggml.prefix_token_id", "tokenizer.ggml.suffix_token_id",
                                 "tokenizer.ggml.middle_token_id"};
  for (int i = 0; i < 6; ++i) ISV_RETURN_IF_ERROR(ReadId(f, fim_keys[i], n, &fim[i]));
  for (int i = 0; i < 3; ++i) ISV_RETURN_IF_ERROR(ReadId(f, old_fim_keys[i], n, &fim[i]));
  for (int32_t* id : {&v.bos, &v.eos, &v.unk, &v.sep, &v.pad, &v.mask}) {
    if (*id >= n) *id = -1;  // a default that does not exist in this vocabulary
  }
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.add_bos_token", &v.add_bos));
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.add_eos_token", &v.add_eos));
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.add_sep_token", &v.add_sep));
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.normalizer.lowercase", &v.lowercase));
  v.strip_accents = v.lowercase;
  ISV_RETURN_IF_ERROR(ReadBool(f, "tokenizer.ggml.normalizer.strip_accents", &v.strip_accents));

  DetectSpecialTokens(&v, fim);
  for (int32_t id = 0; id < n; ++id) {  // control tokens named "unused" are unused
    if ((v.attr[id] & kAttrControl) && v.text[id].find("unused") != std::string::npos) v.attr[id] |= kAttrUnused;
  }
  BuildEogSet(&v, fim[3], fim[4], fim[5]);

  for (int32_t id = 0; id < n; ++id) {
    if (v.attr[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(id);
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.text[a].size() > v.text[b].size(); });
  ApplyModelAttrs(f, &v);
  return v;
}

}  // namespace isv
