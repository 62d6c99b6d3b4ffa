"""What the runner's fork server loads before it starts any worker (see worker_entry.py).

Imported only by that server, and so present in every worker, which it forks: each
worker starts with Playwright and the site code already imported, and the workers share
the pages of those modules with the server instead of each holding its own copy.
"""

import gc
import signal
import warnings

import grokbatch.run.worker  # noqa: F401  every heavy import a worker makes
from grokbatch.heap import steady_heap

# Every worker's C heap gives back the large blocks it frees, such as a manifest's text.
steady_heap()

# The server lives in the runner's process group. A SIGTERM or SIGHUP sent to the group
# must not end it: the runner would take every worker for dead. It ends all the same once
# the runner and its workers are gone (multiprocessing closes it then). Workers set both
# back (worker_entry.worker_process).
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
# A worker whose shared driver dies under it leaves Playwright calls that will never be
# awaited, and Python would warn of each on the run's console, with a line about
# tracemalloc. The worker says in its own words that its driver is gone.
warnings.filterwarnings("ignore", message=r"coroutine .* was never awaited",
                        category=RuntimeWarning)
# Keep the collector off the objects imported so far: collecting writes to the pages that
# hold them, and each worker would get its own copy of every page written.
gc.freeze()
