"""Entry point of the `bluegreen` component package: `pulumi package add` and the engine run this directory.

It runs in the checkout's virtualenv, where `make venv` installed the bluegreen package.
"""

from bluegreen.provider import serve

serve()
