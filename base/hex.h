// Lower-case hexadecimal text for hashes, tokens and ids. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace glint {

std::string HexEncode(std::string_view bytes);
// Decodes an even-length hex string (either case); nullopt on any other character.
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace glint
