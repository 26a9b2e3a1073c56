// The glint binary: `glint serve` runs the server, `glint admin ...` manages a data
// directory (create-user, token, fsck and rebuild-index: tools/fsck.h) and `glint convert` renders
// one transform of a local image (tools/convert.h). Flags are generated from the option table in
// tools/config.cc, so every option is a flag
// (--max-upload-bytes), an environment variable (GLINT_MAX_UPLOAD_BYTES) and a TOML key
// (max_upload_bytes).
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/config.h"
#include "tools/convert.h"
#include "tools/fsck.h"

namespace {

std::string FlagName(const std::string& key) {
  std::string out = "--";
  for (char c : key) out += c == '_' ? '-' : c;
  return out;
}

// Declares every config option as a flag on `cmd`, collecting the ones given into `flags`.
void AddConfigFlags(CLI::App* cmd, std::map<std::string, std::string>& flags,
                    std::string& config_file) {
  cmd->add_option("-c,--config", config_file, "TOML config file (also GLINT_CONFIG)");
  for (const auto& spec : glint::tools::OptionSpecs()) {
    std::string key = spec.key;
    cmd->add_option_function<std::string>(
           FlagName(key), [&flags, key](const std::string& v) { flags[key] = v; },
           spec.help + " [default: " + (spec.default_text.empty() ? "\"\"" : spec.default_text) +
               "]")
        ->type_name("VALUE");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"glint: a self-hosted image server with Gravatar-compatible avatars"};
  app.require_subcommand(1);
  std::map<std::string, std::string> flags;
  std::string config_file;

  CLI::App* serve = app.add_subcommand("serve", "run the HTTP server");
  AddConfigFlags(serve, flags, config_file);

  CLI::App* admin = app.add_subcommand("admin", "manage a data directory");
  admin->require_subcommand(1);
  std::string email, password;
  CLI::App* create_user =
      admin->add_subcommand("create-user", "create an account (the server must be stopped)");
  create_user->add_option("--email", email, "the account's email")->required();
  create_user->add_option("--password", password, "its password (at least 8 bytes)")->required();
  AddConfigFlags(create_user, flags, config_file);
  CLI::App* email_token = admin->add_subcommand(
      "email-token",
      "issue a fresh verification token for an unverified email and print it, for "
      "self-hosters without mail (the server must be stopped)");
  email_token->add_option("--email", email, "the address to verify")->required();
  AddConfigFlags(email_token, flags, config_file);
  CLI::App* token =
      admin->add_subcommand("token", "print the admin bearer token (made if missing)");
  AddConfigFlags(token, flags, config_file);
  bool repair = false;
  CLI::App* fsck = admin->add_subcommand(
      "fsck",
      "verify every blob record and the blob index against the segments (the server must be "
      "stopped); exit 0 when clean, 1 when differences were found, 3 when it could not run");
  fsck->add_flag("--repair", repair,
                 "also fix what can be fixed: re-point, add or delete index rows, drop lost "
                 "variants, truncate a damaged segment tail");
  AddConfigFlags(fsck, flags, config_file);
  CLI::App* rebuild_index = admin->add_subcommand(
      "rebuild-index",
      "recreate the blob index from the segments and the photo, upload and variant rows (the "
      "server must be stopped); exit 0 when every referenced blob is indexed, 1 when some "
      "have no intact record, 3 when it could not run");
  AddConfigFlags(rebuild_index, flags, config_file);

  CLI::App* convert = app.add_subcommand(
      "convert",
      "render one transform of a local image, as the server would for ?QUERY (no server or "
      "data directory needed)");
  std::string convert_in, convert_out, convert_query;
  convert->add_option("IN", convert_in, "source image, JPEG, PNG or WebP (- = stdin)")->required();
  convert->add_option("OUT", convert_out, "where to write the result (- = stdout)")->required();
  convert->add_option("QUERY", convert_query,
                      "the URL query, e.g. 'w=640&q=80&fm=webp'; the output format comes from "
                      "fm (default and fm=auto: the source's), never from OUT's name");

  // Usage errors exit 2 (help exits 0), like a configuration error below.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (convert->parsed()) return glint::tools::ConvertFile(convert_in, convert_out, convert_query);

  glint::tools::Config config;
  config.config_file = config_file;
  if (glint::Status s = glint::tools::LoadConfig(flags, &config); !s.ok()) {
    std::cerr << "glint: " << s.message() << "\n";
    return 2;
  }
  if (serve->parsed()) return glint::tools::Serve(std::move(config));
  if (create_user->parsed())
    return glint::tools::AdminCreateUser(std::move(config), email, password);
  if (token->parsed()) return glint::tools::AdminToken(std::move(config));
  if (email_token->parsed()) return glint::tools::AdminEmailToken(std::move(config), email);
  if (fsck->parsed()) return glint::tools::AdminFsck(config, repair);
  if (rebuild_index->parsed()) return glint::tools::AdminRebuildIndex(config);
  return 2;
}
