// Image files of the catalog: where a stored image path points and how a
// deleted book's files leave the disk. Files live under <VAR_DIR>/media and
// nginx serves them as /media/*; the database stores the public path
// ("/media/originals/x.jpg") or one relative to the media folder. Private to
// shared/src/catalog.
#pragma once

#include <string>

namespace bazaar::catalog {

// The public URL path of a stored image path.
std::string public_media_path(const std::string& stored);

// Unlinks the file of `public_path` under <var_dir>/media; a path that would
// leave the media folder is ignored, a missing file is fine, any other
// failure is logged (the row is already gone: an orphan file is harmless).
void remove_media_file(const std::string& var_dir, const std::string& public_path);

}  // namespace bazaar::catalog
