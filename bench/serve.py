"""What a benchmark server process serves: ``BENCH_APP`` names the row (bench/apps.py).

Started by ``bench/servers.py`` as ``uvicorn bench.serve:application`` or
``daphne bench.serve:application``, one process per row.
"""

import os

from .limits import raise_open_files

raise_open_files()

from .apps import build  # noqa: E402

application = build(os.environ["BENCH_APP"])
