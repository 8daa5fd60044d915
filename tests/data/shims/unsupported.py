"""Exit code 89: this configuration is unsupported (not applicable)."""

import sys

print("DTLS is not supported by this shim", file=sys.stderr)
sys.exit(89)
