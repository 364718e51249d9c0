"""Guard rails for blue/green stacks, run by `pulumi preview|up --policy-pack policies`."""
