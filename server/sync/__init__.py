"""The offline bundle: what a phone needs to inspect without a network, and what changed since it last asked."""
