"""The instructor command: `python -m grader release | execute | autograde | report`."""

from .cli import main

raise SystemExit(main())
