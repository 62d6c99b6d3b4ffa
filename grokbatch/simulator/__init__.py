"""A local simulator of grok.com's Grok Imagine, the test bed for grokbatch's automation.

Use ``grokbatch simulator serve`` (or ``python -m grokbatch.simulator``) from a shell, or
``start_simulator(SimulatorOptions(...))`` in-process.
"""

from grokbatch.simulator.lifecycle import RunningSimulator, serve_until_signalled, start_simulator
from grokbatch.simulator.scenario import EditorKind, Outcome, SimulatorOptions

__all__ = [
    "EditorKind",
    "Outcome",
    "RunningSimulator",
    "SimulatorOptions",
    "serve_until_signalled",
    "start_simulator",
]
