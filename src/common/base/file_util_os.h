// What each platform's file seam (file_util.cc, file_util_win.cc) gives
// the portable half (file_util_common.cc). Internal to src/common/base.
#pragma once

#include <string>

#include "common/base/file_util.h"

namespace octo {

// Opens (creating) `path` + ".lock"; the handle closes it when released.
Result<FileLock> OpenLockFile(const std::string& path);
// One attempt at the exclusive lock: true when taken, false when another
// holder has it; an error otherwise.
Result<bool> TryLockFile(const FileLock& lock, const std::string& path);

}  // namespace octo
