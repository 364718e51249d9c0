"""Operate blue/green stacks: status, preview, cut over, roll back, history."""
