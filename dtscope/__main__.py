import sys

from dtscope.cli import main

sys.exit(main())
