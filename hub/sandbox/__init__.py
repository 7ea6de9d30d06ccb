"""Partner-agnostic sandbox runtime: simulated clock, Laravel-style throttle, fault injection, threaded server."""
