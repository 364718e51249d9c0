"""Blue/green building blocks: names and labels, settings, and the component."""
