// The data.import pipeline job: catalog feeds dropped in
// <BAZAAR_VAR_DIR>/import/ become books, keyed by ISBN (docs/pipelines.md "Catalog
// import"; row format in feed_reader.hpp).
//
// Design:
//   - Streamed: rows are read one at a time and written in batches
//     (kBatchRows per transaction), so memory is one batch whatever the
//     file's size.
//   - Idempotent by ISBN: an ISBN not among live books is inserted; a live
//     book with it is updated only when a value differs (IS DISTINCT FROM),
//     so running the same feed again changes nothing and counts every row
//     "unchanged". A later row of the same ISBN wins over an earlier one.
//   - Bad rows (unparsable, failing the catalog's rules, bad ISBN check
//     digit) are reported with their line number and reason; they never
//     stop the file.
//   - Each batch is framed by the read cache's invalidations
//     (cache::around_write on `books` and `tags`), and the changed books'
//     own scopes are invalidated after commit; changed books' Redis stock
//     counters are dropped (orders/stock.hpp: always safe) and their
//     stock_seq bumped, because the feed sets stock absolutely.
//   - Claiming: a file is renamed into import/processing/<jobId>/ before it
//     is read (rename is atomic: two workers never import one file), and
//     to import/done/ or import/failed/ (unknown format, bad header) after,
//     stamped with the time, so nothing is imported twice by accident. A
//     run that dies mid-file leaves it in its processing folder, where the
//     same job's retry (same id) picks it up again; being idempotent, the
//     rows already written are "unchanged" the second time.
//   - Names starting with '.' are ignored: write a feed under a dot name and
//     rename it when complete, so a half-copied file is never read.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines {

inline constexpr std::size_t kBatchRows = 500;
inline constexpr std::size_t kMaxReportedBadRows = 1000;

struct ImportHooks {
    // After each batch: {file, lines, imported, updated, unchanged, bad}.
    std::function<void(const nlohmann::json&)> progress;
    // Polled between batches; true stops the import (throws ImportCancelled).
    std::function<bool()> cancelled;
};

class ImportCancelled : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Thrown for a request that can never succeed (a named file that is not
// there, a name with a path in it).
class ImportRefused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Imports `file` (a bare name in import/), or every feed file waiting there
// (and any this job had claimed before a crash) when it is empty, in name
// order. `job_id` names the claim folder. Returns
// {files:[{file, format, lines, imported, updated, unchanged, badCount, bad:[{line, reason}],
// movedTo, error?}], imported, updated, unchanged, badCount}.
// Throws on Postgres/Redis outages (the job retries).
nlohmann::json import_feeds(Backends& b, const std::string& job_id, const std::string& file,
                            const ImportHooks& hooks, std::size_t batch_rows = kBatchRows);

// <var>/import, the drop folder.
std::string import_dir(const Config& c);

}  // namespace bazaar::pipelines
