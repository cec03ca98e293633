// bazaar-worker: runs the background jobs of every queue registered in
// workers/jobs/ (see job_registry.hpp and worker.hpp).
#include "worker.hpp"

int main() {
    return bazaar::worker::worker_main("bazaar-worker");
}
