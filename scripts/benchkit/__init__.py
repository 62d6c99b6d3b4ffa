"""The benchmark behind scripts/bench.py, one module per job.

cli (command line, order of the parts) -> the parts: runs and memory, startup, longrun,
profile_copy, manifest_latency, baseline (startup also measures the memory floor:
floor, with scripts/floor_probe.py) -> report (tables) and targets (verdicts, the
issue's table). Beneath them: spawn (grokbatch commands as subprocesses), sampler and
memory (what a run's process tree costs), proctree (/proc, shared with
scripts/measure_flags.py), timeline (start-up phases), numbers (percentiles, cells).
"""
