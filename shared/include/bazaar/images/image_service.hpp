// Book images (API.md §3 "Images"): upload, processing, deletion, cleanup.
//
// Files live under <BAZAAR_VAR_DIR>/media/, which nginx serves as /media/:
//   originals/<32 hex>.<jpg|png|webp>       the upload without its metadata
//                                            (strip_metadata: no location, camera)
//   optimized/<same hex>-150x150.jpg         centre crop
//   optimized/<same hex>-600x600.jpg         fit in 600x600, progressive
//   optimized/<same hex>.webp                fit in 600x600
// Names are random (128 bits), never derived from client input, so they are
// neither guessable nor a path-traversal vector. The images row stores the
// public URLs; a row exists only for files written before it (the file is
// written first, the row and its job commit together through the outbox),
// so a crash leaves orphan files at worst, which image-orphan-cleanup removes.
//
// Lifecycle: processing → ready (variants written, `image.ready` sent to
// room role:admin) or failed (with a reason: corrupt, truncated, hostile).
// Every change invalidates the book's read cache (catalog/cache_scopes.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bazaar/backends.hpp"
#include "bazaar/images/vips_engine.hpp"

namespace bazaar::images {

inline constexpr const char* kQueue = "images";
inline constexpr const char* kProcessJob = "process";
inline constexpr const char* kCleanupJob = "image-orphan-cleanup";
inline constexpr std::size_t kMaxImageBytes = 10u << 20;  // 413 above

// POST /books/:id/images: validates (413 above kMaxImageBytes), stores the
// original, inserts the row and enqueues its job in one transaction.
// Returns the API shape {id, status:"processing", original}.
nlohmann::json upload(Backends& b, std::int64_t book_id, std::string_view content_type,
                      std::string_view body);

// DELETE /books/:id/images/:imageId: the row, then its files. 404 when the
// image does not exist or belongs to another (or a deleted) book.
void remove(Backends& b, std::int64_t book_id, std::int64_t image_id);

struct ProcessOutcome {
    std::string status;  // "ready", "failed", or "skipped" (row gone or already done)
    std::string reason;  // when failed
};
// The job: writes the variants and marks the row. A corrupt or hostile image
// is a result (status failed), not an exception; exceptions mean "retry"
// (Postgres or Redis unreachable, disk full).
ProcessOutcome process(Backends& b, std::int64_t image_id, PixelBudget& budget);

struct CleanupOutcome {
    int files_removed = 0;
    int requeued = 0;  // rows stuck in processing, given a new job
    int given_up = 0;  // rows stuck for too long, marked failed
};
// Removes media files older than `grace_s` that no row references (and
// leftover temporary files), re-enqueues rows in `processing` untouched for
// `stuck_after_s`, and fails those older than a day.
CleanupOutcome cleanup(Backends& b, std::int64_t grace_s, std::int64_t stuck_after_s);

}  // namespace bazaar::images
