"""Benchmarks of NEXUS: tool latency, swarm scale, match quality. Run ``python -m benchmarks [--quick]``."""
