// Base64 decoding and `data:` URLs, for images sent inline (the seed's `image_base64`, OpenAI's
// `image_url: {url: "data:image/png;base64,..."}`).
//
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace isv {

// Decodes standard base64 (RFC 4648 alphabet A-Z a-z 0-9 + /; the URL-safe - and _ are accepted
// too). ASCII whitespace is skipped; '=' padding is optional but, when present, must be correct
// and final. InvalidArgument (naming the offset) for any other character or a dangling 1-char group.
StatusOr<std::string> DecodeBase64(std::string_view text);

// A parsed `data:` URL.
struct DataUrl {
  std::string media_type;  // "image/png"; "" when the URL names none
  std::string bytes;       // decoded payload
};

// Parses "data:[<media type>][;<param>...];base64,<payload>". Only base64 payloads are accepted
// (images are binary). InvalidArgument when the text is not such a URL or the payload is not valid
// base64.
StatusOr<DataUrl> ParseDataUrl(std::string_view url);

// The image bytes of `text`: a `data:` URL's payload, or else `text` read as plain base64 (the
// seed's `image_base64` field carries either).
StatusOr<std::string> DecodeImagePayload(std::string_view text);

}  // namespace isv
