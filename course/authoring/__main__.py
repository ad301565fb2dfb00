"""``python -m course.authoring export|import|lint`` (see :mod:`course.authoring.notebook`)."""

from .notebook import main

raise SystemExit(main())
