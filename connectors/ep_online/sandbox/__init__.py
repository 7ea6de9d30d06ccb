"""The sandbox EP-Online (RVO's energy-label register, API v5): a faithful subset of contracts §3.2 / §6.1."""
