"""`pulumi-language-python` for the local toolchain: a Python language host on the Pulumi SDK's own protos.

`make toolchain` installs this package into a small virtualenv of its own in the toolchain cache and links
the `pulumi-language-python` launcher next to the built `pulumi`, so the CLI takes it as its bundled host.
With a Pulumi install, Pulumi's own host is used instead.
"""
