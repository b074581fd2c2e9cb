"""Entry point for Streamlit Community Cloud: the same page as ../streamlit_app.py.

It exists so that Community Cloud picks up deploy/requirements.txt (a dependency
file beside the entry point wins over the one at the root), which adds PyTorch's
CPU-only index: the default Linux torch wheel drags in several GB of CUDA libraries
that a free Community Cloud container can neither use nor hold.
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

runpy.run_path(str(ROOT / "streamlit_app.py"), run_name="__main__")
