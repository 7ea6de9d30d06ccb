"""The composition roots: the `hub` CLI, the demo and the sandbox stack. Nothing below imports this layer."""
