"""The real engine, offline: a toolchain built from Go modules and a local kwok control plane for end-to-end tests."""
