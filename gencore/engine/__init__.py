"""The engine: what trains. Configuration, data, networks, the family records, losses, the
shared parts of a step and the loop (``loop.Trainer``). Nothing here writes a run to disk or
measures sample quality: the layers above attach that to the loop as callbacks."""
