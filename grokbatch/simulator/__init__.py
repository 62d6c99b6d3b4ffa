"""A local simulator of grok.com's Grok Imagine, the test bed for grokbatch's automation.

Use ``grokbatch simulator serve`` from a shell, ``start_simulator(SimulatorOptions(...))``
in-process, or ``SimulatorProcess("--auto-login", ...)`` in a subprocess of its own.
"""

from grokbatch.simulator.lifecycle import (
    BindError,
    RunningSimulator,
    serve_until_signalled,
    start_simulator,
)
from grokbatch.simulator.process import SimulatorProcess
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
    "SimulatorProcess",
    "StreamFormat",
    "serve_until_signalled",
    "start_simulator",
]
