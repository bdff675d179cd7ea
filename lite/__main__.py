import sys

from lite.ops.cli import main

sys.exit(main())
