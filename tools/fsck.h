// `glint admin fsck [--repair]` and `glint admin rebuild-index`: open a stopped server's data
// directory, run core/fsck.h and print what it found. The report goes to standard output; a
// progress line goes to standard error at most once a second while a run takes longer than
// a second (so a small store prints only its report).
//
// Exit codes (also in docs/operations.md):
//   fsck           0 clean; 1 differences found (with --repair: whether or not all were
//                  repaired; run it again to confirm); 3 could not run (the data directory is
//                  missing or in use by a running server, or a store failed).
//   rebuild-index  0 every referenced blob is indexed; 1 rebuilt, but some photos or pending
//                  uploads have no intact record (each is named); 3 could not run.
// (2 is a usage or configuration error, as for every glint command.)
#pragma once

#include "tools/config.h"

namespace glint::tools {

inline constexpr int kExitClean = 0;
inline constexpr int kExitDifferences = 1;
inline constexpr int kExitCannotRun = 3;

int AdminFsck(const Config& config, bool repair);
int AdminRebuildIndex(const Config& config);

}  // namespace glint::tools
