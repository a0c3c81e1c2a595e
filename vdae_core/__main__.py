import sys

from vdae_core.cli import main

sys.exit(main())
