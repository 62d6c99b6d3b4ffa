"""A local simulator of grok.com's Grok Imagine, the test bed for grokbatch's automation.

Use ``grokbatch simulator serve`` from a shell, or ``start_simulator(SimulatorOptions(...))``
in-process.
"""

from grokbatch.simulator.lifecycle import (
    BindError,
    RunningSimulator,
    serve_until_signalled,
    start_simulator,
)
from grokbatch.simulator.scenario import (
    EditorKind,
    Layout,
    OptionsUi,
    ScriptedOutcome,
    SimulatorOptions,
    StreamFormat,
)

__all__ = [
    "BindError",
    "EditorKind",
    "Layout",
    "OptionsUi",
    "RunningSimulator",
    "ScriptedOutcome",
    "SimulatorOptions",
    "StreamFormat",
    "serve_until_signalled",
    "start_simulator",
]
