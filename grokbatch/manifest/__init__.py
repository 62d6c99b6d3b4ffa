"""The manifest: one job's work queue and run record, shared by every worker process.

- `document`: what the record holds (statuses, fresh items, counts by status);
- `schema`: the check every read makes before grokbatch trusts a file;
- `store`: `Manifest`, the file under its lock, and the queue (claim, update, release,
  renew, requeue);
- `resume`: what a rerun puts back in the queue, and how a job grows.
"""

from grokbatch.manifest.document import (
    SCHEMA_VERSION,
    Item,
    ItemStatus,
    ManifestDocument,
    RunStatus,
    SiteGeneration,
    failed_by_kind,
    new_item,
    started_on_site,
    status_counts,
)
from grokbatch.manifest.resume import attempts_used_up, retried_by_rerun
from grokbatch.manifest.store import DEFAULT_LEASE, Manifest, read_manifest_file

__all__ = [
    "DEFAULT_LEASE",
    "SCHEMA_VERSION",
    "Item",
    "ItemStatus",
    "Manifest",
    "ManifestDocument",
    "RunStatus",
    "SiteGeneration",
    "attempts_used_up",
    "failed_by_kind",
    "new_item",
    "read_manifest_file",
    "retried_by_rerun",
    "started_on_site",
    "status_counts",
]
