// The image.orphans pipeline job: media files and image rows that no longer
// belong together.
//   - files under media/originals and media/optimized that no images row
//     references, older than the grace period (an upload writes its file
//     before its row commits: a young file may be an upload in flight);
//   - rows in processing untouched for `stuck_after_s`, given a new job
//     (failed for good after a day) — both by images::cleanup, the images
//     module's own sweep, reused as is;
//   - rows (ready or failed, older than the grace period) whose original
//     file is gone: removed through images::remove, which deletes the row,
//     its remaining files and invalidates the book's cached reads.
#pragma once

#include <cstdint>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines {

struct ImageOrphansOutcome {
    int files_removed = 0;
    int rows_removed = 0;
    int requeued = 0;
    int given_up = 0;
};

ImageOrphansOutcome clean_image_orphans(Backends& b, std::int64_t grace_s,
                                        std::int64_t stuck_after_s);

}  // namespace bazaar::pipelines
