"""Partner-agnostic core of the renovation-journey integration hub.

Sub-packages: canonical (model), store (state), http (partner client), mart, receiver; plus config and cli."""
