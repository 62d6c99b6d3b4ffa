"""grokbatch: batch-generate Grok Imagine videos from one image permalink."""

__version__ = "0.1.0"
