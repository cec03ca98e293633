#include "media_files.hpp"

#include <unistd.h>

#include <cerrno>

#include "bazaar/log.hpp"

namespace bazaar::catalog {

std::string public_media_path(const std::string& stored) {
    if (stored.rfind("/media/", 0) == 0) return stored;
    if (!stored.empty() && stored.front() == '/') return stored;
    return "/media/" + stored;
}

void remove_media_file(const std::string& var_dir, const std::string& public_path) {
    std::string rel = public_path;
    if (rel.rfind("/media/", 0) == 0) rel = rel.substr(7);
    if (rel.empty() || rel.front() == '/' || rel.find("..") != std::string::npos) return;
    std::string path = var_dir + "/media/" + rel;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        log::warn("could not remove image file", {{"file", path}});
}

}  // namespace bazaar::catalog
