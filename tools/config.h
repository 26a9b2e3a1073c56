// glint's configuration: defaults that run out of the box on one machine, overridden in
// order by a TOML file, GLINT_* environment variables and command-line flags. Every option
// is declared once in Options() (config.cc) with its help text; `glint serve --help` lists
// them all. Also the start-up and shutdown of a whole server (stores, service, HTTP).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/event_trimmer.h"
#include "core/badge.h"
#include "core/events.h"
#include "core/notifier.h"
#include "core/purger.h"
#include "core/renditions.h"
#include "core/service.h"
#include "core/transformer.h"
#include "http/handlers.h"
#include "http/purge_client.h"
#include "http/redis_streams.h"
#include "http/server.h"
#include "http/smtp_mailer.h"
#include "http/webhook_client.h"
#include "storage/blob_store.h"
#include "storage/compactor.h"
#include "storage/s3_client.h"
#include "storage/tiering.h"

namespace glint::tools {

struct Config {
  std::string data_dir = "./var";
  std::string config_file;  // TOML; empty = none
  http::ServerOptions server;
  http::ApiOptions api;
  core::ServiceOptions service;
  core::BadgeOptions badges;
  storage::BlobStoreOptions blobs;
  storage::CompactorOptions compactor;
  storage::S3Config s3;  // tiering is on when s3.endpoint is set
  storage::TieringOptions tiering;
  core::TransformerOptions transformer;
  core::RenditionOptions renditions;
  http::SmtpOptions smtp;                  // mail is sent when smtp.url is set, else logged
  std::vector<std::string> purge_targets;  // http/purge_client.h ParsePurgeTarget specs
  core::PurgerOptions purger;
  uint64_t purge_timeout_ms = 5000;
  std::vector<core::WebhookEndpoint> webhooks;  // http/webhook_client.h ParseWebhook specs
  core::NotifierOptions notifier;
  core::TrimmerOptions trimmer;  // event-log retention
  uint64_t webhook_timeout_ms = 5000;
  http::RedisStreamsOptions redis;  // the event log is published when redis.url is set
  unsigned blocking_threads = 4;
  std::string log_level = "info";
  uint64_t kdf_memlimit_kib = 0;  // 0 = libsodium's INTERACTIVE limits
  uint64_t kdf_opslimit = 0;
};

struct OptionSpec {
  std::string key;  // "max_upload_bytes"; env GLINT_MAX_UPLOAD_BYTES; flag --max-upload-bytes
  std::string help;
  std::string default_text;
};

// Every option, in --help order.
std::vector<OptionSpec> OptionSpecs();

// Applies layers: `file` (TOML, may be empty), the environment, then `flags` (key -> value).
// Errors (kInvalidArgument) name the option and the layer it came from.
Status LoadConfig(const std::map<std::string, std::string>& flags, Config* config);

// Opens the stores in config.data_dir, makes or reads the signing key and admin token
// (files under data_dir, mode 0600) and serves until SIGINT/SIGTERM. Returns the exit code.
int Serve(Config config);

// `glint admin create-user`: creates an account directly in the data directory (the server
// must not be running on it). Prints the account as JSON. Returns the exit code.
int AdminCreateUser(Config config, const std::string& email, const std::string& password);
// `glint admin email-token`: a fresh verification token for an unverified address, printed
// as JSON with how to use it (the server must not be running on the data directory).
int AdminEmailToken(Config config, const std::string& email);
// `glint admin token`: prints the admin token (making it if missing).
int AdminToken(Config config);

}  // namespace glint::tools
