"""Entry point of the `bluegreen` component package: `pulumi package add` and the engine run this directory."""

import sys
from pathlib import Path

# The package is this checkout's components/, one directory up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.provider import serve

serve()
