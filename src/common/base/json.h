// The JSON type every part of the project uses: nlohmann's ordered_json, so
// that a document read and written again keeps its keys in the order they
// were found (configs, channel frames, --format json output).
#pragma once

#include <nlohmann/json.hpp>

namespace octo {

using Json = nlohmann::ordered_json;

}  // namespace octo
