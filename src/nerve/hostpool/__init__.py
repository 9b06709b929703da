"""Host work in worker processes, the model in this one: ``HostPool``.

On an accelerator the model is fast enough that one Python process cannot tokenize and
decode as fast as it runs (docs/gpu.md, "The host's share"). A ``HostPool`` spreads that
work over worker processes and keeps the model where it was loaded.
"""

from .pool import HostPool, HostPoolError

__all__ = ["HostPool", "HostPoolError"]
