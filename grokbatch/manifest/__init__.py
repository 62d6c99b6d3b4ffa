"""The manifest: one job's work queue and run record, shared by every worker process.

- `document`: what the record holds (statuses, fresh items, counts by status);
- `schema`: the check every read makes before grokbatch trusts a file;
- `store`: `Manifest`, the file under its lock, and the queue (claim, update, release,
  renew, requeue);
- `resume`: what a rerun puts back in the queue, what is left of saving a made video, and
  how a job grows.
"""

from grokbatch.manifest.document import (
    SCHEMA_VERSION,
    HdVideo,
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
from grokbatch.manifest.resume import (
    DELETE,
    HD_FILE,
    UPSCALE,
    VIDEO_FILE,
    Saving,
    attempts_used_up,
    file_saved,
    files_lost,
    left_to_save,
    not_saved_in_full,
    retried_by_rerun,
)
from grokbatch.manifest.store import DEFAULT_LEASE, ROOM_PER_WRITE, Manifest, read_manifest_file

__all__ = [
    "DEFAULT_LEASE",
    "DELETE",
    "HD_FILE",
    "ROOM_PER_WRITE",
    "SCHEMA_VERSION",
    "UPSCALE",
    "VIDEO_FILE",
    "HdVideo",
    "Item",
    "ItemStatus",
    "Manifest",
    "ManifestDocument",
    "RunStatus",
    "Saving",
    "SiteGeneration",
    "attempts_used_up",
    "failed_by_kind",
    "file_saved",
    "files_lost",
    "left_to_save",
    "new_item",
    "not_saved_in_full",
    "read_manifest_file",
    "retried_by_rerun",
    "started_on_site",
    "status_counts",
]
