"""``python -m homeval.registry.production_version``: print the version holding the production alias
(an empty line when none does), after creating MLflow's store if it is new.

``homeval up`` asks this in a child process: importing MLflow would keep ~150 MB in the
supervisor for as long as the platform runs, only to read one alias now and then.
"""

from __future__ import annotations

import sys

from homeval.platform.settings import Settings
from homeval.registry.promotion import production_model
from homeval.registry.tracking import configure


def main() -> int:
    settings = Settings()
    # creates (and migrates) a new store once, before the services open it together
    configure(settings)
    found = production_model(settings)
    print(found.version if found is not None and found.version else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
