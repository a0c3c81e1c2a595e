"""The foundation: config fields, registries, errors, input validation, the runtime (devices, threads) and plain-file helpers. Imports nothing else of vdae_core."""
