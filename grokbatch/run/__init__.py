"""Running a job: `run start` (jobs.py) and the views of past runs (status.py), the runner
and its worker processes, and what crosses between them (worker_protocol.py).

Kept empty: a worker process imports `worker_entry` and `worker_protocol` before it holds a
launch slot, and nothing heavy may come with them.
"""
