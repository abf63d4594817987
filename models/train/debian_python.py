"""The training scripts need Debian's python3-sklearn/-pandas/-onnx. A pyenv or venv python3 first on PATH lacks
them: require() starts the script again under /usr/bin/python3, or exits with the apt-get line to run."""
from __future__ import annotations

import os
import sys


def require(script: str, packages: str = 'python3-sklearn python3-pandas python3-onnx python3-matplotlib') -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
            os.execv('/usr/bin/python3', ['/usr/bin/python3', *sys.argv])
        sys.exit(f'{script}: scikit-learn is missing: apt-get install {packages}')
